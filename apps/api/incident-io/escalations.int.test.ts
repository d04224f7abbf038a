import { createOrganization } from '../../../db/organizations.repo'
import { issueToken } from '../../../db/tokens.repo'
import { caller, eventually, recordingNotifier, startStack, type ApiResponse, type Stack } from '../../../test/stack'
import { seedEscalation, seedRequest, shapeProblems } from '../../../test/incident-io-seed'

// /v2/escalations end to end on the real engine: incident.io's example replayed, idempotency (also under 20
// parallel requests), the actions and their refusals (which change nothing), reassignment once, list filters and
// pagination, and organizations kept apart.

const STATUSES = ['pending', 'triggered', 'acked', 'resolved', 'expired', 'cancelled', 'snoozed', 'delayed', 'pending_repeat']
const DAY = 86_400

type Call = (method: string, path: string, body?: unknown) => Promise<ApiResponse>
interface Org {
  organizationId: string
  adminUserId: string
  token: string
  v1: Call
  v2: Call
}

const notifier = recordingNotifier()
let stack: Stack
let acme: Org
let globex: Org
let bob: string
let carol: string
let dave: string
/** Two levels: bob (a day to acknowledge), then carol. */
let twoLevels: string
/** One level: dave at low urgency, one second to acknowledge, then nothing: expires. */
let expiring: string
let archived: string

async function newOrg(name: string): Promise<Org> {
  const created = await createOrganization(stack.db, name)
  return { ...created, v1: caller(stack.baseUrl, created.token), v2: caller(stack.baseUrl, `Bearer ${created.token}`) }
}

async function newUser(org: Org, username: string): Promise<string> {
  const response = await org.v1('POST', '/api/v1/users/', { username, email: `${username}@example.test`, role: 'editor' })
  expect(response.status).toBe(201)
  return response.body.id as string
}

async function newPath(org: Org, name: string, path: unknown[]): Promise<string> {
  const response = await org.v2('POST', '/v2/escalation_paths', { name, path })
  expect(response.status).toBe(201)
  return response.body.escalation_path.id as string
}

const level = (id: string, userId: string, seconds: number, urgency: 'high' | 'low' = 'high') => ({
  id,
  type: 'level',
  level: { targets: [{ id: userId, type: 'user', urgency }], time_to_ack_seconds: seconds },
})

let keys = 0
const key = (prefix = 'k') => `${prefix}-${process.pid}-${++keys}`

async function create(org: Org, body: Record<string, unknown>): Promise<any> {
  const response = await org.v2('POST', '/v2/escalations', { idempotency_key: key(), title: 'Database CPU is high', ...body })
  expect({ status: response.status, body: response.status === 201 ? 'ok' : response.body }).toEqual({ status: 201, body: 'ok' })
  return response.body.escalation
}

async function show(org: Org, id: string): Promise<any> {
  const response = await org.v2('GET', `/v2/escalations/${id}`)
  expect(response.status).toBe(200)
  return response.body.escalation
}

/** Polls the escalation until `check` holds. */
function until(org: Org, id: string, check: (escalation: any) => boolean, what: string): Promise<any> {
  return eventually(async () => {
    const escalation = await show(org, id)
    return check(escalation) ? escalation : undefined
  }, 20_000, what)
}

const eventsOf = (escalation: any, event: string) => (escalation.events as any[]).filter((e) => e.event === event)
const notified = (escalation: any) => eventsOf(escalation, 'notified_users').flatMap((e) => e.users.map((u: any) => u.id))

/** Every row a refused request could have written, for both organizations. */
async function rows() {
  const [escalations, groups, alerts] = await Promise.all([
    stack.db.selectFrom('escalations').selectAll().orderBy('pk').execute(),
    stack.db
      .selectFrom('alert_groups')
      .select(['id', 'acknowledged_at', 'resolved_at', 'silenced_at', 'silenced_until', 'lifecycle_version'])
      .orderBy('pk')
      .execute(),
    stack.db.selectFrom('alerts').select(['id', 'alert_group_id']).orderBy('pk').execute(),
  ])
  return { escalations, groups, alerts }
}

/** A 422 (or `status`) in incident.io's error shape, with nothing written. */
async function refused(call: () => Promise<ApiResponse>, status = 422): Promise<ApiResponse> {
  const before = await rows()
  const response = await call()
  expect({ status: response.status, type: response.body?.type }).toEqual({
    status,
    type: status === 422 ? 'validation_error' : status === 404 ? 'not_found' : expect.any(String),
  })
  expect(response.body).toMatchObject({ status, request_id: expect.any(String), errors: expect.any(Array) })
  expect(await rows()).toEqual(before)
  return response
}

