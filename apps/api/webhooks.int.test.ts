import { isErrorBody } from '../../test/refusals'
import { newPublicId } from '../../db/ids'
import { issueToken } from '../../db/tokens.repo'
import { recordWebhookResponse } from '../../db/webhooks.repo'
import { caller, createOrg, organizationRows, startStack, type Stack } from '../../test/stack'

// /api/v1/webhooks: OnCall's outgoing webhooks, their responses, secrets masking, soft delete, and refused writes
// under hostile input, in DRF's error shapes.

type Org = Awaited<ReturnType<typeof createOrg>>

const PUBLIC_URL = 'https://oncall.example.test'
const WEBHOOK_KEYS = [
  'id',
  'name',
  'is_webhook_enabled',
  'team',
  'data',
  'username',
  'password',
  'authorization_header',
  'trigger_template',
  'headers',
  'url',
  'forward_all',
  'http_method',
  'trigger_type',
  'integration_filter',
  'preset',
].sort()
const RESPONSE_KEYS = [
  'timestamp',
  'url',
  'request_trigger',
  'request_headers',
  'request_data',
  'status_code',
  'content',
  'event_data',
].sort()
const PAGE_KEYS = ['count', 'next', 'previous', 'results', 'page_size', 'current_page_number', 'total_pages'].sort()
const WEBHOOK_ID = /^WH[A-NP-Z1-9]{12}$/
const MASK = '****************'
const NOT_FOUND = { detail: 'Not found.' }
const HUGE = 'x'.repeat(100_000)
const TRIGGER_TYPE_DETAIL =
  "trigger_type must one of ['escalation', 'alert group created', 'acknowledge', 'resolve', 'silence', 'unsilence', " +
  "'unresolve', 'unacknowledge', 'status change', 'personal notification']"
const MINIMAL = {
  name: 'minimal',
  url: 'https://hooks.example.test/a',
  http_method: 'POST',
  trigger_type: 'escalation',
}

let stack: Stack
let org: Org
let other: Org
let integrationId: string
let otherIntegrationId: string
let otherTeamId: string
let nameSeq = 0

const uniqueName = (prefix = 'hook') => `${prefix}-${++nameSeq}`

async function insertIntegration(organizationId: string, name: string): Promise<string> {
  const id = newPublicId('C')
  await stack.db
    .insertInto('integrations')
    .values({ id, organization_id: organizationId, type: 'webhook', name })
    .execute()
  return id
}

beforeAll(async () => {
  stack = await startStack('webhooks', { worker: false, publicUrl: PUBLIC_URL })
  org = await createOrg(stack, 'Acme')
  other = await createOrg(stack, 'Globex')
  integrationId = await insertIntegration(org.organizationId, 'Acme alerts')
  otherIntegrationId = await insertIntegration(other.organizationId, 'Globex alerts')
  otherTeamId = (await other.call('POST', '/api/v1/teams/', { name: 'Globex Ops' })).body.id
})
afterAll(() => stack.stop())

/** Every row an organization owns, webhooks and their responses included. */
async function snapshot(organizationId = org.organizationId) {
  const [base, webhooks, responses] = await Promise.all([
    organizationRows(stack.db, organizationId),
    stack.db.selectFrom('webhooks').selectAll().where('organization_id', '=', organizationId).orderBy('pk').execute(),
    stack.db
      .selectFrom('webhook_responses')
      .selectAll()
      .where('organization_id', '=', organizationId)
      .orderBy('pk')
      .execute(),
  ])
  return { ...base, webhooks, responses }
}

/** OnCall's error bodies: lists of strings per field, nested objects, or (BadRequest) plain strings. */

async function expectRejected(method: string, path: string, body: unknown, expected: unknown, status = 400) {
  const before = await snapshot()
  const beforeOther = await snapshot(other.organizationId)
  const response = await org.call(method, path, body)
  expect({ method, path, body, status: response.status, answer: response.body }).toEqual({
    method,
    path,
    body,
    status,
    answer: expected,
  })
  expect(isErrorBody(response.body)).toBe(true)
  expect(await snapshot()).toEqual(before)
  expect(await snapshot(other.organizationId)).toEqual(beforeOther)
}

/** A hostile write: any 4xx in OnCall's error shape, nothing moved. */
async function expectRefused(method: string, path: string, body: unknown) {
  const before = await snapshot()
  const beforeOther = await snapshot(other.organizationId)
  const response = await org.call(method, path, body)
  expect({ method, path, body: typeof body === 'string' ? body.slice(0, 80) : body, status: response.status }).toEqual({
    method,
    path,
    body: typeof body === 'string' ? body.slice(0, 80) : body,
    status: 400,
  })
  expect(isErrorBody(response.body)).toBe(true)
  expect(await snapshot()).toEqual(before)
  expect(await snapshot(other.organizationId)).toEqual(beforeOther)
}

