import type { EscalationProgram, UserSource } from '../../workflows/core/program'
import { compilePath } from '../../workflows/incident-io/compile'
import type { EscalationPathDefinition, PathNode, PathTarget } from '../../workflows/incident-io/path'
import { compileChain } from '../../workflows/oncall/compile'
import { emptySettings, MAX_REPEATS_PER_STEP, type StepSnapshot, type StepType } from '../../workflows/oncall/steps'
import { dryRun, dryRunProblems, MAX_DRY_RUN_DECISIONS, MAX_DRY_RUN_ENTRIES, type DryRunEntry, type DryRunReads } from './dry-run'

// The dry run's telling of the engine's decisions, with the reads answered from memory: which entry each command
// becomes, whom each page reaches at its instant, and how the run ends. The API tests run it against the database.

const t0 = new Date('2026-03-02T10:00:00.000Z')
const at = (seconds: number) => new Date(t0.getTime() + seconds * 1000).toISOString()

let seq = 0
const step = (type: StepType, settings: Partial<StepSnapshot> = {}): StepSnapshot => ({ ...emptySettings(), policyId: `E${++seq}`, type, ...settings })
const chain = (...steps: StepSnapshot[]) => compileChain({ chainId: 'F1', chainName: 'chain', steps })!

/**
 * Users A–D exist; schedule S has A on call before t0 + 1 h and B from then on; round-robin queues are at C; the
 * reads made are recorded.
 */
function memoryReads(): DryRunReads & { made: Array<[UserSource['kind'], string]> } {
  const made: Array<[UserSource['kind'], string]> = []
  const existing = ['A', 'B', 'C', 'D']
  return {
    made,
    async recipients(source, instant) {
      made.push([source.kind, instant.toISOString()])
      switch (source.kind) {
        case 'users':
          return { userIds: source.userIds.filter((id) => existing.includes(id)) }
        case 'round_robin':
          return source.policyId.includes(':') ? { userIds: [], emptyReason: 'the round-robin queue has no users' } : { userIds: ['C'] }
        case 'schedule':
          return source.scheduleId === 'S'
            ? {
                userIds: instant.getTime() < t0.getTime() + 3600_000 ? ['A'] : ['B'],
                detail: { reasons: [{ reason: 'layer 0' }] },
                shifts: { schedule: { id: 'S', name: 'Primary', teamId: null }, events: [] },
              }
            : { userIds: [], emptyReason: 'nobody is on call in the schedule now', shifts: { schedule: { id: 'S2', name: 'Empty', teamId: null }, events: [] } }
        default:
          return { userIds: [], emptyReason: `no ${source.kind} here` }
      }
    },
    async users(ids) {
      return ids.filter((id) => existing.includes(id)).map((id) => ({ id, username: id.toLowerCase() }))
    },
  }
}

const brief = (entries: readonly DryRunEntry[]) =>
  entries.map((e) => ({ at: e.at, type: e.step?.type ?? null, action: e.action, users: e.users.map((u) => u.id), why: e.why }))