const fields = (response: ApiResponse) => (response.body.errors as any[]).map((e) => e.source?.field ?? null)

beforeAll(async () => {
  stack = await startStack('v2_escalations', { notifier })
  acme = await newOrg('Acme')
  globex = await newOrg('Globex')
  bob = await newUser(acme, 'bob')
  carol = await newUser(acme, 'carol')
  dave = await newUser(acme, 'dave')
  twoLevels = await newPath(acme, 'Database', [level('first', bob, DAY), level('second', carol, DAY)])
  expiring = await newPath(acme, 'Quick', [level('only', dave, 1, 'low')])
  archived = await newPath(acme, 'Old', [level('only', bob, DAY)])
  expect((await acme.v2('DELETE', `/v2/escalation_paths/${archived}`)).status).toBe(204)
})
afterAll(() => stack.stop())

test("incident.io's example: both targets are refused by name; with one target it is created in incident.io's shape, and a replay answers the same", async () => {
  const literal = { ...seedRequest, escalation_path_id: twoLevels, user_ids: [bob, carol] }
  const both = await refused(() => acme.v2('POST', '/v2/escalations', literal))
  expect(fields(both)).toEqual(['escalation_path_id', 'user_ids'])

  const { user_ids: _users, ...viaPath } = literal
  const response = await acme.v2('POST', '/v2/escalations', viaPath)
  expect(response.status).toBe(201)
  expect(Object.keys(response.body)).toEqual(['escalation'])
  const escalation = response.body.escalation
  expect(shapeProblems(escalation, seedEscalation)).toEqual([])
  expect(STATUSES).toContain(escalation.status)
  expect(escalation).toMatchObject({
    title: seedRequest.title,
    description: seedRequest.description,
    escalation_path_id: twoLevels,
    priority: { name: 'P1' },
    creator: { user: { id: acme.adminUserId, name: 'admin', email: 'admin@localhost', role: 'administrator' } },
    related_incidents: [],
  })
  expect(escalation.events[0]).toMatchObject({ event: 'triggered', occurred_at: escalation.created_at })
  expect(escalation.related_alerts).toHaveLength(1)

  // The key is used: the literal body (both targets) now answers with the escalation the key created.
  const replay = await acme.v2('POST', '/v2/escalations', literal)
  expect(replay.status).toBe(201)
  expect(replay.body.escalation.id).toBe(escalation.id)

  const paged = await until(acme, escalation.id, (e) => notified(e).length > 0, 'the first level paged')
  expect(shapeProblems(paged, seedEscalation)).toEqual([])
  expect(eventsOf(paged, 'notified_users')).toEqual([
    { id: expect.any(String), event: 'notified_users', occurred_at: expect.any(String), urgency: 'high', users: [expect.objectContaining({ id: bob, name: 'bob' })] },
  ])
  expect(paged.status).toBe('triggered')

  const { escalation_path_id: _path, ...direct } = literal
  const toUsers = await create(acme, { ...direct, idempotency_key: key('seed-direct') })
  expect(toUsers).not.toHaveProperty('escalation_path_id')
  expect(shapeProblems(toUsers, seedEscalation)).toEqual([])
  const pagedDirect = await until(acme, toUsers.id, (e) => notified(e).length === 2, 'both users paged')
  expect(eventsOf(pagedDirect, 'notified_users').every((e) => e.urgency === 'high')).toBe(true)
  expect(notified(pagedDirect).sort()).toEqual([bob, carol].sort())
})

