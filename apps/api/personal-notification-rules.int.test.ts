import fc from 'fast-check'
import { sql } from 'kysely'
import { notificationRulesOf } from '../../db/personal-notification-rules.repo'
import { issueToken } from '../../db/tokens.repo'
import { isErrorBody, refusalCheck } from '../../test/refusals'
import { caller, createOrg, organizationRows, startStack, type ApiResponse, type Stack } from '../../test/stack'

// /api/v1/personal_notification_rules: OnCall's object and envelope, its create and update rules (type, duration
// from a fixed set, read-only user and importance), its ordering per (user, importance) list, its filters (on the
// detail routes too), its permissions, cross-organization isolation, and hostile bodies that never get a 5xx and
// never write on a refusal.

type Org = Awaited<ReturnType<typeof createOrg>>
type Call = ReturnType<typeof caller>

const PUBLIC_URL = 'https://oncall.example.test'
const RULES = '/api/v1/personal_notification_rules/'
const RULE_ID = /^N[A-NP-Z1-9]{12}$/
const NOT_FOUND = { detail: 'Not found.' }
const FORBIDDEN = { detail: 'You do not have permission to perform this action.' }
const HUGE = 'x'.repeat(100_000)

let stack: Stack
let org: Org
let other: Org
/** Users of `org`: an editor and a viewer (each with a token), and a plain target user. */
const users = {} as { editor: string; viewer: string; target: string; foreign: string }
let asEditor: Call
let asViewer: Call

async function createdId(response: ApiResponse): Promise<string> {
  if (response.status !== 201) throw new Error(`setup failed: ${response.status} ${response.text.slice(0, 300)}`)
  return response.body.id
}

async function newUser(o: Org, username: string, role = 'viewer'): Promise<string> {
  return createdId(await o.call('POST', '/api/v1/users/', { username, email: `${username}@example.test`, role }))
}

beforeAll(async () => {
  stack = await startStack('personal_rules', { worker: false, publicUrl: PUBLIC_URL })
  org = await createOrg(stack, 'Acme')
  other = await createOrg(stack, 'Globex')
  users.editor = await newUser(org, 'eddie', 'editor')
  users.viewer = await newUser(org, 'vera', 'viewer')
  users.target = await newUser(org, 'tara')
  users.foreign = await newUser(other, 'fred')
  asEditor = caller(stack.baseUrl, await issueToken(stack.db, org.organizationId, users.editor, 'editor'))
  asViewer = caller(stack.baseUrl, await issueToken(stack.db, org.organizationId, users.viewer, 'viewer'))
})
afterAll(() => stack.stop())

/** Every rule of both organizations and every row the organizations own, digested in a stable order. */
async function digest(): Promise<unknown> {
  const rules = await sql<{ digest: string | null }>`
    select md5(string_agg(row_to_json(r)::text, '|' order by r.pk)) as digest from personal_notification_rules r`.execute(stack.db)
  return {
    rules: rules.rows[0]?.digest ?? null,
    own: await organizationRows(stack.db, org.organizationId),
    other: await organizationRows(stack.db, other.organizationId),
  }
}

const expectRefused = refusalCheck(() => org.call, digest)

async function create(body: Record<string, unknown>, call: Call = org.call): Promise<Record<string, unknown>> {
  const response = await call('POST', RULES, body)
  expect({ status: response.status, body: response.body }).toEqual({ status: 201, body: expect.anything() })
  expect(response.body.id).toMatch(RULE_ID)
  return response.body
}

async function positionsOf(userId: string, important: boolean): Promise<Array<[string, number]>> {
  const rows = await stack.db
    .selectFrom('personal_notification_rules')
    .select(['id', 'position'])
    .where('user_id', '=', userId)
    .where('important', '=', important)
    .orderBy('position')
    .execute()
  return rows.map((row) => [row.id, row.position])
}

async function clearRules(userId: string): Promise<void> {
  await stack.db.deleteFrom('personal_notification_rules').where('user_id', '=', userId).execute()
}

