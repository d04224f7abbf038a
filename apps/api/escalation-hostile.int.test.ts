import fc from 'fast-check'
import { isDeepStrictEqual } from 'node:util'
import { newPublicId } from '../../db/ids'
import { createOrg, organizationRows, startStack, type ApiResponse, type Stack } from '../../test/stack'

// Hostile input on every escalation chain and policy write route: each refusal is a 4xx in DRF's shape and
// leaves both organizations' rows as they were; then random bodies (fast-check) never get a 5xx.
type Org = Awaited<ReturnType<typeof createOrg>>
let stack: Stack
let org: Org
let other: Org

const HUGE = 'x'.repeat(100_000)
const LONG_ID = 'F'.repeat(5_000)
const NOT_FOUND = { detail: 'Not found.' }
const INVALID_POSITION = { detail: 'Invalid value for position field' }
const INVALID_TYPE = { detail: 'Invalid escalation step type' }
const TIME_FORMAT = 'Time has wrong format. Use one of these formats instead: hh:mm:ssZ.'
const NUMBER = 'A valid number is required.'

/** Ids of the main organization (`own`) and of the other one (`foreign`). */
const own = {} as {
  user: string
  team: string
  schedule: string
  group: string
  webhook: string
  deletedWebhook: string
  chain: string
  chain2: string
  policies: Record<string, string>
  emptyRoundRobin: string
}
const foreign = {} as {
  user: string
  team: string
  schedule: string
  group: string
  webhook: string
  chain: string
  policy: string
}

const STEP_TYPES = [
  'wait',
  'notify_persons',
  'notify_person_next_each_time',
  'notify_on_call_from_schedule',
  'notify_next_on_call_from_schedule',
  'notify_user_group',
  'notify_team_members',
  'trigger_webhook',
  'resolve',
  'notify_whole_channel',
  'notify_if_time_from_to',
  'notify_if_num_alerts_in_window',
  'repeat_escalation',
  'declare_incident',
] as const

/** OnCall's response keys per step type (plus the IRM schedule-lookahead type, shaped as its sibling). */
const KEYS_OF_TYPE: Record<string, string[]> = {
  wait: ['duration'],
  notify_persons: ['important', 'persons_to_notify'],
  notify_person_next_each_time: ['important', 'persons_to_notify_next_each_time'],
  notify_on_call_from_schedule: ['important', 'notify_on_call_from_schedule'],
  notify_next_on_call_from_schedule: ['important', 'notify_on_call_from_schedule'],
  notify_user_group: ['important', 'group_to_notify'],
  notify_team_members: ['important', 'team_to_notify'],
  trigger_webhook: ['action_to_trigger'],
  resolve: [],
  notify_whole_channel: [],
  notify_if_time_from_to: ['notify_if_time_from', 'notify_if_time_to'],
  notify_if_num_alerts_in_window: ['num_alerts_in_window', 'num_minutes_in_window'],
  repeat_escalation: [],
  declare_incident: ['severity'],
}

async function insertTargets(organizationId: string, label: string) {
  const schedule = newPublicId('S')
  const group = newPublicId('G')
  const webhook = newPublicId('WH')
  await stack.db
    .insertInto('schedules')
    .values({ id: schedule, organization_id: organizationId, name: label, type: 'web' })
    .execute()
  await stack.db
    .insertInto('user_groups')
    .values({ id: group, organization_id: organizationId, name: label, handle: label })
    .execute()
  await stack.db
    .insertInto('webhooks')
    .values({
      id: webhook,
      organization_id: organizationId,
      name: label,
      url: 'https://hooks.example.test/',
      http_method: 'POST',
      trigger_type: 'escalation',
    })
    .execute()
  return { schedule, group, webhook }
}

async function created(response: ApiResponse): Promise<string> {
  if (response.status !== 201) throw new Error(`setup failed: ${response.status} ${response.text.slice(0, 300)}`)
  return response.body.id
}

beforeAll(async () => {
  stack = await startStack('escalation_hostile', { worker: false })
  org = await createOrg(stack, 'Hostile Co')
  other = await createOrg(stack, 'Victim Co')

  // The other organization, through its own API token where routes exist, directly otherwise.
  foreign.user = await created(
    await other.call('POST', '/api/v1/users/', { username: 'vic', email: 'vic@victim.test' }),
  )
  foreign.team = await created(await other.call('POST', '/api/v1/teams/', { name: 'Victim team' }))
  foreign.chain = await created(
    await other.call('POST', '/api/v1/escalation_chains/', { name: 'victim', team_id: foreign.team }),
  )
  foreign.policy = await created(
    await other.call('POST', '/api/v1/escalation_policies/', {
      escalation_chain_id: foreign.chain,
      type: 'notify_person_next_each_time',
      persons_to_notify_next_each_time: [foreign.user],
    }),
  )
  Object.assign(foreign, await insertTargets(other.organizationId, 'victim'))

  own.user = await created(await org.call('POST', '/api/v1/users/', { username: 'ann', email: 'ann@hostile.test' }))
  own.team = await created(await org.call('POST', '/api/v1/teams/', { name: 'Own team' }))
  Object.assign(own, await insertTargets(org.organizationId, 'own'))
  own.deletedWebhook = (await insertTargets(org.organizationId, 'gone')).webhook
  await stack.db
    .updateTable('webhooks')
    .set({ deleted_at: '2026-01-01T00:00:00Z' })
    .where('id', '=', own.deletedWebhook)
    .execute()
  own.chain = await created(
    await org.call('POST', '/api/v1/escalation_chains/', { name: 'chain-a', team_id: own.team }),
  )
  own.chain2 = await created(await org.call('POST', '/api/v1/escalation_chains/', { name: 'chain-b' }))
  own.policies = {}
  for (const type of STEP_TYPES) {
    own.policies[type] = await created(
      await org.call('POST', '/api/v1/escalation_policies/', { escalation_chain_id: own.chain, ...validBody(type) }),
    )
  }
  own.emptyRoundRobin = await created(
    await org.call('POST', '/api/v1/escalation_policies/', {
      escalation_chain_id: own.chain,
      type: 'notify_person_next_each_time',
    }),
  )
})
afterAll(() => stack.stop())

