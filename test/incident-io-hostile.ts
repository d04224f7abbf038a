import express from 'express'
import fc from 'fast-check'
import type { Server } from 'node:http'
import { sql } from 'kysely'
import { createOrganization } from '../db/organizations.repo'
import { createLogger } from '../apps/logger'
import { caller, eventually, startStack, type ApiResponse, type Stack } from './stack'
import { v2Router } from '../apps/api/incident-io/router'

// The hostile-input suites of /v2/escalations (escalations-hostile-*.int.test.ts) share this: a stack with two
// organizations and escalations in every state, the app with its rate limits lifted (the point is the input), body
// generators, and `hostile`, which sends one request and checks that it is no 5xx and that a refusal is
// incident.io's error object and leaves every escalation and alert group as it was.

/** Generated bodies per endpoint. */
export const RUNS = 1000
const DAY = 86_400

type Call = (method: string, path: string, body?: unknown) => Promise<ApiResponse>
let stack: Stack
let server: Server
let call: Call
/** Ids in the caller's organization: users, a live and an archived path, and escalations in each state. */
export const own = {} as { users: string[]; path: string; archived: string; live: string; acked: string; cancelled: string; resolved: string; reassigned: string }
/** Ids of another organization. */
export const foreign = {} as { user: string; path: string; escalation: string }
/** The idempotency key `own.live` was created with. */
export const USED_KEY = 'used-key'
/** Ids of every escalation created in the caller's organization so far. */
export const created = new Set<string>()

/** Calls /v2 as the caller's organization (once the suite has set up). */
export const v2: Call = (method, path, body) => call(method, path, body)

/** The suite's database. */
export const database = () => stack.db

/** Everything a write could change, in one digest per table (read in one statement). */
export async function state(): Promise<unknown> {
  const { rows } = await sql<{ escalations: string; groups: string; alerts: string }>`select
    (select count(*) || ':' || coalesce(md5(string_agg(e::text, ',' order by e.pk)), '') from escalations e) as escalations,
    (select count(*) || ':' || coalesce(md5(string_agg(concat_ws('|', g.id, g.acknowledged_at, g.resolved_at, g.silenced_at,
      g.silenced_until, g.lifecycle_version, g.resolution), ',' order by g.pk)), '') from alert_groups g) as groups,
    (select count(*) from alerts) as alerts`.execute(stack.db)
  return rows[0]
}

type Loose = Record<string, unknown>
const isObject = (value: unknown): value is Loose => typeof value === 'object' && value !== null && !Array.isArray(value)

function isErrorObject(body: unknown, status: number): boolean {
  return (
    isObject(body) &&
    typeof body.type === 'string' &&
    body.status === status &&
    typeof body.request_id === 'string' &&
    Array.isArray(body.errors) &&
    body.errors.length > 0 &&
    body.errors.every((e: unknown) => isObject(e) && typeof e.code === 'string' && typeof e.message === 'string')
  )
}

/**
 * Sends one request: never a 5xx; a refusal is an error object and changes nothing. Returns the answer and the state
 * before it, for the caller's own checks on a success.
 */
export async function hostile(method: string, path: string, body: unknown): Promise<{ response: ApiResponse; before: unknown }> {
  const before = await state()
  const response = await call(method, path, body)
  const shown = typeof body === 'string' ? body.slice(0, 80) : JSON.stringify(body)?.slice(0, 300)
  expect({ path, shown, status: response.status < 500 }).toEqual({ path, shown, status: true })
  if (response.status >= 400) {
    expect({ path, shown, error: isErrorObject(response.body, response.status) }).toEqual({ path, shown, error: true })
    expect({ path, shown, state: await state() }).toEqual({ path, shown, state: before })
  }
  return { response, before }
}

const STRINGS = ['', ' ', '\u0000', 'a\u0000b', '\ud800', '\udc00x', '\u{1F600}'.repeat(60), 'null', '%', '_', '\\', "'; drop table escalations; --", 'x'.repeat(256), 'x'.repeat(1001), 'x'.repeat(20_000)]