describe("OnCall's shapes", () => {
  test('a new user has no stored rules (OnCall falls back to one email at paging time)', async () => {
    const fresh = await newUser(org, 'newbie')
    const listed = await org.call('GET', `${RULES}?user_id=${fresh}`)
    expect(listed.body).toEqual({
      count: 0,
      next: null,
      previous: null,
      results: [],
      page_size: 50,
      current_page_number: 1,
      total_pages: 1,
    })
    expect(await notificationRulesOf(stack.db, org.organizationId, fresh, false)).toEqual([])
  })

  test("OnCall's fixture: wait 5 min, phone call, important phone call; duration only on the wait", async () => {
    const user = await newUser(org, 'fixture')
    const wait = await create({ user_id: user, type: 'wait', duration: 300 })
    const phone = await create({ user_id: user, type: 'notify_by_phone_call' })
    const important = await create({ user_id: user, type: 'notify_by_phone_call', important: true })
    expect(wait).toEqual({ id: wait.id, user_id: user, position: 0, type: 'wait', duration: 300, important: false })
    expect(phone).toEqual({ id: phone.id, user_id: user, position: 1, type: 'notify_by_phone_call', important: false })
    // Each list counts its own positions.
    expect(important).toEqual({ id: important.id, user_id: user, position: 0, type: 'notify_by_phone_call', important: true })

    const envelope = (results: unknown[]) => ({
      count: results.length,
      next: null,
      previous: null,
      results,
      page_size: 50,
      current_page_number: 1,
      total_pages: 1,
    })
    expect((await org.call('GET', `${RULES}?user_id=${user}`)).body).toEqual(envelope([wait, phone, important]))
    expect((await org.call('GET', `${RULES}?user_id=${user}&important=true`)).body).toEqual(envelope([important]))
    expect((await org.call('GET', `${RULES}?user_id=${user}&important=false`)).body).toEqual(envelope([wait, phone]))
    for (const path of [`${RULES}${phone.id}/`, `${RULES.slice(0, -1)}/${phone.id}`]) {
      expect({ path, ...(await org.call('GET', path)) }).toMatchObject({ path, status: 200, body: phone })
    }
    expect((await org.call('GET', RULES.slice(0, -1) + `?user_id=${user}`)).body.count).toBe(3)

    // The engine reads the same lists.
    expect(await notificationRulesOf(stack.db, org.organizationId, user, false)).toEqual([
      { position: 0, type: 'wait', durationSeconds: 300 },
      { position: 1, type: 'notify_by_phone_call', durationSeconds: null },
    ])
  })

  test('every type OnCall lists is accepted, a wait without a duration waits 300 s, and each duration is allowed', async () => {
    const user = await newUser(org, 'types')
    const types = [
      'notify_by_slack',
      'notify_by_sms',
      'notify_by_phone_call',
      'notify_by_telegram',
      'notify_by_email',
      'notify_by_mobile_app',
      'notify_by_mobile_app_critical',
      'notify_by_webhook',
      'notify_by_msteams',
    ]
    for (const type of types) {
      const rule = await create({ user_id: user, type })
      expect(Object.keys(rule).sort()).toEqual(['id', 'important', 'position', 'type', 'user_id'])
      expect(rule.type).toBe(type)
    }
    expect(await create({ user_id: user, type: 'wait' })).toMatchObject({ type: 'wait', duration: 300 })
    for (const duration of [60, 300, 900, 1800, 3600]) {
      expect(await create({ user_id: user, type: 'wait', duration })).toMatchObject({ duration })
    }
    // OnCall also reads a duration as its Python text, a float of whole seconds as the integer, a numeric type as text.
    expect(await create({ user_id: user, type: 'wait', duration: '0:15:00' })).toMatchObject({ duration: 900 })
    const raw = await org.call('POST', RULES, `{"user_id": "${user}", "type": "wait", "duration": 1800.0}`)
    expect(raw.body).toMatchObject({ duration: 1800 })
    expect(await create({ user_id: ` ${user} `, type: ' notify_by_sms ', important: 'true' })).toMatchObject({
      user_id: user,
      type: 'notify_by_sms',
      important: true,
    })
  })

  test('the list runs by user (creation order), then the default list before the important one, then position; pages link from the public URL', async () => {
    const first = await newUser(org, 'order-a')
    const second = await newUser(org, 'order-b')
    const b0 = await create({ user_id: second, type: 'notify_by_sms' })
    const aImportant = await create({ user_id: first, type: 'notify_by_sms', important: true })
    const a1 = await create({ user_id: first, type: 'notify_by_email' })
    const a0 = await create({ user_id: first, type: 'notify_by_slack', position: 0 })
    const all = (await org.call('GET', `${RULES}?perpage=1000`)).body.results as Array<{ id: string }>
    const ids = all.map((rule) => rule.id)
    const ours = ids.filter((id) => [b0.id, aImportant.id, a1.id, a0.id].includes(id))
    expect(ours).toEqual([a0.id, a1.id, aImportant.id, b0.id])

    const page = await org.call('GET', `${RULES}?user_id=${first}&perpage=2`)
    expect(page.body).toMatchObject({
      count: 3,
      next: `${PUBLIC_URL}${RULES}?page=2&perpage=2&user_id=${first}`,
      previous: null,
      page_size: 2,
      total_pages: 2,
    })
    const second2 = await org.call('GET', `${RULES}?user_id=${first}&perpage=2&page=9`)
    expect(second2.body).toMatchObject({ current_page_number: 2, results: [aImportant], previous: `${PUBLIC_URL}${RULES}?perpage=2&user_id=${first}` })
  })
})

