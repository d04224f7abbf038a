import { issueToken } from '../../db/tokens.repo'
import { caller, createOrg, startStack, type Stack } from '../../test/stack'

// /api/v1/on_call_shifts: OnCall's per-type shapes and detail texts, and
// refused writes under hostile input.

type Org = Awaited<ReturnType<typeof createOrg>>

const SHIFT_ID = /^O[A-NP-Z1-9]{12}$/
const NOT_FOUND = { detail: 'Not found.' }
const HUGE = 'x'.repeat(100_000)

let stack: Stack
let org: Org
let other: Org
let alice: string
let bob: string
let otherUser: string

beforeAll(async () => {
  stack = await startStack('on_call_shifts', { worker: false })
  org = await createOrg(stack, 'Acme')
  other = await createOrg(stack, 'Globex')
  alice = (await org.call('POST', '/api/v1/users/', { username: 'alice', email: 'alice@acme.test', role: 'editor' }))
    .body.id
  bob = (await org.call('POST', '/api/v1/users/', { username: 'bob', email: 'bob@acme.test', role: 'editor' })).body.id
  otherUser = (await other.call('POST', '/api/v1/users/', { username: 'eve', email: 'eve@globex.test' })).body.id
})
afterAll(() => stack.stop())

const shiftRows = (organizationId = org.organizationId) =>
  stack.db
    .selectFrom('on_call_shifts')
    .selectAll()
    .where('organization_id', '=', organizationId)
    .orderBy('pk')
    .execute()

async function expectRejected(method: string, path: string, body: unknown, expected: unknown, status = 400) {
  const before = [await shiftRows(), await shiftRows(other.organizationId)]
  const response = await org.call(method, path, body)
  const shown = JSON.stringify(body)?.slice(0, 120)
  expect({ shown, status: response.status, body: expected === undefined ? 'any' : response.body }).toEqual({
    shown,
    status,
    body: expected === undefined ? 'any' : expected,
  })
  expect(response.body !== null && typeof response.body === 'object').toBe(true)
  expect([await shiftRows(), await shiftRows(other.organizationId)]).toEqual(before)
}

const recurrent = (extra: Record<string, unknown> = {}) => ({
  name: 'Weekly',
  type: 'recurrent_event',
  team_id: null,
  time_zone: 'Europe/London',
  level: 1,
  start: '2024-01-01T09:00:00',
  duration: 28800,
  frequency: 'weekly',
  week_start: 'MO',
  by_day: ['MO', 'TU'],
  users: [],
  ...extra,
})