/** A valid body of each type, with every field of the type set. */
function validBody(type: string): Record<string, unknown> {
  const fields: Record<string, Record<string, unknown>> = {
    wait: { duration: 300 },
    notify_persons: { important: true, persons_to_notify: [own.user] },
    notify_person_next_each_time: { persons_to_notify_next_each_time: [own.user] },
    notify_on_call_from_schedule: { notify_on_call_from_schedule: own.schedule },
    notify_next_on_call_from_schedule: { notify_on_call_from_schedule: own.schedule },
    notify_user_group: { group_to_notify: own.group },
    notify_team_members: { team_to_notify: own.team },
    trigger_webhook: { action_to_trigger: own.webhook },
    notify_if_time_from_to: { notify_if_time_from: '09:00:00Z', notify_if_time_to: '18:00:00Z' },
    notify_if_num_alerts_in_window: { num_alerts_in_window: 3, num_minutes_in_window: 10 },
    declare_incident: { severity: 'critical' },
  }
  return { type, ...(fields[type] ?? {}) }
}

// ---------------------------------------------------------------------------------------------------------------
// DRF error shapes and row snapshots

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v)

/** `{"detail": "..."}`, or field → list of strings, nested (dicts, index-keyed dicts, one dict per list item). */
function isDrfErrorBody(body: unknown): boolean {
  if (!isPlainObject(body) || Object.keys(body).length === 0) return false
  if ('detail' in body) return Object.keys(body).length === 1 && typeof body.detail === 'string'
  return isFieldErrors(body)
}

function isFieldErrors(errors: Record<string, unknown>): boolean {
  return Object.keys(errors).length > 0 && Object.values(errors).every(isErrorValue)
}

function isErrorValue(value: unknown): boolean {
  if (isPlainObject(value)) return isFieldErrors(value)
  if (!Array.isArray(value) || value.length === 0) return false
  if (value.every((m) => typeof m === 'string')) return true
  // A list of objects: one entry per item, `{}` for the valid ones, at least one with errors.
  return (
    value.every((item) => isPlainObject(item) && (Object.keys(item).length === 0 || isFieldErrors(item))) &&
    value.some((item) => Object.keys(item as object).length > 0)
  )
}

async function orgState(o: Org) {
  const [rows, chains, policies] = await Promise.all([
    organizationRows(stack.db, o.organizationId),
    stack.db
      .selectFrom('escalation_chains')
      .selectAll()
      .where('organization_id', '=', o.organizationId)
      .orderBy('pk')
      .execute(),
    stack.db
      .selectFrom('escalation_policies')
      .selectAll()
      .where('organization_id', '=', o.organizationId)
      .orderBy('pk')
      .execute(),
  ])
  return { rows, chains, policies }
}

async function snapshot() {
  return { own: await orgState(org), other: await orgState(other) }
}

const preview = (body: string | undefined) =>
  body === undefined ? '<none>' : body.length > 160 ? `${body.slice(0, 160)}…` : body

interface Case {
  method: string
  path: string
  /** Sent as is (already JSON, or deliberately not). */
  body?: string
  status?: number
  expected?: unknown
}

const j = (value: unknown) => JSON.stringify(value)

/** Runs refusals one by one; returns a description of every case that was not a clean, rowless 4xx. */
async function refusals(cases: Case[], call = org.call): Promise<unknown[]> {
  const problems: unknown[] = []
  for (const c of cases) {
    const before = await snapshot()
    const response = await call(c.method, c.path, c.body)
    const after = await snapshot()
    const wrong: string[] = []
    if (response.status < 400 || response.status > 499) wrong.push(`status ${response.status}`)
    if (c.status !== undefined && response.status !== c.status)
      wrong.push(`status ${response.status}, wanted ${c.status}`)
    if (!isDrfErrorBody(response.body)) wrong.push('not a DRF error body')
    if (c.expected !== undefined && !isDeepStrictEqual(response.body, c.expected)) wrong.push(`wanted ${j(c.expected)}`)
    if (!isDeepStrictEqual(before.own, after.own)) wrong.push("changed the caller's rows")
    if (!isDeepStrictEqual(before.other, after.other)) wrong.push("changed the other organization's rows")
    if (wrong.length > 0) {
      problems.push({
        request: `${c.method} ${c.path.slice(0, 80)} ${preview(c.body)}`,
        got: response.text.slice(0, 300),
        wrong,
      })
    }
  }
  return problems
}

test('the refusal checker itself flags an accepted write and a non-DRF body', async () => {
  const accepted = await refusals([
    { method: 'POST', path: '/api/v1/escalation_chains/', body: j({ name: 'accepted' }) },
  ])
  expect(accepted).toEqual([
    expect.objectContaining({ wrong: ['status 201', 'not a DRF error body', "changed the caller's rows"] }),
  ])
  expect(
    [{}, [], 'x', { detail: 5 }, { detail: 'x', extra: 1 }, { name: 'x' }, { name: [] }, { name: [5] }].map(
      isDrfErrorBody,
    ),
  ).toEqual(Array(8).fill(false))
  const good = [{ detail: 'x' }, { name: ['x'] }, { a: { '0': ['x'] } }, { users: [{}, { non_field_errors: ['x'] }] }]
  expect(good.map(isDrfErrorBody)).toEqual([true, true, true, true])
  const [chain] = (await org.call('GET', '/api/v1/escalation_chains/?name=accepted')).body.results
  expect((await org.call('DELETE', `/api/v1/escalation_chains/${chain.id}/`)).status).toBe(204)
})

// ---------------------------------------------------------------------------------------------------------------
// Bodies that are not JSON objects

