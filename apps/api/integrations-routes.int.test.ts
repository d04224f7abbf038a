import type { Server } from 'node:http'
import { issueToken } from '../../db/tokens.repo'
import { caller, createOrg, eventually, startStack, type Stack } from '../../test/stack'
import { TOKEN_TTL_MS } from '../ingest/integration-cache'
import { silentLogger } from '../logger'
import { createApp } from './app'

// Integrations and routes through /api/v1 in OnCall's shapes.

const PUBLIC_URL = 'https://oncall.example.test'
let stack: Stack
let org: Awaited<ReturnType<typeof createOrg>>
let other: Awaited<ReturnType<typeof createOrg>>

beforeAll(async () => {
  stack = await startStack('integrations_routes', { worker: false, publicUrl: PUBLIC_URL })
  org = await createOrg(stack, 'Acme')
  other = await createOrg(stack, 'Globex')
})
afterAll(() => stack.stop())

const ID = /^[A-NP-Z1-9]{12}$/

test('create, list and read an integration in OnCall\'s shape, with link, heartbeat and default route', async () => {
  const created = await org.call('POST', '/api/v1/integrations/', { type: 'grafana', name: 'g', team_id: null })
  expect(created.status).toBe(201)
  const body = created.body
  expect(Object.keys(body).sort()).toEqual(
    ['id', 'name', 'description_short', 'team_id', 'link', 'inbound_email', 'type', 'default_route', 'templates', 'heartbeat',
      'maintenance_mode', 'maintenance_started_at', 'maintenance_end_at'].sort(),
  )
  expect(body.id.slice(1)).toMatch(ID)
  expect(body.id[0]).toBe('C')
  expect(body.link).toMatch(new RegExp(`^${PUBLIC_URL}/integrations/v1/grafana/[A-Za-z0-9]{25}/$`))
  expect(body.heartbeat).toEqual({ link: `${body.link}heartbeat/` })
  expect(body).toMatchObject({ name: 'g', team_id: null, type: 'grafana', inbound_email: null, maintenance_mode: null, description_short: null })
  expect(body.default_route).toEqual({
    id: expect.stringMatching(/^R/),
    escalation_chain_id: null,
    slack: { channel_id: null, enabled: true },
    telegram: { id: null, enabled: false },
  })
  expect(body.templates).toMatchObject({
    grouping_key: null,
    resolve_signal: null,
    acknowledge_signal: null,
    source_link: null,
    slack: { title: null, message: null, image_url: null },
    web: { title: null, message: null, image_url: null },
    sms: { title: null },
    phone_call: { title: null },
  })
  const listed = await org.call('GET', '/api/v1/integrations/?name=g')
  expect(listed.body).toMatchObject({ count: 1, page_size: 50, current_page_number: 1, total_pages: 1, next: null, previous: null })
  expect(listed.body.results[0]).toEqual(body)
  expect((await org.call('GET', `/api/v1/integrations/${body.id}`)).body).toEqual(body)
  expect((await other.call('GET', `/api/v1/integrations/${body.id}/`)).status).toBe(404)
  expect((await other.call('GET', '/api/v1/integrations/?name=g')).body.count).toBe(0)
})

test('name is unique per (organization, team); bad, legacy and direct_paging types are refused', async () => {
  expect((await org.call('POST', '/api/v1/integrations/', { type: 'webhook', name: 'dup', team_id: null })).status).toBe(201)
  expect(await org.call('POST', '/api/v1/integrations/', { type: 'webhook', name: 'dup', team_id: '' })).toMatchObject({
    status: 400,
    body: { detail: 'An integration with this name already exists for this team' },
  })
  const team = (await org.call('POST', '/api/v1/teams/', { name: 'Ops' })).body
  expect((await org.call('POST', '/api/v1/integrations/', { type: 'webhook', name: 'dup', team_id: team.id })).status).toBe(201)
  expect((await other.call('POST', '/api/v1/integrations/', { type: 'webhook', name: 'dup' })).status).toBe(201)
  expect((await org.call('POST', '/api/v1/integrations/', { type: 'direct_paging', name: 'x' })).body).toEqual({
    detail: "Direct paging integrations can't be created",
  })
  expect((await org.call('POST', '/api/v1/integrations/', { type: 'this_is_invalid_integration_type', name: 'x' })).body).toEqual({
    detail: 'Invalid integration type',
  })
  expect((await org.call('POST', '/api/v1/integrations/', { type: 'legacy_alertmanager', name: 'x' })).body).toEqual({
    detail: 'This integration type is deprecated',
  })
  expect((await org.call('POST', '/api/v1/integrations/', { name: 'x' })).body).toEqual({ type: ['This field is required.'] })
  expect((await org.call('POST', '/api/v1/integrations/', { type: 'webhook', name: 'y', team_id: 'TNOPE' })).body).toEqual({
    team_id: ['Object does not exist'],
  })
  expect((await org.call('POST', '/api/v1/integrations/', '{"type": ')).status).toBe(400)
})