describe('create and read, per type', () => {
  test('an override has no level or recurrence keys, echoes start, schedule null', async () => {
    const created = await org.call('POST', '/api/v1/on_call_shifts/', {
      team_id: null,
      name: 'Override',
      type: 'override',
      start: '2024-06-01T10:00:00',
      duration: 10800,
      users: [alice],
    })
    expect(created.status).toBe(201)
    expect(created.body).toEqual({
      id: expect.stringMatching(SHIFT_ID),
      team_id: null,
      schedule: null,
      name: 'Override',
      type: 'override',
      time_zone: null,
      start: '2024-06-01T10:00:00',
      rotation_start: '2024-06-01T10:00:00',
      duration: 10800,
      users: [alice],
    })
    expect((await org.call('GET', `/api/v1/on_call_shifts/${created.body.id}`)).body).toEqual(created.body)
  })

  test('weekly with interval null is refused; without interval it is 1; week_start only for weekly', async () => {
    await expectRejected('POST', '/api/v1/on_call_shifts/', recurrent({ interval: null }), {
      detail: "Field 'interval' must be a positive integer",
    })
    const created = await org.call(
      'POST',
      '/api/v1/on_call_shifts/',
      recurrent({ users: [alice, 'UNKNOWN', otherUser] }),
    )
    expect(created.status).toBe(201)
    expect(created.body).toEqual({
      id: expect.stringMatching(SHIFT_ID),
      team_id: null,
      schedule: null,
      name: 'Weekly',
      type: 'recurrent_event',
      time_zone: 'Europe/London',
      level: 1,
      start: '2024-01-01T09:00:00',
      rotation_start: '2024-01-01T09:00:00',
      duration: 28800,
      frequency: 'weekly',
      interval: 1,
      until: null,
      week_start: 'MO',
      by_day: ['MO', 'TU'],
      by_month: null,
      by_monthday: null,
      // unknown ids and other organizations' users are dropped silently, as OnCall does
      users: [alice],
    })
    const daily = await org.call('POST', '/api/v1/on_call_shifts/', recurrent({ frequency: 'daily', by_day: [] }))
    expect(daily.body).not.toHaveProperty('week_start')
    expect(daily.body.by_day).toBeNull()
  })

  test('rolling_users with an unknown id names its index; the shape has no users key', async () => {
    const body = {
      name: 'Rolling',
      type: 'rolling_users',
      start: '2024-01-01T09:00:00',
      duration: '1 00:00:00',
      frequency: 'daily',
      start_rotation_from_user_index: 0,
    }
    await expectRejected(
      'POST',
      '/api/v1/on_call_shifts/',
      { ...body, rolling_users: [[alice], ['fuzz']] },
      {
        rolling_users: { '1': ["User does not exist {'fuzz'}"] },
      },
    )
    await expectRejected(
      'POST',
      '/api/v1/on_call_shifts/',
      { ...body, rolling_users: [[otherUser]] },
      {
        rolling_users: { '0': [`User does not exist {'${otherUser}'}`] },
      },
    )
    const { start_rotation_from_user_index: _omit, ...withoutIndex } = body
    await expectRejected(
      'POST',
      '/api/v1/on_call_shifts/',
      { ...withoutIndex, rolling_users: [[alice]] },
      {
        detail: "Field 'start_rotation_from_user_index' is required for this on-call shift type",
      },
    )
    const created = await org.call('POST', '/api/v1/on_call_shifts/', { ...body, rolling_users: [[alice], [bob]] })
    expect(created.status).toBe(201)
    expect(created.body).not.toHaveProperty('users')
    expect(created.body).toMatchObject({
      duration: 86400,
      rolling_users: [[alice], [bob]],
      start_rotation_from_user_index: 0,
    })
  })

  test('single events drop recurrence keys; a web override gets level 99 and rolling users from users', async () => {
    const single = await org.call('POST', '/api/v1/on_call_shifts/', {
      type: 'single_event',
      start: '2024-01-01T09:00:00',
      duration: 60,
      frequency: 'daily',
      users: [bob],
    })
    expect(Object.keys(single.body).sort()).toEqual(
      [
        'id',
        'team_id',
        'schedule',
        'name',
        'type',
        'time_zone',
        'level',
        'start',
        'rotation_start',
        'duration',
        'users',
      ].sort(),
    )
    const web = await org.call('POST', '/api/v1/on_call_shifts/', {
      type: 'override',
      start: '2024-01-01T09:00:00',
      rotation_start: '2023-01-01T00:00:00',
      duration: 60,
      users: [bob],
      source: 0,
    })
    const row = await stack.db
      .selectFrom('on_call_shifts')
      .selectAll()
      .where('id', '=', web.body.id)
      .executeTakeFirstOrThrow()
    expect(row).toMatchObject({ level: 99, source: 0, rotation_start: '2024-01-01T09:00:00', rolling_users: [[bob]] })
  })
})