describe('filters', () => {
  test("an unknown or another organization's user is `User not found.`; an importance other than true/false is refused", async () => {
    for (const query of ['user_id=UNOSUCHUSER12', `user_id=${users.foreign}`, 'user_id=', `user_id=${'U'.repeat(5000)}`]) {
      const response = await org.call('GET', `${RULES}?${query}`)
      expect({ query, status: response.status, body: response.body }).toEqual({ query, status: 400, body: { detail: 'User not found.' } })
    }
    for (const value of ['True', '1', 'yes', '', 'null']) {
      const response = await org.call('GET', `${RULES}?important=${value}`)
      expect({ value, status: response.status, body: response.body }).toEqual({ value, status: 400, body: { detail: 'Important is not bool' } })
    }
    // The user is checked first.
    expect((await org.call('GET', `${RULES}?important=maybe&user_id=UNOSUCHUSER12`)).body).toEqual({ detail: 'User not found.' })
    // A repeated parameter takes the last value, as Django's QueryDict does.
    expect((await org.call('GET', `${RULES}?important=maybe&important=true`)).status).toBe(200)
    expect((await org.call('GET', `${RULES}?user_id=%00`)).status).toBe(400)
  })

  test('the detail routes read through the same filters, as OnCall does', async () => {
    const rule = await create({ user_id: users.target, type: 'notify_by_sms' })
    const path = `${RULES}${rule.id}/`
    expect((await org.call('GET', `${path}?important=false`)).body).toEqual(rule)
    expect((await org.call('GET', `${path}?user_id=${users.target}`)).body).toEqual(rule)
    expect((await org.call('GET', `${path}?important=true`)).status).toBe(404)
    expect((await org.call('GET', `${path}?user_id=${users.editor}`)).status).toBe(404)
    expect((await org.call('GET', `${path}?important=nope`)).body).toEqual({ detail: 'Important is not bool' })
    await expectRefused('PUT', `${path}?important=true`, { type: 'notify_by_email' }, NOT_FOUND, 404)
    await expectRefused('DELETE', `${path}?user_id=${users.foreign}`, undefined, { detail: 'User not found.' })
    await expectRefused('DELETE', `${path}?important=true`, undefined, NOT_FOUND, 404)
    expect((await org.call('DELETE', `${path}?important=false`)).status).toBe(204)
  })
})