test('create refuses each bad reference by name and writes nothing', async () => {
  const base = { idempotency_key: key('bad'), title: 'x' }
  expect(fields(await refused(() => acme.v2('POST', '/v2/escalations', base)))).toEqual(['escalation_path_id', 'user_ids'])
  const unknownUsers = await refused(() => acme.v2('POST', '/v2/escalations', { ...base, user_ids: [bob, 'UNOBODY', carol, 'UNOBODY2'] }))
  expect(unknownUsers.body.errors).toEqual([
    { code: 'not_found', message: 'No user UNOBODY in this organization.', source: { field: 'user_ids[1]' } },
    { code: 'not_found', message: 'No user UNOBODY2 in this organization.', source: { field: 'user_ids[3]' } },
  ])
  expect((await refused(() => acme.v2('POST', '/v2/escalations', { ...base, escalation_path_id: 'EPNOPE' }))).body.errors).toEqual([
    { code: 'not_found', message: 'No escalation path EPNOPE in this organization.', source: { field: 'escalation_path_id' } },
  ])
  expect((await refused(() => acme.v2('POST', '/v2/escalations', { ...base, escalation_path_id: archived }))).body.errors).toEqual([
    { code: 'invalid_value', message: `The escalation path ${archived} is archived.`, source: { field: 'escalation_path_id' } },
  ])
  expect(fields(await refused(() => acme.v2('POST', '/v2/escalations', { ...base, title: '  ', user_ids: [bob] })))).toEqual(['title'])
  expect(fields(await refused(() => acme.v2('POST', '/v2/escalations', { title: 'x', user_ids: [bob] })))).toEqual(['idempotency_key'])
  expect(fields(await refused(() => acme.v2('POST', '/v2/escalations', { ...base, user_ids: [] })))).toEqual(['user_ids'])
  expect(fields(await refused(() => acme.v2('POST', '/v2/escalations', { ...base, title: 'a\u0000b', user_ids: [bob] })))).toEqual(['title'])
  // A viewer may read, not page.
  const viewer = await acme.v1('POST', '/api/v1/users/', { username: 'vera', email: 'vera@example.test', role: 'viewer' })
  const viewerCall = caller(stack.baseUrl, `Bearer ${await issueToken(stack.db, acme.organizationId, viewer.body.id, 'vera')}`)
  await refused(() => viewerCall('POST', '/v2/escalations', { ...base, user_ids: [bob] }), 403)
  expect((await viewerCall('GET', '/v2/escalations')).status).toBe(200)
})

test('20 parallel requests with one idempotency key create one escalation and start one workflow', async () => {
  const org = await newOrg('Parallel')
  const user = await newUser(org, 'pat')
  const body = { idempotency_key: 'same-key', title: 'Only once', user_ids: [user] }
  const responses = await Promise.all(Array.from({ length: 20 }, () => org.v2('POST', '/v2/escalations', body)))
  expect(responses.map((r) => r.status)).toEqual(Array(20).fill(201))
  const ids = new Set(responses.map((r) => r.body.escalation.id))
  expect(ids.size).toBe(1)
  const stored = await stack.db.selectFrom('escalations').select(['id', 'alert_group_id']).where('organization_id', '=', org.organizationId).execute()
  expect(stored.map((e) => e.id)).toEqual([...ids])
  const groups = await stack.db.selectFrom('alert_groups').select('id').where('organization_id', '=', org.organizationId).execute()
  expect(groups.map((g) => g.id)).toEqual([stored[0]?.alert_group_id])
  const workflows = await eventually(async () => {
    const count = await stack.escalations.client.workflow.count(`OrganizationId = "${org.organizationId}"`)
    return count.count >= 1 ? count.count : undefined
  }, 20_000, 'the workflow in visibility')
  expect(workflows).toBe(1)
  await until(org, [...ids][0] as string, (e) => notified(e).length === 1, 'pat paged once')
  await eventually(async () => (notifier.delivered.some((d) => d.userId === user) ? true : undefined), 20_000, 'the page delivered')
  expect(notifier.delivered.filter((d) => d.userId === user)).toHaveLength(1)

  // The same key in another organization is another escalation.
  const elsewhere = await create(globex, { ...body, user_ids: [await newUser(globex, 'gus')] })
  expect(ids.has(elsewhere.id)).toBe(false)
})

