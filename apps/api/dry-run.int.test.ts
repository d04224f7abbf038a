import { sql } from 'kysely'
import { resolveRecipients } from '../../db/recipients'
import { issueToken } from '../../db/tokens.repo'
import { caller, createOrg, startStack, type ApiResponse, type Stack } from '../../test/stack'

// The dry runs on the real stack: POST /api/v1/escalation_chains/{id}/simulate/ and
// POST /v2/escalation_paths/{id}/actions/simulate. Who each page reaches comes from real schedules (created through
// the API, in Europe/London across both DST changes of 2027) and real round-robin queues; nothing is written and no
// workflow is started; bad input is refused in each dialect's shape, naming the field.

type Org = Awaited<ReturnType<typeof createOrg>> & { v2: ReturnType<typeof caller> }

let stack: Stack
let org: Org
let other: Org
const users = {} as Record<'ann' | 'bob' | 'cat', string>
/** A daily rotation handing over at 09:00 London time: ann on 2027-03-27, bob on 2027-03-28. */
let londonSchedule: string
let otherChain: string
let otherPath: string

async function ok(response: ApiResponse, status = 201): Promise<any> {
  if (response.status !== status) throw new Error(`setup failed: ${response.status} ${response.text.slice(0, 300)}`)
  return response.body
}

async function orgWithV2(name: string): Promise<Org> {
  const created = await createOrg(stack, name)
  return { ...created, v2: caller(stack.baseUrl, `Bearer ${created.token}`) }
}

/** A chain of `steps` (policy bodies without the chain id), created through the API; returns its id and policy ids. */
async function chainOf(as: Org, name: string, steps: Array<Record<string, unknown>>): Promise<{ id: string; policies: string[] }> {
  const chain = await ok(await as.call('POST', '/api/v1/escalation_chains/', { name }))
  const policies: string[] = []
  for (const step of steps) policies.push((await ok(await as.call('POST', '/api/v1/escalation_policies/', { escalation_chain_id: chain.id, ...step }))).id)
  return { id: chain.id, policies }
}

beforeAll(async () => {
  stack = await startStack('dry_run', { worker: false })
  org = await orgWithV2('Dry Run Co')
  other = await orgWithV2('Other Co')
  for (const name of ['ann', 'bob', 'cat'] as const) {
    users[name] = (await ok(await org.call('POST', '/api/v1/users/', { username: name, email: `${name}@dry.test`, role: 'editor' }))).id
  }
  // Shift durations run on the wall clock: a 24-hour daily rotation hands over at 09:00 local on both sides of a
  // DST change (the shift of the spring-forward night lasts 23 real hours).
  const rotation = await ok(
    await org.call('POST', '/api/v1/on_call_shifts/', {
      name: 'London days',
      type: 'rolling_users',
      time_zone: 'Europe/London',
      start: '2027-03-21T09:00:00',
      duration: 24 * 3600,
      frequency: 'daily',
      rolling_users: [[users.ann], [users.bob]],
      start_rotation_from_user_index: 0,
      level: 0,
    }),
  )
  londonSchedule = (await ok(await org.call('POST', '/api/v1/schedules/', { name: 'London', type: 'web', time_zone: 'Europe/London', shifts: [rotation.id] }))).id
  otherChain = (await chainOf(other, 'theirs', [{ type: 'wait', duration: 60 }])).id
  const otherUser = (await ok(await other.call('POST', '/api/v1/users/', { username: 'vic', email: 'vic@other.test' }))).id
  otherPath = (
    await ok(
      await other.v2('POST', '/v2/escalation_paths', {
        name: 'theirs',
        path: [{ id: 'only', type: 'level', level: { targets: [{ id: otherUser, type: 'user', urgency: 'high' }] } }],
      }),
    )
  ).escalation_path.id
})
afterAll(() => stack.stop())

const pagesOf = (body: any) =>
  body.entries.filter((e: any) => e.action === 'page').map((e: any) => [e.at, e.users.map((u: any) => u.username ?? u.name)])

