import express from 'express'
import type { Server } from 'node:http'
import { isDeepStrictEqual } from 'node:util'
import { newPublicId } from '../../../db/ids'
import { issueToken } from '../../../db/tokens.repo'
import { silentLogger } from '../../logger'
import { requestLogging } from '../request-logging'
import { caller, createOrg, startStack, type ApiResponse, type Stack } from '../../../test/stack'
import { v2Router } from './router'

// /v2/escalation_paths on the real stack: the CRUD round trip, every validation rule with the field it names,
// authentication and roles, organization isolation, cursor pagination, the transport's own errors, rate limits.

type Org = Awaited<ReturnType<typeof createOrg>> & { v2: ReturnType<typeof caller> }

let stack: Stack
let org: Org
let other: Org
const own = {} as { user: string; user2: string; team: string; schedule: string }
const foreign = {} as { user: string; team: string; schedule: string; path: string }

async function orgWithV2(name: string): Promise<Org> {
  const created = await createOrg(stack, name)
  return { ...created, v2: caller(stack.baseUrl, `Bearer ${created.token}`) }
}

async function created(response: ApiResponse): Promise<string> {
  if (response.status !== 201) throw new Error(`setup failed: ${response.status} ${response.text.slice(0, 300)}`)
  return response.body.id ?? response.body.escalation_path.id
}

async function insertSchedule(organizationId: string): Promise<string> {
  const id = newPublicId('S')
  await stack.db.insertInto('schedules').values({ id, organization_id: organizationId, name: `schedule ${id}`, type: 'web' }).execute()
  return id
}

beforeAll(async () => {
  stack = await startStack('v2_escalation_paths', { worker: false })
  org = await orgWithV2('Paths Co')
  other = await orgWithV2('Other Co')
  own.user = await created(await org.call('POST', '/api/v1/users/', { username: 'ann', email: 'ann@paths.test' }))
  own.user2 = await created(await org.call('POST', '/api/v1/users/', { username: 'bob', email: 'bob@paths.test' }))
  own.team = await created(await org.call('POST', '/api/v1/teams/', { name: 'SRE' }))
  own.schedule = await insertSchedule(org.organizationId)
  foreign.user = await created(await other.call('POST', '/api/v1/users/', { username: 'vic', email: 'vic@other.test' }))
  foreign.team = await created(await other.call('POST', '/api/v1/teams/', { name: 'Other SRE' }))
  foreign.schedule = await insertSchedule(other.organizationId)
  foreign.path = await created(
    await other.v2('POST', '/v2/escalation_paths', {
      name: 'theirs',
      path: [{ id: 'only', type: 'level', level: { targets: [{ id: foreign.user, type: 'user', urgency: 'high' }] } }],
    }),
  )
})
afterAll(() => stack.stop())

const target = (id: string, type = 'user', extra: Record<string, unknown> = {}) => ({ id, type, urgency: 'high', ...extra })

/** A path using every node type, working hours, a team: valid as is. */
function validBody(): any {
  return {
    name: 'Primary on-call',
    path: [
      {
        id: 'first',
        type: 'level',
        level: {
          targets: [target(own.user), target(own.schedule, 'schedule', { schedule_mode: 'currently_on_call' })],
          time_to_ack_seconds: 300,
          ack_mode: 'first',
          round_robin_config: { enabled: false },
        },
      },
      {
        id: 'hours',
        type: 'if_else',
        if_else: {
          conditions: [{ subject: 'escalation.working_hours["UK"]', operation: 'is_active', param_bindings: [] }],
          then_path: [{ id: 'chat', type: 'notify_channel', notify_channel: { targets: [target('C0123', 'slack_channel', { urgency: 'low' })], time_to_ack_seconds: 60 } }],
          else_path: [{ id: 'wait', type: 'delay', delay: { delay_seconds: 120 } }],
        },
      },
      {
        id: 'urgent',
        type: 'if_else',
        if_else: {
          conditions: [{ subject: 'escalation.priority', operation: 'one_of', param_bindings: [{ array_value: [{ literal: 'P1' }, { literal: 'P2' }] }] }],
          then_path: [{ id: 'second', type: 'level', level: { targets: [target(own.user2)], time_to_ack_seconds: 600 } }],
          else_path: [],
        },
      },
      { id: 'again', type: 'repeat', repeat: { repeat_times: 3, to_node: 'first' } },
    ],
    working_hours: [
      {
        id: 'UK',
        name: 'UK office hours',
        timezone: 'Europe/London',
        weekday_intervals: [
          { weekday: 'monday', start_time: '09:00', end_time: '17:30' },
          { weekday: 'friday', start_time: '09:00', end_time: '16:00' },
        ],
      },
    ],
    team_ids: [own.team],
  }
}

/** The valid body with `change` applied to a copy. */
const bodyWith = (change: (body: any) => void) => {
  const body = validBody()
  change(body)
  return body
}