test('respond: nack escalates now, snooze pauses until its time, ack stops; refused answers change nothing', async () => {
  const escalation = await create(acme, { escalation_path_id: twoLevels })
  const { id } = escalation
  await until(acme, id, (e) => notified(e).includes(bob), 'bob paged')
  const respond = (body: unknown) => acme.v2('POST', `/v2/escalations/${id}/actions/respond`, body)

  const nack = await respond({ response: 'nack' })
  expect(nack).toMatchObject({ status: 204, text: '' })
  await until(acme, id, (e) => notified(e).includes(carol), 'carol paged at once after the nack')

  const inSeconds = (s: number) => new Date(Date.now() + s * 1000).toISOString()
  expect(fields(await refused(() => respond({ response: 'snooze' })))).toEqual(['snooze_details'])
  expect(fields(await refused(() => respond({ response: 'snooze', snooze_details: { snooze_until: inSeconds(-60) } })))).toEqual([
    'snooze_details.snooze_until',
  ])
  expect(fields(await refused(() => respond({ response: 'snooze', snooze_details: { snooze_until: inSeconds(8 * DAY) } })))).toEqual([
    'snooze_details.snooze_until',
  ])
  expect(fields(await refused(() => respond({ response: 'snooze', snooze_details: { snooze_until: 'tomorrow' } })))).toEqual([
    'snooze_details.snooze_until',
  ])
  expect(fields(await refused(() => respond({ response: 'ack', snooze_details: { snooze_until: inSeconds(60) } })))).toEqual(['snooze_details'])
  expect(fields(await refused(() => respond({ response: 'maybe' })))).toEqual(['response'])

  expect((await respond({ response: 'snooze', snooze_details: { snooze_until: inSeconds(2), reason: 'on my way' } })).status).toBe(204)
  await until(acme, id, (e) => e.status === 'snoozed', 'snoozed')
  await until(acme, id, (e) => e.status === 'triggered', 'the snooze ended by itself')

  expect((await respond({ response: 'ack' })).status).toBe(204)
  const acked = await until(acme, id, (e) => e.status === 'acked', 'acked')
  expect(eventsOf(acked, 'acked')).toEqual([
    { id: expect.any(String), event: 'acked', occurred_at: expect.any(String), users: [expect.objectContaining({ id: acme.adminUserId })] },
  ])
  expect((await refused(() => respond({ response: 'ack' }))).body.errors).toEqual([{ code: 'refused', message: "Can't acknowledge an acknowledged escalation." }])
  await refused(() => respond({ response: 'nack' }))
  await refused(() => respond({ response: 'snooze', snooze_details: { snooze_until: inSeconds(60) } }))
  expect((await show(acme, id)).status).toBe('acked')
})

test('cancel stops paging; a second cancel is a no-op; resolved and expired escalations refuse it', async () => {
  const paging = await create(acme, { escalation_path_id: twoLevels })
  await until(acme, paging.id, (e) => notified(e).length > 0, 'paged')
  const cancel = (id: string, body?: unknown) => acme.v2('POST', `/v2/escalations/${id}/actions/cancel`, body)
  expect(await cancel(paging.id)).toMatchObject({ status: 204, text: '' })
  const cancelled = await until(acme, paging.id, (e) => e.status === 'cancelled', 'cancelled')
  expect(eventsOf(cancelled, 'cancelled')).toHaveLength(1)
  const before = await rows()
  expect((await cancel(paging.id, {})).status).toBe(204)
  expect(await rows()).toEqual(before)
  expect((await show(acme, paging.id)).events).toEqual(cancelled.events)
  expect((await refused(() => acme.v2('POST', `/v2/escalations/${paging.id}/actions/respond`, { response: 'ack' }))).body.errors).toEqual([
    { code: 'refused', message: "Can't acknowledge a cancelled escalation." },
  ])
  expect(fields(await refused(() => cancel(paging.id, { reason: 'x' })))).toEqual([null])

  const resolved = await create(acme, { user_ids: [bob] })
  const group = (await stack.db.selectFrom('escalations').select('alert_group_id').where('id', '=', resolved.id).executeTakeFirstOrThrow()).alert_group_id
  expect((await acme.v1('POST', `/api/v1/alert_groups/${group}/resolve/`)).status).toBe(200)
  await until(acme, resolved.id, (e) => e.status === 'resolved', 'resolved through the OnCall API')
  expect((await refused(() => cancel(resolved.id))).body.errors).toEqual([{ code: 'refused', message: "Can't cancel a resolved escalation." }])

  const expired = await create(acme, { escalation_path_id: expiring })
  const ran = await until(acme, expired.id, (e) => e.status === 'expired', 'expired after nobody acknowledged')
  expect(eventsOf(ran, 'notified_users')).toEqual([expect.objectContaining({ urgency: 'low', users: [expect.objectContaining({ id: dave })] })])
  expect(eventsOf(ran, 'expired')).toHaveLength(1)
  expect((await refused(() => cancel(expired.id))).body.errors).toEqual([{ code: 'refused', message: "Can't cancel an expired escalation." }])
})

