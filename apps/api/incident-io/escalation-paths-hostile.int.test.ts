import fc from 'fast-check'
import { sql } from 'kysely'
import { newPublicId } from '../../../db/ids'
import { caller, createOrg, startStack, type ApiResponse, type Stack } from '../../../test/stack'

// Hostile bodies on POST and PUT /v2/escalation_paths: valid paths with one or more parts replaced by random JSON,
// wrong types, huge or unstorable strings, deep nesting and prototype-polluting keys; and bodies that are not
// paths at all. Never a 5xx; every refusal is incident.io's error object and writes nothing.

type Org = Awaited<ReturnType<typeof createOrg>> & { v2: ReturnType<typeof caller> }

let stack: Stack
let org: Org
let other: Org
const own = {} as { user: string; schedule: string; team: string; target: string }
const foreign = {} as { user: string; schedule: string; team: string; path: string }

const RUNS = 1000

async function orgWithV2(name: string): Promise<Org> {
  const created = await createOrg(stack, name)
  return { ...created, v2: caller(stack.baseUrl, `Bearer ${created.token}`) }
}

async function insertOwned(organizationId: string, label: string) {
  const user = newPublicId('U')
  const schedule = newPublicId('S')
  const team = newPublicId('T')
  await stack.db.insertInto('users').values({ id: user, organization_id: organizationId, username: label, email: `${label}@hostile.test`, role: 'viewer' }).execute()
  await stack.db.insertInto('schedules').values({ id: schedule, organization_id: organizationId, name: label, type: 'web' }).execute()
  await stack.db.insertInto('teams').values({ id: team, organization_id: organizationId, name: label }).execute()
  return { user, schedule, team }
}

/** A valid path with every node type, working hours and a team. */
function validBody(): any {
  const t = (id: string, type = 'user') => ({ id, type, urgency: 'high' })
  return {
    name: 'Hostile target',
    path: [
      { id: 'a', type: 'level', level: { targets: [t(own.user), { ...t(own.schedule, 'schedule'), schedule_mode: 'next_on_call' }], time_to_ack_seconds: 300, round_robin_config: { enabled: true } } },
      {
        id: 'b',
        type: 'if_else',
        if_else: {
          conditions: [{ subject: 'escalation.working_hours["office"]', operation: 'is_not_active', param_bindings: [] }],
          then_path: [{ id: 'c', type: 'notify_channel', notify_channel: { targets: [t('C1', 'msteams_channel')], time_to_ack_seconds: 30 } }],
          else_path: [{ id: 'd', type: 'delay', delay: { delay_seconds: 60 } }],
        },
      },
      { id: 'e', type: 'level', level: { targets: [t(own.user)], time_to_ack_seconds: 60, ack_mode: 'all' } },
      { id: 'f', type: 'repeat', repeat: { repeat_times: 2, to_node: 'a' } },
    ],
    working_hours: [{ id: 'office', name: 'Office', timezone: 'America/New_York', weekday_intervals: [{ weekday: 'tuesday', start_time: '08:00', end_time: '18:00' }] }],
    team_ids: [own.team],
  }
}

beforeAll(async () => {
  stack = await startStack('v2_escalation_paths_hostile', { worker: false })
  org = await orgWithV2('Hostile Co')
  other = await orgWithV2('Victim Co')
  Object.assign(own, await insertOwned(org.organizationId, 'own'))
  Object.assign(foreign, await insertOwned(other.organizationId, 'victim'))
  const put = await org.v2('POST', '/v2/escalation_paths', validBody())
  const theirs = await other.v2('POST', '/v2/escalation_paths', { name: 'victim', path: [{ id: 'x', type: 'level', level: { targets: [{ id: foreign.user, type: 'user', urgency: 'low' }] } }] })
  if (put.status !== 201 || theirs.status !== 201) throw new Error(`setup failed: ${put.text} ${theirs.text}`)
  own.target = put.body.escalation_path.id
  foreign.path = theirs.body.escalation_path.id
})
afterAll(() => stack.stop())

/** Every escalation path and team row, per organization, as one comparable value. */
async function state(): Promise<Record<string, string>> {
  const { rows } = await sql<{ organization_id: string; digest: string }>`
    select p.organization_id,
      md5(string_agg(concat_ws('|', p.id, p.name, p.path::text, p.working_hours::text, p.updated_at::text, p.archived_at::text,
        (select string_agg(t.team_id, ',' order by t.position) from escalation_path_teams t where t.escalation_path_id = p.id)), ';' order by p.pk)) as digest
    from escalation_paths p group by p.organization_id`.execute(stack.db)
  return Object.fromEntries(rows.map((row) => [row.organization_id, row.digest]))
}