async function pathRows() {
  const [paths, teams] = await Promise.all([
    stack.db.selectFrom('escalation_paths').selectAll().orderBy('pk').execute(),
    stack.db.selectFrom('escalation_path_teams').selectAll().orderBy('escalation_path_id').orderBy('position').execute(),
  ])
  return { paths, teams }
}

/** incident.io's error object. */
function isV2Error(body: any, status: number): boolean {
  return (
    body !== null &&
    typeof body === 'object' &&
    typeof body.type === 'string' &&
    body.status === status &&
    typeof body.request_id === 'string' &&
    body.request_id.length > 0 &&
    Array.isArray(body.errors) &&
    body.errors.length > 0 &&
    body.errors.every(
      (e: any) =>
        typeof e.code === 'string' &&
        typeof e.message === 'string' &&
        e.message.length > 0 &&
        (e.source === undefined || (typeof e.source.field === 'string' && e.source.field.length > 0)),
    )
  )
}

interface Refusal {
  readonly label: string
  readonly body: unknown
  /** [source.field, code] of every error, in order (undefined field: none). */
  readonly errors: ReadonlyArray<readonly [string | undefined, string]>
  /** Words the first message contains. */
  readonly says?: string
}

/** Sends each body; returns every case that was not exactly the expected 422 with nothing written. */
async function refusals(method: string, path: string, cases: readonly Refusal[], call = () => org.v2): Promise<unknown[]> {
  const problems: unknown[] = []
  for (const c of cases) {
    const before = await pathRows()
    const response = await call()(method, path, c.body)
    const after = await pathRows()
    const got = Array.isArray(response.body?.errors) ? response.body.errors.map((e: any) => [e.source?.field, e.code]) : response.text.slice(0, 300)
    const wrong: string[] = []
    if (response.status !== 422 || response.body?.type !== 'validation_error') wrong.push(`status ${response.status} ${response.body?.type}`)
    if (!isV2Error(response.body, 422)) wrong.push('not an incident.io error object')
    if (!isDeepStrictEqual(got, c.errors)) wrong.push(`errors ${JSON.stringify(got)}`)
    if (c.says !== undefined && !String(response.body?.errors?.[0]?.message).includes(c.says)) wrong.push(`message ${response.body?.errors?.[0]?.message}`)
    if (!isDeepStrictEqual(before, after)) wrong.push('rows changed')
    if (wrong.length > 0) problems.push({ case: c.label, wrong })
  }
  return problems
}

describe('CRUD', () => {
  test('create, show, list, replace, archive: the stored path is echoed as written', async () => {
    const body = validBody()
    const create = await org.v2('POST', '/v2/escalation_paths', body)
    expect(create.status).toBe(201)
    const id = create.body.escalation_path.id
    expect(id).toMatch(/^EP[A-Z1-9]{12}$/)
    expect(create.body).toEqual({
      escalation_path: { id, name: body.name, kind: 'standalone', path: body.path, team_ids: [own.team], working_hours: body.working_hours },
    })

    const show = await org.v2('GET', `/v2/escalation_paths/${id}`)
    expect(show.status).toBe(200)
    expect(show.body).toEqual(create.body)
    const list = await org.v2('GET', '/v2/escalation_paths')
    expect(list.body.escalation_paths[0]).toEqual(create.body.escalation_path)

    // PUT replaces everything: no working hours, no teams, another tree; kind standalone and a null repeat_config pass.
    const replacement = {
      name: 'Renamed',
      kind: 'standalone',
      repeat_config: null,
      path: [
        { id: 'only', type: 'level', level: { targets: [target(own.user2, 'user', { urgency: 'low' })], time_to_ack_seconds: 60 } },
        { id: 'pause', type: 'delay', delay: { delay_seconds: 30 } },
        { id: 'back', type: 'repeat', repeat: { repeat_times: 1, to_node: 'only' } },
      ],
    }
    const put = await org.v2('PUT', `/v2/escalation_paths/${id}`, replacement)
    expect(put.status).toBe(200)
    expect(put.body).toEqual({ escalation_path: { id, name: 'Renamed', kind: 'standalone', path: replacement.path, team_ids: [] } })
    expect((await org.v2('GET', `/v2/escalation_paths/${id}`)).body).toEqual(put.body)

    const archive = await org.v2('DELETE', `/v2/escalation_paths/${id}`)
    expect(archive.status).toBe(204)
    expect(archive.text).toBe('')
    for (const [method, sent] of [['GET', undefined], ['PUT', replacement], ['DELETE', undefined]] as const) {
      const gone = await org.v2(method, `/v2/escalation_paths/${id}`, sent)
      expect({ method, status: gone.status, type: gone.body?.type }).toEqual({ method, status: 404, type: 'not_found' })
      expect(isV2Error(gone.body, 404)).toBe(true)
    }
    expect((await org.v2('GET', '/v2/escalation_paths')).body.escalation_paths.map((p: any) => p.id)).not.toContain(id)
    // Archived, not deleted: the row stays for escalations that ran on it.
    const row = await stack.db.selectFrom('escalation_paths').select(['archived_at', 'name']).where('id', '=', id).executeTakeFirstOrThrow()
    expect(row.archived_at).not.toBeNull()
  })

  test('a team deleted after the fact leaves the path', async () => {
    const team = await created(await org.call('POST', '/api/v1/teams/', { name: 'Short-lived' }))
    const id = await created(await org.v2('POST', '/v2/escalation_paths', bodyWith((b) => (b.team_ids = [team, own.team]))))
    expect((await org.call('DELETE', `/api/v1/teams/${team}/`)).status).toBe(204)
    expect((await org.v2('GET', `/v2/escalation_paths/${id}`)).body.escalation_path.team_ids).toEqual([own.team])
  })
})