test('templates: set, reset with null, invalid Jinja and wrong shapes refused with OnCall\'s details', async () => {
  const integration = (await org.call('POST', '/api/v1/integrations/', { type: 'webhook', name: 'templated' })).body
  const set = await org.call('PUT', `/api/v1/integrations/${integration.id}/`, {
    templates: { grouping_key: '{{ payload.id }}', web: { title: '{{ payload.title }}' }, unknown_key: 'ignored' },
  })
  expect(set.status).toBe(200)
  expect(set.body.templates).toMatchObject({ grouping_key: '{{ payload.id }}', web: { title: '{{ payload.title }}', message: null } })
  expect(set.body.type).toBe('webhook')
  const reset = await org.call('PATCH', `/api/v1/integrations/${integration.id}/`, { templates: { grouping_key: null } })
  expect(reset.body.templates).toMatchObject({ grouping_key: null, web: { title: '{{ payload.title }}' } })
  expect(await org.call('PATCH', `/api/v1/integrations/${integration.id}/`, { templates: { resolve_signal: '{% if %}' } })).toMatchObject({
    status: 400,
    body: { detail: 'invalid resolve_signal template' },
  })
  expect((await org.call('PATCH', `/api/v1/integrations/${integration.id}/`, { templates: { grouping_key: 5 } })).body).toEqual({
    detail: 'Invalid grouping_key template data',
  })
  expect((await org.call('PATCH', `/api/v1/integrations/${integration.id}/`, { templates: { slack: 'x' } })).body).toEqual({
    detail: 'Invalid slack template data',
  })
  expect((await org.call('PATCH', `/api/v1/integrations/${integration.id}/`, { templates: { slack: { title: '{{ x' } } })).body).toEqual({
    detail: 'invalid slack title template',
  })
  // A template that would loop forever still only compiles at write time: accepted quickly.
  const loop = await org.call('PATCH', `/api/v1/integrations/${integration.id}/`, {
    templates: { grouping_key: '{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}' },
  })
  expect(loop.status).toBe(200)
})

test('routes: positions, default route last, OnCall\'s texts, default route cannot be deleted', async () => {
  const integration = (await org.call('POST', '/api/v1/integrations/', { type: 'alertmanager', name: 'am-routes' })).body
  const chain = (await org.call('POST', '/api/v1/escalation_chains/', { name: 'routes-chain' })).body
  const first = await org.call('POST', '/api/v1/routes/', { integration_id: integration.id, routing_regex: 'testreg', escalation_chain_id: chain.id })
  expect(first.status).toBe(201)
  expect(first.body).toEqual({
    id: expect.stringMatching(/^R[A-NP-Z1-9]{12}$/),
    integration_id: integration.id,
    escalation_chain_id: chain.id,
    routing_type: 'regex',
    routing_regex: 'testreg',
    position: 0,
    is_the_last_route: false,
    slack: { channel_id: null, enabled: true },
    telegram: { id: null, enabled: false },
  })
  const second = await org.call('POST', '/api/v1/routes', {
    integration_id: integration.id,
    routing_type: 'jinja2',
    routing_regex: '{{ payload.commonLabels.severity == "critical" }}',
    escalation_chain_id: null,
    position: 0,
  })
  expect(second.body).toMatchObject({ position: 0, routing_type: 'jinja2', escalation_chain_id: null })
  const listed = (await org.call('GET', `/api/v1/routes?integration_id=${integration.id}`)).body
  expect(listed.page_size).toBe(25)
  expect(listed.results.map((r: { id: string; position: number; is_the_last_route: boolean }) => [r.id, r.position, r.is_the_last_route])).toEqual([
    [second.body.id, 0, false],
    [first.body.id, 1, false],
    [integration.default_route.id, 0, true],
  ])
  const route = (routing_regex: unknown, extra: Record<string, unknown> = {}) =>
    org.call('POST', '/api/v1/routes/', { integration_id: integration.id, routing_regex, escalation_chain_id: null, ...extra })
  expect((await route('x'.repeat(1025))).body.non_field_errors[0]).toContain('Expression is too long. Maximum length: 1024 characters, current length: 1025')
  expect((await route('(unclosed')).body).toEqual({ non_field_errors: ['Regular expression is incorrect'] })
  expect((await route('{% if %}', { routing_type: 'jinja2' })).body).toEqual({ non_field_errors: ['Jinja template is incorrect'] })
  expect((await route('x', { routing_type: 'labels' })).body).toEqual({ non_field_errors: ['Expression type is incorrect'] })
  expect((await route(null)).body).toEqual({ routing_regex: ['This field may not be null.'] })
  expect((await org.call('POST', '/api/v1/routes/', { integration_id: integration.id, routing_regex: 'x' })).body).toEqual({
    escalation_chain_id: ['This field is required.'],
  })
  expect((await route('(?P<name>a)(?P=name)')).status).toBe(201)
  expect((await other.call('POST', '/api/v1/routes/', { integration_id: integration.id, routing_regex: 'x', escalation_chain_id: null })).body).toEqual({
    integration_id: ['Object does not exist'],
  })
  const moved = await org.call('PUT', `/api/v1/routes/${first.body.id}/`, { position: 0, integration_id: 'ignored' })
  expect(moved.body).toMatchObject({ position: 0, integration_id: integration.id })
  expect(await org.call('DELETE', `/api/v1/routes/${integration.default_route.id}/`)).toMatchObject({
    status: 400,
    body: { detail: 'Unable to delete default filter' },
  })
  expect((await org.call('DELETE', `/api/v1/routes/${second.body.id}/`)).status).toBe(204)
  expect((await org.call('GET', `/api/v1/routes/${second.body.id}/`)).status).toBe(404)
  expect((await other.call('GET', `/api/v1/routes/${first.body.id}/`)).status).toBe(404)
})

