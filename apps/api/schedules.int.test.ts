import { refusalCheck } from '../../test/refusals'
import { issueToken } from '../../db/tokens.repo'
import { caller, createOrg, organizationRows, startStack, type Stack } from '../../test/stack'

// /api/v1/schedules: OnCall's polymorphic schedules as far as escalation policies need them now; refused writes
// under hostile input, in DRF's error shapes.

type Org = Awaited<ReturnType<typeof createOrg>>

const PUBLIC_URL = 'https://oncall.example.test'
const CALENDAR_KEYS = [
  'id',
  'team_id',
  'name',
  'type',
  'time_zone',
  'on_call_now',
  'shifts',
  'slack',
  'ical_url_overrides',
  'enable_web_overrides',
].sort()
const WEB_KEYS = ['id', 'team_id', 'name', 'type', 'time_zone', 'on_call_now', 'shifts', 'slack'].sort()
const ICAL_KEYS = [
  'id',
  'team_id',
  'name',
  'type',
  'ical_url_primary',
  'ical_url_overrides',
  'on_call_now',
  'slack',
].sort()
const SCHEDULE_ID = /^S[A-NP-Z1-9]{12}$/
const NOT_FOUND = { detail: 'Not found.' }
const NO_SLACK = { channel_id: null, user_group_id: null }
const HUGE = 'x'.repeat(100_000)
const ICAL_URL = 'https://calendar.example.test/primary.ics'

let stack: Stack
let org: Org
let other: Org
let otherTeamId: string

beforeAll(async () => {
  stack = await startStack('schedules', { worker: false, publicUrl: PUBLIC_URL })
  org = await createOrg(stack, 'Acme')
  other = await createOrg(stack, 'Globex')
  otherTeamId = (await other.call('POST', '/api/v1/teams/', { name: 'Globex Ops' })).body.id
})
afterAll(() => stack.stop())

async function snapshot(organizationId = org.organizationId) {
  const [base, schedules] = await Promise.all([
    organizationRows(stack.db, organizationId),
    stack.db.selectFrom('schedules').selectAll().where('organization_id', '=', organizationId).orderBy('pk').execute(),
  ])
  return { ...base, schedules }
}


/** A refused write: `expected` exactly (or any error body when undefined), nothing moved in either organization. */
const expectRejected = refusalCheck(
  () => org.call,
  async () => [await snapshot(), await snapshot(other.organizationId)],
)

async function createSchedule(body: Record<string, unknown>, as: Org = org) {
  const response = await as.call('POST', '/api/v1/schedules/', body)
  expect(response.status).toBe(201)
  return response.body
}

const calendar = (extra: Record<string, unknown> = {}) => ({
  name: 'Calendar',
  type: 'calendar',
  time_zone: 'UTC',
  ...extra,
})
const storedRow = (id: string) =>
  stack.db.selectFrom('schedules').selectAll().where('id', '=', id).executeTakeFirstOrThrow()