// ---------------------------------------------------------------------------------------------------------------
// Generators

/** Sets `key` as an own, enumerable property, `__proto__` included (JSON.stringify writes it like any key). */
function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, configurable: true, writable: true })
}

const deepArray = (depth: number) => JSON.parse('['.repeat(depth) + ']'.repeat(depth)) as unknown
const deepObject = (depth: number, key: string) => JSON.parse(`{"${key}":`.repeat(depth) + '1' + '}'.repeat(depth)) as unknown

const POLLUTING_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', '__defineGetter__']

const pollutingObject = fc.tuple(fc.constantFrom(...POLLUTING_KEYS), fc.jsonValue({ maxDepth: 2 })).map(([key, value]) => {
  const object: Record<string, unknown> = {}
  setOwn(object, key, { polluted: true, isAdmin: true, value })
  return object
})

const nastyStrings = fc.constantFrom(
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '\ud800',
  'x\udfffy',
  '\ufeff',
  '\u202e',
  'x'.repeat(300),
  'x'.repeat(100_000),
  '😀'.repeat(2000),
  'escalation.working_hours["office"]',
  'escalation.working_hours["\\u0000"]',
  'escalation.priority',
  '__proto__',
  'level',
  'if_else',
  'escalation_path',
  'voicemail',
  'templated',
  '../../etc/passwd',
  "'; drop table escalation_paths; --",
  '{{7*7}}',
)

type Path = ReadonlyArray<string | number>

/** Every place in a value: the paths of its objects, arrays and leaves. */
function places(value: unknown, at: Path = []): Path[] {
  const found: Path[] = [at]
  if (Array.isArray(value)) value.forEach((item, index) => found.push(...places(item, [...at, index])))
  else if (value !== null && typeof value === 'object') for (const [key, item] of Object.entries(value)) found.push(...places(item, [...at, key]))
  return found
}

type Mutation = { kind: 'replace'; at: Path; value: unknown } | { kind: 'delete'; at: Path } | { kind: 'add'; at: Path; key: string; value: unknown }

function mutate(body: any, mutation: Mutation): any {
  if (mutation.at.length === 0 && mutation.kind !== 'add') return mutation.kind === 'replace' ? mutation.value : {}
  const parentPath = mutation.kind === 'add' ? mutation.at : mutation.at.slice(0, -1)
  let parent = body
  for (const key of parentPath) parent = parent?.[key]
  if (parent === null || typeof parent !== 'object') return body
  if (mutation.kind === 'add') {
    if (Array.isArray(parent)) parent.push(mutation.value)
    else setOwn(parent, mutation.key, mutation.value)
    return body
  }
  const key = mutation.at[mutation.at.length - 1] as string | number
  if (mutation.kind === 'delete') {
    if (Array.isArray(parent)) parent.splice(Number(key), 1)
    else delete parent[key]
  } else if (Array.isArray(parent)) parent[Number(key)] = mutation.value
  else setOwn(parent, String(key), mutation.value)
  return body
}

/**
 * A request body as sent: JSON text (a valid path with parts replaced, deleted or added, or any JSON), or
 * deliberately not JSON. Built once the organizations exist, as it uses their ids.
 */