const NOT_OBJECTS: Array<{ body: string; expected?: unknown }> = [
  { body: '[]', expected: { non_field_errors: ['Invalid data. Expected a dictionary, but got list.'] } },
  {
    body: '[{"name":"x","type":"wait"}]',
    expected: { non_field_errors: ['Invalid data. Expected a dictionary, but got list.'] },
  },
  { body: '"name"', expected: { non_field_errors: ['Invalid data. Expected a dictionary, but got str.'] } },
  { body: '42', expected: { non_field_errors: ['Invalid data. Expected a dictionary, but got int.'] } },
  { body: '4.5' },
  { body: 'true' },
  { body: 'null' },
  { body: '{' },
  { body: '{"name": }' },
  { body: '{"name": "x",}' },
  { body: "{'name': 'x'}" },
  { body: 'name=x' },
  { body: '\u0000' },
  { body: '[' + '['.repeat(5000) },
]

function notObjectCases(method: string, path: string): Case[] {
  return NOT_OBJECTS.map(({ body, expected }) => ({ method, path, body, status: 400, expected }))
}

describe('escalation chains', () => {
  const NAME_BAD: Array<[unknown, string | undefined]> = [
    [null, 'This field may not be null.'],
    [true, 'Not a valid string.'],
    [[], 'Not a valid string.'],
    [['x'], 'Not a valid string.'],
    [{}, 'Not a valid string.'],
    ['', 'This field may not be blank.'],
    ['   ', 'This field may not be blank.'],
    ['x'.repeat(101), 'Ensure this field has no more than 100 characters.'],
    [HUGE, 'Ensure this field has no more than 100 characters.'],
    ['a\u0000b', undefined],
  ]
  const TEAM_BAD = (): Array<[unknown, string | undefined]> => [
    [true, undefined],
    [[], undefined],
    [{}, undefined],
    [HUGE, undefined],
    ['T\u0000', undefined],
    ['TNOSUCHTEAM12', 'Object does not exist'],
    [foreign.team, 'Object does not exist'],
  ]

  test('POST: wrong types, nulls, sizes, unknown and foreign teams, duplicates, non-object bodies', async () => {
    const path = '/api/v1/escalation_chains/'
    const cases: Case[] = [
      { method: 'POST', path, body: j({}), status: 400, expected: { name: ['This field is required.'] } },
      {
        method: 'POST',
        path,
        body: j({ team_id: null }),
        status: 400,
        expected: { name: ['This field is required.'] },
      },
      { method: 'POST', path, body: '', status: 400, expected: { name: ['This field is required.'] } },
      {
        method: 'POST',
        path,
        body: j({ name: 'chain-a' }),
        status: 400,
        expected: { non_field_errors: ['The fields organization, name must make a unique set.'] },
      },
      ...NAME_BAD.map(([name, message]): Case => ({
        method: 'POST',
        path,
        body: j({ name }),
        status: 400,
        expected: message === undefined ? undefined : { name: [message] },
      })),
      ...TEAM_BAD().map(([team_id, message]): Case => ({
        method: 'POST',
        path,
        body: j({ name: 'fresh', team_id }),
        status: 400,
        expected: message === undefined ? undefined : { team_id: [message] },
      })),
      ...notObjectCases('POST', path),
    ]
    expect(await refusals(cases)).toEqual([])
  })

  test('PUT and PATCH: the same, plus unknown, foreign and absurd ids', async () => {
    const cases: Case[] = []
    for (const method of ['PUT', 'PATCH']) {
      const path = `/api/v1/escalation_chains/${own.chain}/`
      if (method === 'PUT')
        cases.push({
          method,
          path,
          body: j({ team_id: null }),
          status: 400,
          expected: { name: ['This field is required.'] },
        })
      cases.push({
        method,
        path: `/api/v1/escalation_chains/${own.chain2}/`,
        body: j({ name: 'chain-a' }),
        status: 400,
        expected: { non_field_errors: ['The fields organization, name must make a unique set.'] },
      })
      for (const [name, message] of NAME_BAD) {
        cases.push({
          method,
          path,
          body: j({ name }),
          status: 400,
          expected: message === undefined ? undefined : { name: [message] },
        })
      }
      for (const [team_id, message] of TEAM_BAD()) {
        cases.push({
          method,
          path,
          body: j({ name: 'renamed', team_id }),
          status: 400,
          expected: message === undefined ? undefined : { team_id: [message] },
        })
      }
      cases.push(...notObjectCases(method, path))
      for (const id of ['FNOSUCHCHAIN1', foreign.chain, LONG_ID, 'F%00', encodeURIComponent('F\u00e9\u{1F600}')]) {
        cases.push({
          method,
          path: `/api/v1/escalation_chains/${id}/`,
          body: j({ name: 'renamed' }),
          status: 404,
          expected: NOT_FOUND,
        })
      }
    }
    expect(await refusals(cases)).toEqual([])
  })

  test('DELETE: unknown, foreign and absurd ids', async () => {
    const cases = ['FNOSUCHCHAIN1', foreign.chain, LONG_ID, 'F%00', '%20'].map((id): Case => ({
      method: 'DELETE',
      path: `/api/v1/escalation_chains/${id}/`,
      status: 404,
      expected: NOT_FOUND,
    }))
    expect(await refusals(cases)).toEqual([])
  })
})

// ---------------------------------------------------------------------------------------------------------------
// Escalation policies

interface FieldCase {
  field: string
  type: string
  value: unknown
  expected?: unknown
}

const errorOf = (field: string, message: string | undefined) =>
  message === undefined ? undefined : { [field]: [message] }

function referenceCases(field: string, types: string[], foreignId: () => string, prefix: string): FieldCase[] {
  const values: Array<[unknown, string | undefined]> = [
    [true, undefined],
    [5, undefined],
    [[], undefined],
    [[own.user], undefined],
    [{}, undefined],
    [HUGE, undefined],
    [`${prefix}\u0000`, undefined],
    [`${prefix}NOSUCHTHING1`, 'Object does not exist'],
    [foreignId(), 'Object does not exist'],
  ]
  return types.flatMap((type) =>
    values.map(([value, message]) => ({ field, type, value, expected: errorOf(field, message) })),
  )
}