describe('validation', () => {
  const node = (b: any, i: number) => b.path[i]
  const rules = (): Refusal[] => [
    { label: 'name missing', body: bodyWith((b) => delete b.name), errors: [['name', 'is_required']] },
    { label: 'name blank', body: bodyWith((b) => (b.name = '  ')), errors: [['name', 'invalid_value']] },
    { label: 'path missing', body: bodyWith((b) => delete b.path), errors: [['path', 'is_required']] },
    { label: 'path empty', body: bodyWith((b) => (b.path = [])), errors: [['path', 'invalid_value']], says: 'at least one node' },
    {
      label: 'a repeat over nodes that wait for nothing',
      body: bodyWith((b) => {
        b.path = [b.path[0], { id: 'spin', type: 'if_else', if_else: { conditions: b.path[2].if_else.conditions, then_path: [], else_path: [] } }, { id: 'again', type: 'repeat', repeat: { repeat_times: 3, to_node: 'spin' } }]
      }),
      errors: [['path[2].repeat.to_node', 'invalid_value']],
      says: 'wait for nothing',
    },
    {
      label: 'escalation_path node',
      body: bodyWith((b) => (b.path[1] = { id: 'hand', type: 'escalation_path', escalation_path: { escalation_path_id: 'X' } })),
      errors: [['path[1].type', 'not_supported']],
      says: 'escalation_path nodes are not supported',
    },
    {
      label: 'voicemail node',
      body: bodyWith((b) => (b.path[1] = { id: 'vm', type: 'voicemail' })),
      errors: [['path[1].type', 'not_supported']],
      says: 'voicemail',
    },
    {
      label: 'unknown node type',
      body: bodyWith((b) => (node(b, 1).type = 'page_everyone')),
      errors: [['path[1].type', 'invalid_value']],
      says: 'unknown node type "page_everyone"',
    },
    { label: 'node type missing', body: bodyWith((b) => delete node(b, 0).type), errors: [['path[0].type', 'is_required']] },
    {
      label: 'a second sub-object',
      body: bodyWith((b) => (node(b, 0).delay = { delay_seconds: 5 })),
      errors: [['path[0].delay', 'invalid_value']],
      says: 'a level node takes only its level object',
    },
    { label: 'own sub-object missing', body: bodyWith((b) => delete node(b, 0).level), errors: [['path[0].level', 'is_required']] },
    { label: 'node id missing', body: bodyWith((b) => delete node(b, 3).id), errors: [['path[3].id', 'is_required']] },
    {
      label: 'node id reused in a branch',
      body: bodyWith((b) => (node(b, 1).if_else.then_path[0].id = 'first')),
      errors: [['path[1].if_else.then_path[0].id', 'invalid_value']],
      says: 'used twice',
    },
    {
      label: 'level without targets',
      body: bodyWith((b) => (node(b, 0).level.targets = [])),
      errors: [['path[0].level.targets', 'invalid_value']],
      says: 'at least one target',
    },
    {
      label: 'nested level without targets',
      body: bodyWith((b) => (node(b, 2).if_else.then_path[0].level.targets = [])),
      errors: [['path[2].if_else.then_path[0].level.targets', 'invalid_value']],
    },
    {
      label: 'channel target in a level',
      body: bodyWith((b) => node(b, 0).level.targets.push(target('C1', 'slack_channel'))),
      errors: [['path[0].level.targets[2].type', 'invalid_value']],
      says: 'notify_channel',
    },
    {
      label: 'user target in notify_channel',
      body: bodyWith((b) => (node(b, 1).if_else.then_path[0].notify_channel.targets[0] = target(own.user))),
      errors: [['path[1].if_else.then_path[0].notify_channel.targets[0].type', 'invalid_value']],
    },
    {
      label: 'unknown target type',
      body: bodyWith((b) => (node(b, 0).level.targets[0].type = 'team')),
      errors: [['path[0].level.targets[0].type', 'invalid_value']],
    },
    {
      label: 'urgency missing',
      body: bodyWith((b) => delete node(b, 0).level.targets[0].urgency),
      errors: [['path[0].level.targets[0].urgency', 'is_required']],
    },
    {
      label: 'schedule_mode on a user',
      body: bodyWith((b) => (node(b, 0).level.targets[0].schedule_mode = 'next_on_call')),
      errors: [['path[0].level.targets[0].schedule_mode', 'invalid_value']],
    },
    {
      label: 'all users of a schedule',
      body: bodyWith((b) => (node(b, 0).level.targets[1].schedule_mode = 'all_users')),
      errors: [['path[0].level.targets[1].schedule_mode', 'invalid_value']],
      says: 'not supported',
    },
    {
      label: 'rota schedule mode',
      body: bodyWith((b) => (node(b, 0).level.targets[1].schedule_mode = 'all_users_for_rota')),
      errors: [['path[0].level.targets[1].schedule_mode', 'invalid_value']],
      says: 'not supported',
    },
    {
      label: 'selected_rota_id',
      body: bodyWith((b) => (node(b, 0).level.targets[1].selected_rota_id = 'R1')),
      errors: [['path[0].level.targets[1].selected_rota_id', 'not_supported']],
    },
    ...[0, 86_401, -5].map((value) => ({
      label: `time_to_ack_seconds ${value}`,
      body: bodyWith((b) => (node(b, 0).level.time_to_ack_seconds = value)),
      errors: [['path[0].level.time_to_ack_seconds', 'invalid_value']] as const,
    })),
    ...[1.5, '60', null].map((value) => ({
      label: `time_to_ack_seconds ${JSON.stringify(value)}`,
      body: bodyWith((b) => (node(b, 0).level.time_to_ack_seconds = value)),
      errors: [['path[0].level.time_to_ack_seconds', 'invalid_type']] as const,
    })),
    {
      label: 'a level followed by a node without time_to_ack_seconds',
      body: bodyWith((b) => delete node(b, 0).level.time_to_ack_seconds),
      errors: [['path[0].level.time_to_ack_seconds', 'invalid_value']],
      says: 'followed by another node',
    },
    {
      label: 'the last node of a branch followed by the rest of the path',
      body: bodyWith((b) => delete node(b, 1).if_else.then_path[0].notify_channel.time_to_ack_seconds),
      errors: [['path[1].if_else.then_path[0].notify_channel.time_to_ack_seconds', 'invalid_value']],
    },
    {
      label: 'a level followed by a repeat',
      body: bodyWith((b) => delete node(b, 2).if_else.then_path[0].level.time_to_ack_seconds),
      errors: [['path[2].if_else.then_path[0].level.time_to_ack_seconds', 'invalid_value']],
    },
    ...[0, 86_401].map((value) => ({
      label: `delay_seconds ${value}`,
      body: bodyWith((b) => (node(b, 1).if_else.else_path[0].delay.delay_seconds = value)),
      errors: [['path[1].if_else.else_path[0].delay.delay_seconds', 'invalid_value']] as const,
    })),
    {
      label: 'delay_seconds missing',
      body: bodyWith((b) => delete node(b, 1).if_else.else_path[0].delay.delay_seconds),
      errors: [['path[1].if_else.else_path[0].delay.delay_seconds', 'is_required']],
    },
    {
      label: 'delay until working hours',
      body: bodyWith((b) => (node(b, 1).if_else.else_path[0].delay.delay_interval_condition = 'active')),
      errors: [['path[1].if_else.else_path[0].delay.delay_interval_condition', 'not_supported']],
    },
    ...[0, 101].map((value) => ({
      label: `repeat_times ${value}`,
      body: bodyWith((b) => (node(b, 3).repeat.repeat_times = value)),
      errors: [['path[3].repeat.repeat_times', 'invalid_value']] as const,
    })),
    {
      label: 'repeat to itself',
      body: bodyWith((b) => (node(b, 3).repeat.to_node = 'again')),
      errors: [['path[3].repeat.to_node', 'invalid_value']],
      says: 'itself',
    },
    {
      label: 'repeat to a node inside a sibling branch',
      body: bodyWith((b) => (node(b, 3).repeat.to_node = 'chat')),
      errors: [['path[3].repeat.to_node', 'invalid_value']],
      says: 'does not come before',
    },
    {
      label: 'repeat to a later node',
      body: bodyWith((b) => b.path.unshift({ id: 'early', type: 'repeat', repeat: { repeat_times: 1, to_node: 'first' } })),
      errors: [['path[0].repeat.to_node', 'invalid_value']],
      says: 'does not come before',
    },
    {
      label: 'repeat to an unknown node',
      body: bodyWith((b) => (node(b, 3).repeat.to_node = 'nowhere')),
      errors: [['path[3].repeat.to_node', 'invalid_value']],
      says: 'no node "nowhere"',
    },
    {
      label: 'a repeat in a branch to a node of the other branch',
      body: bodyWith((b) => node(b, 1).if_else.else_path.push({ id: 'loop', type: 'repeat', repeat: { repeat_times: 2, to_node: 'chat' } })),
      errors: [['path[1].if_else.else_path[1].repeat.to_node', 'invalid_value']],
    },
    {
      label: 'unknown condition subject',
      body: bodyWith((b) => (node(b, 1).if_else.conditions[0].subject = 'incident.severity')),
      errors: [['path[1].if_else.conditions[0]', 'invalid_value']],
      says: 'unknown condition subject incident.severity',
    },
    {
      label: 'working hours condition with another operation',
      body: bodyWith((b) => (node(b, 1).if_else.conditions[0].operation = 'one_of')),
      errors: [['path[1].if_else.conditions[0]', 'invalid_value']],
      says: 'is_active or is_not_active',
    },
    {
      label: 'working hours the path does not define',
      body: bodyWith((b) => (node(b, 1).if_else.conditions[0].subject = 'escalation.working_hours["US"]')),
      errors: [['path[1].if_else.conditions[0].subject', 'invalid_value']],
      says: 'no working hours "US"',
    },
    {
      label: 'priority condition without names',
      body: bodyWith((b) => (node(b, 2).if_else.conditions[0].param_bindings = [])),
      errors: [['path[2].if_else.conditions[0]', 'invalid_value']],
    },
    {
      label: 'if_else without conditions',
      body: bodyWith((b) => (node(b, 2).if_else.conditions = [])),
      errors: [['path[2].if_else.conditions', 'invalid_value']],
    },
    {
      label: 'if_else without else_path',
      body: bodyWith((b) => delete node(b, 2).if_else.else_path),
      errors: [['path[2].if_else.else_path', 'is_required']],
    },
    {
      label: 'if_else nested five deep',
      body: bodyWith((b) => (b.path = [nested(5)])),
      errors: [['path[0].if_else.then_path[0].if_else.then_path[0].if_else.then_path[0].if_else.then_path[0].type', 'not_supported']],
      says: 'nest at most 4 deep',
    },
    {
      label: 'working hours ids reused',
      body: bodyWith((b) => b.working_hours.push({ ...b.working_hours[0], name: 'again' })),
      errors: [['working_hours[1].id', 'invalid_value']],
    },
    {
      label: 'working hours in an unknown zone',
      body: bodyWith((b) => (b.working_hours[0].timezone = 'Mars/Olympus')),
      errors: [['working_hours[0].timezone', 'invalid_value']],
    },
    {
      label: 'working hours with a bad time',
      body: bodyWith((b) => (b.working_hours[0].weekday_intervals[1].start_time = '9am')),
      errors: [['working_hours[0].weekday_intervals[1].start_time', 'invalid_value']],
    },
    {
      label: 'working hours on an unknown weekday',
      body: bodyWith((b) => (b.working_hours[0].weekday_intervals[0].weekday = 'funday')),
      errors: [['working_hours[0].weekday_intervals[0].weekday', 'invalid_value']],
    },
    { label: 'kind templated', body: bodyWith((b) => (b.kind = 'templated')), errors: [['kind', 'not_supported']], says: 'templated paths are not supported' },
    { label: 'kind unknown', body: bodyWith((b) => (b.kind = 'fancy')), errors: [['kind', 'invalid_value']] },
    {
      label: 'repeat_config',
      body: bodyWith((b) => (b.repeat_config = { repeat_after_seconds: 600, delay_repeat_on_activity: true })),
      errors: [['repeat_config', 'not_supported']],
      says: 'not supported',
    },
    { label: 'template_id', body: bodyWith((b) => (b.template_id = 'T1')), errors: [['template_id', 'not_supported']] },
    { label: 'retry_config', body: bodyWith((b) => (node(b, 0).level.retry_config = { attempts: 2 })), errors: [['path[0].level.retry_config', 'not_supported']] },
    {
      label: 'round robin rotation',
      body: bodyWith((b) => (node(b, 0).level.round_robin_config = { enabled: true, rotate_after_seconds: 60 })),
      errors: [['path[0].level.round_robin_config.rotate_after_seconds', 'not_supported']],
    },
    {
      label: 'several problems at once',
      body: bodyWith((b) => {
        delete b.name
        node(b, 1).type = 'bogus'
        b.team_ids = 'T1'
      }),
      errors: [
        ['name', 'is_required'],
        ['path[1].type', 'invalid_value'],
        ['team_ids', 'invalid_type'],
      ],
    },
    { label: 'a list body', body: [], errors: [[undefined, 'invalid_type']] },
    { label: 'a string body', body: '"path"', errors: [[undefined, 'invalid_type']] },
  ]
  const references = (): Refusal[] => [
    { label: 'unknown user', body: bodyWith((b) => (node(b, 0).level.targets[0].id = 'UNOSUCHUSER1')), errors: [['path[0].level.targets[0].id', 'not_found']] },
    { label: "another organization's user", body: bodyWith((b) => (node(b, 0).level.targets[0].id = foreign.user)), errors: [['path[0].level.targets[0].id', 'not_found']] },
    {
      label: "another organization's user, nested",
      body: bodyWith((b) => (node(b, 2).if_else.then_path[0].level.targets[0].id = foreign.user)),
      errors: [['path[2].if_else.then_path[0].level.targets[0].id', 'not_found']],
    },
    { label: "another organization's schedule", body: bodyWith((b) => (node(b, 0).level.targets[1].id = foreign.schedule)), errors: [['path[0].level.targets[1].id', 'not_found']] },
    { label: 'a user id used as a schedule', body: bodyWith((b) => (node(b, 0).level.targets[1].id = own.user)), errors: [['path[0].level.targets[1].id', 'not_found']] },
    { label: 'unknown team', body: bodyWith((b) => (b.team_ids = [own.team, 'TNOSUCHTEAM1'])), errors: [['team_ids[1]', 'not_found']] },
    { label: "another organization's team", body: bodyWith((b) => (b.team_ids = [foreign.team])), errors: [['team_ids[0]', 'not_found']] },
  ]

  test('POST: every rule, each naming its field, nothing written', async () => {
    expect(await refusals('POST', '/v2/escalation_paths', rules())).toEqual([])
  })

  test('POST: users, schedules and teams must be the organization’s', async () => {
    expect(await refusals('POST', '/v2/escalation_paths', references())).toEqual([])
  })

  test('PUT: the same rules; the path stays as it was', async () => {
    const id = await created(await org.v2('POST', '/v2/escalation_paths', validBody()))
    const cases = [...rules(), ...references()].filter((_c, index) => index % 3 === 0)
    expect(cases.length).toBeGreaterThan(15)
    expect(await refusals('PUT', `/v2/escalation_paths/${id}`, cases)).toEqual([])
  })

  test('what the rules allow: the last node needs no time_to_ack_seconds, repeats to enclosing nodes, four-deep if_else', async () => {
    const accepted = [
      bodyWith((b) => {
        b.path.pop()
        delete node(b, 2).if_else.then_path[0].level.time_to_ack_seconds
      }),
      bodyWith((b) => node(b, 1).if_else.else_path.push({ id: 'back', type: 'repeat', repeat: { repeat_times: 1, to_node: 'first' } })),
      bodyWith((b) => node(b, 1).if_else.else_path.push({ id: 'retest', type: 'repeat', repeat: { repeat_times: 1, to_node: 'hours' } })),
      bodyWith((b) => (b.path = [nested(4)])),
      bodyWith((b) => {
        b.kind = 'standalone'
        b.template_id = null
        delete b.working_hours
        b.path.splice(1, 1)
      }),
    ]
    for (const body of accepted) {
      const response = await org.v2('POST', '/v2/escalation_paths', body)
      expect({ status: response.status, body: response.status === 201 ? 'ok' : response.body }).toEqual({ status: 201, body: 'ok' })
    }
  })
})