function hostileBodies(): fc.Arbitrary<string> {
  const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
    { weight: 4, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
    { weight: 3, arbitrary: nastyStrings },
    { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
    { weight: 2, arbitrary: fc.constantFrom(null, true, false, 0, -1, 1.5, 86_401, 1e308, -1e308, 2 ** 53 + 1, Number.MIN_VALUE) },
    { weight: 1, arbitrary: fc.integer({ min: 100, max: 3000 }).map(deepArray) },
    {
      weight: 1,
      arbitrary: fc.tuple(fc.integer({ min: 100, max: 3000 }), fc.constantFrom('if_else', 'then_path', 'level', 'path')).map(([d, k]) => deepObject(d, k)),
    },
    { weight: 2, arbitrary: pollutingObject },
    { weight: 1, arbitrary: fc.array(fc.constantFrom(own.user, foreign.user, foreign.schedule, foreign.team, 'a', 'f'), { maxLength: 5 }) },
    { weight: 1, arbitrary: fc.constantFrom(foreign.user, foreign.schedule, foreign.team, foreign.path) },
  )
  const at = fc.constantFrom(...places(validBody()))
  const mutation: fc.Arbitrary<Mutation> = fc.oneof(
    { weight: 5, arbitrary: fc.record({ kind: fc.constant('replace' as const), at, value: hostileValue }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('delete' as const), at }) },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant('add' as const),
        at,
        key: fc.oneof(fc.constantFrom(...POLLUTING_KEYS, 'delay', 'level', 'if_else', 'repeat_config', 'kind', 'selected_rota_id', 'retry_config'), fc.string({ maxLength: 12 })),
        value: hostileValue,
      }),
    },
  )
  const text = (value: unknown) => JSON.stringify(value) ?? 'null'
  return fc.oneof(
    { weight: 6, arbitrary: mutation.map((m) => text(mutate(validBody(), m))) },
    { weight: 3, arbitrary: fc.array(mutation, { minLength: 2, maxLength: 5 }).map((ms) => text(ms.reduce(mutate, validBody()))) },
    { weight: 1, arbitrary: hostileValue.map(text) },
    { weight: 1, arbitrary: fc.string({ maxLength: 60 }) },
    {
      weight: 1,
      arbitrary: fc.constantFrom('{', '{"name": }', '['.repeat(100_000), '{"path": [' + '{"id":"x","type":"if_else","if_else":'.repeat(2000), '\u0000', ''),
    },
  )
}

// ---------------------------------------------------------------------------------------------------------------
// The judge

function isV2Error(body: any, status: number): boolean {
  return (
    body?.status === status &&
    typeof body.type === 'string' &&
    typeof body.request_id === 'string' &&
    Array.isArray(body.errors) &&
    body.errors.length > 0 &&
    body.errors.every((e: any) => typeof e.code === 'string' && typeof e.message === 'string' && (e.source === undefined || typeof e.source.field === 'string'))
  )
}

const tally = { accepted: 0, refused: 0 }
// Only this suite writes, one request at a time: the state after a request is the state before the next.
let lastState: Record<string, string> | undefined

/** Sends one body; fails on a 5xx, on an error that is not incident.io's object, or on a refusal that wrote. */
async function judge(method: 'POST' | 'PUT', path: string, body: string): Promise<void> {
  const before = lastState ?? (await state())
  const response: ApiResponse = await org.v2(method, path, body)
  const after = await state()
  lastState = after
  const shown = body.length > 200 ? `${body.slice(0, 200)}…` : body
  expect({ shown, serverError: response.status >= 500 ? response.text.slice(0, 300) : false }).toEqual({ shown, serverError: false })
  if (response.status >= 400) {
    tally.refused++
    expect({ shown, errorObject: isV2Error(response.body, response.status) }).toEqual({ shown, errorObject: true })
    expect({ shown, unchanged: after }).toEqual({ shown, unchanged: before })
  } else {
    tally.accepted++
    expect({ shown, status: response.status }).toEqual({ shown, status: method === 'POST' ? 201 : 200 })
    expect(after[other.organizationId]).toBe(before[other.organizationId])
  }
  // Nothing a body said reached Object.prototype (the app runs in this process).
  expect(Object.keys(Object.prototype)).toEqual([])
  expect(({} as Record<string, unknown>).polluted).toBeUndefined()
}

test(`POST /v2/escalation_paths: ${RUNS} hostile bodies`, async () => {
  await fc.assert(
    fc.asyncProperty(hostileBodies(), (body) => judge('POST', '/v2/escalation_paths', body)),
    { numRuns: RUNS },
  )
})

test(`PUT /v2/escalation_paths/{id}: ${RUNS} hostile bodies`, async () => {
  await fc.assert(
    fc.asyncProperty(hostileBodies(), (body) => judge('PUT', `/v2/escalation_paths/${own.target}`, body)),
    { numRuns: RUNS },
  )
})

test('the generators exercised both sides, and the other organization kept its one path', async () => {
  expect(tally.refused).toBeGreaterThan(RUNS)
  expect(tally.accepted).toBeGreaterThan(0)
  const theirs = await other.v2('GET', '/v2/escalation_paths')
  expect(theirs.body.escalation_paths.map((p: any) => p.id)).toEqual([foreign.path])
})