function userListCases(field: string, type: string): FieldCase[] {
  return [
    { field, type, value: 'abc', expected: errorOf(field, 'Expected a list of items but got type "str".') },
    { field, type, value: own.user, expected: errorOf(field, 'Expected a list of items but got type "str".') },
    { field, type, value: 5, expected: errorOf(field, 'Expected a list of items but got type "int".') },
    { field, type, value: true, expected: errorOf(field, 'Expected a list of items but got type "bool".') },
    { field, type, value: {}, expected: errorOf(field, 'Expected a list of items but got type "dict".') },
    { field, type, value: HUGE },
    { field, type, value: [5] },
    { field, type, value: [null] },
    { field, type, value: [HUGE] },
    { field, type, value: [[own.user]] },
    { field, type, value: [{ id: own.user }] },
    { field, type, value: [own.user, 'U\u0000'] },
    { field, type, value: Array.from({ length: 1001 }, (_, i) => `U${i}`) },
  ]
}

function timeCases(field: string): FieldCase[] {
  const bad = [
    '25:00:00Z',
    '24:00:00Z',
    '12:60:00Z',
    '12:00:60Z',
    '9:00:00Z',
    '09:00Z',
    '09:00:00',
    '09:00:00+01:00',
    '09:00:00z',
    '09:00:00.5Z',
    ' 09:00:00Z',
    '',
    HUGE,
    'T09:00:00Z',
    '09:00:00Z\u0000',
    5,
    9.5,
    true,
    [],
    ['09:00:00Z'],
    {},
  ]
  return bad.map((value) => ({ field, type: 'notify_if_time_from_to', value, expected: errorOf(field, TIME_FORMAT) }))
}

function countCases(field: string): FieldCase[] {
  return [-1, 1.5, 2147483648, 1e20, 'x', '', HUGE, true, [], [1], {}].map((value) => ({
    field,
    type: 'notify_if_num_alerts_in_window',
    value,
  }))
}

/** Every field's hostile values, each with the type the field belongs to; `escalation_chain_id` is POST only. */
function fieldCases(): FieldCase[] {
  return [
    ...durationCases(),
    ...['important', 'manual_order'].flatMap((field) =>
      [null, 'yes', 2, -1, 0.5, '', HUGE, [], [true], {}].map((value) => ({
        field,
        type: 'notify_persons',
        value,
        expected: errorOf(field, value === null ? 'This field may not be null.' : 'Must be a valid boolean.'),
      })),
    ),
    ...userListCases('persons_to_notify', 'notify_persons'),
    ...userListCases('persons_to_notify_next_each_time', 'notify_person_next_each_time'),
    ...referenceCases(
      'notify_on_call_from_schedule',
      ['notify_on_call_from_schedule', 'notify_next_on_call_from_schedule'],
      () => foreign.schedule,
      'S',
    ),
    ...referenceCases('group_to_notify', ['notify_user_group'], () => foreign.group, 'G'),
    ...referenceCases('team_to_notify', ['notify_team_members'], () => foreign.team, 'T'),
    ...referenceCases('action_to_trigger', ['trigger_webhook'], () => foreign.webhook, 'WH'),
    {
      field: 'action_to_trigger',
      type: 'trigger_webhook',
      value: own.deletedWebhook,
      expected: errorOf('action_to_trigger', 'Object does not exist'),
    },
    ...timeCases('notify_if_time_from'),
    ...timeCases('notify_if_time_to'),
    ...countCases('num_alerts_in_window'),
    ...countCases('num_minutes_in_window'),
    ...[null, '', '   ', true, [], ['critical'], {}, HUGE, 'a\u0000b'].map((value) => ({
      field: 'severity',
      type: 'declare_incident',
      value,
    })),
    {
      field: 'severity',
      type: 'declare_incident',
      value: null,
      expected: errorOf('severity', 'This field may not be null.'),
    },
    ...positionCases(),
  ]
}

function durationCases(): FieldCase[] {
  const tooSmall = 'Ensure this value is greater than or equal to 0:01:00.'
  const tooLarge = 'Ensure this value is less than or equal to 1 day, 0:00:00.'
  const values: Array<[unknown, string]> = [
    [59, tooSmall],
    [59.99, tooSmall],
    [0, tooSmall],
    [-1, tooSmall],
    ['59', tooSmall],
    [86401, tooLarge],
    [1e20, tooLarge],
    ['1e309', NUMBER],
    ['NaN', NUMBER],
    ['Infinity', NUMBER],
    ['9'.repeat(400), NUMBER],
    [HUGE, NUMBER],
    ['', NUMBER],
    ['soon', NUMBER],
    [true, NUMBER],
    [[], NUMBER],
    [[300], NUMBER],
    [{}, NUMBER],
  ]
  return values.map(([value, message]) => ({
    field: 'duration',
    type: 'wait',
    value,
    expected: errorOf('duration', message),
  }))
}

function positionCases(): FieldCase[] {
  const values: Array<[unknown, unknown]> = [
    [-2, INVALID_POSITION],
    [-2147483648, INVALID_POSITION],
    [2147483648, INVALID_POSITION],
    [9007199254740991, INVALID_POSITION],
    [1e20, undefined],
    [1.5, errorOf('position', 'A valid integer is required.')],
    [-0.5, errorOf('position', 'A valid integer is required.')],
    ['NaN', errorOf('position', 'A valid integer is required.')],
    ['1e309', errorOf('position', 'A valid integer is required.')],
    ['0x10', errorOf('position', 'A valid integer is required.')],
    [HUGE, errorOf('position', 'A valid integer is required.')],
    [null, errorOf('position', 'This field may not be null.')],
    [true, errorOf('position', 'A valid integer is required.')],
    [[], errorOf('position', 'A valid integer is required.')],
    [[1, 1], errorOf('position', 'A valid integer is required.')],
    [{}, errorOf('position', 'A valid integer is required.')],
  ]
  return values.map(([value, expected]) => ({ field: 'position', type: 'wait', value, expected }))
}