describe('POST /api/v1/escalation_chains/{id}/simulate/', () => {
  test('a schedule step pages whoever is on call at each instant: the handover moves to 08:00Z after spring-forward', async () => {
    const chain = await chainOf(org, 'London pager', [
      { type: 'notify_on_call_from_schedule', notify_on_call_from_schedule: londonSchedule, important: true },
      { type: 'wait', duration: 7200 },
      { type: 'repeat_escalation' },
    ])
    // London goes from 01:00 GMT to 02:00 BST on Sunday 2027-03-28: 09:00 local is 09:00Z before, 08:00Z after.
    const response = await org.call('POST', `/api/v1/escalation_chains/${chain.id}/simulate/`, { start: '2027-03-28T00:00:00Z' })
    expect(response.status).toBe(200)
    expect(pagesOf(response.body)).toEqual([
      ['2027-03-28T00:00:00Z', ['ann']],
      ['2027-03-28T02:00:00Z', ['ann']],
      ['2027-03-28T04:00:00Z', ['ann']],
      ['2027-03-28T06:00:00Z', ['ann']],
      ['2027-03-28T08:00:00Z', ['bob']],
      ['2027-03-28T10:00:00Z', ['bob']],
    ])
    expect(response.body).toMatchObject({ chain_id: chain.id, start: '2027-03-28T00:00:00Z', until: '2027-04-04T00:00:00Z' })
    expect(response.body.entries.slice(0, 3)).toEqual([
      {
        at: '2027-03-28T00:00:00Z',
        due_at: '2027-03-28T00:00:00Z',
        step_index: 0,
        node_id: chain.policies[0],
        type: 'notify_on_call_from_schedule',
        action: 'page',
        users: [{ id: users.ann, username: 'ann', important: true }],
        why: 'on call in schedule London (layer 0)',
      },
      {
        at: '2027-03-28T00:00:00Z',
        due_at: '2027-03-28T00:00:00Z',
        step_index: 1,
        node_id: chain.policies[1],
        type: 'wait',
        action: 'wait',
        users: [],
        why: 'wait 7200 s',
      },
      {
        at: '2027-03-28T02:00:00Z',
        due_at: '2027-03-28T02:00:00Z',
        step_index: 2,
        node_id: chain.policies[2],
        type: 'repeat_escalation',
        action: 'repeat',
        users: [],
        why: 'repeat 1 of 5',
      },
    ])
    expect(response.body.entries.at(-1)).toMatchObject({ at: '2027-03-28T12:00:00Z', action: 'finished', step_index: null, node_id: null, type: null })
    expect(response.body.outcome).toEqual({
      status: 'waiting_for_acknowledgement',
      at: '2027-03-28T12:00:00Z',
      why: 'every step ran: the alert group stays open, nothing more is paged',
    })

    // Acknowledged at 06:30Z: the 08:00Z page never happens.
    const acked = await org.call('POST', `/api/v1/escalation_chains/${chain.id}/simulate`, {
      start: '2027-03-28T00:00:00Z',
      acknowledged_at: '2027-03-28T07:30:00+01:00',
    })
    expect(pagesOf(acked.body).map(([instant]: [string]) => instant)).toEqual([
      '2027-03-28T00:00:00Z',
      '2027-03-28T02:00:00Z',
      '2027-03-28T04:00:00Z',
      '2027-03-28T06:00:00Z',
    ])
    expect(acked.body.outcome).toEqual({ status: 'acknowledged', at: '2027-03-28T06:30:00Z', why: 'acknowledged: nothing more is paged' })
  })

  test('bad input is a DRF 400 naming the field; an unknown chain or another organization\'s is 404', async () => {
    const chain = await chainOf(org, 'Refusals', [{ type: 'wait', duration: 60 }])
    const path = `/api/v1/escalation_chains/${chain.id}/simulate/`
    const cases: Array<[unknown, unknown]> = [
      [{ start: '2027-03-28 00:00' }, { start: ['Datetime has wrong format. Use one of these formats instead: YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z].'] }],
      [{ alert_times: 'soon' }, { alert_times: ['Expected a list of items but got type "str".'] }],
      [
        { start: '2027-03-28T00:00:00Z', alert_times: ['2027-03-28T00:00:00Z', '2027-03-27T23:59:59Z'] },
        { alert_times: ['alert_times[1] is before start: every alert comes at or after start'] },
      ],
      [{ start: '2027-03-28T00:00:00Z', until: '2027-04-28T00:00:01Z' }, { until: ['must be at most 30 days after start'] }],
      [{ start: '2027-03-28T00:00:00Z', acknowledged_at: '2027-03-27T00:00:00Z' }, { acknowledged_at: ['must not be before start'] }],
      [{ alert_times: Array.from({ length: 1001 }, () => '2099-01-01T00:00:00Z') }, { alert_times: ['Ensure this field has no more than 1000 elements.'] }],
    ]
    for (const [body, expected] of cases) {
      const response = await org.call('POST', path, body)
      expect({ body, status: response.status, answer: response.body }).toEqual({ body, status: 400, answer: expected })
    }
    for (const id of ['F0NOSUCHCHAIN', otherChain]) {
      const response = await org.call('POST', `/api/v1/escalation_chains/${id}/simulate/`, {})
      expect({ status: response.status, body: response.body }).toEqual({ status: 404, body: { detail: 'Not found.' } })
    }
    // No body at all: start now, one alert at start.
    const now = await org.call('POST', path)
    expect(now.status).toBe(200)
    expect(Math.abs(Date.parse(now.body.start) - Date.now())).toBeLessThan(60_000)
  })
})