describe('OnCall detail texts and field errors', () => {
  const cases: Array<[string, Record<string, unknown>, unknown]> = [
    ['unknown type', { type: 'weird' }, { detail: 'Invalid shift type' }],
    ['unknown frequency', { frequency: 'yearly' }, { detail: 'Invalid frequency type' }],
    ['interval 0', { interval: 0 }, { detail: 'Invalid value for interval' }],
    ['interval string', { interval: 'two' }, { detail: 'Invalid value for interval' }],
    [
      'bad week_start',
      { week_start: 'XX' },
      {
        detail:
          "Invalid day format for week start field. Should be one of the following: 'MO', 'TU', 'WE', 'TH', 'FR', 'SA', 'SU'",
      },
    ],
    [
      'bad by_day',
      { by_day: ['MO', 'XX'] },
      { detail: "Invalid day value in by_day field. Valid values: 'MO', 'TU', 'WE', 'TH', 'FR', 'SA', 'SU'" },
    ],
    [
      'bad by_month',
      { by_month: [13] },
      { detail: 'Invalid month value in by_month field. Valid values: from 1 to 12' },
    ],
    [
      'bad by_monthday',
      { by_monthday: [0] },
      { detail: 'Invalid monthday value in by_monthday field. Valid values: from 1 to 31 and from -31 to -1' },
    ],
    [
      'start with a zone',
      { start: '2024-01-01T09:00:00Z' },
      { detail: 'Invalid datetime format, should be "yyyy-mm-dd\'T\'hh:mm:ss"' },
    ],
    [
      'impossible date',
      { start: '2024-02-30T09:00:00' },
      { detail: 'Invalid datetime format, should be "yyyy-mm-dd\'T\'hh:mm:ss"' },
    ],
    ['huge until', { until: HUGE }, { detail: 'Invalid datetime format, should be "yyyy-mm-dd\'T\'hh:mm:ss"' }],
    ['start a number', { start: 5 }, { detail: 'Invalid datetime format, should be "yyyy-mm-dd\'T\'hh:mm:ss"' }],
    ['bad zone', { time_zone: 'Mars/Olympus' }, { time_zone: ['Invalid timezone'] }],
    ['huge zone', { time_zone: HUGE }, { time_zone: ['Invalid timezone'] }],
    ['no frequency', { frequency: null }, { detail: "Field 'frequency' is required for this on-call shift type" }],
    [
      'weekly without week_start',
      { week_start: undefined },
      { detail: "Field 'week_start' is required for frequency type 'weekly'" },
    ],
    [
      'duration garbage',
      { duration: 'soon' },
      { duration: ['Duration has wrong format. Use one of these formats instead: [DD] [HH:[MM:]]ss[.uuuuuu].'] },
    ],
    ['duration zero', { duration: 0 }, { duration: ['Ensure this value is greater than or equal to 1.'] }],
    ['duration huge', { duration: 10 ** 12 }, { duration: ['Ensure this value is less than or equal to 31622400.'] }],
    ['other team', { team_id: 'TNOPE' }, { team_id: ['Object does not exist'] }],
    ['level negative', { level: -1 }, { level: ['Ensure this value is greater than or equal to 0.'] }],
    ['users not a list', { users: 'U1' }, { users: ['Expected a list of items but got type "str".'] }],
    ['name huge', { name: HUGE }, { name: ['Ensure this field has no more than 200 characters.'] }],
    ['nul char', { name: 'a\u0000b' }, undefined],
  ]
  test.each(cases)('%s', async (_name, fields, expected) => {
    const body = recurrent(fields)
    for (const key of Object.keys(fields)) if (fields[key] === undefined) delete (body as Record<string, unknown>)[key]
    await expectRejected('POST', '/api/v1/on_call_shifts/', body, expected)
  })

  test('missing type and start; non-object bodies', async () => {
    await expectRejected(
      'POST',
      '/api/v1/on_call_shifts/',
      { start: '2024-01-01T00:00:00', duration: 1 },
      {
        type: ['This field is required.'],
      },
    )
    await expectRejected(
      'POST',
      '/api/v1/on_call_shifts/',
      { type: 'single_event', duration: 1 },
      { start: ['This field is required.'] },
    )
    for (const body of [[], 42, 'text', null]) await expectRejected('POST', '/api/v1/on_call_shifts/', body, undefined)
  })
})