const leaf: fc.Arbitrary<unknown> = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.string({ unit: 'binary', maxLength: 30 }),
  fc.string({ unit: 'grapheme', maxLength: 30 }),
  fc.constantFrom(...STRINGS),
  fc.integer(),
  fc.double(),
  fc.constantFrom(-1, 0, 1, 2147483648, 1e20, 0.5),
  fc.boolean(),
  fc.constant(null),
)

export const anyValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 6, arbitrary: leaf },
  { weight: 1, arbitrary: fc.array(leaf, { maxLength: 5 }) },
  { weight: 1, arbitrary: fc.dictionary(fc.string({ maxLength: 10 }), leaf, { maxKeys: 4 }) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 1, arbitrary: fc.anything({ maxDepth: 2 }) },
)

/** A raw body that is not (good) JSON, sent as application/json. */
export const rawText = fc.oneof(fc.constantFrom('{', '{"title":', 'null', '[]', '"x"', '1', 'true', '{"a":1}}', '\u0000'), fc.string({ maxLength: 30 }).map((s) => `{${s}`))

/** Sometimes a plausible value, sometimes anything: optional keys are left out now and then. */
const field = (plausible: fc.Arbitrary<unknown>) => fc.option(fc.oneof({ weight: 3, arbitrary: plausible }, { weight: 1, arbitrary: anyValue }), { nil: undefined, freq: 4 })

const userIdsValue = () =>
  fc.oneof(
    fc.array(fc.constantFrom(...own.users, foreign.user, 'UNOBODY', '', 'a\u0000b', 'x'.repeat(300)), { maxLength: 4 }),
    fc.constant(Array(101).fill(own.users[0])),
    fc.constantFrom('U1', null, 5, {}),
  )
const pathIdValue = () => fc.constantFrom(own.path, own.archived, foreign.path, 'EPNOPE', '', 'x'.repeat(300), '\u0000', 7, null, [own.path])

const withoutUndefined = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined))

/** A body that creates an escalation: odd but storable text, a fresh key, one target of the organization. */
const validCreateBody = () =>
  fc
    .record({
      idempotency_key: fc.uuid(),
      title: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }).filter((t) => t.trim() !== '' && !t.includes('\u0000')),
      description: fc.string({ unit: 'grapheme', maxLength: 40 }).filter((t) => !t.includes('\u0000')),
      target: fc.oneof(
        fc.constant({ escalation_path_id: own.path }),
        fc.subarray(own.users, { minLength: 1 }).map((userIds) => ({ user_ids: userIds })),
      ),
    })
    .map(({ target, ...body }) => ({ ...body, ...target }))

export const createBody = () =>
  fc.oneof(
    { weight: 1, arbitrary: validCreateBody() },
    {
      weight: 26,
      arbitrary: fc
        .record({
          idempotency_key: field(fc.oneof(fc.uuid(), fc.constant(USED_KEY), fc.constantFrom(...STRINGS))),
          title: field(fc.oneof(fc.string({ minLength: 1, maxLength: 40 }), fc.constantFrom(...STRINGS))),
          description: field(fc.oneof(fc.string({ maxLength: 40 }), fc.constantFrom(...STRINGS))),
          escalation_path_id: field(pathIdValue()),
          user_ids: field(userIdsValue()),
          incident_id: field(fc.constantFrom('INC-1', '', 'x'.repeat(300), '\u0000')),
          priority: field(fc.constantFrom('P1', 'P2', '', ' ', 'x'.repeat(65), '\u0000')),
          extra: field(anyValue),
        })
        .map(withoutUndefined),
    },
    { weight: 3, arbitrary: anyValue },
    { weight: 3, arbitrary: rawText },
  )

const snoozeUntil = () =>
  fc.oneof(
    fc.integer({ min: -10 * DAY, max: 10 * DAY }).map((s) => new Date(Date.now() + s * 1000).toISOString()),
    fc.constantFrom('tomorrow', '2025-01-01', '2999-01-01T00:00:00Z', '1970-01-01T00:00:00Z', '', '2025-13-01T00:00:00Z', 0, null),
  )