async function createWebhook(body: Record<string, unknown> = {}, as: Org = org) {
  const response = await as.call('POST', '/api/v1/webhooks/', { ...MINIMAL, name: uniqueName(), ...body })
  expect(response.status).toBe(201)
  return response.body
}

const storedRow = (id: string) =>
  stack.db.selectFrom('webhooks').selectAll().where('id', '=', id).executeTakeFirstOrThrow()

describe('create, read, delete', () => {
  test('each required field missing is a 400; with all four, 201 in the exact OnCall shape', async () => {
    const steps: Array<[Record<string, unknown>, Record<string, string[]>]> = [
      [
        {},
        {
          name: ['This field is required.'],
          url: ['This field is required.'],
          http_method: ['This field is required.'],
          trigger_type: ['This field is required.'],
        },
      ],
      [
        { name: 'row51' },
        {
          url: ['This field is required.'],
          http_method: ['This field is required.'],
          trigger_type: ['This field is required.'],
        },
      ],
      [
        { name: 'row51', url: 'https://x.test' },
        { http_method: ['This field is required.'], trigger_type: ['This field is required.'] },
      ],
      [
        { name: 'row51', url: 'https://x.test', trigger_type: 'escalation' },
        { http_method: ['This field is required.'] },
      ],
    ]
    for (const [body, expected] of steps) await expectRejected('POST', '/api/v1/webhooks/', body, expected)

    const created = await org.call('POST', '/api/v1/webhooks/', {
      name: 'row51',
      url: 'https://x.test',
      trigger_type: 'escalation',
      http_method: 'POST',
    })
    expect(created.status).toBe(201)
    expect(Object.keys(created.body).sort()).toEqual(WEBHOOK_KEYS)
    expect(created.body).toEqual({
      id: expect.stringMatching(WEBHOOK_ID),
      name: 'row51',
      is_webhook_enabled: true,
      team: null,
      data: null,
      username: null,
      password: null,
      authorization_header: null,
      trigger_template: null,
      headers: null,
      url: 'https://x.test',
      forward_all: true,
      http_method: 'POST',
      trigger_type: 'escalation',
      integration_filter: null,
      preset: null,
    })
    expect(await storedRow(created.body.id)).toMatchObject({
      organization_id: org.organizationId,
      name: 'row51',
      deleted_at: null,
    })
    expect((await org.call('GET', `/api/v1/webhooks/${created.body.id}/`)).body).toEqual(created.body)
    expect((await org.call('GET', `/api/v1/webhooks/${created.body.id}`)).body).toEqual(created.body)

    const deleted = await org.call('DELETE', `/api/v1/webhooks/${created.body.id}/`)
    expect(deleted.status).toBe(204)
    expect(deleted.text).toBe('')
    expect(await org.call('GET', `/api/v1/webhooks/${created.body.id}/`)).toMatchObject({
      status: 404,
      body: NOT_FOUND,
    })
    // Soft: the row stays, marked deleted.
    expect((await storedRow(created.body.id)).deleted_at).not.toBeNull()
  })

  test('a deleted webhook is gone for every route, and its name is free again', async () => {
    const hook = await createWebhook({ name: 'reusable' })
    expect((await org.call('DELETE', `/api/v1/webhooks/${hook.id}/`)).status).toBe(204)
    for (const [method, path, body] of [
      ['GET', `/api/v1/webhooks/${hook.id}/`, undefined],
      ['GET', `/api/v1/webhooks/${hook.id}/responses/`, undefined],
      ['PUT', `/api/v1/webhooks/${hook.id}/`, { name: 'back' }],
      ['PATCH', `/api/v1/webhooks/${hook.id}/`, {}],
      ['DELETE', `/api/v1/webhooks/${hook.id}/`, undefined],
    ] as const) {
      await expectRejected(method, path, body, NOT_FOUND, 404)
    }
    const list = await org.call('GET', '/api/v1/webhooks/?name=reusable')
    expect(list.body.count).toBe(0)

    const again = await createWebhook({ name: 'reusable' })
    expect(again.id).not.toBe(hook.id)
    expect(
      (await org.call('GET', '/api/v1/webhooks/?name=reusable')).body.results.map((w: { id: string }) => w.id),
    ).toEqual([again.id])
    await expectRejected(
      'POST',
      '/api/v1/webhooks/',
      { ...MINIMAL, name: 'reusable' },
      {
        non_field_errors: ['The fields name, organization must make a unique set.'],
      },
    )
  })

  test('every field echoes, and the Go client body (team "", preset "", integration_filter null) is accepted', async () => {
    const team = (await org.call('POST', '/api/v1/teams/', { name: 'Hooks team' })).body
    const full = await createWebhook({
      name: 'full',
      is_webhook_enabled: false,
      team: team.id,
      data: '{"alert": "{{ alert_payload.title }}"}',
      username: 'bot',
      password: 'hunter2',
      authorization_header: 'Bearer s3cret',
      trigger_template: '{{ alert_group.state == "firing" }}',
      headers: '{"X-Source": "tocsin"}',
      url: 'https://hooks.example.test/{{ alert_group.id }}',
      forward_all: false,
      http_method: 'PUT',
      trigger_type: 'status change',
      integration_filter: [integrationId],
    })
    expect(full).toEqual({
      id: full.id,
      name: 'full',
      is_webhook_enabled: false,
      team: team.id,
      data: '{"alert": "{{ alert_payload.title }}"}',
      username: 'bot',
      password: MASK,
      authorization_header: MASK,
      trigger_template: '{{ alert_group.state == "firing" }}',
      headers: '{"X-Source": "tocsin"}',
      url: 'https://hooks.example.test/{{ alert_group.id }}',
      forward_all: false,
      http_method: 'PUT',
      trigger_type: 'status change',
      integration_filter: [integrationId],
      preset: null,
    })
    expect(await storedRow(full.id)).toMatchObject({
      password: 'hunter2',
      authorization_header: 'Bearer s3cret',
      team_id: team.id,
    })

    const goClient = await org.call('POST', '/api/v1/webhooks', {
      name: 'terraform',
      url: 'https://tf.example.test',
      http_method: 'POST',
      trigger_type: 'acknowledge',
      team: '',
      preset: '',
      integration_filter: null,
      data: '',
      headers: null,
      trigger_template: '',
      is_webhook_enabled: true,
      forward_all: true,
    })
    expect(goClient.status).toBe(201)
    expect(goClient.body).toMatchObject({
      team: null,
      preset: null,
      integration_filter: null,
      data: null,
      headers: null,
      trigger_template: null,
    })
    const withNullPreset = await createWebhook({ preset: null, team: 'null' })
    expect(withNullPreset).toMatchObject({ preset: null, team: null })
  })

  test('every trigger type and http method is accepted as OnCall spells it', async () => {
    for (const trigger_type of [
      'escalation',
      'alert group created',
      'acknowledge',
      'resolve',
      'silence',
      'unsilence',
      'unresolve',
      'unacknowledge',
      'status change',
      'personal notification',
    ]) {
      expect((await createWebhook({ trigger_type })).trigger_type).toBe(trigger_type)
    }
    for (const http_method of ['GET', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH']) {
      expect((await createWebhook({ http_method })).http_method).toBe(http_method)
    }
  })
})

describe('validation', () => {
  test('preset: any real preset is refused; "" and null mean no change', async () => {
    await expectRejected(
      'POST',
      '/api/v1/webhooks/',
      { ...MINIMAL, preset: 'simple_webhook' },
      {
        preset: ['Preset webhooks must be modified through web UI'],
      },
    )
    const hook = await createWebhook({ preset: '' })
    await expectRejected(
      'PATCH',
      `/api/v1/webhooks/${hook.id}/`,
      { preset: 'advanced_webhook' },
      {
        preset: ['Preset webhooks must be modified through web UI'],
      },
    )
    const patched = await org.call('PATCH', `/api/v1/webhooks/${hook.id}/`, { preset: '', name: 'preset-ok' })
    expect(patched).toMatchObject({ status: 200, body: { name: 'preset-ok', preset: null } })
  })

  test('http_method and trigger_type outside OnCall lists get OnCall texts', async () => {
    const methodError = { http_method: ["Must be one of ['GET', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH']"] }
    await expectRejected('POST', '/api/v1/webhooks/', { ...MINIMAL, http_method: 'post' }, methodError)
    await expectRejected('POST', '/api/v1/webhooks/', { ...MINIMAL, http_method: 'TRACE' }, methodError)
    await expectRejected(
      'POST',
      '/api/v1/webhooks/',
      { ...MINIMAL, http_method: null },
      { http_method: ['This field may not be null.'] },
    )
    for (const trigger_type of ['Escalation step', 'unknown', 5, true, ['escalation'], {}]) {
      await expectRejected('POST', '/api/v1/webhooks/', { ...MINIMAL, trigger_type }, { detail: TRIGGER_TYPE_DETAIL })
    }
    // OnCall raises the trigger_type detail ahead of the field errors.
    await expectRejected('POST', '/api/v1/webhooks/', { trigger_type: 'nope' }, { detail: TRIGGER_TYPE_DETAIL })
    await expectRejected(
      'POST',
      '/api/v1/webhooks/',
      { ...MINIMAL, trigger_type: null },
      { trigger_type: ['This field may not be null.'] },
    )
    const hook = await createWebhook()
    await expectRejected(
      'PATCH',
      `/api/v1/webhooks/${hook.id}/`,
      { trigger_type: 'acked' },
      { detail: TRIGGER_TYPE_DETAIL },
    )
    await expectRejected('PUT', `/api/v1/webhooks/${hook.id}/`, { http_method: 'FETCH' }, methodError)
  })

  test('url, data, headers and trigger_template must compile as templates', async () => {
    for (const field of ['data', 'headers', 'trigger_template', 'url']) {
      for (const bad of ['{{ x', '{% if %}', '{% for a in b %}{{ a }}']) {
        const response = await org.call('POST', '/api/v1/webhooks/', {
          ...MINIMAL,
          name: uniqueName('tpl'),
          [field]: bad,
        })
        expect({ field, bad, status: response.status, keys: Object.keys(response.body) }).toEqual({
          field,
          bad,
          status: 400,
          keys: [field],
        })
        expect(response.body[field]).toHaveLength(1)
        expect(response.body[field][0]).toMatch(/^Template Error: \S/)
      }
    }
    const hook = await createWebhook()
    await expectRejected(
      'PATCH',
      `/api/v1/webhooks/${hook.id}/`,
      { data: HUGE },
      {
        data: ['Template Error: Template exceeds length limit (100000 > 50000)'],
      },
    )
    const before = await snapshot()
    const bad = await org.call('PATCH', `/api/v1/webhooks/${hook.id}/`, { headers: '{"a": "{{ b"}' })
    expect(bad.status).toBe(400)
    expect(await snapshot()).toEqual(before)
  })

  test('a url without template markup must be an http(s) URL; url may not be blank or null', async () => {
    for (const url of ['not a url', 'ftp://files.example.test', 'javascript:alert(1)']) {
      await expectRejected('POST', '/api/v1/webhooks/', { ...MINIMAL, url }, { url: ['Enter a valid URL.'] })
    }
    await expectRejected(
      'POST',
      '/api/v1/webhooks/',
      { ...MINIMAL, url: '' },
      { url: ['This field may not be blank.'] },
    )
    await expectRejected(
      'POST',
      '/api/v1/webhooks/',
      { ...MINIMAL, url: '   ' },
      { url: ['This field may not be blank.'] },
    )
    const hook = await createWebhook()
    await expectRejected(
      'PATCH',
      `/api/v1/webhooks/${hook.id}/`,
      { url: null },
      { url: ['This field may not be null.'] },
    )
    const templated = await org.call('PATCH', `/api/v1/webhooks/${hook.id}/`, {
      url: '{{ alert_payload.callback_url }}',
    })
    expect(templated).toMatchObject({ status: 200, body: { url: '{{ alert_payload.callback_url }}' } })
  })

  test('empty data, headers and trigger_template are stored as null', async () => {
    const hook = await createWebhook({ data: '{"a": 1}', headers: '{"b": "2"}', trigger_template: 'true' })
    const cleared = await org.call('PATCH', `/api/v1/webhooks/${hook.id}/`, {
      data: '',
      headers: null,
      trigger_template: '',
    })
    expect(cleared.body).toEqual({ ...hook, data: null, headers: null, trigger_template: null })
    expect(await storedRow(hook.id)).toMatchObject({ data: null, headers: null, trigger_template: null })
  })

  test('forward_all defaults to true and may not be null; DRF boolean spellings are accepted', async () => {
    expect((await createWebhook()).forward_all).toBe(true)
    expect((await createWebhook({ forward_all: 'false' })).forward_all).toBe(false)
    await expectRejected(
      'POST',
      '/api/v1/webhooks/',
      { ...MINIMAL, forward_all: null },
      { forward_all: ['This field may not be null.'] },
    )
    await expectRejected(
      'POST',
      '/api/v1/webhooks/',
      { ...MINIMAL, forward_all: 'maybe' },
      { forward_all: ['Must be a valid boolean.'] },
    )
    const hook = await createWebhook()
    await expectRejected(
      'PATCH',
      `/api/v1/webhooks/${hook.id}/`,
      { forward_all: null },
      { forward_all: ['This field may not be null.'] },
    )
    await expectRejected(
      'PATCH',
      `/api/v1/webhooks/${hook.id}/`,
      { is_webhook_enabled: null },
      {
        is_webhook_enabled: ['This field may not be null.'],
      },
    )
  })

  test('names: unique per organization among live webhooks, also on rename; another organization may reuse one', async () => {
    const first = await createWebhook({ name: 'shared-name' })
    await expectRejected(
      'POST',
      '/api/v1/webhooks/',
      { ...MINIMAL, name: 'shared-name' },
      {
        non_field_errors: ['The fields name, organization must make a unique set.'],
      },
    )
    const second = await createWebhook({ name: 'other-name' })
    await expectRejected(
      'PUT',
      `/api/v1/webhooks/${second.id}/`,
      { name: 'shared-name' },
      {
        non_field_errors: ['The fields name, organization must make a unique set.'],
      },
    )
    // Renaming to its own name is no conflict.
    expect((await org.call('PUT', `/api/v1/webhooks/${first.id}/`, { name: 'shared-name' })).status).toBe(200)
    expect((await createWebhook({ name: 'shared-name' }, other)).name).toBe('shared-name')
    await expectRejected(
      'POST',
      '/api/v1/webhooks/',
      { ...MINIMAL, name: 'n'.repeat(101) },
      {
        name: ['Ensure this field has no more than 100 characters.'],
      },
    )
    await expectRejected(
      'POST',
      '/api/v1/webhooks/',
      { ...MINIMAL, name: '  ' },
      { name: ['This field may not be blank.'] },
    )
  })

  test('integration_filter: ids of the organization only; null when empty; a bare string is refused', async () => {
    const second = await insertIntegration(org.organizationId, 'Acme second')
    const hook = await createWebhook({ integration_filter: [integrationId, second, integrationId] })
    expect(hook.integration_filter).toEqual([integrationId, second])
    for (const empty of [[], null, '']) {
      const cleared = await org.call('PATCH', `/api/v1/webhooks/${hook.id}/`, { integration_filter: empty })
      expect(cleared).toMatchObject({ status: 200, body: { integration_filter: null } })
      expect((await storedRow(hook.id)).integration_filter).toBeNull()
      await org.call('PATCH', `/api/v1/webhooks/${hook.id}/`, { integration_filter: [second] })
    }
    // Omitted on update: unchanged.
    expect(
      (await org.call('PATCH', `/api/v1/webhooks/${hook.id}/`, { name: 'filtered' })).body.integration_filter,
    ).toEqual([second])

    await expectRejected(
      'POST',
      '/api/v1/webhooks/',
      { ...MINIMAL, integration_filter: integrationId },
      {
        integration_filter: ['Expected a list of items but got type "str".'],
      },
    )
    await expectRejected(
      'POST',
      '/api/v1/webhooks/',
      { ...MINIMAL, integration_filter: [otherIntegrationId] },
      {
        integration_filter: ['Integration does not exist'],
      },
    )
    await expectRejected(
      'PATCH',
      `/api/v1/webhooks/${hook.id}/`,
      { integration_filter: [second, 'CNOPE'] },
      {
        integration_filter: ['Integration does not exist'],
      },
    )
    await expectRejected(
      'PATCH',
      `/api/v1/webhooks/${hook.id}/`,
      { integration_filter: [5] },
      {
        integration_filter: ['Invalid integration'],
      },
    )
  })

  test("team: an own team or none; another organization's team is refused", async () => {
    await expectRejected(
      'POST',
      '/api/v1/webhooks/',
      { ...MINIMAL, team: otherTeamId },
      { team: ['Object does not exist'] },
    )
    await expectRejected(
      'POST',
      '/api/v1/webhooks/',
      { ...MINIMAL, team: 'TNOPE' },
      { team: ['Object does not exist'] },
    )
    const team = (await org.call('POST', '/api/v1/teams/', { name: 'Team for hooks' })).body
    const hook = await createWebhook({ team: team.id })
    expect(hook.team).toBe(team.id)
    await expectRejected(
      'PATCH',
      `/api/v1/webhooks/${hook.id}/`,
      { team: otherTeamId },
      { team: ['Object does not exist'] },
    )
    expect((await org.call('PATCH', `/api/v1/webhooks/${hook.id}/`, { team: '' })).body.team).toBeNull()
  })
})

describe('secrets', () => {
  test('masked when set; the mask sent back keeps the stored value; a new value or null replaces it', async () => {
    const hook = await createWebhook({ password: 'p1', authorization_header: 'Token a1', username: 'u' })
    expect(hook).toMatchObject({ password: MASK, authorization_header: MASK, username: 'u' })

    const roundTrip = await org.call('PUT', `/api/v1/webhooks/${hook.id}/`, { ...hook, name: 'masked-round-trip' })
    expect(roundTrip.status).toBe(200)
    expect(roundTrip.body).toEqual({ ...hook, name: 'masked-round-trip' })
    expect(await storedRow(hook.id)).toMatchObject({ password: 'p1', authorization_header: 'Token a1' })

    const replaced = await org.call('PATCH', `/api/v1/webhooks/${hook.id}/`, { password: 'p2' })
    expect(replaced.body.password).toBe(MASK)
    expect(await storedRow(hook.id)).toMatchObject({ password: 'p2', authorization_header: 'Token a1' })

    const cleared = await org.call('PATCH', `/api/v1/webhooks/${hook.id}/`, {
      password: null,
      authorization_header: '',
    })
    expect(cleared.body).toMatchObject({ password: null, authorization_header: '' })
    expect(await storedRow(hook.id)).toMatchObject({ password: null, authorization_header: '' })

    // The mask on create stands for nothing stored, never for the literal asterisks.
    const fresh = await createWebhook({ password: MASK })
    expect(fresh.password).toBeNull()
    expect((await storedRow(fresh.id)).password).toBeNull()

    // Lists mask too.
    const listed = (await org.call('GET', `/api/v1/webhooks/?name=${hook.name}`)).body.results
    expect(listed).toEqual([])
    const byName = (await org.call('GET', '/api/v1/webhooks/?name=masked-round-trip')).body.results
    expect(byName).toEqual([{ ...hook, name: 'masked-round-trip', password: null, authorization_header: '' }])
  })
})

describe('list', () => {
  test('pagination envelope (page size 50), creation order, filters name and team_id, other organizations invisible', async () => {
    const listOrg = await createOrg(stack, 'Listing')
    const team = (await listOrg.call('POST', '/api/v1/teams/', { name: 'L team' })).body
    const ids: string[] = []
    for (let i = 0; i < 5; i++)
      ids.push((await createWebhook({ name: `l${i}`, team: i % 2 === 0 ? team.id : null }, listOrg)).id)
    await createWebhook({ name: 'l0' }, other)

    const all = await listOrg.call('GET', '/api/v1/webhooks/')
    expect(all.status).toBe(200)
    expect(Object.keys(all.body).sort()).toEqual(PAGE_KEYS)
    expect(all.body).toMatchObject({
      count: 5,
      next: null,
      previous: null,
      page_size: 50,
      current_page_number: 1,
      total_pages: 1,
    })
    expect(all.body.results.map((w: { id: string }) => w.id)).toEqual(ids)
    for (const item of all.body.results) expect(Object.keys(item).sort()).toEqual(WEBHOOK_KEYS)
    expect((await listOrg.call('GET', '/api/v1/webhooks')).body).toEqual(all.body)

    const page2 = await listOrg.call('GET', '/api/v1/webhooks/?perpage=2&page=2')
    expect(page2.body).toMatchObject({
      count: 5,
      page_size: 2,
      current_page_number: 2,
      total_pages: 3,
      next: `${PUBLIC_URL}/api/v1/webhooks/?page=3&perpage=2`,
      previous: `${PUBLIC_URL}/api/v1/webhooks/?perpage=2`,
    })
    expect(page2.body.results.map((w: { id: string }) => w.id)).toEqual(ids.slice(2, 4))
    expect((await listOrg.call('GET', '/api/v1/webhooks/?perpage=2&page=9')).body.current_page_number).toBe(3)

    expect(
      (await listOrg.call('GET', '/api/v1/webhooks/?name=l3')).body.results.map((w: { id: string }) => w.id),
    ).toEqual([ids[3]])
    expect((await listOrg.call('GET', '/api/v1/webhooks/?name=L3')).body.count).toBe(0)
    expect((await listOrg.call('GET', '/api/v1/webhooks/?name=')).body.count).toBe(5)
    const byTeam = await listOrg.call('GET', `/api/v1/webhooks/?team_id=${team.id}`)
    expect(byTeam.body.results.map((w: { id: string }) => w.id)).toEqual([ids[0], ids[2], ids[4]])
    const noTeam = await listOrg.call('GET', '/api/v1/webhooks/?team_id=null')
    expect(noTeam.body.results.map((w: { id: string }) => w.id)).toEqual([ids[1], ids[3]])
    for (const teamId of [otherTeamId, 'TNOPE']) {
      expect(await listOrg.call('GET', `/api/v1/webhooks/?team_id=${teamId}`)).toMatchObject({
        status: 400,
        body: { team_id: ['Select a valid choice. That choice is not one of the available choices.'] },
      })
    }
  })
})

describe('responses', () => {
  test('newest first, in OnCall keys and DRF timestamps; one row per idempotency key; paginated', async () => {
    const hook = await createWebhook()
    const attempt = (n: number, timestamp: string) => ({
      timestamp,
      url: `https://hooks.example.test/${n}`,
      request_trigger: 'true',
      request_headers: '{"X-N": "1"}',
      request_data: `{"n": ${n}}`,
      status_code: 200 + n,
      content: `ok ${n}`,
      event_data: `{"event": ${n}}`,
      idempotencyKey: `${hook.id}:attempt:${n}`,
    })
    expect(
      await recordWebhookResponse(stack.db, org.organizationId, hook.id, attempt(1, '2026-01-01T10:00:00.123456Z')),
    ).toBe(true)
    expect(await recordWebhookResponse(stack.db, org.organizationId, hook.id, attempt(2, '2026-01-01T10:05:00Z'))).toBe(
      true,
    )
    expect(
      await recordWebhookResponse(stack.db, org.organizationId, hook.id, attempt(3, '2026-01-01T10:10:00.5Z')),
    ).toBe(true)
    // A retried activity writes under the same key: recorded once.
    expect(
      await recordWebhookResponse(stack.db, org.organizationId, hook.id, {
        ...attempt(3, '2026-01-02T00:00:00Z'),
        content: 'dup',
      }),
    ).toBe(false)
    // Another organization's webhook: nothing is written.
    expect(
      await recordWebhookResponse(stack.db, other.organizationId, hook.id, attempt(4, '2026-01-01T11:00:00Z')),
    ).toBe(false)
    const minimal = await recordWebhookResponse(stack.db, org.organizationId, hook.id, {
      url: null,
      request_trigger: null,
      request_headers: null,
      request_data: null,
      status_code: null,
      content: null,
      event_data: null,
      idempotencyKey: `${hook.id}:minimal`,
      timestamp: '2025-12-31T00:00:00Z',
    })
    expect(minimal).toBe(true)
    const rows = await stack.db.selectFrom('webhook_responses').selectAll().where('webhook_id', '=', hook.id).execute()
    expect(rows).toHaveLength(4)
    expect(rows.every((r) => r.organization_id === org.organizationId)).toBe(true)

    const page = await org.call('GET', `/api/v1/webhooks/${hook.id}/responses`)
    expect(page.status).toBe(200)
    expect(page.body).toMatchObject({
      count: 4,
      next: null,
      previous: null,
      page_size: 50,
      current_page_number: 1,
      total_pages: 1,
    })
    for (const item of page.body.results) expect(Object.keys(item).sort()).toEqual(RESPONSE_KEYS)
    expect(page.body.results.map((r: { timestamp: string }) => r.timestamp)).toEqual([
      '2026-01-01T10:10:00.500000Z',
      '2026-01-01T10:05:00Z',
      '2026-01-01T10:00:00.123456Z',
      '2025-12-31T00:00:00Z',
    ])
    expect(page.body.results[0]).toEqual({
      timestamp: '2026-01-01T10:10:00.500000Z',
      url: 'https://hooks.example.test/3',
      request_trigger: 'true',
      request_headers: '{"X-N": "1"}',
      request_data: '{"n": 3}',
      status_code: 203,
      content: 'ok 3',
      event_data: '{"event": 3}',
    })
    expect(page.body.results[3]).toEqual({
      timestamp: '2025-12-31T00:00:00Z',
      url: null,
      request_trigger: null,
      request_headers: null,
      request_data: null,
      status_code: null,
      content: null,
      event_data: null,
    })

    const second = await org.call('GET', `/api/v1/webhooks/${hook.id}/responses/?perpage=3&page=2`)
    expect(second.body).toMatchObject({ count: 4, current_page_number: 2, total_pages: 2, next: null })
    expect(second.body.previous).toBe(`${PUBLIC_URL}/api/v1/webhooks/${hook.id}/responses/?perpage=3`)
    expect(second.body.results.map((r: { status_code: number | null }) => r.status_code)).toEqual([null])

    // Other organizations see nothing of it; a deleted webhook's responses stay stored but unreachable.
    expect(await other.call('GET', `/api/v1/webhooks/${hook.id}/responses/`)).toMatchObject({
      status: 404,
      body: NOT_FOUND,
    })
    const empty = await createWebhook()
    expect((await org.call('GET', `/api/v1/webhooks/${empty.id}/responses/`)).body).toMatchObject({
      count: 0,
      results: [],
      current_page_number: 1,
      total_pages: 1,
    })
    expect((await org.call('DELETE', `/api/v1/webhooks/${hook.id}/`)).status).toBe(204)
    expect(await org.call('GET', `/api/v1/webhooks/${hook.id}/responses/`)).toMatchObject({
      status: 404,
      body: NOT_FOUND,
    })
    expect(
      await stack.db.selectFrom('webhook_responses').select('pk').where('webhook_id', '=', hook.id).execute(),
    ).toHaveLength(4)
  })

  test('responses of a webhook without a timestamp given are stamped now', async () => {
    const hook = await createWebhook()
    await recordWebhookResponse(stack.db, org.organizationId, hook.id, {
      url: 'https://a.test',
      request_trigger: null,
      request_headers: null,
      request_data: null,
      status_code: 500,
      content: 'boom',
      event_data: null,
      idempotencyKey: `${hook.id}:now`,
    })
    const [item] = (await org.call('GET', `/api/v1/webhooks/${hook.id}/responses/`)).body.results
    expect(item.timestamp).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{6})?Z$/)
    expect(Math.abs(Date.parse(item.timestamp) - Date.now())).toBeLessThan(60_000)
  })
})