/** Raw bodies no JSON.stringify can make: number literals out of double range, duplicate keys. */
function rawPolicyBodies(chainId: string | undefined): Array<{ body: string; expected?: unknown }> {
  const chain = chainId === undefined ? '' : `"escalation_chain_id": "${chainId}", `
  return [
    { body: `{${chain}"type": "wait", "duration": 1e309}`, expected: errorOf('duration', NUMBER) },
    { body: `{${chain}"type": "wait", "duration": -1e309}`, expected: errorOf('duration', NUMBER) },
    { body: `{${chain}"type": "wait", "position": 1e309}` },
    { body: `{${chain}"type": "notify_if_num_alerts_in_window", "num_alerts_in_window": 1e309}` },
    // Duplicate keys: the last one counts, as in Python's json module.
    { body: `{${chain}"type": "wait", "position": 0, "position": -7}`, expected: INVALID_POSITION },
    { body: `{${chain}"type": "wait", "duration": 300, "duration": 59}` },
    { body: `{${chain}"type": "wait", "type": "this_is_invalid_step_type"}`, expected: INVALID_TYPE },
  ]
}

describe('escalation policies', () => {
  const path = '/api/v1/escalation_policies/'

  test('POST: every field: wrong types, nulls, sizes, unknown and foreign ids, bad times and durations', async () => {
    const cases: Case[] = fieldCases().map((c) => ({
      method: 'POST',
      path,
      body: j({ escalation_chain_id: own.chain, ...validBody(c.type), [c.field]: c.value }),
      status: 400,
      expected: c.expected,
    }))
    const chainCases: Array<[unknown, unknown]> = [
      [undefined, { escalation_chain_id: ['This field is required.'] }],
      [null, { escalation_chain_id: ['This field may not be null.'] }],
      [true, undefined],
      [5, undefined],
      [[], undefined],
      [[own.chain], undefined],
      [{}, undefined],
      ['', undefined],
      [HUGE, undefined],
      ['F\u0000', undefined],
      ['FNOSUCHCHAIN1', { escalation_chain_id: ['Object does not exist'] }],
      [foreign.chain, { escalation_chain_id: ['Object does not exist'] }],
    ]
    for (const [value, expected] of chainCases) {
      cases.push({
        method: 'POST',
        path,
        body: j({ escalation_chain_id: value, type: 'wait', duration: 60 }),
        status: 400,
        expected,
      })
    }
    expect(await refusals(cases)).toEqual([])
  })

  test('POST: type missing, null, wrong, unknown; positions; raw and non-object bodies', async () => {
    const body = (extra: Record<string, unknown>) => j({ escalation_chain_id: own.chain, ...extra })
    const cases: Case[] = [
      { method: 'POST', path, body: body({}), status: 400, expected: { type: ['This field is required.'] } },
      { method: 'POST', path, body: '', status: 400, expected: { type: ['This field is required.'] } },
      {
        method: 'POST',
        path,
        body: body({ type: null }),
        status: 400,
        expected: { type: ['This field may not be null.'] },
      },
      ...[true, [], ['wait'], {}].map((type): Case => ({
        method: 'POST',
        path,
        body: body({ type }),
        status: 400,
        expected: { type: ['Not a valid string.'] },
      })),
      ...[
        'this_is_invalid_step_type',
        '',
        '   ',
        'WAIT',
        'wait\u0000',
        HUGE,
        5,
        0,
        'notify_to_team_members',
        'important_notify_persons',
      ].map((type): Case => ({
        method: 'POST',
        path,
        body: body({ type, duration: 60 }),
        status: 400,
        expected: INVALID_TYPE,
      })),
      // An unknown type is refused before the other fields are looked at, even with a foreign chain.
      {
        method: 'POST',
        path,
        body: j({ escalation_chain_id: foreign.chain, type: 'nope' }),
        status: 400,
        expected: INVALID_TYPE,
      },
      {
        method: 'POST',
        path,
        body: body({ type: 'wait', position: -1, manual_order: true }),
        status: 400,
        expected: INVALID_POSITION,
      },
      {
        method: 'POST',
        path,
        body: body({ type: 'wait', position: -1, manual_order: 'true' }),
        status: 400,
        expected: INVALID_POSITION,
      },
      ...rawPolicyBodies(own.chain).map(({ body, expected }): Case => ({
        method: 'POST',
        path,
        body,
        status: 400,
        expected,
      })),
      ...notObjectCases('POST', path),
    ]
    expect(await refusals(cases)).toEqual([])
  })

  test('PUT and PATCH: every field, type changes with a bad field, positions, raw and non-object bodies', async () => {
    const cases: Case[] = []
    for (const method of ['PUT', 'PATCH']) {
      for (const c of fieldCases()) {
        cases.push({
          method,
          path: `${path}${own.policies[c.type]}/`,
          body: j({ [c.field]: c.value }),
          status: 400,
          expected: c.expected,
        })
      }
      const waitPath = `${path}${own.policies.wait}/`
      const personsPath = `${path}${own.policies.notify_persons}/`
      cases.push(
        // A refused type change changes nothing, not even the type.
        { method, path: personsPath, body: j({ type: 'wait', duration: 59 }), status: 400 },
        { method, path: waitPath, body: j({ type: 'notify_team_members', team_to_notify: foreign.team }), status: 400 },
        {
          method,
          path: waitPath,
          body: j({ type: 'trigger_webhook', action_to_trigger: foreign.webhook }),
          status: 400,
        },
        {
          method,
          path: waitPath,
          body: j({ type: 'notify_persons', persons_to_notify: 'x', position: 0 }),
          status: 400,
        },
        {
          method,
          path: waitPath,
          body: j({ type: 'resolve', position: 2147483648 }),
          status: 400,
          expected: INVALID_POSITION,
        },
        {
          method,
          path: waitPath,
          body: j({ position: -1, manual_order: true }),
          status: 400,
          expected: INVALID_POSITION,
        },
        {
          method,
          path: waitPath,
          body: j({ position: -1, manual_order: true, duration: 600 }),
          status: 400,
          expected: INVALID_POSITION,
        },
        ...[true, [], {}].map((type): Case => ({
          method,
          path: waitPath,
          body: j({ type }),
          status: 400,
          expected: { type: ['Not a valid string.'] },
        })),
        ...['this_is_invalid_step_type', '', 'wait\u0000', HUGE, 7].map((type): Case => ({
          method,
          path: waitPath,
          body: j({ type }),
          status: 400,
          expected: INVALID_TYPE,
        })),
        ...rawPolicyBodies(undefined).map(({ body, expected }): Case => ({
          method,
          path: waitPath,
          body,
          status: 400,
          expected,
        })),
        ...notObjectCases(method, waitPath),
      )
      for (const id of ['ENOSUCHPOLICY', foreign.policy, LONG_ID, 'E%00']) {
        cases.push({
          method,
          path: `${path}${id}/`,
          body: j({ type: 'wait', duration: 60 }),
          status: 404,
          expected: NOT_FOUND,
        })
        cases.push({ method, path: `${path}${id}/`, body: '[]', status: 404, expected: NOT_FOUND })
      }
    }
    expect(await refusals(cases)).toEqual([])
  })

  test('DELETE and advance_round_robin: unknown, foreign, absurd ids; steps without a queue; bad bodies', async () => {
    const cases: Case[] = []
    for (const id of ['ENOSUCHPOLICY', foreign.policy, LONG_ID, 'E%00']) {
      cases.push({ method: 'DELETE', path: `${path}${id}/`, status: 404, expected: NOT_FOUND })
      cases.push({ method: 'POST', path: `${path}${id}/advance_round_robin/`, status: 404, expected: NOT_FOUND })
    }
    for (const type of STEP_TYPES.filter((t) => t !== 'notify_person_next_each_time')) {
      cases.push({ method: 'POST', path: `${path}${own.policies[type]}/advance_round_robin/`, status: 400 })
    }
    cases.push({ method: 'POST', path: `${path}${own.emptyRoundRobin}/advance_round_robin/`, status: 400 })
    const roundRobin = `${path}${own.policies.notify_person_next_each_time}/advance_round_robin/`
    for (const body of ['{', '{"a": 1,}', "{'a': 1}"])
      cases.push({ method: 'POST', path: roundRobin, body, status: 400 })
    expect(await refusals(cases)).toEqual([])
  })

  test("the other organization's users are dropped from user lists, never linked, never touched", async () => {
    const before = await orgState(other)
    const rr = await org.call('POST', path, {
      escalation_chain_id: own.chain2,
      type: 'notify_person_next_each_time',
      persons_to_notify_next_each_time: [foreign.user, own.user, foreign.user],
    })
    expect(rr).toMatchObject({ status: 201, body: { persons_to_notify_next_each_time: [own.user] } })
    const persons = await org.call('PATCH', `${path}${rr.body.id}/`, {
      type: 'notify_persons',
      persons_to_notify: [foreign.user],
    })
    expect(persons).toMatchObject({ status: 200, body: { persons_to_notify: [] } })
    // escalation_chain_id is read-only on update in OnCall: a foreign chain is ignored, not joined.
    const moved = await org.call('PUT', `${path}${rr.body.id}/`, { escalation_chain_id: foreign.chain })
    expect(moved).toMatchObject({ status: 200, body: { escalation_chain_id: own.chain2 } })
    expect(await orgState(other)).toEqual(before)
    expect((await org.call('DELETE', `${path}${rr.body.id}/`)).status).toBe(204)
  })

  test('a chain whose last position is the largest one takes no more appended steps', async () => {
    const chainId = await created(await org.call('POST', '/api/v1/escalation_chains/', { name: 'full' }))
    const last = await org.call('POST', path, {
      escalation_chain_id: chainId,
      type: 'wait',
      duration: 60,
      position: 2147483647,
    })
    expect(last).toMatchObject({ status: 201, body: { position: 2147483647 } })
    const cases: Case[] = [
      {
        method: 'POST',
        path,
        body: j({ escalation_chain_id: chainId, type: 'resolve' }),
        status: 400,
        expected: INVALID_POSITION,
      },
      {
        method: 'POST',
        path,
        body: j({ escalation_chain_id: chainId, type: 'resolve', position: -1 }),
        status: 400,
        expected: INVALID_POSITION,
      },
      {
        method: 'POST',
        path,
        body: j({ escalation_chain_id: chainId, type: 'resolve', position: 0 }),
        status: 400,
        expected: INVALID_POSITION,
      },
      // Swapping with the last one would push it past the largest position.
      {
        method: 'POST',
        path,
        body: j({ escalation_chain_id: chainId, type: 'resolve', position: 2147483647, manual_order: true }),
        status: 400,
        expected: INVALID_POSITION,
      },
    ]
    expect(await refusals(cases)).toEqual([])
    // Moving within the chain still works.
    const first = await org.call('PATCH', `${path}${last.body.id}/`, { position: 0 })
    expect(first).toMatchObject({ status: 200, body: { position: 0 } })
  })
})