describe('update, list, delete, isolation', () => {
  test('PATCH changes fields and keeps the rest; changing frequency to weekly needs week_start', async () => {
    const created = (await org.call('POST', '/api/v1/on_call_shifts/', recurrent({ frequency: 'daily', by_day: null })))
      .body
    const patched = await org.call('PATCH', `/api/v1/on_call_shifts/${created.id}/`, { level: 3, users: [bob] })
    expect(patched).toMatchObject({ status: 200, body: { ...created, level: 3, users: [bob] } })
    await expectRejected(
      'PATCH',
      `/api/v1/on_call_shifts/${created.id}/`,
      { frequency: 'weekly' },
      {
        detail: "Field 'week_start' is required for frequency type 'weekly'",
      },
    )
    const weekly = await org.call('PUT', `/api/v1/on_call_shifts/${created.id}/`, {
      frequency: 'weekly',
      week_start: 'TU',
    })
    expect(weekly.body).toMatchObject({ frequency: 'weekly', week_start: 'TU', level: 3 })
  })

  test('list filters by name, team_id and schedule_id; other organizations are invisible', async () => {
    const mine = (await org.call('POST', '/api/v1/on_call_shifts/', recurrent({ name: 'listed' }))).body
    await other.call('POST', '/api/v1/on_call_shifts/', recurrent({ name: 'listed' }))
    const schedule = (
      await org.call('POST', '/api/v1/schedules/', { name: 'S', type: 'calendar', time_zone: 'UTC', shifts: [mine.id] })
    ).body
    expect(schedule.shifts).toEqual([mine.id])
    const byName = await org.call('GET', '/api/v1/on_call_shifts/?name=listed')
    expect(byName.body).toMatchObject({ count: 1, page_size: 50, current_page_number: 1, total_pages: 1 })
    expect(byName.body.results[0]).toEqual({ ...mine, schedule: schedule.id })
    const bySchedule = await org.call('GET', `/api/v1/on_call_shifts/?schedule_id=${schedule.id}`)
    expect(bySchedule.body.results.map((s: { id: string }) => s.id)).toEqual([mine.id])
    expect((await org.call('GET', '/api/v1/on_call_shifts/?schedule_id=SNOPE')).body.count).toBe(0)
    expect((await org.call('GET', '/api/v1/on_call_shifts/?team_id=TNOPE')).status).toBe(400)
    const all = await org.call('GET', '/api/v1/on_call_shifts')
    // linked shifts first (OnCall orders by schedule)
    expect(all.body.results[0].id).toBe(mine.id)
  })

  test("another organization's shift is 404 on every route and cannot be attached to a schedule", async () => {
    const theirs = (await other.call('POST', '/api/v1/on_call_shifts/', recurrent({ name: 'theirs' }))).body
    for (const [method, body] of [
      ['GET', undefined],
      ['PUT', { level: 2 }],
      ['PATCH', { level: 2 }],
      ['DELETE', undefined],
    ] as const) {
      await expectRejected(method, `/api/v1/on_call_shifts/${theirs.id}/`, body, NOT_FOUND, 404)
    }
    const schedule = await org.call('POST', '/api/v1/schedules/', {
      name: 'S2',
      type: 'web',
      time_zone: 'UTC',
      shifts: [theirs.id],
    })
    expect(schedule.body.shifts).toEqual([])
  })

  test('calendar schedules refuse override shifts; DELETE removes the shift from its schedules', async () => {
    const override = (
      await org.call('POST', '/api/v1/on_call_shifts/', {
        type: 'override',
        start: '2024-01-01T00:00:00',
        duration: 60,
        users: [alice],
      })
    ).body
    const refused = await org.call('POST', '/api/v1/schedules/', {
      name: 'C',
      type: 'calendar',
      time_zone: 'UTC',
      shifts: [override.id],
    })
    expect(refused).toMatchObject({
      status: 400,
      body: { detail: 'Shifts of type override are not supported in this schedule' },
    })
    const web = (
      await org.call('POST', '/api/v1/schedules/', { name: 'W', type: 'web', time_zone: 'UTC', shifts: [override.id] })
    ).body
    expect(web.shifts).toEqual([override.id])
    expect((await org.call('DELETE', `/api/v1/on_call_shifts/${override.id}/`)).status).toBe(204)
    expect((await org.call('GET', `/api/v1/schedules/${web.id}/`)).body.shifts).toEqual([])
    await expectRejected('DELETE', `/api/v1/on_call_shifts/${override.id}/`, undefined, NOT_FOUND, 404)
  })

  test('viewers read but cannot write', async () => {
    const viewerUser = (
      await org.call('POST', '/api/v1/users/', { username: 'v', email: 'v@acme.test', role: 'viewer' })
    ).body
    const viewer = caller(stack.baseUrl, await issueToken(stack.db, org.organizationId, viewerUser.id, 'v'))
    expect((await viewer('GET', '/api/v1/on_call_shifts/')).status).toBe(200)
    expect(await viewer('POST', '/api/v1/on_call_shifts/', recurrent())).toMatchObject({
      status: 403,
      body: { detail: 'You do not have permission to perform this action.' },
    })
  })
})
