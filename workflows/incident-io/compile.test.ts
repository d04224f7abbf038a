import { decide, escalateNow, startEscalation, type Command, type EscalationState } from '../core/escalation'
import { simulate } from '../core/simulate'
import { compileDirect, compilePath } from './compile'
import type { EscalationPathDefinition, PathNode, PathTarget, WorkingHours } from './path'

// incident.io paths as the engine runs them: compiled, then decided with explicit instants.

const t0 = new Date('2026-03-02T10:00:00.000Z')
const plus = (seconds: number) => new Date(t0.getTime() + seconds * 1000)

const user = (id: string, urgency: 'high' | 'low' = 'high'): PathTarget => ({ id, type: 'user', urgency })
const level = (id: string, targets: PathTarget[], timeToAck?: number, roundRobin = false): PathNode => ({
  id,
  type: 'level',
  level: { targets, ...(timeToAck === undefined ? {} : { time_to_ack_seconds: timeToAck }), ...(roundRobin ? { round_robin_config: { enabled: true } } : {}) },
})
const repeat = (id: string, toNode: string, times: number): PathNode => ({ id, type: 'repeat', repeat: { repeat_times: times, to_node: toNode } })
const path = (nodes: PathNode[], workingHours: WorkingHours[] = []): EscalationPathDefinition => ({ id: 'P1', name: 'payments', path: nodes, working_hours: workingHours })

const paged = (commands: readonly Command[]) =>
  commands.flatMap((c) => (c.kind === 'notify' ? c.targets.flatMap((t) => (t.source.kind === 'users' ? t.source.userIds : [])) : []))
const kinds = (commands: readonly Command[]) => commands.map((c) => c.kind)

/** Every decision until the program ends, waking exactly when asked: [instant offset in s, users paged]. */
function timeline(definition: EscalationPathDefinition, priority = 'P1') {
  return simulate(compilePath(definition, { priority }), t0).map((d) => ({
    at: (Date.parse(d.at) - t0.getTime()) / 1000,
    paged: paged(d.commands),
    expired: d.commands.some((c) => c.kind === 'expire'),
  }))
}

test('the next level fires when nobody acknowledged in time, counted from when the level fired', () => {
  expect(timeline(path([level('L1', [user('A')], 30), level('L2', [user('B')], 60)]))).toEqual([
    { at: 0, paged: ['A'], expired: false },
    { at: 30, paged: ['B'], expired: false },
    { at: 90, paged: [], expired: true },
  ])
})

test('a late wake-up does not move later deadlines: they chain from when each level was due', () => {
  const program = compilePath(path([level('L1', [user('A')], 30), level('L2', [user('B')], 60)]), { priority: 'P1' })
  const first = decide(startEscalation(program, t0), t0, [], 'k')
  const late = decide(first.state, plus(32.5), [], 'k')
  expect(paged(late.commands)).toEqual(['B'])
  expect(late.wakeAt).toBe(plus(90).toISOString())
})

test('an acknowledgement stops the path: nothing is decided after it', () => {
  const decisions = simulate(compilePath(path([level('L1', [user('A')], 30), level('L2', [user('B')], 60)]), { priority: 'P1' }), t0, {
    acknowledgedAt: plus(10),
  })
  expect(decisions.flatMap((d) => paged(d.commands))).toEqual(['A'])
})

test('repeat goes back to the chosen node exactly N times, then the escalation expires', () => {
  const runs = timeline(path([level('L1', [user('A')], 10), level('L2', [user('B')], 10), repeat('R', 'L2', 2)]))
  expect(runs.flatMap((r) => r.paged)).toEqual(['A', 'B', 'B', 'B'])
  expect(runs[runs.length - 1]).toEqual({ at: 40, paged: [], expired: true })
})

test('a level without a time to acknowledge holds: nothing after it runs and nothing expires', () => {
  const decisions = simulate(compilePath(path([level('L1', [user('A')]), level('L2', [user('B')], 10)]), { priority: 'P1' }), t0)
  expect(decisions.flatMap((d) => paged(d.commands))).toEqual(['A'])
  expect(decisions.some((d) => d.commands.some((c) => c.kind === 'expire'))).toBe(false)
  expect(decisions[decisions.length - 1]?.finished).toBe(true)
})