/** An if_else `depth` deep, a level at the bottom. */
function nested(depth: number): any {
  if (depth === 0) return { id: 'leaf', type: 'level', level: { targets: [target(own.user)] } }
  return {
    id: `if${depth}`,
    type: 'if_else',
    if_else: {
      conditions: [{ subject: 'escalation.priority', operation: 'is', param_bindings: [{ value: { literal: 'P1' } }] }],
      then_path: [nested(depth - 1)],
      else_path: [],
    },
  }
}

describe('authentication and roles', () => {
  test('no key, another scheme, an unknown or revoked key: 401 authentication_error', async () => {
    const revokedUser = await created(await org.call('POST', '/api/v1/users/', { username: 'gone', email: 'gone@paths.test', role: 'admin' }))
    const revoked = await issueToken(stack.db, org.organizationId, revokedUser, 'revoked')
    await stack.db.updateTable('api_tokens').set({ revoked_at: '2026-01-01T00:00:00Z' }).where('user_id', '=', revokedUser).execute()
    const headers = [null, `Basic ${org.token}`, org.token, 'Bearer', `Bearer ${'0'.repeat(64)}`, `Bearer ${revoked}`, `Bearer ${org.token} extra`]
    for (const header of headers) {
      for (const [method, path] of [['GET', '/v2/escalation_paths'], ['POST', '/v2/escalation_paths'], ['GET', '/v2/nowhere']] as const) {
        const response = await caller(stack.baseUrl, header)(method, path, method === 'POST' ? validBody() : undefined)
        expect({ header, path, status: response.status, type: response.body?.type }).toEqual({ header, path, status: 401, type: 'authentication_error' })
        expect(isV2Error(response.body, 401)).toBe(true)
        expect(response.headers.get('www-authenticate')).toBe('Bearer realm="tocsin"')
      }
    }
  })

  test('viewers read, only admins write; a user without a role does neither', async () => {
    const keyOf = async (username: string, role: string) => {
      const id = await created(await org.call('POST', '/api/v1/users/', { username, email: `${username}@paths.test`, role }))
      return caller(stack.baseUrl, `Bearer ${await issueToken(stack.db, org.organizationId, id, username)}`)
    }
    const viewer = await keyOf('vera', 'viewer')
    const editor = await keyOf('eddie', 'editor')
    const none = await keyOf('nora', 'none')
    const id = await created(await org.v2('POST', '/v2/escalation_paths', validBody()))
    expect((await viewer('GET', '/v2/escalation_paths')).status).toBe(200)
    expect((await viewer('GET', `/v2/escalation_paths/${id}`)).status).toBe(200)
    const before = await pathRows()
    for (const [who, call] of [['viewer', viewer], ['editor', editor]] as const) {
      for (const [method, path, body] of [
        ['POST', '/v2/escalation_paths', validBody()],
        ['PUT', `/v2/escalation_paths/${id}`, validBody()],
        ['DELETE', `/v2/escalation_paths/${id}`, undefined],
      ] as const) {
        const response = await call(method, path, body)
        expect({ who, method, status: response.status, type: response.body?.type }).toEqual({ who, method, status: 403, type: 'resource_forbidden' })
      }
    }
    expect((await none('GET', '/v2/escalation_paths')).status).toBe(403)
    expect(await pathRows()).toEqual(before)
  })
})