test('the direct paging integration is listed with its default route and cannot be deleted', async () => {
  const user = (await org.call('POST', '/api/v1/users/', { username: 'paged', email: 'paged@acme.test' })).body
  // No worker in this suite: the page is refused after the integration exists, which is all this test needs.
  await org.call('POST', '/api/v1/escalation/', { users: [{ id: user.id, important: false }] })
  const listed = (await org.call('GET', '/api/v1/integrations/')).body.results as Array<{ id: string; type: string; default_route: { id: string } }>
  const direct = listed.find((i) => i.type === 'direct_paging')
  expect(direct).toBeDefined()
  expect(direct?.default_route.id).toMatch(/^R/)
  expect(await org.call('DELETE', `/api/v1/integrations/${direct?.id}/`)).toMatchObject({
    status: 400,
    body: { detail: "Direct paging integrations can't be deleted" },
  })
})

test('delete is soft: the integration disappears and its token answers 403', async () => {
  const integration = (await org.call('POST', '/api/v1/integrations/', { type: 'webhook', name: 'to-delete' })).body
  const path = new URL(integration.link).pathname
  // Accepted first, so that the token's lookup is cached: the delete must empty that cache.
  const before = await fetch(`${stack.baseUrl}${path}`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } })
  expect(before.status).toBe(200)
  expect((await org.call('DELETE', `/api/v1/integrations/${integration.id}/`)).status).toBe(204)
  expect((await org.call('GET', `/api/v1/integrations/${integration.id}/`)).status).toBe(404)
  const posted = await fetch(`${stack.baseUrl}${path}`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } })
  expect(posted.status).toBe(403)
  expect(await posted.text()).toBe('Integration key was not found. Permission denied.')
  // The name is free again.
  expect((await org.call('POST', '/api/v1/integrations/', { type: 'webhook', name: 'to-delete' })).status).toBe(201)
})

test('another API process refuses a deleted integration\'s alerts once its cached lookup expires', async () => {
  const integration = (await org.call('POST', '/api/v1/integrations/', { type: 'webhook', name: 'deleted-elsewhere' })).body
  // A second process: its own token cache, which the first process's delete cannot empty.
  const app = createApp({ db: stack.db, escalations: stack.escalations, publicUrl: PUBLIC_URL, webUrl: 'http://grafana.test', logger: silentLogger() })
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s))
  })
  try {
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}${new URL(integration.link).pathname}`
    const post = async () => (await fetch(url, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } })).status
    expect(await post()).toBe(200)
    expect((await org.call('DELETE', `/api/v1/integrations/${integration.id}/`)).status).toBe(204)
    await eventually(async () => ((await post()) === 403 ? true : undefined), TOKEN_TTL_MS + 5000, '403 from the other process')
  } finally {
    await new Promise((resolve) => server.close(resolve))
  }
})

test('viewers read but cannot write integrations or routes', async () => {
  const viewer = (await org.call('POST', '/api/v1/users/', { username: 'viewer1', email: 'v1@acme.test', role: 'viewer' })).body
  const asViewer = caller(stack.baseUrl, await issueToken(stack.db, org.organizationId, viewer.id, 'viewer'))
  expect((await asViewer('GET', '/api/v1/integrations/')).status).toBe(200)
  expect((await asViewer('GET', '/api/v1/routes/')).status).toBe(200)
  const forbidden = { status: 403, body: { detail: 'You do not have permission to perform this action.' } }
  expect(await asViewer('POST', '/api/v1/integrations/', { type: 'webhook', name: 'v' })).toMatchObject(forbidden)
  expect(await asViewer('POST', '/api/v1/integrations/NONEXISTENT/maintenance_start', { mode: 'debug', duration: 60 })).toMatchObject(forbidden)
  expect(await asViewer('DELETE', '/api/v1/routes/NONEXISTENT/')).toMatchObject(forbidden)
})