describe('create', () => {
  test("OnCall's refusals, in its order and words", async () => {
    const user = users.target
    await expectRefused('POST', RULES, { user_id: user }, { type: 'Type is required' })
    await expectRefused('POST', RULES, { user_id: user, type: 'notify_by_pigeon' }, { type: 'Invalid type' })
    await expectRefused('POST', RULES, { user_id: user, type: 'Wait' }, { type: 'Invalid type' })
    await expectRefused('POST', RULES, { user_id: user, type: 'notify_by_mattermost' }, { type: 'Invalid type' })
    await expectRefused('POST', RULES, { user_id: user, type: 5 }, { type: 'Invalid type' })
    await expectRefused('POST', RULES, { user_id: user, type: null }, { type: ['This field may not be null.'] })
    await expectRefused('POST', RULES, { user_id: user, type: '  ' }, { type: ['This field may not be blank.'] })
    await expectRefused('POST', RULES, { user_id: user, type: true }, { type: ['Not a valid string.'] })
    await expectRefused('POST', RULES, { user_id: user, type: ['wait'] }, { type: ['Not a valid string.'] })
    await expectRefused('POST', RULES, { type: 'wait' }, { user_id: ['This field is required.'] })
    await expectRefused('POST', RULES, {}, { user_id: ['This field is required.'] })
    await expectRefused('POST', RULES, undefined, { user_id: ['This field is required.'] })
    await expectRefused('POST', RULES, { user_id: null, type: 'wait' }, { user_id: ['This field may not be null.'] })
    await expectRefused('POST', RULES, { user_id: '', type: 'wait' }, { user_id: ['This field may not be blank.'] })
    for (const unknown of ['UNOSUCHUSER12', users.foreign, 5, true, [user], { id: user }, 'U\u0000', HUGE]) {
      await expectRefused('POST', RULES, { user_id: unknown, type: 'wait' }, { detail: 'User does not exist' })
    }
    // The user is looked up while the fields are validated: that refusal replaces every field error.
    await expectRefused('POST', RULES, { user_id: 'UNOSUCHUSER12', position: 'x', important: 'x' }, { detail: 'User does not exist' })
    await expectRefused('POST', RULES, { user_id: user, position: 'x', important: 'x', manual_order: null }, {
      position: ['A valid integer is required.'],
      important: ['Must be a valid boolean.'],
      manual_order: ['This field may not be null.'],
    })
    // Field errors come before the type's checks.
    await expectRefused('POST', RULES, { user_id: user, position: 1.5 }, { position: ['A valid integer is required.'] })
    await expectRefused('POST', RULES, { user_id: user, type: 'notify_by_sms', duration: 300 }, { duration: "Duration can't be set" })
    await expectRefused('POST', RULES, { user_id: user, type: 'nope', duration: 300 }, { type: 'Invalid type' })
  })

  test('a duration is one of 60, 300, 900, 1800, 3600 seconds, refused as OnCall words its timedelta', async () => {
    const user = users.target
    const notChoice = (text: string) => ({ duration: [`"${text}" is not a valid choice.`] })
    const cases: Array<[unknown, unknown]> = [
      [120, notChoice('0:02:00')],
      [0, notChoice('0:00:00')],
      [-60, notChoice('-1 day, 23:59:00')],
      [86400, notChoice('1 day, 0:00:00')],
      [172800, notChoice('2 days, 0:00:00')],
      [300.5, notChoice('0:05:00.500000')],
      [true, notChoice('0:00:01')],
      ['00:05:00', notChoice('00:05:00')],
      ['5:0:0', notChoice('5:0:0')],
      [1e20, { detail: 'Invalid duration format' }],
      ['300', { detail: 'Invalid duration format' }],
      ['5 min', { detail: 'Invalid duration format' }],
      ['24:00:00', { detail: 'Invalid duration format' }],
      [null, { detail: 'Invalid duration format' }],
      [[300], { detail: 'Invalid duration format' }],
      [{}, { detail: 'Invalid duration format' }],
      [HUGE, { detail: 'Invalid duration format' }],
    ]
    for (const [duration, expected] of cases) await expectRefused('POST', RULES, { user_id: user, type: 'wait', duration }, expected)
    // The format is read before anything else, even an unknown user.
    await expectRefused('POST', RULES, { user_id: 'UNOSUCHUSER12', duration: 'soon' }, { detail: 'Invalid duration format' })
  })

  test('positions follow OnCall: insert and shift, beyond the end as given, -1 appends, manual_order swaps; per list', async () => {
    const user = await newUser(org, 'positions')
    const a = await create({ user_id: user, type: 'notify_by_sms' })
    const b = await create({ user_id: user, type: 'notify_by_email' })
    const c = await create({ user_id: user, type: 'notify_by_slack' })
    const important = await create({ user_id: user, type: 'notify_by_phone_call', important: true })
    expect([a.position, b.position, c.position, important.position]).toEqual([0, 1, 2, 0])

    const first = await create({ user_id: user, type: 'wait', position: 0 })
    expect(first.position).toBe(0)
    expect(await positionsOf(user, false)).toEqual([
      [first.id, 0],
      [a.id, 1],
      [b.id, 2],
      [c.id, 3],
    ])
    // The important list did not move.
    expect(await positionsOf(user, true)).toEqual([[important.id, 0]])
    const far = await create({ user_id: user, type: 'notify_by_sms', position: 10 })
    expect(far.position).toBe(10)
    const appended = await create({ user_id: user, type: 'notify_by_sms', position: -1 })
    expect(appended.position).toBe(11)
    const swapped = await create({ user_id: user, type: 'notify_by_sms', position: 1, manual_order: true })
    expect(swapped.position).toBe(1)
    // The holder of position 1 took the new rule's appended place.
    expect((await positionsOf(user, false)).find(([id]) => id === a.id)).toEqual([a.id, 12])

    await expectRefused('POST', RULES, { user_id: user, type: 'wait', position: -1, manual_order: true }, { detail: 'Invalid value for position field' })
    await expectRefused('POST', RULES, { user_id: user, type: 'wait', position: -2 }, { detail: 'Invalid value for position field' })
    await expectRefused('POST', RULES, { user_id: user, type: 'wait', position: 2147483648 }, { detail: 'Invalid value for position field' })
    expect((await create({ user_id: user, type: 'wait', position: 2147483647 })).position).toBe(2147483647)
    // No room left to append after the largest position: refused, nothing written.
    await expectRefused('POST', RULES, { user_id: user, type: 'wait' }, { detail: 'Invalid value for position field' })
  })

  test('concurrent inserts at one position serialize per list: no two rules share a position', async () => {
    const user = await newUser(org, 'racer')
    await Promise.all(Array.from({ length: 12 }, (_, i) => create({ user_id: user, type: 'notify_by_sms', position: 0, important: i % 3 === 0 })))
    for (const important of [false, true]) {
      const positions = (await positionsOf(user, important)).map(([, position]) => position)
      expect(positions).toEqual(Array.from({ length: important ? 4 : 8 }, (_, i) => i))
    }
  })
})