describe('isolation', () => {
  test("another organization's path cannot be read, listed, replaced or archived", async () => {
    const before = await pathRows()
    expect((await org.v2('GET', `/v2/escalation_paths/${foreign.path}`)).status).toBe(404)
    expect((await org.v2('PUT', `/v2/escalation_paths/${foreign.path}`, validBody())).status).toBe(404)
    expect((await org.v2('DELETE', `/v2/escalation_paths/${foreign.path}`)).status).toBe(404)
    expect(await pathRows()).toEqual(before)
    const ours = (await org.v2('GET', '/v2/escalation_paths?page_size=250')).body.escalation_paths.map((p: any) => p.id)
    expect(ours).not.toContain(foreign.path)
    const theirs = (await other.v2('GET', '/v2/escalation_paths?page_size=250')).body.escalation_paths.map((p: any) => p.id)
    expect(theirs).toEqual([foreign.path])
    // Their path's id is no cursor in our list.
    const cursor = await org.v2('GET', `/v2/escalation_paths?after=${foreign.path}`)
    expect(cursor.status).toBe(422)
    expect(cursor.body.errors).toEqual([expect.objectContaining({ code: 'not_found', source: { field: 'after' } })])
  })
})

describe('pagination and query parameters', () => {
  test('newest first, page by page, no after on the last page', async () => {
    const fresh = await orgWithV2('Pager Co')
    const user = await created(await fresh.call('POST', '/api/v1/users/', { username: 'pat', email: 'pat@pager.test' }))
    const ids: string[] = []
    for (let i = 0; i < 7; i++) {
      ids.push(
        await created(
          await fresh.v2('POST', '/v2/escalation_paths', { name: `p${i}`, path: [{ id: 'n', type: 'level', level: { targets: [target(user)] } }] }),
        ),
      )
    }
    await fresh.v2('DELETE', `/v2/escalation_paths/${ids[5]}`)
    const expected = ids.filter((_, i) => i !== 5).reverse()
    const seen: string[] = []
    let after: string | undefined
    const metas: unknown[] = []
    do {
      const page = await fresh.v2('GET', `/v2/escalation_paths?page_size=2${after ? `&after=${after}` : ''}`)
      expect(page.status).toBe(200)
      seen.push(...page.body.escalation_paths.map((p: any) => p.id))
      metas.push(page.body.pagination_meta)
      after = page.body.pagination_meta.after
    } while (after !== undefined)
    expect(seen).toEqual(expected)
    expect(metas).toEqual([
      { after: expected[1], page_size: 2 },
      { after: expected[3], page_size: 2 },
      { page_size: 2 },
    ])
    // The archived path still places the cursor.
    const fromArchived = await fresh.v2('GET', `/v2/escalation_paths?after=${ids[5]}`)
    expect(fromArchived.body.escalation_paths.map((p: any) => p.id)).toEqual(ids.slice(0, 5).reverse())
    expect((await fresh.v2('GET', '/v2/escalation_paths')).body.pagination_meta).toEqual({ page_size: 25 })
  })

  test('bad page_size, after and unknown parameters are 422s naming the parameter', async () => {
    const cases: Array<[string, Array<[string, string]>]> = [
      ['page_size=0', [['page_size', 'invalid_value']]],
      ['page_size=251', [['page_size', 'invalid_value']]],
      ['page_size=ten', [['page_size', 'invalid_value']]],
      ['page_size=1&page_size=2', [['page_size', 'invalid_value']]],
      ['after=EPNOSUCHPATH1', [['after', 'not_found']]],
      ['after=%00', [['after', 'invalid_value']]],
      ['status[one_of]=triggered', [['status', 'unknown_field']]],
      ['name=x&page_size=0', [['page_size', 'invalid_value'], ['name', 'unknown_field']]],
    ]
    for (const [query, errors] of cases) {
      const response = await org.v2('GET', `/v2/escalation_paths?${query}`)
      expect({ query, status: response.status, errors: response.body?.errors?.map((e: any) => [e.source?.field, e.code]) }).toEqual({ query, status: 422, errors })
      expect(isV2Error(response.body, 422)).toBe(true)
    }
  })
})