test('targets keep their urgency; round robin makes the level one rotation keyed by path and node', () => {
  const program = compilePath(path([level('L1', [user('A', 'low'), user('B'), { id: 'S1', type: 'schedule', urgency: 'low', schedule_mode: 'next_on_call' }], 60, true)]), {
    priority: 'P1',
  })
  const page = program.nodes[0]
  expect(page).toMatchObject({
    kind: 'page',
    targets: [
      { source: { kind: 'round_robin', policyId: 'P1:L1', userIds: ['A', 'B'], queue: 'keyed' }, important: true },
      { source: { kind: 'next_shift', scheduleId: 'S1' }, important: false },
    ],
  })
})

const ukHours: WorkingHours = {
  id: 'uk',
  name: 'UK office',
  timezone: 'Europe/London',
  weekday_intervals: ['monday', 'tuesday', 'wednesday', 'thursday', 'friday'].map((weekday) => ({ weekday, start_time: '09:00', end_time: '17:00' })) as WorkingHours['weekday_intervals'],
}
const byHours = (active: boolean): PathNode => ({
  id: 'IF',
  type: 'if_else',
  if_else: {
    conditions: [{ subject: 'escalation.working_hours["uk"]', operation: active ? 'is_active' : 'is_not_active', param_bindings: [] }],
    then_path: [level('DAY', [user('D')], 60)],
    else_path: [level('NIGHT', [user('N')], 60)],
  },
})

test.each([
  // 09:30 local in winter (UTC+0) and in summer (UTC+1, the Monday after the spring change) are inside.
  ['2026-03-23T09:30:00Z', 'D'],
  ['2026-03-30T08:30:00Z', 'D'],
  // 08:30 local on that summer Monday is 07:30Z: outside.
  ['2026-03-30T07:30:00Z', 'N'],
  // Saturday, and a weekday evening.
  ['2026-03-28T12:00:00Z', 'N'],
  ['2026-03-24T17:00:00Z', 'N'],
])('if_else on working hours at %s pages %s', (at, expected) => {
  const program = compilePath(path([byHours(true)], [ukHours]), { priority: 'P1' })
  const [first] = simulate(program, new Date(at))
  expect(paged(first?.commands ?? [])).toEqual([expected])
  expect(first?.commands.find((c) => c.kind === 'log' && c.event === 'step_triggered')).toMatchObject({
    detail: { branch: expected === 'D' ? 'then' : 'else' },
  })
})

test('is_not_active takes the other branch; both arms rejoin the rest of the path', () => {
  const program = compilePath(path([byHours(false), level('ALL', [user('Z')], 60)], [ukHours]), { priority: 'P1' })
  const decisions = simulate(program, new Date('2026-03-23T09:30:00Z'))
  expect(decisions.flatMap((d) => paged(d.commands))).toEqual(['N', 'Z'])
})

test('if_else on priority branches on the escalation priority', () => {
  const byPriority: PathNode = {
    id: 'IF',
    type: 'if_else',
    if_else: {
      conditions: [{ subject: 'escalation.priority', operation: 'one_of', param_bindings: [{ array_value: [{ literal: 'P1' }, { literal: 'P2' }] }] }],
      then_path: [level('URGENT', [user('U')], 60)],
      else_path: [],
    },
  }
  expect(timeline(path([byPriority]), 'P1').flatMap((r) => r.paged)).toEqual(['U'])
  expect(timeline(path([byPriority]), 'P4').flatMap((r) => r.paged)).toEqual([])
})

test('a nack ends the pending wait, so the next level fires at once; it changes nothing when not waiting', () => {
  const program = compilePath(path([level('L1', [user('A')], 300), level('L2', [user('B')], 300)]), { priority: 'P1' })
  const first = decide(startEscalation(program, t0), t0, [], 'k')
  const nacked: EscalationState = escalateNow(first.state, plus(5))
  expect(paged(decide(nacked, plus(5), [], 'k').commands)).toEqual(['B'])
  const ended = simulate(program, t0).length
  expect(ended).toBe(3)
  const finished = { ...first.state, finished: true }
  expect(escalateNow(finished, plus(5))).toBe(finished)
})

test('a direct page pages every user at high urgency, then holds without expiring', () => {
  const [decision] = simulate(compileDirect(['A', 'B']), t0)
  expect(decision?.commands.filter((c) => c.kind === 'notify')).toMatchObject([{ targets: [{ source: { kind: 'users', userIds: ['A', 'B'] }, important: true }] }])
  expect(kinds(decision?.commands ?? [])).not.toContain('expire')
  expect(decision?.finished).toBe(true)
})