describe('isolation and permissions', () => {
  test("another organization's webhook ids are 404 on every route, and nothing changes", async () => {
    const theirs = await createWebhook({ name: 'theirs' }, other)
    for (const [method, path, body] of [
      ['GET', `/api/v1/webhooks/${theirs.id}/`, undefined],
      ['GET', `/api/v1/webhooks/${theirs.id}/responses/`, undefined],
      ['PUT', `/api/v1/webhooks/${theirs.id}/`, { name: 'pwned' }],
      ['PATCH', `/api/v1/webhooks/${theirs.id}/`, { url: 'https://evil.test' }],
      ['DELETE', `/api/v1/webhooks/${theirs.id}/`, undefined],
      ['GET', '/api/v1/webhooks/WHNONEXISTENT1/', undefined],
    ] as const) {
      await expectRejected(method, path, body, NOT_FOUND, 404)
    }
    expect((await org.call('GET', '/api/v1/webhooks/?name=theirs')).body.count).toBe(0)
    expect((await other.call('GET', `/api/v1/webhooks/${theirs.id}/`)).body).toEqual(theirs)
  })

  test('viewers and editors read; only admins write (checked before the lookup)', async () => {
    const hook = await createWebhook()
    for (const role of ['viewer', 'editor']) {
      const user = (
        await org.call('POST', '/api/v1/users/', { username: `wh-${role}`, email: `wh-${role}@acme.test`, role })
      ).body
      const call = caller(stack.baseUrl, await issueToken(stack.db, org.organizationId, user.id, role))
      expect((await call('GET', '/api/v1/webhooks/')).status).toBe(200)
      expect((await call('GET', `/api/v1/webhooks/${hook.id}/`)).body).toEqual(hook)
      expect((await call('GET', `/api/v1/webhooks/${hook.id}/responses/`)).status).toBe(200)
      const before = await snapshot()
      for (const [method, path, body] of [
        ['POST', '/api/v1/webhooks/', { ...MINIMAL, name: `by-${role}` }],
        ['PUT', `/api/v1/webhooks/${hook.id}/`, { name: 'x' }],
        ['PATCH', `/api/v1/webhooks/WHNONEXISTENT1/`, { name: 'x' }],
        ['DELETE', `/api/v1/webhooks/${hook.id}/`, undefined],
      ] as const) {
        expect(await call(method, path, body)).toMatchObject({
          status: 403,
          body: { detail: 'You do not have permission to perform this action.' },
        })
      }
      expect(await snapshot()).toEqual(before)
    }
    expect(await caller(stack.baseUrl, null)('GET', '/api/v1/webhooks/')).toMatchObject({
      status: 403,
      body: { detail: 'Invalid token.' },
    })
    expect((await org.call('POST', `/api/v1/webhooks/${hook.id}/`, {})).status).toBe(405)
    expect((await org.call('DELETE', '/api/v1/webhooks/')).status).toBe(405)
  })
})