test('reassign makes one linked escalation and resolves the original, once, even in parallel', async () => {
  const original = await create(acme, { user_ids: [bob], description: 'Look at the replica', priority: 'P2', incident_id: 'INC1' })
  const response = await acme.v2('POST', `/v2/escalations/${original.id}/actions/reassign`, { user_ids: [carol], title: 'Carol, please' })
  expect(response.status).toBe(201)
  const reassigned = response.body.escalation
  expect(shapeProblems(reassigned, seedEscalation)).toEqual([])
  expect(reassigned).toMatchObject({ title: 'Carol, please', description: 'Look at the replica', priority: { name: 'P2' } })
  expect(reassigned.id).not.toBe(original.id)
  await until(acme, original.id, (e) => e.status === 'resolved', 'the original resolved')
  await until(acme, reassigned.id, (e) => notified(e).includes(carol), 'carol paged')
  const links = await stack.db.selectFrom('escalations').select(['id', 'reassigned_from_id', 'reassigned_to_id', 'incident_id']).where('id', 'in', [original.id, reassigned.id]).execute()
  expect(links.sort((a, b) => (a.id === original.id ? -1 : b.id === original.id ? 1 : 0))).toEqual([
    { id: original.id, reassigned_from_id: null, reassigned_to_id: reassigned.id, incident_id: 'INC1' },
    { id: reassigned.id, reassigned_from_id: original.id, reassigned_to_id: null, incident_id: 'INC1' },
  ])
  const again = await refused(() => acme.v2('POST', `/v2/escalations/${original.id}/actions/reassign`, { user_ids: [dave] }))
  expect(again.body.errors).toEqual([{ code: 'already_reassigned', message: expect.stringContaining('already reassigned') }])

  const kept = await create(acme, { user_ids: [bob] })
  expect(fields(await refused(() => acme.v2('POST', `/v2/escalations/${kept.id}/actions/reassign`, { user_ids: [carol], escalation_path_id: twoLevels })))).toEqual([
    'escalation_path_id',
    'user_ids',
  ])
  expect(fields(await refused(() => acme.v2('POST', `/v2/escalations/${kept.id}/actions/reassign`, { user_ids: ['UNOBODY'] })))).toEqual(['user_ids[0]'])
  const attempts = await Promise.all(
    Array.from({ length: 8 }, () => acme.v2('POST', `/v2/escalations/${kept.id}/actions/reassign`, { escalation_path_id: twoLevels, resolve_original: false })),
  )
  expect(attempts.map((a) => a.status).sort()).toEqual([201, ...Array(7).fill(422)])
  const made = await stack.db.selectFrom('escalations').select('id').where('reassigned_from_id', '=', kept.id).execute()
  expect(made).toHaveLength(1)
  const winner = attempts.find((a) => a.status === 201)?.body.escalation
  expect(winner).toMatchObject({ id: made[0]?.id, escalation_path_id: twoLevels, title: 'Database CPU is high' })
  expect((await show(acme, kept.id)).status).toBe('triggered')
})

test('another organization can neither see nor act on an escalation, nor page with its users or path', async () => {
  const own = await create(acme, { user_ids: [bob] })
  await refused(() => globex.v2('GET', `/v2/escalations/${own.id}`), 404)
  const listed = await globex.v2('GET', '/v2/escalations?page_size=250')
  expect(listed.status).toBe(200)
  expect((listed.body.escalations as any[]).map((e) => e.id)).not.toContain(own.id)
  await refused(() => globex.v2('POST', `/v2/escalations/${own.id}/actions/respond`, { response: 'ack' }), 404)
  await refused(() => globex.v2('POST', `/v2/escalations/${own.id}/actions/cancel`), 404)
  await refused(() => globex.v2('POST', `/v2/escalations/${own.id}/actions/reassign`, { user_ids: [bob] }), 404)
  const base = { idempotency_key: key('foreign'), title: 'x' }
  expect(fields(await refused(() => globex.v2('POST', '/v2/escalations', { ...base, user_ids: [bob] })))).toEqual(['user_ids[0]'])
  expect(fields(await refused(() => globex.v2('POST', '/v2/escalations', { ...base, escalation_path_id: twoLevels })))).toEqual(['escalation_path_id'])
  const list = await globex.v2('GET', `/v2/escalations?after=${own.id}`)
  expect(list.status).toBe(422)
  expect((await show(acme, own.id)).status).toBe('triggered')
})