// ---------------------------------------------------------------------------------------------------------------
// Property-based: random bodies never get a 5xx, refusals are DRF-shaped, successes have exactly their type's keys

const POLICY_FIELDS = [
  'escalation_chain_id',
  'type',
  'position',
  'manual_order',
  'important',
  'duration',
  'persons_to_notify',
  'persons_to_notify_next_each_time',
  'notify_on_call_from_schedule',
  'group_to_notify',
  'team_to_notify',
  'action_to_trigger',
  'notify_if_time_from',
  'notify_if_time_to',
  'num_alerts_in_window',
  'num_minutes_in_window',
  'severity',
] as const

const CONSTANT_STRINGS = [
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '\ud800',
  '\u{1F600}'.repeat(60),
  'null',
  'None',
  'NaN',
  'Infinity',
  '1e309',
  '-1',
  '0',
  '1',
  '60',
  '59',
  '86400',
  '86401',
  '2147483648',
  'true',
  'True',
  'false',
  '09:00:00Z',
  '23:59:59Z',
  '24:00:00Z',
  '9:00',
  'critical',
  'wait',
  'x'.repeat(101),
  'x'.repeat(5000),
]

const leaf: fc.Arbitrary<unknown> = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary', maxLength: 30 }),
  fc.string({ unit: 'grapheme', maxLength: 30 }),
  fc.constantFrom(...CONSTANT_STRINGS),
  fc.integer(),
  fc.integer({ min: -3, max: 3 }),
  fc.double(),
  fc.constantFrom(
    -1,
    0,
    59,
    60,
    86400,
    86401,
    2147483647,
    2147483648,
    -2147483649,
    1e20,
    Number.MAX_SAFE_INTEGER,
    0.5,
    -0,
  ),
  fc.boolean(),
  fc.constant(null),
)

const anyValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 6, arbitrary: leaf },
  { weight: 1, arbitrary: fc.array(leaf, { maxLength: 5 }) },
  { weight: 1, arbitrary: fc.dictionary(fc.string({ maxLength: 10 }), leaf, { maxKeys: 4 }) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 1, arbitrary: fc.anything({ maxDepth: 2 }) },
)

let fuzzChain = ''
const fuzzPolicies: string[] = []

function plausible(field: (typeof POLICY_FIELDS)[number]): fc.Arbitrary<unknown> {
  const ids = () =>
    fc.constantFrom(
      own.user,
      foreign.user,
      own.team,
      foreign.team,
      own.schedule,
      foreign.schedule,
      own.group,
      foreign.group,
      own.webhook,
      foreign.webhook,
      own.deletedWebhook,
      fuzzChain,
      foreign.chain,
      '',
      'XNOSUCHTHING1',
    )
  switch (field) {
    case 'escalation_chain_id':
      return fc.oneof({ weight: 8, arbitrary: fc.constant(fuzzChain) }, { weight: 1, arbitrary: ids() })
    case 'type':
      return fc.constantFrom(...STEP_TYPES, 'nope', ' wait ')
    case 'position':
      return fc.oneof(fc.integer({ min: -2, max: 12 }), fc.constantFrom(2147483646, 2147483647, 2147483648, -1))
    case 'manual_order':
    case 'important':
      return fc.oneof(fc.boolean(), fc.constantFrom('true', 'False', 1, 0, '1'))
    case 'duration':
      return fc.oneof(
        fc.integer({ min: 0, max: 90000 }),
        fc.double({ min: 0, max: 90000 }),
        fc.constantFrom('60', '300.5'),
      )
    case 'persons_to_notify':
    case 'persons_to_notify_next_each_time':
      return fc.oneof(fc.array(ids(), { maxLength: 4 }), fc.constant(null))
    case 'notify_if_time_from':
    case 'notify_if_time_to':
      return fc.oneof(fc.constantFrom('00:00:00Z', '09:00:00Z', '23:59:59Z', '24:00:00Z', '9:00', null))
    case 'num_alerts_in_window':
    case 'num_minutes_in_window':
      return fc.oneof(fc.integer({ min: -2, max: 100 }), fc.constant(null))
    case 'severity':
      return fc.constantFrom('critical', 'minor', '', ' pending ')
    default:
      return fc.oneof(ids(), fc.constant(null))
  }
}

function recordOf(value: (field: (typeof POLICY_FIELDS)[number]) => fc.Arbitrary<unknown>) {
  const model = Object.fromEntries(POLICY_FIELDS.map((f) => [f, value(f)])) as Record<string, fc.Arbitrary<unknown>>
  return fc.record(model, { requiredKeys: [] })
}

/**
 * A body as sent: a valid body of some type with up to three fields replaced by anything; records of plausible
 * values over every policy field (other types' fields, positions, references of both organizations); records of
 * arbitrary values; anything at all; raw JSON text. POST bodies mostly name the fuzz chain, to get past it.
 */
function randomBody(create: boolean): fc.Arbitrary<string | undefined> {
  const withChain = (body: Record<string, unknown>) => (create ? { escalation_chain_id: fuzzChain, ...body } : body)
  const mutation = fc
    .constantFrom(...POLICY_FIELDS)
    .chain((field) => fc.tuple(fc.constant(field), fc.oneof(plausible(field), anyValue)))
  const mutatedValid = fc
    .tuple(fc.constantFrom(...STEP_TYPES), fc.array(mutation, { maxLength: 3 }))
    .map(([type, mutations]) => {
      const body = withChain(validBody(type))
      for (const [field, value] of mutations) body[field] = value
      return body
    })
  const plausibleBody = fc
    .tuple(fc.constantFrom(...STEP_TYPES), recordOf(plausible))
    .map(([type, fields]) => withChain({ type, ...fields }))
  return fc.oneof(
    { weight: 4, arbitrary: mutatedValid.map((body) => JSON.stringify(body)) },
    { weight: 3, arbitrary: plausibleBody.map((body) => JSON.stringify(body)) },
    { weight: 2, arbitrary: recordOf(() => anyValue).map((body) => JSON.stringify(body)) },
    { weight: 1, arbitrary: fc.anything({ maxDepth: 3 }).map((v) => JSON.stringify(v) as string | undefined) },
    { weight: 1, arbitrary: fc.json({ maxDepth: 3 }) },
  )
}