describe('hostile input', () => {
  test('every write route refuses wrong types, nulls, huge strings and bad templates with a 400 and no change', async () => {
    const hook = await createWebhook()
    const hostile: unknown[] = [
      [],
      'a string',
      42,
      null,
      { ...MINIMAL, name: HUGE },
      { ...MINIMAL, name: null },
      { ...MINIMAL, name: 5 },
      { ...MINIMAL, url: HUGE },
      { ...MINIMAL, url: 42 },
      { ...MINIMAL, url: '{{ x' },
      { ...MINIMAL, http_method: HUGE },
      { ...MINIMAL, http_method: ['POST'] },
      { ...MINIMAL, trigger_type: HUGE },
      { ...MINIMAL, data: HUGE },
      { ...MINIMAL, data: { a: 1 } },
      { ...MINIMAL, headers: '{{ x' },
      { ...MINIMAL, trigger_template: '{% endif %}' },
      { ...MINIMAL, username: HUGE },
      { ...MINIMAL, password: HUGE },
      { ...MINIMAL, authorization_header: HUGE },
      { ...MINIMAL, password: 12 },
      { ...MINIMAL, forward_all: [] },
      { ...MINIMAL, is_webhook_enabled: 'yes please' },
      { ...MINIMAL, team: HUGE },
      { ...MINIMAL, team: otherTeamId },
      { ...MINIMAL, integration_filter: { id: integrationId } },
      { ...MINIMAL, integration_filter: [HUGE] },
      { ...MINIMAL, integration_filter: [otherIntegrationId] },
      { ...MINIMAL, integration_filter: Array.from({ length: 1001 }, () => integrationId) },
      { ...MINIMAL, preset: HUGE },
      { ...MINIMAL, preset: 0 },
      { ...MINIMAL, name: 'nul\u0000char' },
    ]
    for (const body of hostile) {
      await expectRefused('POST', '/api/v1/webhooks/', body)
      // The same hostile value alone on update (PUT is partial, as in OnCall).
      const update =
        body !== null && typeof body === 'object' && !Array.isArray(body)
          ? Object.fromEntries(
              Object.entries(body).filter(([key, value]) => (MINIMAL as Record<string, unknown>)[key] !== value),
            )
          : body
      await expectRefused('PATCH', `/api/v1/webhooks/${hook.id}/`, update)
      await expectRefused('PUT', `/api/v1/webhooks/${hook.id}/`, update)
    }
    await expectRefused('POST', '/api/v1/webhooks/', '{"name": ')
    expect((await org.call('GET', `/api/v1/webhooks/${hook.id}/`)).body).toEqual(hook)
  })
})