describe('update', () => {
  let user: string
  let wait: Record<string, unknown>
  let sms: Record<string, unknown>
  beforeEach(async () => {
    user = users.target
    await clearRules(user)
    wait = await create({ user_id: user, type: 'wait', duration: 300 })
    sms = await create({ user_id: user, type: 'notify_by_sms' })
  })

  test('PUT and PATCH change type, duration and position; user and importance are read-only', async () => {
    for (const method of ['PUT', 'PATCH']) {
      const longer = await org.call(method, `${RULES}${wait.id}/`, { duration: 900, user_id: users.editor, important: true })
      expect(longer.body).toEqual({ ...wait, duration: 900 })
      const sms2 = await org.call(method, `${RULES}${sms.id}/`, { type: 'notify_by_phone_call' })
      expect(sms2.body).toEqual({ ...sms, type: 'notify_by_phone_call' })
      await org.call(method, `${RULES}${sms.id}/`, { type: 'notify_by_sms' })
      await org.call(method, `${RULES}${wait.id}/`, { duration: 300 })
    }
    // An empty body changes nothing.
    expect((await org.call('PUT', `${RULES}${wait.id}/`, {})).body).toEqual(wait)
    expect((await org.call('PATCH', `${RULES}${wait.id}`)).body).toEqual(wait)
  })

  test('a type sent names the rule afresh: a wait gets 300 s unless a duration comes with it, anything else loses it', async () => {
    expect((await org.call('PUT', `${RULES}${wait.id}/`, { duration: 3600 })).body.duration).toBe(3600)
    // OnCall's update: a type without a duration resets a wait to 5 minutes, even to the same type.
    expect((await org.call('PUT', `${RULES}${wait.id}/`, { type: 'wait' })).body).toEqual(wait)
    const toWait = await org.call('PUT', `${RULES}${sms.id}/`, { type: 'wait', duration: 60 })
    expect(toWait.body).toEqual({ ...sms, type: 'wait', duration: 60 })
    const back = await org.call('PATCH', `${RULES}${sms.id}/`, { type: 'notify_by_email' })
    expect(back.body).toEqual({ ...sms, type: 'notify_by_email' })
    const row = await stack.db.selectFrom('personal_notification_rules').selectAll().where('id', '=', sms.id as string).executeTakeFirstOrThrow()
    expect(row).toMatchObject({ type: 'notify_by_email', duration_seconds: null, important: false, user_id: user })
  })

  test("refusals: a duration on a notify rule, an unknown type, bad values, another organization's rule", async () => {
    for (const method of ['PUT', 'PATCH']) {
      await expectRefused(method, `${RULES}${sms.id}/`, { duration: 300 }, { duration: "Duration can't be set" })
      await expectRefused(method, `${RULES}${wait.id}/`, { type: 'notify_by_sms', duration: 300 }, { duration: "Duration can't be set" })
      await expectRefused(method, `${RULES}${wait.id}/`, { type: 'nope' }, { type: 'Invalid type' })
      await expectRefused(method, `${RULES}${wait.id}/`, { type: 'nope', duration: 'x' }, { detail: 'Invalid duration format' })
      await expectRefused(method, `${RULES}${wait.id}/`, { type: null }, { type: ['This field may not be null.'] })
      await expectRefused(method, `${RULES}${wait.id}/`, { type: '' }, { type: ['This field may not be blank.'] })
      await expectRefused(method, `${RULES}${wait.id}/`, { duration: 301 }, { duration: ['"0:05:01" is not a valid choice.'] })
      await expectRefused(method, `${RULES}${wait.id}/`, { position: -2 }, { detail: 'Invalid value for position field' })
      await expectRefused(method, `${RULES}${wait.id}/`, { position: -1, manual_order: true }, { detail: 'Invalid value for position field' })
      await expectRefused(method, `${RULES}${wait.id}/`, { position: 'first' }, { position: ['A valid integer is required.'] })
      await expectRefused(method, `${RULES}${wait.id}/`, '[]', { non_field_errors: ['Invalid data. Expected a dictionary, but got list.'] })
      await expectRefused(method, `${RULES}${wait.id}/`, '{', undefined)
      for (const id of ['NNOSUCHRULE12', 'N'.repeat(5000), '%00', encodeURIComponent('N\u00e9\u{1F600}')]) {
        await expectRefused(method, `${RULES}${id}/`, { type: 'wait' }, NOT_FOUND, 404)
      }
    }
  })

  test('moves within the list: down and up shift the ones between, -1 goes last, manual_order swaps', async () => {
    const email = await create({ user_id: user, type: 'notify_by_email' })
    const slack = await create({ user_id: user, type: 'notify_by_slack' })
    const ids = [wait.id, sms.id, email.id, slack.id]
    expect((await positionsOf(user, false)).map(([id]) => id)).toEqual(ids)
    expect((await org.call('PUT', `${RULES}${wait.id}/`, { position: 2 })).body.position).toBe(2)
    expect(await positionsOf(user, false)).toEqual([
      [sms.id, 0],
      [email.id, 1],
      [wait.id, 2],
      [slack.id, 3],
    ])
    expect((await org.call('PATCH', `${RULES}${slack.id}/`, { position: 0 })).body.position).toBe(0)
    expect((await org.call('PATCH', `${RULES}${slack.id}/`, { position: -1 })).body.position).toBe(3)
    expect((await org.call('PUT', `${RULES}${sms.id}/`, { position: 2, manual_order: true })).body.position).toBe(2)
    expect(await positionsOf(user, false)).toEqual([
      [wait.id, 0],
      [email.id, 1],
      [sms.id, 2],
      [slack.id, 3],
    ])
  })
})