test('list: every filter, operators checked, cursor pages', async () => {
  const org = await newOrg('Filters')
  const fay = await newUser(org, 'fay')
  const gil = await newUser(org, 'gil')
  const pathA = await newPath(org, 'A', [level('a', fay, DAY)])
  const pathB = await newPath(org, 'B', [level('b', gil, DAY)])
  const e1 = await create(org, { idempotency_key: 'fx-a%b', escalation_path_id: pathA })
  const e2 = await create(org, { idempotency_key: 'fx-a_b', user_ids: [fay, gil] })
  const e3 = await create(org, { idempotency_key: 'fx-zzz', escalation_path_id: pathB, incident_id: '01FDAG4SAP5TYPT98WGR2N7W91' })
  await until(org, e1.id, (e) => notified(e).length > 0, 'e1 paged')
  const delivered = async (count: number) =>
    eventually(async () => {
      const ledger = await stack.db.selectFrom('notifications').select('delivered_at').where('organization_id', '=', org.organizationId).execute()
      return ledger.length === count && ledger.every((n) => n.delivered_at !== null) ? true : undefined
    }, 20_000, `${count} pages delivered`)
  // Every page is out before the ack: an ack that beats a user's first rule stops it (as OnCall's gate does).
  await delivered(4)
  expect((await org.v2('POST', `/v2/escalations/${e1.id}/actions/respond`, { response: 'ack' })).status).toBe(204)
  await until(org, e1.id, (e) => e.status === 'acked' && eventsOf(e, 'acked').length === 1, 'e1 acked')
  // Everything so far is recorded: only the cancel below happens after this instant.
  const quiet = new Date().toISOString()
  expect((await org.v2('POST', `/v2/escalations/${e3.id}/actions/cancel`)).status).toBe(204)
  await until(org, e3.id, (e) => e.status === 'cancelled', 'e3 cancelled')

  const ids = async (query: string) => {
    const response = await org.v2('GET', `/v2/escalations${query}`)
    expect({ query, status: response.status }).toEqual({ query, status: 200 })
    return (response.body.escalations as any[]).map((e) => e.id)
  }
  const alertOf = (await show(org, e2.id)).related_alerts[0].id
  const day = new Date().toISOString().slice(0, 10)
  expect(await ids('')).toEqual([e3.id, e2.id, e1.id])
  expect(await ids('?status[one_of]=acked')).toEqual([e1.id])
  expect(await ids('?status[one_of]=acked&status[one_of]=cancelled')).toEqual([e3.id, e1.id])
  expect(await ids('?status[not_in]=acked,cancelled')).toEqual([e2.id])
  expect(await ids('?status[one_of]=pending,delayed,pending_repeat')).toEqual([])
  expect(await ids(`?escalation_path[one_of]=${pathA}`)).toEqual([e1.id])
  expect(await ids(`?escalation_path[not_in]=${pathA}`)).toEqual([e3.id, e2.id])
  expect(await ids(`?alert[one_of]=${alertOf}`)).toEqual([e2.id])
  expect(await ids(`?alert[not_in]=${alertOf}`)).toEqual([e3.id, e1.id])
  expect(await ids('?incident[one_of]=01FDAG4SAP5TYPT98WGR2N7W91')).toEqual([e3.id])
  expect(await ids('?incident[not_in]=01FDAG4SAP5TYPT98WGR2N7W91')).toEqual([e2.id, e1.id])
  expect(await ids(`?idempotency_key[is]=${encodeURIComponent('fx-a%b')}`)).toEqual([e1.id])
  expect(await ids(`?idempotency_key[starts_with]=${encodeURIComponent('fx-a%')}`)).toEqual([e1.id])
  expect(await ids(`?idempotency_key[starts_with]=${encodeURIComponent('fx-a_')}`)).toEqual([e2.id])
  expect(await ids('?idempotency_key[starts_with]=fx-')).toEqual([e3.id, e2.id, e1.id])
  expect(await ids(`?idempotency_key[starts_with]=${encodeURIComponent('%')}`)).toEqual([])
  expect(await ids(`?created_at[gte]=${encodeURIComponent(e2.created_at)}`)).toEqual([e3.id, e2.id])
  expect(await ids(`?created_at[lte]=${encodeURIComponent(e1.created_at)}`)).toEqual([e1.id])
  expect(await ids(`?created_at[date_range]=${day}~${day}`)).toEqual([e3.id, e2.id, e1.id])
  expect(await ids('?created_at[date_range]=2000-01-01~2000-01-02')).toEqual([])
  expect(await ids(`?updated_at[gte]=${encodeURIComponent(quiet)}`)).toEqual([e3.id])
  expect(await ids(`?updated_at[lte]=${encodeURIComponent(quiet)}`)).toEqual([e2.id, e1.id])
  expect(await ids(`?status[not_in]=cancelled&escalation_path[one_of]=${pathA},${pathB}`)).toEqual([e1.id])

  const first = await org.v2('GET', '/v2/escalations?page_size=2')
  expect(first.body.pagination_meta).toEqual({ page_size: 2, after: e2.id })
  expect((first.body.escalations as any[]).map((e) => e.id)).toEqual([e3.id, e2.id])
  const second = await org.v2('GET', `/v2/escalations?page_size=2&after=${e2.id}`)
  expect(second.body).toMatchObject({ pagination_meta: { page_size: 2 } })
  expect(second.body.pagination_meta).not.toHaveProperty('after')
  expect((second.body.escalations as any[]).map((e) => e.id)).toEqual([e1.id])
  for (const escalation of [...first.body.escalations, ...second.body.escalations]) expect(shapeProblems(escalation, seedEscalation)).toEqual([])

  const bad = async (query: string, field: string, code = 'invalid_value') => {
    const response = await refused(() => org.v2('GET', `/v2/escalations${query}`))
    expect(response.body.errors).toEqual([expect.objectContaining({ code, source: { field } })])
  }
  await bad('?status[is]=acked', 'status[is]', 'unknown_operator')
  await bad('?status[between]=a', 'status[between]', 'unknown_operator')
  await bad('?idempotency_key[one_of]=a', 'idempotency_key[one_of]', 'unknown_operator')
  await bad('?created_at[gt]=2025-01-01', 'created_at[gt]', 'unknown_operator')
  await bad('?status[one_of]=open', 'status[one_of]')
  await bad('?created_at[date_range]=2025-01-31~2025-01-01', 'created_at[date_range]')
  await bad('?updated_at[gte]=yesterday', 'updated_at[gte]')
  await bad('?colour[is]=red', 'colour', 'unknown_field')
  await bad('?status=acked', 'status')
  await bad('?page_size=0', 'page_size')
  await bad('?page_size=251', 'page_size')
  await bad('?after=NOSUCHESCALATION', 'after', 'not_found')
})