describe('create and read', () => {
  test('a calendar schedule in the exact OnCall shape; a bad time zone is a field error', async () => {
    const created = await org.call('POST', '/api/v1/schedules/', {
      team_id: null,
      name: 'n',
      time_zone: 'Europe/Moscow',
      type: 'calendar',
    })
    expect(created.status).toBe(201)
    expect(Object.keys(created.body).sort()).toEqual(CALENDAR_KEYS)
    expect(created.body).toEqual({
      id: expect.stringMatching(SCHEDULE_ID),
      team_id: null,
      name: 'n',
      type: 'calendar',
      time_zone: 'Europe/Moscow',
      on_call_now: [],
      shifts: [],
      slack: NO_SLACK,
      ical_url_overrides: null,
      enable_web_overrides: false,
    })
    expect(await storedRow(created.body.id)).toMatchObject({
      organization_id: org.organizationId,
      type: 'calendar',
      time_zone: 'Europe/Moscow',
    })
    expect((await org.call('GET', `/api/v1/schedules/${created.body.id}/`)).body).toEqual(created.body)
    expect((await org.call('GET', `/api/v1/schedules/${created.body.id}`)).body).toEqual(created.body)

    await expectRejected(
      'POST',
      '/api/v1/schedules/',
      { team_id: null, name: 'n', time_zone: 'asdfasdasdf', type: 'calendar' },
      {
        time_zone: ['Invalid timezone'],
      },
    )
    await expectRejected(
      'POST',
      '/api/v1/schedules/',
      { name: 'n', time_zone: 'asdfasdasdf', type: 'web' },
      { time_zone: ['Invalid timezone'] },
    )
  })

  test('web and ical shapes; ical URLs are stored as given; calendar options echo', async () => {
    const web = await createSchedule({ name: 'Web', type: 'web', time_zone: 'America/New_York', team_id: '' })
    expect(Object.keys(web).sort()).toEqual(WEB_KEYS)
    expect(web).toEqual({
      id: web.id,
      team_id: null,
      name: 'Web',
      type: 'web',
      time_zone: 'America/New_York',
      on_call_now: [],
      shifts: [],
      slack: NO_SLACK,
    })
    const ical = await createSchedule({
      name: 'Ical',
      type: 'ical',
      ical_url_primary: ICAL_URL,
      time_zone: 'UTC',
      enable_web_overrides: true,
    })
    expect(Object.keys(ical).sort()).toEqual(ICAL_KEYS)
    expect(ical).toEqual({
      id: ical.id,
      team_id: null,
      name: 'Ical',
      type: 'ical',
      ical_url_primary: ICAL_URL,
      ical_url_overrides: null,
      on_call_now: [],
      slack: NO_SLACK,
    })
    // Keys of other types are ignored, as OnCall's per-type serializers do.
    expect(await storedRow(ical.id)).toMatchObject({
      time_zone: null,
      enable_web_overrides: false,
      ical_url_primary: ICAL_URL,
    })

    const team = (await org.call('POST', '/api/v1/teams/', { name: 'Schedulers' })).body
    const full = await createSchedule({
      name: 'Full',
      type: 'calendar',
      time_zone: 'Asia/Tokyo',
      team_id: team.id,
      ical_url_overrides: 'https://calendar.example.test/overrides.ics',
      enable_web_overrides: 'true',
      shifts: null,
      slack: { channel_id: null, user_group_id: null },
    })
    expect(full).toMatchObject({
      team_id: team.id,
      time_zone: 'Asia/Tokyo',
      ical_url_overrides: 'https://calendar.example.test/overrides.ics',
      enable_web_overrides: true,
      shifts: [],
    })
  })

  test('type: missing and unknown get the polymorphic serializer string values', async () => {
    await expectRejected(
      'POST',
      '/api/v1/schedules/',
      { name: 'n', time_zone: 'UTC' },
      { type: 'This field is required' },
    )
    await expectRejected('POST', '/api/v1/schedules/', undefined, { type: 'This field is required' })
    for (const type of ['wrong_type', 'Calendar', null, 1, ['web'], HUGE]) {
      await expectRejected(
        'POST',
        '/api/v1/schedules/',
        { name: 'n', ical_url_primary: ICAL_URL, type },
        { type: 'Invalid type' },
      )
    }
  })

  test('per-type required fields: time_zone for web and calendar, ical_url_primary (not null) for ical', async () => {
    await expectRejected(
      'POST',
      '/api/v1/schedules/',
      { name: 'n', type: 'calendar' },
      { time_zone: ['This field is required.'] },
    )
    await expectRejected(
      'POST',
      '/api/v1/schedules/',
      { name: 'n', type: 'web', time_zone: null },
      { time_zone: ['This field may not be null.'] },
    )
    await expectRejected(
      'POST',
      '/api/v1/schedules/',
      { name: 'n', type: 'ical' },
      { ical_url_primary: ['This field is required.'] },
    )
    await expectRejected(
      'POST',
      '/api/v1/schedules/',
      { name: 'n', type: 'ical', ical_url_primary: null },
      {
        ical_url_primary: ['This field may not be null.'],
      },
    )
    for (const url of [
      'not a url',
      'ftp://calendar.example.test/a.ics',
      'javascript:alert(1)',
      `https://${HUGE}.test`,
    ]) {
      await expectRejected('POST', '/api/v1/schedules/', { name: 'n', type: 'ical', ical_url_primary: url }, undefined)
    }
    await expectRejected('POST', '/api/v1/schedules/', calendar({ ical_url_overrides: 'nope' }), {
      ical_url_overrides: ['Enter a valid URL.'],
    })
    await expectRejected(
      'POST',
      '/api/v1/schedules/',
      { type: 'web', time_zone: 'UTC' },
      { name: ['This field is required.'] },
    )
    await expectRejected('POST', '/api/v1/schedules/', calendar({ name: 'n'.repeat(201) }), {
      name: ['Ensure this field has no more than 200 characters.'],
    })
  })

  test('names are not unique: the same name twice gives two schedules', async () => {
    const first = await createSchedule({ team_id: null, name: 'same-name', type: 'web', time_zone: 'UTC' })
    const second = await createSchedule({ team_id: null, name: 'same-name', type: 'web', time_zone: 'UTC' })
    expect(second.id).not.toBe(first.id)
    expect(
      (await org.call('GET', '/api/v1/schedules/?name=same-name')).body.results.map((s: { id: string }) => s.id),
    ).toEqual([first.id, second.id])
  })

  test("team_id: an own team or none; another organization's team is refused; Slack ids are refused without Slack", async () => {
    await expectRejected('POST', '/api/v1/schedules/', calendar({ team_id: otherTeamId }), {
      team_id: ['Object does not exist'],
    })
    await expectRejected('POST', '/api/v1/schedules/', calendar({ team_id: 'TNOPE' }), {
      team_id: ['Object does not exist'],
    })
    await expectRejected('POST', '/api/v1/schedules/', calendar({ slack: { channel_id: 'C123' } }), {
      detail: "Slack isn't connected to this workspace",
    })
    await expectRejected('POST', '/api/v1/schedules/', calendar({ slack: { user_group_id: 'S123' } }), {
      detail: "Slack isn't connected to this workspace",
    })
  })
})