describe('POST /v2/escalation_paths/{id}/actions/simulate', () => {
  /** Weekdays 09:00–17:00 London time: a day level (ann) inside, a night level (bob) outside, every 30 minutes. */
  async function officePath(): Promise<string> {
    const body = await ok(
      await org.v2('POST', '/v2/escalation_paths', {
        name: 'Office hours',
        working_hours: [
          {
            id: 'uk',
            name: 'UK office',
            timezone: 'Europe/London',
            weekday_intervals: ['monday', 'tuesday', 'wednesday', 'thursday', 'friday'].map((weekday) => ({ weekday, start_time: '09:00', end_time: '17:00' })),
          },
        ],
        path: [
          {
            id: 'hours',
            type: 'if_else',
            if_else: {
              conditions: [{ subject: 'escalation.working_hours["uk"]', operation: 'is_active', param_bindings: [] }],
              then_path: [{ id: 'day', type: 'level', level: { targets: [{ id: users.ann, type: 'user', urgency: 'high' }], time_to_ack_seconds: 1800 } }],
              else_path: [{ id: 'night', type: 'level', level: { targets: [{ id: users.bob, type: 'user', urgency: 'low' }], time_to_ack_seconds: 1800 } }],
            },
          },
          { id: 'again', type: 'repeat', repeat: { repeat_times: 10, to_node: 'hours' } },
        ],
      }),
    )
    return body.escalation_path.id
  }

  const branchesOf = (body: any) => body.entries.filter((e: any) => e.action === 'branch').map((e: any) => [e.at, e.branch, e.why])

  test('a working-hours branch follows local time: 09:00 London is 08:00Z before fall-back and 09:00Z after', async () => {
    const id = await officePath()
    // Friday 2027-10-29, British Summer Time.
    const friday = await org.v2('POST', `/v2/escalation_paths/${id}/actions/simulate`, { start: '2027-10-29T07:30:00Z', until: '2027-10-29T08:30:00Z' })
    expect(friday.status).toBe(200)
    expect(branchesOf(friday.body)).toEqual([
      ['2027-10-29T07:30:00.000000Z', 'else', 'else: Friday 08:30 Europe/London (+01:00) is outside working hours UK office'],
      ['2027-10-29T08:00:00.000000Z', 'then', 'then: Friday 09:00 Europe/London (+01:00) is inside working hours UK office'],
      ['2027-10-29T08:30:00.000000Z', 'then', 'then: Friday 09:30 Europe/London (+01:00) is inside working hours UK office'],
    ])
    expect(pagesOf(friday.body)).toEqual([
      ['2027-10-29T07:30:00.000000Z', ['bob']],
      ['2027-10-29T08:00:00.000000Z', ['ann']],
      ['2027-10-29T08:30:00.000000Z', ['ann']],
    ])
    expect(friday.body.entries[0]).toEqual({
      at: '2027-10-29T07:30:00.000000Z',
      due_at: '2027-10-29T07:30:00.000000Z',
      step_index: 0,
      node_id: 'hours',
      type: 'if_else',
      action: 'branch',
      users: [],
      branch: 'else',
      why: 'else: Friday 08:30 Europe/London (+01:00) is outside working hours UK office',
    })
    expect(friday.body.entries.find((e: any) => e.node_id === 'night' && e.action === 'page').users).toEqual([{ id: users.bob, name: 'bob', important: false }])
    expect(friday.body).toMatchObject({ escalation_path_id: id, priority: 'P1', start: '2027-10-29T07:30:00.000000Z', until: '2027-10-29T08:30:00.000000Z' })
    expect(friday.body.outcome).toEqual({
      status: 'cut',
      at: '2027-10-29T08:30:00.000000Z',
      why: 'the next decision, at 2027-10-29T09:00:00.000Z, comes after until',
    })

    // Monday 2027-11-01, Greenwich Mean Time again.
    const monday = await org.v2('POST', `/v2/escalation_paths/${id}/actions/simulate`, { start: '2027-11-01T08:00:00Z', until: '2027-11-01T09:30:00Z' })
    expect(branchesOf(monday.body)).toEqual([
      ['2027-11-01T08:00:00.000000Z', 'else', 'else: Monday 08:00 Europe/London (+00:00) is outside working hours UK office'],
      ['2027-11-01T08:30:00.000000Z', 'else', 'else: Monday 08:30 Europe/London (+00:00) is outside working hours UK office'],
      ['2027-11-01T09:00:00.000000Z', 'then', 'then: Monday 09:00 Europe/London (+00:00) is inside working hours UK office'],
      ['2027-11-01T09:30:00.000000Z', 'then', 'then: Monday 09:30 Europe/London (+00:00) is inside working hours UK office'],
    ])

    // Run to the end: ten repeats, then the path runs out and the escalation expires.
    const whole = await org.v2('POST', `/v2/escalation_paths/${id}/actions/simulate`, { start: '2027-11-01T08:00:00Z' })
    expect(pagesOf(whole.body)).toHaveLength(11)
    expect(whole.body.entries.slice(-2).map((e: any) => e.action)).toEqual(['finished', 'expire'])
    expect(whole.body.outcome).toEqual({
      status: 'expired',
      at: '2027-11-01T13:30:00.000000Z',
      why: 'every node ran and nobody acknowledged: the escalation expires',
    })
  })

  test("bad input is a 422 naming the field; an unknown path or another organization's is 404", async () => {
    const id = await officePath()
    const path = `/v2/escalation_paths/${id}/actions/simulate`
    const cases: Array<[unknown, string, string]> = [
      [{ start: 'tomorrow' }, 'start', 'must be an RFC 3339 date-time such as 2025-01-31T09:00:00Z'],
      [{ alert_times: ['2027-03-28T00:00:00Z', 5] }, 'alert_times[1]', 'must be an RFC 3339 date-time such as 2025-01-31T09:00:00Z'],
      [{ start: '2027-03-28T00:00:00Z', alert_times: ['2027-03-27T00:00:00Z'] }, 'alert_times', 'alert_times[0] is before start: every alert comes at or after start'],
      [{ start: '2027-03-28T00:00:00Z', until: '2027-03-28T00:00:00Z' }, 'until', 'must be after start'],
      [{ start: '2027-03-28T00:00:00Z', until: '2027-05-01T00:00:00Z' }, 'until', 'must be at most 30 days after start'],
      [{ priority: '  ' }, 'priority', 'must not be blank'],
    ]
    for (const [body, field, message] of cases) {
      const response = await org.v2('POST', path, body)
      expect({ body, status: response.status, type: response.body?.type, errors: response.body?.errors }).toEqual({
        body,
        status: 422,
        type: 'validation_error',
        errors: [expect.objectContaining({ message, source: { field } })],
      })
    }
    for (const unknown of ['01NOSUCHPATH', otherPath]) {
      const response = await org.v2('POST', `/v2/escalation_paths/${unknown}/actions/simulate`, {})
      expect({ status: response.status, type: response.body.type }).toEqual({ status: 404, type: 'not_found' })
    }
    // A viewer may look, on both surfaces; no body at all means now.
    const viewer = await ok(await org.call('POST', '/api/v1/users/', { username: 'vera', email: 'vera@dry.test', role: 'viewer' }))
    const token = await issueToken(stack.db, org.organizationId, viewer.id, 'viewer')
    expect((await caller(stack.baseUrl, `Bearer ${token}`)('POST', path)).status).toBe(200)
    const chain = await chainOf(org, 'Viewer', [{ type: 'wait', duration: 60 }])
    expect((await caller(stack.baseUrl, token)('POST', `/api/v1/escalation_chains/${chain.id}/simulate/`)).status).toBe(200)
    const now = await org.v2('POST', path)
    expect(now.status).toBe(200)
    expect(now.body.priority).toBe('P1')
  })
})