describe('an OnCall chain', () => {
  test('a schedule is resolved at each page, a wait says how long, repeats count, and the exhausted chain waits', async () => {
    const reads = memoryReads()
    const run = await dryRun(
      chain(step('notify_on_call_from_schedule', { scheduleId: 'S', important: true }), step('wait', { durationSeconds: 2400 }), step('repeat_escalation')),
      { start: t0, until: new Date(t0.getTime() + 3 * 3600_000) },
      reads,
    )
    const pages = run.entries.filter((e) => e.action === 'page')
    // Every 40 minutes, at most six pages: A before the handover at t0 + 1 h, B from then on.
    expect(pages.map((e) => [e.at, e.users])).toEqual([
      [at(0), [{ id: 'A', username: 'a', important: true }]],
      [at(2400), [{ id: 'A', username: 'a', important: true }]],
      [at(4800), [{ id: 'B', username: 'b', important: true }]],
      [at(7200), [{ id: 'B', username: 'b', important: true }]],
      [at(9600), [{ id: 'B', username: 'b', important: true }]],
    ])
    expect(brief(run.entries).slice(0, 4)).toEqual([
      { at: at(0), type: 'notify_on_call_from_schedule', action: 'page', users: ['A'], why: 'on call in schedule Primary (layer 0)' },
      { at: at(0), type: 'wait', action: 'wait', users: [], why: 'wait 2400 s' },
      { at: at(2400), type: 'repeat_escalation', action: 'repeat', users: [], why: `repeat 1 of ${MAX_REPEATS_PER_STEP}` },
      { at: at(2400), type: 'notify_on_call_from_schedule', action: 'page', users: ['A'], why: 'on call in schedule Primary (layer 0)' },
    ])
    // The sixth page would come at t0 + 3 h 20 min, after until.
    expect(run.outcome).toEqual({ status: 'cut', at: at(3 * 3600), why: `the next decision, at ${at(12000)}, comes after until` })
    expect(reads.made.filter(([kind]) => kind === 'schedule').map(([, instant]) => instant)).toEqual(pages.map((e) => e.at))
  })

  test('round robin: the first page goes to the head of the queue, each repeat to the next user, the queue never moved', async () => {
    const run = await dryRun(
      chain(step('notify_person_next_each_time', { userIds: ['A', 'B', 'C', 'D'] }), step('wait', { durationSeconds: 60 }), step('repeat_escalation')),
      { start: t0 },
      memoryReads(),
    )
    expect(run.entries.filter((e) => e.action === 'page').map((e) => e.users[0]?.id)).toEqual(['C', 'D', 'A', 'B', 'C', 'D'])
    expect(run.entries.find((e) => e.action === 'page')?.why).toBe('round robin: the head of the queue')
    expect(run.entries.at(-1)).toMatchObject({ action: 'finished', step: null, why: 'the last step ran: the alert group stays open and nothing more is paged' })
    expect(run.outcome).toMatchObject({ status: 'waiting_for_acknowledgement', at: at(360) })
  })

  test('an acknowledgement stops everything from its instant on', async () => {
    const run = await dryRun(
      chain(step('notify_persons', { userIds: ['A'] }), step('wait', { durationSeconds: 60 }), step('notify_persons', { userIds: ['B'] })),
      { start: t0, acknowledgedAt: new Date(t0.getTime() + 60_000) },
      memoryReads(),
    )
    expect(brief(run.entries).map((e) => [e.at, e.action])).toEqual([
      [at(0), 'page'],
      [at(0), 'wait'],
    ])
    expect(run.outcome).toEqual({ status: 'acknowledged', at: at(60), why: 'acknowledged: nothing more is paged' })
  })

  test('skips, empty schedules, unconfigured waits, windows, webhooks, channels, incidents and a resolve step', async () => {
    const run = await dryRun(
      chain(
        step('notify_persons'),
        step('notify_on_call_from_schedule', { scheduleId: 'S2' }),
        step('wait'),
        step('notify_if_time_from_to', { timeFrom: '12:00:00Z', timeTo: '13:00:00Z' }),
        step('trigger_webhook', { webhookId: 'WH1' }),
        step('notify_whole_channel'),
        step('declare_incident', { severity: 'critical' }),
        step('resolve'),
      ),
      { start: t0 },
      memoryReads(),
    )
    expect(brief(run.entries)).toEqual([
      { at: at(0), type: 'notify_persons', action: 'skip', users: [], why: 'skipped: no users to notify' },
      { at: at(0), type: 'notify_on_call_from_schedule', action: 'skip', users: [], why: 'skipped: nobody is on call in schedule Empty' },
      { at: at(0), type: 'wait', action: 'wait', users: [], why: 'wait 300 s: wait step is not configured: default delay is 5 minutes' },
      {
        at: at(300),
        type: 'notify_if_time_from_to',
        action: 'wait_for_window',
        users: [],
        why: 'outside the daily window 12:00:00Z–13:00:00Z: wait until 2026-03-02T12:00:00.000Z',
      },
      { at: at(7200), type: 'trigger_webhook', action: 'webhook', users: [], why: 'call outgoing webhook WH1' },
      { at: at(7200), type: 'notify_whole_channel', action: 'notify_channel', users: [], why: "post to the organization's default channel" },
      { at: at(7200), type: 'declare_incident', action: 'declare_incident', users: [], why: 'declare an incident of severity critical' },
      { at: at(7200), type: 'resolve', action: 'resolve', users: [], why: 'resolve: the escalation ends' },
      { at: at(7200), type: null, action: 'finished', users: [], why: 'resolved: nothing more runs' },
    ])
    expect(run.outcome).toEqual({ status: 'resolved', at: at(7200), why: 'a resolve step ended the escalation' })
  })

  test('an alert-count step pauses until enough alerts arrived, then goes on at the alert that made it', async () => {
    const program = chain(step('notify_if_num_alerts_in_window', { numAlertsInWindow: 2, numMinutesInWindow: 10 }), step('notify_persons', { userIds: ['A'] }))
    const paused = await dryRun(program, { start: t0 }, memoryReads())
    expect(brief(paused.entries)).toEqual([
      { at: at(0), type: 'notify_if_num_alerts_in_window', action: 'paused', users: [], why: '1 alerts within 10 min, more than 2 needed: paused until more alerts' },
    ])
    expect(paused.outcome).toEqual({ status: 'paused', at: at(0), why: 'paused until more alerts arrive' })

    const resumed = await dryRun(program, { start: t0, alertTimes: [new Date(at(120)), t0, new Date(at(60))] }, memoryReads())
    expect(brief(resumed.entries).map((e) => [e.at, e.action, e.why])).toEqual([
      [at(0), 'paused', '1 alerts within 10 min, more than 2 needed: paused until more alerts'],
      [at(120), 'alerts_in_window', '3 alerts within 10 min, more than 2: go on'],
      [at(120), 'page', 'named users'],
      [at(120), 'finished', 'the last step ran: the alert group stays open and nothing more is paged'],
    ])
  })
})