describe('transport', () => {
  test('malformed JSON 400, no JSON body 400, too large 413, unknown route 404, wrong method 405, absurd ids 404', async () => {
    const before = await pathRows()
    const cases: Array<[string, string, string | undefined, Record<string, string>, number, string]> = [
      ['POST', '/v2/escalation_paths', '{"name": ', {}, 400, 'invalid_request_error'],
      ['POST', '/v2/escalation_paths', "{'name': 'x'}", {}, 400, 'invalid_request_error'],
      ['POST', '/v2/escalation_paths', 'name=x', { 'content-type': 'application/x-www-form-urlencoded' }, 400, 'invalid_request_error'],
      ['POST', '/v2/escalation_paths', undefined, {}, 400, 'invalid_request_error'],
      ['POST', '/v2/escalation_paths', JSON.stringify({ name: 'x'.repeat(1_100_000) }), {}, 413, 'payload_too_large'],
      ['GET', '/v2/nowhere', undefined, {}, 404, 'not_found'],
      ['GET', '/v2/escalation_paths/EP1/extra', undefined, {}, 404, 'not_found'],
      ['PATCH', '/v2/escalation_paths/EPX', '{}', {}, 405, 'method_not_allowed'],
      ['DELETE', '/v2/escalation_paths', undefined, {}, 405, 'method_not_allowed'],
      ['GET', `/v2/escalation_paths/${'E'.repeat(5000)}`, undefined, {}, 404, 'not_found'],
      ['GET', '/v2/escalation_paths/EP%00', undefined, {}, 404, 'not_found'],
      ['DELETE', `/v2/escalation_paths/${encodeURIComponent('EP\u00e9\u{1F600}')}`, undefined, {}, 404, 'not_found'],
    ]
    for (const [method, path, body, headers, status, type] of cases) {
      const response = await org.v2(method, path, body, headers)
      expect({ method, path: path.slice(0, 60), status: response.status, type: response.body?.type }).toEqual({ method, path: path.slice(0, 60), status, type })
      expect(isV2Error(response.body, status)).toBe(true)
      expect(response.body.request_id).toBe(response.headers.get('x-request-id'))
    }
    expect((await org.v2('PATCH', '/v2/escalation_paths/EPX', '{}')).headers.get('allow')).toBe('GET, PUT, DELETE')
    expect(await pathRows()).toEqual(before)
  })

  test('the request id is the one request logging assigned, a sane incoming one kept', async () => {
    const response = await org.v2('GET', '/v2/nowhere', undefined, { 'x-request-id': 'req-abc.123' })
    expect(response.body.request_id).toBe('req-abc.123')
  })

  test('the OpenAPI document is public and lists the escalation paths', async () => {
    const response = await caller(stack.baseUrl, null)('GET', '/v2/openapi.json')
    expect(response.status).toBe(200)
    expect(Object.keys(response.body.paths)).toEqual(expect.arrayContaining(['/v2/escalation_paths', '/v2/escalation_paths/{id}']))
  })
})