test('both OpenAPI documents describe the dry runs as Tocsin extensions', async () => {
  const v1 = await org.call('GET', '/api/v1/openapi.json')
  expect(v1.body.paths['/api/v1/escalation_chains/{id}/simulate/'].post.description).toContain('Tocsin extension')
  const v2 = await org.v2('GET', '/v2/openapi.json')
  const operation = v2.body.paths['/v2/escalation_paths/{id}/actions/simulate'].post
  expect(operation.description).toContain('Tocsin extension')
  expect(Object.keys(operation.requestBody.content['application/json'].schema.properties)).toEqual(['start', 'alert_times', 'acknowledged_at', 'until', 'priority'])
})

describe('no side effects', () => {
  /** Every table's row count, and the rows that hold round-robin state (picks and each queue's position). */
  async function snapshot() {
    const tables = await sql<{ table_name: string }>`
      select table_name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE' order by table_name`.execute(stack.db)
    const counts: Record<string, number> = {}
    for (const { table_name } of tables.rows) {
      const counted = await sql<{ n: string }>`select count(*) as n from ${sql.table(table_name)}`.execute(stack.db)
      counts[table_name] = Number(counted.rows[0]?.n)
    }
    const picks = await stack.db.selectFrom('round_robin_picks').selectAll().orderBy('idempotency_key').execute()
    const queues = await stack.db.selectFrom('escalation_policies').select(['id', 'users', 'round_robin_index']).orderBy('id').execute()
    const keyedQueues = await stack.db.selectFrom('round_robin_queues').selectAll().orderBy('queue_key').execute()
    return { counts, picks, queues, keyedQueues }
  }

  async function workflowsOnTaskQueue(): Promise<string[]> {
    const ids: string[] = []
    for await (const execution of stack.escalations.client.workflow.list({ query: `TaskQueue = '${stack.taskQueue}'` })) ids.push(execution.workflowId)
    return ids
  }

  test('a simulation with round-robin queues and schedules writes nothing and starts no workflow', async () => {
    const chain = await chainOf(org, 'Rotating', [
      { type: 'notify_person_next_each_time', persons_to_notify_next_each_time: [users.ann, users.bob, users.cat] },
      { type: 'notify_on_call_from_schedule', notify_on_call_from_schedule: londonSchedule },
      { type: 'wait', duration: 60 },
      { type: 'repeat_escalation' },
    ])
    // The engine has paged through this queue once (a real pick, as the worker's activity makes it): bob is next.
    const policyId = chain.policies[0] as string
    const picked = await resolveRecipients(
      stack.db,
      org.organizationId,
      { kind: 'round_robin', policyId, userIds: [users.ann, users.bob, users.cat] },
      { now: new Date(), roundRobin: { mode: 'pick', key: 'earlier-escalation:0:round-robin' }, ical: stack.ical },
    )
    expect(picked.userIds).toEqual([users.ann])
    const pathId = (
      await ok(
        await org.v2('POST', '/v2/escalation_paths', {
          name: 'Rotating path',
          path: [
            {
              id: 'rr',
              type: 'level',
              level: {
                targets: [
                  { id: users.ann, type: 'user', urgency: 'high' },
                  { id: users.cat, type: 'user', urgency: 'high' },
                  { id: londonSchedule, type: 'schedule', urgency: 'low' },
                ],
                round_robin_config: { enabled: true },
                time_to_ack_seconds: 60,
              },
            },
            { id: 'again', type: 'repeat', repeat: { repeat_times: 3, to_node: 'rr' } },
          ],
        }),
      )
    ).escalation_path.id

    const engine = stack.escalations
    const spies = [
      jest.spyOn(engine, 'start'),
      jest.spyOn(engine, 'reopen'),
      jest.spyOn(engine, 'act'),
      jest.spyOn(engine, 'addResponders'),
      jest.spyOn(engine.client.workflow, 'start'),
      jest.spyOn(engine.client.workflow, 'signalWithStart'),
      jest.spyOn(engine.client.workflow, 'execute'),
    ]
    const before = await snapshot()
    expect(before.picks).toHaveLength(1)

    const chainRun = await org.call('POST', `/api/v1/escalation_chains/${chain.id}/simulate/`, {
      start: '2027-03-28T07:58:00Z',
      alert_times: ['2027-03-28T07:59:00Z', '2027-03-28T07:58:00Z'],
    })
    expect(chainRun.status).toBe(200)
    // Round robin from the queue's head (bob), one further per repeat; the schedule hands over at 08:00Z.
    expect(pagesOf(chainRun.body).slice(0, 8)).toEqual([
      ['2027-03-28T07:58:00Z', ['bob']],
      ['2027-03-28T07:58:00Z', ['ann']],
      ['2027-03-28T07:59:00Z', ['cat']],
      ['2027-03-28T07:59:00Z', ['ann']],
      ['2027-03-28T08:00:00Z', ['ann']],
      ['2027-03-28T08:00:00Z', ['bob']],
      ['2027-03-28T08:01:00Z', ['bob']],
      ['2027-03-28T08:01:00Z', ['bob']],
    ])
    expect(chainRun.body.entries[0].why).toBe('round robin: the head of the queue')
    const pathRun = await org.v2('POST', `/v2/escalation_paths/${pathId}/actions/simulate`, { start: '2027-03-28T07:59:00Z' })
    expect(pathRun.status).toBe(200)
    // The path's own queue has never moved: ann first, then (the repeat pages the level again) cat; the schedule
    // hands over to bob at 08:00Z.
    expect(pagesOf(pathRun.body).slice(0, 2)).toEqual([
      ['2027-03-28T07:59:00.000000Z', ['ann']],
      ['2027-03-28T08:00:00.000000Z', ['cat', 'bob']],
    ])

    expect(await snapshot()).toEqual(before)
    for (const spy of spies) expect(spy).not.toHaveBeenCalled()
    expect(await workflowsOnTaskQueue()).toEqual([])
    for (const spy of spies) spy.mockRestore()
  })
})