describe('list', () => {
  test('envelope with page size 50, creation order, filters name (exact) and team_id, other organizations invisible', async () => {
    const listOrg = await createOrg(stack, 'Listing')
    const team = (await listOrg.call('POST', '/api/v1/teams/', { name: 'L team' })).body
    const ids: string[] = []
    ids.push((await createSchedule(calendar({ name: 'alpha', team_id: team.id }), listOrg)).id)
    ids.push((await createSchedule({ name: 'beta', type: 'web', time_zone: 'UTC' }, listOrg)).id)
    ids.push(
      (await createSchedule({ name: 'gamma', type: 'ical', ical_url_primary: ICAL_URL, team_id: team.id }, listOrg)).id,
    )
    await createSchedule(calendar({ name: 'alpha' }), other)

    const all = await listOrg.call('GET', '/api/v1/schedules/')
    expect(all.body).toMatchObject({
      count: 3,
      next: null,
      previous: null,
      page_size: 50,
      current_page_number: 1,
      total_pages: 1,
    })
    expect(all.body.results.map((s: { id: string }) => s.id)).toEqual(ids)
    expect(all.body.results.map((s: object) => Object.keys(s).sort())).toEqual([CALENDAR_KEYS, WEB_KEYS, ICAL_KEYS])
    expect((await listOrg.call('GET', '/api/v1/schedules')).body).toEqual(all.body)

    expect(
      (await listOrg.call('GET', '/api/v1/schedules/?name=alpha')).body.results.map((s: { id: string }) => s.id),
    ).toEqual([ids[0]])
    expect((await listOrg.call('GET', '/api/v1/schedules/?name=alph')).body.count).toBe(0)
    expect((await listOrg.call('GET', '/api/v1/schedules/?name=ALPHA')).body.count).toBe(0)
    expect(
      (await listOrg.call('GET', `/api/v1/schedules/?team_id=${team.id}`)).body.results.map(
        (s: { id: string }) => s.id,
      ),
    ).toEqual([ids[0], ids[2]])
    expect(
      (await listOrg.call('GET', '/api/v1/schedules/?team_id=null')).body.results.map((s: { id: string }) => s.id),
    ).toEqual([ids[1]])
    expect(await listOrg.call('GET', `/api/v1/schedules/?team_id=${otherTeamId}`)).toMatchObject({
      status: 400,
      body: { team_id: ['Select a valid choice. That choice is not one of the available choices.'] },
    })
    const page = await listOrg.call('GET', '/api/v1/schedules/?perpage=2&page=2')
    expect(page.body).toMatchObject({
      count: 3,
      current_page_number: 2,
      total_pages: 2,
      next: null,
      previous: `${PUBLIC_URL}/api/v1/schedules/?perpage=2`,
    })
    expect(page.body.results.map((s: { id: string }) => s.id)).toEqual([ids[2]])
  })
})