describe('delete', () => {
  test('204, then 404; the others keep their positions (a gap, as in OnCall)', async () => {
    const user = await newUser(org, 'deleter')
    const a = await create({ user_id: user, type: 'notify_by_sms' })
    const b = await create({ user_id: user, type: 'wait' })
    const c = await create({ user_id: user, type: 'notify_by_phone_call' })
    const deleted = await org.call('DELETE', `${RULES}${b.id}/`)
    expect({ status: deleted.status, text: deleted.text }).toEqual({ status: 204, text: '' })
    expect((await org.call('GET', `${RULES}${b.id}/`)).body).toEqual(NOT_FOUND)
    await expectRefused('DELETE', `${RULES}${b.id}`, undefined, NOT_FOUND, 404)
    expect(await positionsOf(user, false)).toEqual([
      [a.id, 0],
      [c.id, 2],
    ])
    expect((await create({ user_id: user, type: 'wait' })).position).toBe(3)
  })

  test("a deleted user's rules are not listed", async () => {
    const user = await newUser(org, 'leaver')
    const rule = await create({ user_id: user, type: 'notify_by_sms' })
    expect((await org.call('DELETE', `/api/v1/users/${user}/`)).status).toBe(204)
    expect((await org.call('GET', `${RULES}${rule.id}/`)).status).toBe(404)
    const ids = ((await org.call('GET', `${RULES}?perpage=1000`)).body.results as Array<{ id: string }>).map((r) => r.id)
    expect(ids).not.toContain(rule.id)
  })
})