export const respondBody = () =>
  fc.oneof(
    {
      weight: 8,
      arbitrary: fc
        .record({
          response: field(fc.constantFrom('ack', 'nack', 'snooze', 'ACK', '', 'decline')),
          snooze_details: field(fc.record({ snooze_until: field(snoozeUntil()), reason: field(fc.constantFrom(...STRINGS)) }).map(withoutUndefined)),
          extra: field(anyValue),
        })
        .map(withoutUndefined),
    },
    { weight: 1, arbitrary: anyValue },
    { weight: 1, arbitrary: rawText },
  )

/** A respond body the live escalation would act on (so it is kept away from it). */
export function acts(body: unknown): boolean {
  if (!isObject(body)) return false
  if (body.response === 'ack' || body.response === 'nack') return body.snooze_details === undefined
  if (body.response !== 'snooze' || !isObject(body.snooze_details)) return false
  // Generated values include objects without a prototype, which String() cannot convert: only strings are instants.
  const raw = body.snooze_details.snooze_until
  const until = typeof raw === 'string' ? Date.parse(raw) : NaN
  return Number.isFinite(until) && until > Date.now() - 60_000 && until < Date.now() + 8 * DAY * 1000
}

export const reassignBody = () =>
  fc.oneof(
    {
      weight: 8,
      arbitrary: fc
        .record({
          escalation_path_id: field(pathIdValue()),
          user_ids: field(userIdsValue()),
          title: field(fc.constantFrom(...STRINGS, 'New title')),
          description: field(fc.constantFrom(...STRINGS, 'New description')),
          resolve_original: field(fc.constantFrom(true, false, 'true', 0, null)),
          extra: field(anyValue),
        })
        .map(withoutUndefined),
    },
    { weight: 1, arbitrary: anyValue },
    { weight: 1, arbitrary: rawText },
  )

/** A reassign body that could succeed (one live target of the organization, nothing malformed): kept away from live ones. */
export function couldReassign(body: unknown): boolean {
  if (!isObject(body)) return false
  const hasPath = body.escalation_path_id !== undefined
  const hasUsers = body.user_ids !== undefined
  if (hasPath && hasUsers) return false
  const toUsers = Array.isArray(body.user_ids) && body.user_ids.length > 0 && body.user_ids.every((u: unknown) => own.users.includes(u as string))
  return (hasPath && body.escalation_path_id === own.path) || (hasUsers && toUsers)
}

/** What goes on the wire: a string as it is, anything else as JSON (undefined: no body). */
const sent = (body: unknown) => (typeof body === 'string' ? body : JSON.stringify(body))

/** A cancel body that cancels: none, or an empty object. */
export const cancels = (body: unknown) => {
  const text = sent(body)
  return text === undefined || /^\s*(\{\s*\})?\s*$/.test(text)
}

const oddIds = ['NOPE', 'a b', 'x'.repeat(65), '%00', '..', 'ü', '-']
export const target = (...ids: string[]) => fc.constantFrom(...ids, foreign.escalation, ...oddIds)

/** Creates an escalation and waits until its first page is out, so that later actions meet a quiet workflow. */
async function v2Escalation(body: Loose): Promise<string> {
  const response = await call('POST', '/v2/escalations', { idempotency_key: `setup-${created.size}`, title: 'Setup', ...body })
  expect(response.status).toBe(201)
  const id = response.body.escalation.id as string
  created.add(id)
  await until(id, (escalation) => (escalation.events as Loose[]).some((e) => e.event === 'notified_users'), 'paged')
  return id
}

function until(id: string, check: (escalation: Loose) => boolean, what: string): Promise<true> {
  return eventually(async () => {
    const escalation = (await call('GET', `/v2/escalations/${id}`)).body?.escalation as Loose | undefined
    return escalation && check(escalation) ? true : undefined
  }, 20_000, `${id} ${what}`)
}

/** Registers the suite's setup and teardown; `name` names its database. */
export function setUpHostileSuite(name: string): void {
  beforeAll(setUp(name))
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve))
    server.closeAllConnections()
    await stack.stop()
  })
}