describe('update and delete', () => {
  test('PUT and PATCH change name, team_id and time_zone of calendar schedules, and the ical fields of ical ones', async () => {
    const team = (await org.call('POST', '/api/v1/teams/', { name: 'Updaters' })).body
    const cal = await createSchedule(calendar({ name: 'Before' }))
    const put = await org.call('PUT', `/api/v1/schedules/${cal.id}/`, { name: 'RENAMED', time_zone: 'Europe/Moscow' })
    expect(put).toMatchObject({ status: 200, body: { ...cal, name: 'RENAMED', time_zone: 'Europe/Moscow' } })
    const patched = await org.call('PATCH', `/api/v1/schedules/${cal.id}`, {
      team_id: team.id,
      enable_web_overrides: true,
      type: 'web',
    })
    // The type is fixed at creation.
    expect(patched.body).toEqual({ ...put.body, team_id: team.id, enable_web_overrides: true })
    expect(await storedRow(cal.id)).toMatchObject({
      name: 'RENAMED',
      time_zone: 'Europe/Moscow',
      team_id: team.id,
      type: 'calendar',
    })
    expect((await org.call('PATCH', `/api/v1/schedules/${cal.id}/`, { team_id: '' })).body.team_id).toBeNull()
    expect((await org.call('PATCH', `/api/v1/schedules/${cal.id}/`, {})).body).toEqual({
      ...patched.body,
      team_id: null,
    })

    const ical = await createSchedule({ name: 'Ical', type: 'ical', ical_url_primary: ICAL_URL })
    const icalPut = await org.call('PUT', `/api/v1/schedules/${ical.id}/`, {
      name: 'RENAMED',
      ical_url_overrides: 'https://c.example.test/o.ics',
    })
    expect(icalPut.body).toEqual({ ...ical, name: 'RENAMED', ical_url_overrides: 'https://c.example.test/o.ics' })
    await expectRejected(
      'PATCH',
      `/api/v1/schedules/${ical.id}/`,
      { ical_url_primary: null },
      { ical_url_primary: ['This field may not be null.'] },
    )
    await expectRejected(
      'PATCH',
      `/api/v1/schedules/${cal.id}/`,
      { time_zone: 'asdfasdf' },
      { time_zone: ['Invalid timezone'] },
    )
    await expectRejected(
      'PATCH',
      `/api/v1/schedules/${cal.id}/`,
      { name: '' },
      { name: ['This field may not be blank.'] },
    )
    await expectRejected(
      'PATCH',
      `/api/v1/schedules/${cal.id}/`,
      { team_id: otherTeamId },
      { team_id: ['Object does not exist'] },
    )
  })

  test('a web schedule update is refused, but only after the fields validated', async () => {
    const web = await createSchedule({ name: 'Web', type: 'web', time_zone: 'UTC' })
    const refusal = { detail: 'Web schedule update is not enabled through API' }
    await expectRejected(
      'PUT',
      `/api/v1/schedules/${web.id}/`,
      { name: 'RENAMED', time_zone: 'Europe/Moscow' },
      refusal,
    )
    await expectRejected('PATCH', `/api/v1/schedules/${web.id}/`, {}, refusal)
    await expectRejected(
      'PUT',
      `/api/v1/schedules/${web.id}/`,
      { time_zone: 'asdfasdf' },
      { time_zone: ['Invalid timezone'] },
    )
    await expectRejected(
      'PUT',
      `/api/v1/schedules/${web.id}/`,
      { team_id: otherTeamId },
      { team_id: ['Object does not exist'] },
    )
    expect((await org.call('GET', `/api/v1/schedules/${web.id}/`)).body).toEqual(web)
  })

  test('DELETE is 204 (the row is gone), then 404 on every route', async () => {
    const schedule = await createSchedule(calendar({ name: 'Doomed' }))
    const deleted = await org.call('DELETE', `/api/v1/schedules/${schedule.id}/`)
    expect(deleted.status).toBe(204)
    expect(deleted.text).toBe('')
    expect(await org.call('GET', `/api/v1/schedules/${schedule.id}/`)).toMatchObject({ status: 404, body: NOT_FOUND })
    expect(await stack.db.selectFrom('schedules').select('id').where('id', '=', schedule.id).execute()).toEqual([])
    for (const [method, body] of [
      ['PUT', { name: 'x' }],
      ['PATCH', {}],
      ['DELETE', undefined],
    ] as const) {
      await expectRejected(method, `/api/v1/schedules/${schedule.id}/`, body, NOT_FOUND, 404)
    }
  })
})