describe('rate limits', () => {
  test('over a limit: 429 too_many_requests with rate_limit and Retry-After, per key', async () => {
    const logger = silentLogger()
    const deps = { db: stack.db, escalations: stack.escalations, publicUrl: 'http://tocsin.test', webUrl: 'http://grafana.test', logger }
    const app = express()
    app.use(requestLogging(logger))
    app.use('/v2', v2Router(deps, { rateLimits: { global: 3, createEscalation: 1 } }))
    const server: Server = await new Promise((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s))
    })
    try {
      const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`
      const ours = caller(base, `Bearer ${org.token}`)
      const theirs = caller(base, `Bearer ${other.token}`)
      for (let i = 0; i < 3; i++) expect((await ours('GET', '/v2/escalation_paths')).status).toBe(200)
      const refused = await ours('GET', '/v2/escalation_paths')
      expect(refused.status).toBe(429)
      expect(isV2Error(refused.body, 429)).toBe(true)
      expect(refused.body.type).toBe('too_many_requests')
      expect(refused.body.rate_limit).toEqual({ name: 'global', limit: 3, remaining: 0, retry_after: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) })
      const retryAfter = Number(refused.headers.get('retry-after'))
      expect(retryAfter).toBeGreaterThanOrEqual(1)
      expect(retryAfter).toBeLessThanOrEqual(60)
      expect(Date.parse(refused.body.rate_limit.retry_after) - Date.now()).toBeLessThanOrEqual(60_000)
      // Another key has its own count; POST /v2/escalations has its own, lower limit.
      expect((await theirs('GET', '/v2/escalation_paths')).status).toBe(200)
      expect((await theirs('POST', '/v2/escalations', {})).status).not.toBe(429)
      const paging = await theirs('POST', '/v2/escalations', {})
      expect(paging.status).toBe(429)
      expect(paging.body.rate_limit).toMatchObject({ name: 'create_escalation', limit: 1, remaining: 0 })
    } finally {
      await new Promise((resolve) => server.close(resolve))
    }
  })
})