const setUp = (name: string) => async () => {
  stack = await startStack(name)
  const org = await createOrganization(stack.db, 'Acme')
  const other = await createOrganization(stack.db, 'Globex')
  const v1 = caller(stack.baseUrl, org.token)
  const logger = createLogger({ name: 'hostile', level: 'WARN' })
  const app = express()
  app.set('query parser', 'extended')
  const deps = { db: stack.db, escalations: stack.escalations, publicUrl: 'http://tocsin.test', webUrl: 'http://grafana.test', logger }
  app.use('/v2', v2Router(deps, { rateLimits: { global: 1_000_000, createEscalation: 1_000_000 } }))
  server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s))
  })
  const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`
  call = caller(base, `Bearer ${org.token}`)
  const foreignCall = caller(base, `Bearer ${other.token}`)

  own.users = []
  for (const name of ['ann', 'ben']) own.users.push((await v1('POST', '/api/v1/users/', { username: name, email: `${name}@example.test`, role: 'editor' })).body.id)
  const level = (userId: string) => [{ id: 'l1', type: 'level', level: { targets: [{ id: userId, type: 'user', urgency: 'high' }], time_to_ack_seconds: DAY } }]
  own.path = (await call('POST', '/v2/escalation_paths', { name: 'Live', path: level(own.users[0] as string) })).body.escalation_path.id
  own.archived = (await call('POST', '/v2/escalation_paths', { name: 'Old', path: level(own.users[0] as string) })).body.escalation_path.id
  expect((await call('DELETE', `/v2/escalation_paths/${own.archived}`)).status).toBe(204)
  foreign.user = other.adminUserId
  foreign.path = (await foreignCall('POST', '/v2/escalation_paths', { name: 'Theirs', path: level(other.adminUserId) })).body.escalation_path.id
  foreign.escalation = (await foreignCall('POST', '/v2/escalations', { idempotency_key: 'theirs', title: 'Theirs', user_ids: [other.adminUserId] })).body.escalation.id

  own.live = await v2Escalation({ idempotency_key: USED_KEY, escalation_path_id: own.path })
  own.acked = await v2Escalation({ escalation_path_id: own.path })
  own.cancelled = await v2Escalation({ user_ids: own.users })
  own.resolved = await v2Escalation({ user_ids: own.users })
  own.reassigned = await v2Escalation({ escalation_path_id: own.path })
  expect((await call('POST', `/v2/escalations/${own.acked}/actions/respond`, { response: 'ack' })).status).toBe(204)
  expect((await call('POST', `/v2/escalations/${own.cancelled}/actions/cancel`)).status).toBe(204)
  const group = (await stack.db.selectFrom('escalations').select('alert_group_id').where('id', '=', own.resolved).executeTakeFirstOrThrow()).alert_group_id
  expect((await v1('POST', `/api/v1/alert_groups/${group}/resolve/`)).status).toBe(200)
  const moved = await call('POST', `/v2/escalations/${own.reassigned}/actions/reassign`, { user_ids: own.users, resolve_original: false })
  expect(moved.status).toBe(201)
  created.add(moved.body.escalation.id)
  await until(moved.body.escalation.id, (e) => (e.events as Loose[]).some((ev) => ev.event === 'notified_users'), 'paged')
  await Promise.all([
    until(own.acked, (e) => e.status === 'acked', 'acked'),
    until(own.cancelled, (e) => e.status === 'cancelled', 'cancelled'),
    until(own.resolved, (e) => e.status === 'resolved', 'resolved'),
  ])
  // Quiet before the fuzzing: every page of the setup delivered, so nothing but the requests writes. (Pages: one for
  // each path escalation, two for each of the three to both users, one for the other organization's.)
  await eventually(async () => {
    const ledger = await stack.db.selectFrom('notifications').select('delivered_at').execute()
    return ledger.length === 10 && ledger.every((n) => n.delivered_at !== null) ? true : undefined
  }, 20_000, 'setup pages delivered')
}