test('POST /v2/escalations takes 60 requests a minute per API key; reads are not counted against it', async () => {
  const org = await newOrg('Busy')
  const user = await newUser(org, 'busy')
  const body = { idempotency_key: 'busy-1', title: 'Busy', user_ids: [user] }
  for (let i = 0; i < 60; i++) expect((await org.v2('POST', '/v2/escalations', body)).status).toBe(201)
  const limited = await org.v2('POST', '/v2/escalations', body)
  expect(limited.status).toBe(429)
  expect(limited.body).toMatchObject({ type: 'too_many_requests', rate_limit: { name: 'create_escalation', limit: 60, remaining: 0 } })
  expect((await org.v2('GET', '/v2/escalations')).status).toBe(200)
  // Another key of the same organization has its own count.
  const other = caller(stack.baseUrl, `Bearer ${await issueToken(stack.db, org.organizationId, org.adminUserId, 'second')}`)
  expect((await other('POST', '/v2/escalations', body)).status).toBe(201)
})

test('with the engine unavailable nothing is created: 503, and the key stays unused', async () => {
  const down = await startStack('v2_escalations_down', { worker: false, temporalAddress: '127.0.0.1:1' })
  try {
    const org = await createOrganization(down.db, 'Down')
    const call = caller(down.baseUrl, `Bearer ${org.token}`)
    const body = { idempotency_key: 'down-1', title: 'Nobody home', user_ids: [org.adminUserId] }
    const count = async () =>
      Promise.all(['escalations', 'alert_groups', 'alerts'].map(async (table) => (await down.db.selectFrom(table as 'alerts').select('id').execute()).length))
    for (let attempt = 0; attempt < 2; attempt++) {
      const response = await call('POST', '/v2/escalations', body)
      expect(response.status).toBe(503)
      expect(response.body).toMatchObject({ type: 'api_error', errors: [{ code: 'engine_unavailable' }] })
      expect(await count()).toEqual([0, 0, 0])
    }
  } finally {
    await down.stop()
  }
})