describe('permissions and isolation', () => {
  test('viewers read, editors write (any user of the organization), nobody without a token', async () => {
    const own = await create({ user_id: users.viewer, type: 'notify_by_sms' }, asEditor)
    expect((await asViewer('GET', `${RULES}${own.id}/`)).body).toEqual(own)
    expect((await asViewer('GET', RULES)).status).toBe(200)
    const asViewerRefused = refusalCheck(() => asViewer, digest)
    await asViewerRefused('POST', RULES, { user_id: users.viewer, type: 'wait' }, FORBIDDEN, 403)
    await asViewerRefused('PUT', `${RULES}${own.id}/`, { type: 'wait' }, FORBIDDEN, 403)
    await asViewerRefused('DELETE', `${RULES}${own.id}/`, undefined, FORBIDDEN, 403)
    // Permission comes before the lookup: a missing rule is 403 too.
    await asViewerRefused('DELETE', `${RULES}NNOSUCHRULE12/`, undefined, FORBIDDEN, 403)
    const anonymous = refusalCheck(() => caller(stack.baseUrl, null), digest)
    await anonymous('GET', RULES, undefined, { detail: 'Invalid token.' }, 403)
    await anonymous('POST', RULES, { user_id: users.viewer, type: 'wait' }, { detail: 'Invalid token.' }, 403)
    expect((await asEditor('DELETE', `${RULES}${own.id}/`)).status).toBe(204)
    expect((await org.call('POST', RULES.slice(0, -1), { user_id: users.editor, type: 'wait' })).status).toBe(201)
  })

  test("another organization's rules are invisible and untouchable; its users cannot be named", async () => {
    const theirs = await create({ user_id: users.foreign, type: 'notify_by_sms' }, other.call)
    const theirsRow = await stack.db.selectFrom('personal_notification_rules').selectAll().where('id', '=', theirs.id as string).executeTakeFirstOrThrow()
    expect(theirsRow.organization_id).toBe(other.organizationId)
    expect((await org.call('GET', `${RULES}${theirs.id}/`)).body).toEqual(NOT_FOUND)
    for (const method of ['PUT', 'PATCH']) {
      await expectRefused(method, `${RULES}${theirs.id}/`, { type: 'wait', position: 0 }, NOT_FOUND, 404)
    }
    await expectRefused('DELETE', `${RULES}${theirs.id}/`, undefined, NOT_FOUND, 404)
    await expectRefused('POST', RULES, { user_id: users.foreign, type: 'wait' }, { detail: 'User does not exist' })
    const ours = ((await org.call('GET', `${RULES}?perpage=1000`)).body.results as Array<{ user_id: string }>).map((r) => r.user_id)
    expect(ours).not.toContain(users.foreign)
    // And the other way round.
    expect((await other.call('GET', RULES)).body.results).toEqual([theirs])
    const mine = await create({ user_id: users.target, type: 'notify_by_email' })
    const otherRefused = refusalCheck(() => other.call, digest)
    await otherRefused('PATCH', `${RULES}${mine.id}/`, { type: 'wait' }, NOT_FOUND, 404)
    await otherRefused('POST', RULES, { user_id: users.target, type: 'wait' }, { detail: 'User does not exist' })
    expect(await stack.db.selectFrom('personal_notification_rules').selectAll().where('id', '=', theirs.id as string).executeTakeFirstOrThrow()).toEqual(theirsRow)
  })
})

// ---------------------------------------------------------------------------------------------------------------
// Random bodies (fast-check): never a 5xx; a refusal is an error body and writes nothing; an answer is a valid rule.

const TYPES = ['wait', 'notify_by_sms', 'notify_by_phone_call', 'notify_by_email', 'notify_by_slack', 'nope', ' wait ', '', 'WAIT']

const leaf: fc.Arbitrary<unknown> = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary', maxLength: 30 }),
  fc.constantFrom('true', 'false', '0:05:00', '00:05:00', '1:00:00', '300', 'null', HUGE, 'a\u0000b', '-1'),
  fc.integer(),
  fc.integer({ min: -3, max: 3 }),
  fc.double(),
  fc.constantFrom(-1, 0, 60, 300, 900, 1800, 3600, 2147483647, 2147483648, 1e20, 1e308, Number.MAX_SAFE_INTEGER, 0.5, -0),
  fc.boolean(),
  fc.constant(null),
)

const anyValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 6, arbitrary: leaf },
  { weight: 1, arbitrary: fc.array(leaf, { maxLength: 4 }) },
  { weight: 1, arbitrary: fc.dictionary(fc.string({ maxLength: 8 }), leaf, { maxKeys: 3 }) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
)

const FIELDS = ['user_id', 'type', 'duration', 'position', 'important', 'manual_order', 'id'] as const