function successProblems(received: unknown): string[] {
  const problems: string[] = []
  if (!isPlainObject(received)) return ['not an object']
  const body = received as Record<string, any>
  const expectedKeys = KEYS_OF_TYPE[body.type as string]
  if (!expectedKeys) return [`unknown type ${j(body.type)}`]
  const keys = Object.keys(body).sort()
  const wanted = ['id', 'escalation_chain_id', 'position', 'type', ...expectedKeys].sort()
  if (!isDeepStrictEqual(keys, wanted)) problems.push(`keys ${j(keys)}, wanted ${j(wanted)}`)
  if (typeof body.id !== 'string' || !/^E[A-NP-Z1-9]{12}$/.test(body.id)) problems.push('id')
  if (body.escalation_chain_id !== fuzzChain) problems.push('escalation_chain_id')
  if (!Number.isInteger(body.position) || body.position < 0 || body.position > 2147483647) problems.push('position')
  if ('important' in body && typeof body.important !== 'boolean') problems.push('important')
  if (
    'duration' in body &&
    body.duration !== null &&
    !(Number.isInteger(body.duration) && body.duration >= 60 && body.duration <= 86400)
  ) {
    problems.push('duration')
  }
  for (const key of ['persons_to_notify', 'persons_to_notify_next_each_time']) {
    if (key in body && !(Array.isArray(body[key]) && body[key].every((u: unknown) => u === own.user)))
      problems.push(key)
  }
  const refs: Record<string, string[]> = {
    notify_on_call_from_schedule: [own.schedule],
    group_to_notify: [own.group],
    team_to_notify: [own.team],
    action_to_trigger: [own.webhook],
  }
  for (const [key, allowed] of Object.entries(refs)) {
    if (key in body && body[key] !== null && !allowed.includes(body[key])) problems.push(key)
  }
  for (const key of ['notify_if_time_from', 'notify_if_time_to']) {
    if (key in body && body[key] !== null && !/^([01]\d|2[0-3]):[0-5]\d:[0-5]\dZ$/.test(body[key])) problems.push(key)
  }
  for (const key of ['num_alerts_in_window', 'num_minutes_in_window']) {
    if (key in body && body[key] !== null && !(Number.isInteger(body[key]) && body[key] >= 0)) problems.push(key)
  }
  // Not nullable on input, but null when never set (OnCall answers null or [] for a field never set).
  const severity = body.severity
  if ('severity' in body && severity !== null && (typeof severity !== 'string' || severity.trim() === '')) {
    problems.push('severity')
  }
  return problems
}

function judge(method: string, response: ApiResponse, sent: string | undefined, target?: string) {
  const where = `${method} ${target ?? ''} ${preview(sent)} -> ${response.status} ${response.text.slice(0, 300)}`
  if (response.status >= 500) throw new Error(`5xx: ${where}`)
  if (response.status >= 400) {
    if (!isDrfErrorBody(response.body)) throw new Error(`not DRF-shaped: ${where}`)
    return
  }
  const wantedStatus = method === 'POST' ? 201 : 200
  if (response.status !== wantedStatus) throw new Error(`unexpected status: ${where}`)
  const problems = successProblems(response.body)
  if (target !== undefined && response.body?.id !== target) problems.push('id changed')
  if (problems.length > 0) throw new Error(`bad success body (${problems.join(', ')}): ${where}`)
}

describe('random bodies (fast-check)', () => {
  beforeAll(async () => {
    fuzzChain = await created(await org.call('POST', '/api/v1/escalation_chains/', { name: 'fuzz' }))
    for (const type of STEP_TYPES) {
      fuzzPolicies.push(
        await created(
          await org.call('POST', '/api/v1/escalation_policies/', {
            escalation_chain_id: fuzzChain,
            ...validBody(type),
          }),
        ),
      )
    }
  })

  test('POST /api/v1/escalation_policies/', async () => {
    await fc.assert(
      fc.asyncProperty(randomBody(true), async (body) => {
        const response = await org.call('POST', '/api/v1/escalation_policies/', body)
        judge('POST', response, body)
        // A step at a huge position leaves no room to append (tested above): take it out to keep the chain usable.
        if (response.status === 201 && response.body.position > 1000) {
          expect((await org.call('DELETE', `/api/v1/escalation_policies/${response.body.id}/`)).status).toBe(204)
        }
      }),
      { numRuns: 600 },
    )
  })

  for (const method of ['PUT', 'PATCH']) {
    test(`${method} /api/v1/escalation_policies/<id>/`, async () => {
      await fc.assert(
        fc.asyncProperty(fc.constantFrom(...fuzzPolicies), randomBody(false), async (id, body) => {
          judge(method, await org.call(method, `/api/v1/escalation_policies/${id}/`, body), body, id)
        }),
        { numRuns: 450 },
      )
    })
  }

  test('the other organization was never touched by any of it', async () => {
    const chains = await other.call('GET', '/api/v1/escalation_chains/')
    expect(chains.body.results).toEqual([{ id: foreign.chain, name: 'victim', team_id: foreign.team }])
    const policies = await other.call('GET', '/api/v1/escalation_policies/')
    expect(policies.body.results).toEqual([
      {
        id: foreign.policy,
        escalation_chain_id: foreign.chain,
        position: 0,
        type: 'notify_person_next_each_time',
        important: false,
        persons_to_notify_next_each_time: [foreign.user],
      },
    ])
  })

  test('no chain ever holds two steps at one position, and every position fits the column', async () => {
    const rows = await stack.db.selectFrom('escalation_policies').select(['escalation_chain_id', 'position']).execute()
    const seen = new Set<string>()
    const keys = rows.map((r) => `${r.escalation_chain_id}:${r.position}`)
    const duplicates = keys.filter((k) => seen.has(k) || !seen.add(k))
    expect(duplicates).toEqual([])
    expect(rows.every((r) => r.position >= 0 && r.position <= 2147483647)).toBe(true)
    expect(rows.filter((r) => r.escalation_chain_id === fuzzChain).length).toBeGreaterThan(STEP_TYPES.length)
  })
})