describe('isolation and permissions', () => {
  test("another organization's schedule ids are 404 on every route, and nothing changes", async () => {
    const theirs = await createSchedule(calendar({ name: 'Theirs' }), other)
    for (const [method, body] of [
      ['GET', undefined],
      ['PUT', { name: 'pwned' }],
      ['PATCH', { time_zone: 'UTC' }],
      ['DELETE', undefined],
    ] as const) {
      await expectRejected(method, `/api/v1/schedules/${theirs.id}/`, body, NOT_FOUND, 404)
    }
    expect((await org.call('GET', '/api/v1/schedules/?name=Theirs')).body.count).toBe(0)
    expect((await other.call('GET', `/api/v1/schedules/${theirs.id}/`)).body).toEqual(theirs)
  })

  test('viewers read; editors (OnCall schedule writers) and admins write', async () => {
    const schedule = await createSchedule(calendar({ name: 'Perms' }))
    const token = async (role: string) => {
      const user = (
        await org.call('POST', '/api/v1/users/', { username: `s-${role}`, email: `s-${role}@acme.test`, role })
      ).body
      return caller(stack.baseUrl, await issueToken(stack.db, org.organizationId, user.id, role))
    }
    const viewer = await token('viewer')
    expect((await viewer('GET', `/api/v1/schedules/${schedule.id}/`)).body).toEqual(schedule)
    expect((await viewer('GET', '/api/v1/schedules/')).status).toBe(200)
    const before = await snapshot()
    for (const [method, path, body] of [
      ['POST', '/api/v1/schedules/', calendar()],
      ['PATCH', `/api/v1/schedules/${schedule.id}/`, { name: 'x' }],
      ['PUT', '/api/v1/schedules/SNONEXISTENT1/', { name: 'x' }],
      ['DELETE', `/api/v1/schedules/${schedule.id}/`, undefined],
    ] as const) {
      expect(await viewer(method, path, body)).toMatchObject({
        status: 403,
        body: { detail: 'You do not have permission to perform this action.' },
      })
    }
    expect(await snapshot()).toEqual(before)

    const editor = await token('editor')
    const created = await editor('POST', '/api/v1/schedules/', calendar({ name: 'By editor' }))
    expect(created.status).toBe(201)
    expect((await editor('PATCH', `/api/v1/schedules/${created.body.id}/`, { name: 'Edited' })).body.name).toBe(
      'Edited',
    )
    expect((await editor('DELETE', `/api/v1/schedules/${created.body.id}/`)).status).toBe(204)
  })
})

describe('hostile input', () => {
  test('every write route refuses wrong types, nulls, huge strings, bad zones and URLs with a 400 and no change', async () => {
    const cal = await createSchedule(calendar({ name: 'Target' }))
    const ical = await createSchedule({ name: 'Ical target', type: 'ical', ical_url_primary: ICAL_URL })
    const hostile: Array<Record<string, unknown>> = [
      { name: HUGE },
      { name: null },
      { name: 5 },
      { name: '  ' },
      { name: 'nul\u0000char' },
      { time_zone: HUGE },
      { time_zone: 'Mars/Olympus_Mons' },
      { time_zone: 3 },
      { time_zone: '' },
      { team_id: HUGE },
      { team_id: otherTeamId },
      { team_id: 7 },
      { ical_url_overrides: 'not a url' },
      { ical_url_overrides: `https://x.test/${HUGE}` },
      { enable_web_overrides: 'maybe' },
      { enable_web_overrides: null },
      { slack: 'C123' },
      { slack: { channel_id: HUGE } },
      { slack: { channel_id: 'C123' } },
    ]
    for (const fields of hostile) {
      await expectRejected('POST', '/api/v1/schedules/', calendar(fields), undefined)
      await expectRejected('PUT', `/api/v1/schedules/${cal.id}/`, fields, undefined)
      await expectRejected('PATCH', `/api/v1/schedules/${cal.id}/`, fields, undefined)
    }
    for (const fields of [
      { ical_url_primary: 'nope' },
      { ical_url_primary: HUGE },
      { ical_url_primary: 5 },
      { ical_url_primary: '' },
    ]) {
      await expectRejected('POST', '/api/v1/schedules/', { name: 'n', type: 'ical', ...fields }, undefined)
      await expectRejected('PATCH', `/api/v1/schedules/${ical.id}/`, fields, undefined)
    }
    for (const body of [[], 42, null, 'not json', [calendar()]]) {
      await expectRejected('POST', '/api/v1/schedules/', body, undefined)
      await expectRejected('PATCH', `/api/v1/schedules/${cal.id}/`, body, undefined)
    }
    expect((await org.call('GET', `/api/v1/schedules/${cal.id}/`)).body).toEqual(cal)
    expect((await org.call('GET', `/api/v1/schedules/${ical.id}/`)).body).toEqual(ical)
  })
})