function plausible(field: (typeof FIELDS)[number]): fc.Arbitrary<unknown> {
  switch (field) {
    case 'user_id':
      return fc.constantFrom(users.target, users.editor, users.foreign, 'UNOSUCHUSER12', ` ${users.target}`)
    case 'type':
      return fc.constantFrom(...TYPES)
    case 'duration':
      return fc.oneof(fc.constantFrom(60, 300, 900, 1800, 3600, 120, '0:15:00', 300.0, 300.5), fc.integer({ min: -100, max: 5000 }))
    case 'position':
      return fc.oneof(fc.integer({ min: -2, max: 8 }), fc.constantFrom(2147483646, 2147483648))
    case 'important':
    case 'manual_order':
      return fc.oneof(fc.boolean(), fc.constantFrom('true', 'False', 1, 0))
    case 'id':
      return fc.constantFrom('NNOSUCHRULE12', 'x')
    default:
      return fc.constant(null)
  }
}

function randomBody(): fc.Arbitrary<string | undefined> {
  const model = Object.fromEntries(FIELDS.map((f) => [f, fc.oneof({ weight: 3, arbitrary: plausible(f) }, { weight: 1, arbitrary: anyValue })]))
  return fc.oneof(
    { weight: 8, arbitrary: fc.record(model, { requiredKeys: [] }).map((body) => JSON.stringify(body) as string | undefined) },
    { weight: 1, arbitrary: anyValue.map((v) => JSON.stringify(v) as string | undefined) },
    { weight: 1, arbitrary: fc.constantFrom<string | undefined>(undefined, '', '{', 'null', '[]', '"x"', '{"type": }', 'type=wait') },
  )
}

function judge(method: string, response: ApiResponse, sent: string | undefined, before: unknown, after: unknown, target?: string) {
  const where = `${method} ${target ?? ''} ${sent?.slice(0, 160)} -> ${response.status} ${response.text.slice(0, 300)}`
  if (response.status >= 500) throw new Error(`5xx: ${where}`)
  if (response.status >= 400) {
    if (!isErrorBody(response.body)) throw new Error(`not an error body: ${where}`)
    expect({ where, rows: after }).toEqual({ where, rows: before })
    return
  }
  expect({ where, status: response.status }).toEqual({ where, status: method === 'POST' ? 201 : 200 })
  const rule = response.body as Record<string, unknown>
  const keys = ['id', 'user_id', 'position', 'type', 'important', ...(rule.type === 'wait' ? ['duration'] : [])].sort()
  expect({ where, keys: Object.keys(rule).sort() }).toEqual({ where, keys })
  if (rule.type === 'wait') expect([60, 300, 900, 1800, 3600]).toContain(rule.duration)
  expect([users.target, users.editor]).toContain(rule.user_id)
  if (target !== undefined) expect(rule.id).toBe(target)
}

describe('random bodies (fast-check)', () => {
  const fuzzRules: string[] = []
  beforeAll(async () => {
    for (const [type, important] of [
      ['wait', false],
      ['notify_by_sms', false],
      ['notify_by_phone_call', true],
    ] as const) {
      fuzzRules.push((await create({ user_id: users.editor, type, important })).id as string)
    }
  })

  test('POST /api/v1/personal_notification_rules/', async () => {
    await fc.assert(
      fc.asyncProperty(randomBody(), async (body) => {
        const before = await digest()
        const response = await org.call('POST', RULES, body)
        judge('POST', response, body, before, await digest())
        // A rule at the largest position leaves no room to append: take it out to keep the lists usable.
        if (response.status === 201 && (response.body.position as number) > 1000) {
          expect((await org.call('DELETE', `${RULES}${response.body.id}/`)).status).toBe(204)
        }
      }),
      { numRuns: 300 },
    )
  })

  for (const method of ['PUT', 'PATCH']) {
    test(`${method} /api/v1/personal_notification_rules/<id>/`, async () => {
      await fc.assert(
        fc.asyncProperty(fc.constantFrom(...fuzzRules), randomBody(), async (id, body) => {
          const before = await digest()
          const response = await org.call(method, `${RULES}${id}/`, body)
          judge(method, response, body, before, await digest(), id)
        }),
        { numRuns: 200 },
      )
    })
  }

  test('no list ever holds two rules at one position; the other organization kept its one rule', async () => {
    const rows = await stack.db.selectFrom('personal_notification_rules').select(['user_id', 'important', 'position']).execute()
    const keys = rows.map((r) => `${r.user_id}:${r.important}:${r.position}`)
    expect(keys.filter((k, i) => keys.indexOf(k) !== i)).toEqual([])
    expect(rows.every((r) => r.position >= 0 && r.position <= 2147483647)).toBe(true)
    const theirs = await stack.db.selectFrom('personal_notification_rules').select('user_id').where('organization_id', '=', other.organizationId).execute()
    expect(theirs).toEqual([{ user_id: users.foreign }])
  })
})