describe('an incident.io path', () => {
  const user = (id: string, urgency: 'high' | 'low' = 'high'): PathTarget => ({ id, type: 'user', urgency })
  const level = (id: string, targets: PathTarget[], timeToAck?: number, roundRobin = false): PathNode => ({
    id,
    type: 'level',
    level: { targets, ...(timeToAck === undefined ? {} : { time_to_ack_seconds: timeToAck }), ...(roundRobin ? { round_robin_config: { enabled: true } } : {}) },
  })
  const definition = (nodes: PathNode[]): EscalationPathDefinition => ({
    id: 'P1',
    name: 'payments',
    path: nodes,
    working_hours: [{ id: 'uk', name: 'UK office', timezone: 'Europe/London', weekday_intervals: [{ weekday: 'sunday', start_time: '09:00', end_time: '17:00' }] }],
  })

  test('a working-hours branch is judged in local time at each instant, across the spring-forward night', async () => {
    // Sunday 2027-03-28: London goes from 01:00 GMT to 02:00 BST; 09:00 local is 08:00Z.
    const start = new Date('2027-03-28T00:30:00Z')
    const path = definition([
      {
        id: 'hours',
        type: 'if_else',
        if_else: {
          conditions: [{ subject: 'escalation.working_hours["uk"]', operation: 'is_active', param_bindings: [] }],
          then_path: [level('day', [user('A')], 3600)],
          else_path: [level('night', [user('B', 'low')], 3600)],
        },
      },
      { id: 'again', type: 'repeat', repeat: { repeat_times: 20, to_node: 'hours' } },
    ])
    const run = await dryRun(compilePath(path, { priority: 'P1' }), { start, until: new Date('2027-03-28T09:00:00Z') }, memoryReads())
    const branches = run.entries.filter((e) => e.action === 'branch').map((e) => [e.at.slice(11, 16), e.branch, e.why])
    expect(branches).toEqual([
      ['00:30', 'else', 'else: Sunday 00:30 Europe/London (+00:00) is outside working hours UK office'],
      ['01:30', 'else', 'else: Sunday 02:30 Europe/London (+01:00) is outside working hours UK office'],
      ['02:30', 'else', 'else: Sunday 03:30 Europe/London (+01:00) is outside working hours UK office'],
      ['03:30', 'else', 'else: Sunday 04:30 Europe/London (+01:00) is outside working hours UK office'],
      ['04:30', 'else', 'else: Sunday 05:30 Europe/London (+01:00) is outside working hours UK office'],
      ['05:30', 'else', 'else: Sunday 06:30 Europe/London (+01:00) is outside working hours UK office'],
      ['06:30', 'else', 'else: Sunday 07:30 Europe/London (+01:00) is outside working hours UK office'],
      ['07:30', 'else', 'else: Sunday 08:30 Europe/London (+01:00) is outside working hours UK office'],
      ['08:30', 'then', 'then: Sunday 09:30 Europe/London (+01:00) is inside working hours UK office'],
    ])
    const pages = run.entries.filter((e) => e.action === 'page')
    expect(pages.at(-2)).toMatchObject({ step: { id: 'night', type: 'level' }, users: [{ id: 'B', username: 'b', important: false }] })
    expect(pages.at(-1)).toMatchObject({ at: '2027-03-28T08:30:00.000Z', step: { id: 'day', type: 'level' }, users: [{ id: 'A', username: 'a', important: true }] })
  })

  test('a level without time to acknowledge holds; a path that runs out expires', async () => {
    const held = await dryRun(compilePath(definition([level('L1', [user('A')])]), { priority: 'P1' }), { start: t0 }, memoryReads())
    expect(brief(held.entries).map((e) => [e.action, e.why])).toEqual([
      ['page', 'named users'],
      ['hold', 'page no further: wait for an acknowledgement'],
    ])
    expect(held.outcome).toEqual({ status: 'waiting_for_acknowledgement', at: at(0), why: 'nothing more is paged until somebody acknowledges' })

    const expired = await dryRun(
      compilePath(definition([level('L1', [user('A'), user('B')], 30, true), { id: 'D', type: 'delay', delay: { delay_seconds: 30 } }]), { priority: 'P1' }),
      { start: t0 },
      memoryReads(),
    )
    expect(brief(expired.entries)).toEqual([
      // No queue is kept for a path's level: the engine's pick falls back to the first of its users.
      { at: at(0), type: 'level', action: 'page', users: ['A'], why: 'round robin: the first of its users (no queue is kept)' },
      { at: at(0), type: 'level', action: 'wait', users: [], why: 'wait 30 s' },
      { at: at(30), type: 'delay', action: 'wait', users: [], why: 'wait 30 s' },
      { at: at(60), type: null, action: 'finished', users: [], why: 'the last node ran and nobody acknowledged' },
      { at: at(60), type: null, action: 'expire', users: [], why: 'nobody acknowledged: the escalation expires' },
    ])
    expect(expired.outcome).toEqual({ status: 'expired', at: at(60), why: 'every node ran and nobody acknowledged: the escalation expires' })
  })
})

describe('bounds', () => {
  const ref = (index: number, type: string) => ({ index, id: `N${index}`, type })
  const program = (nodes: EscalationProgram['nodes']): EscalationProgram => ({ id: 'X', name: 'x', nodes, whenExhausted: 'expire', priority: null })

  test('a run that would tell more than the entry bound is cut there', async () => {
    const run = await dryRun(
      program([
        { kind: 'skip', ref: ref(0, 'skip'), reason: 'nothing' },
        { kind: 'repeat', ref: ref(1, 'repeat'), to: 0, times: 5000 },
      ]),
      { start: t0 },
      memoryReads(),
    )
    expect(run.entries).toHaveLength(MAX_DRY_RUN_ENTRIES)
    expect(run.outcome).toEqual({ status: 'cut', at: at(0), why: `stopped after ${MAX_DRY_RUN_ENTRIES} entries` })
  })

  test('a run that would decide more than the decision bound is cut there', async () => {
    const run = await dryRun(
      program([
        { kind: 'wait', ref: ref(0, 'delay'), seconds: 1 },
        { kind: 'repeat', ref: ref(1, 'repeat'), to: 0, times: 5000 },
      ]),
      { start: t0 },
      memoryReads(),
    )
    expect(run.outcome).toEqual({ status: 'cut', at: at(MAX_DRY_RUN_DECISIONS - 1), why: `stopped after ${MAX_DRY_RUN_DECISIONS} decisions` })
  })
})

describe('requests', () => {
  test('alerts before start, an acknowledgement before start and until beyond 30 days are refused, by field', () => {
    expect(
      dryRunProblems({
        start: t0,
        alertTimes: [t0, new Date(t0.getTime() - 1)],
        acknowledgedAt: new Date(t0.getTime() - 1),
        until: new Date(t0.getTime() + 31 * 86_400_000),
      }),
    ).toEqual([
      { field: 'alert_times', message: 'alert_times[1] is before start: every alert comes at or after start' },
      { field: 'acknowledged_at', message: 'must not be before start' },
      { field: 'until', message: 'must be at most 30 days after start' },
    ])
    expect(dryRunProblems({ start: t0, until: t0 })).toEqual([{ field: 'until', message: 'must be after start' }])
    expect(dryRunProblems({ start: t0, until: new Date(t0.getTime() + 30 * 86_400_000) })).toEqual([])
  })

  test('the service refuses them too, whatever the dialect checked', async () => {
    await expect(dryRun(chain(), { start: t0, until: t0 }, memoryReads())).rejects.toMatchObject({
      code: 'invalid_value',
      message: 'must be after start',
      details: { field: 'until' },
    })
  })
})
