import { issueToken } from '../../db/tokens.repo'
import { caller, createOrg, organizationRows, startStack, type Stack } from '../../test/stack'

// The heartbeat timeout on /api/v1/integrations: a Tocsin extension (OnCall sets it through its internal API only),
// written on create and update, read back only with ?extended=true, so OnCall's integration object stays exact.

const ONCALL_KEYS = [
  'id',
  'name',
  'description_short',
  'team_id',
  'link',
  'inbound_email',
  'type',
  'default_route',
  'templates',
  'heartbeat',
  'maintenance_mode',
  'maintenance_started_at',
  'maintenance_end_at',
].sort()

let stack: Stack
let org: Awaited<ReturnType<typeof createOrg>>

beforeAll(async () => {
  stack = await startStack('heartbeat_settings', { worker: false })
  org = await createOrg(stack, 'Settings Co')
})
afterAll(() => stack.stop())

function storedIntegrations() {
  return stack.db.selectFrom('integrations').selectAll().where('organization_id', '=', org.organizationId).orderBy('pk').execute()
}

test("the timeout is written on create and update and read back only with ?extended=true; OnCall's object is unchanged", async () => {
  const created = await org.call('POST', '/api/v1/integrations/', { type: 'webhook', name: 'watched', heartbeat_timeout_seconds: 300 })
  expect(created.status).toBe(201)
  expect(Object.keys(created.body).sort()).toEqual(ONCALL_KEYS)
  const id = created.body.id as string
  expect((await org.call('GET', `/api/v1/integrations/${id}/`)).body).toEqual(created.body)
  expect((await org.call('GET', `/api/v1/integrations/${id}/?extended=true`)).body).toEqual({ ...created.body, heartbeat_timeout_seconds: 300 })
  const listed = (await org.call('GET', '/api/v1/integrations/?name=watched&extended=True')).body
  expect(listed.results).toEqual([{ ...created.body, heartbeat_timeout_seconds: 300 }])

  // DRF's ChoiceField takes a choice's digits as a string too; null turns the heartbeat off.
  expect((await org.call('PATCH', `/api/v1/integrations/${id}/?extended=1`, { heartbeat_timeout_seconds: '3600' })).body.heartbeat_timeout_seconds).toBe(3600)
  const off = await org.call('PUT', `/api/v1/integrations/${id}/?extended=true`, { heartbeat_timeout_seconds: null })
  expect(off.status).toBe(200)
  expect(off.body.heartbeat_timeout_seconds).toBeNull()
  const plain = await org.call('PUT', `/api/v1/integrations/${id}/`, { heartbeat_timeout_seconds: 86400 })
  expect(Object.keys(plain.body).sort()).toEqual(ONCALL_KEYS)
  // An update without the key leaves the timeout as it is.
  await org.call('PUT', `/api/v1/integrations/${id}/`, { name: 'watched again' })
  expect((await org.call('GET', `/api/v1/integrations/${id}/?extended=true`)).body).toMatchObject({ name: 'watched again', heartbeat_timeout_seconds: 86400 })
  // Every one of OnCall's choices is accepted.
  for (const seconds of [60, 120, 180, 300, 600, 900, 1800, 3600, 43200, 86400]) {
    expect((await org.call('PATCH', `/api/v1/integrations/${id}/?extended=true`, { heartbeat_timeout_seconds: seconds })).body.heartbeat_timeout_seconds).toBe(seconds)
  }
  expect((await org.call('POST', '/api/v1/integrations/?extended=true', { type: 'webhook', name: 'unwatched' })).body.heartbeat_timeout_seconds).toBeNull()
})

const HOSTILE: unknown[] = [
  0,
  7,
  -60,
  59,
  61,
  60.5,
  1e9,
  2 ** 53,
  -(2 ** 63),
  '',
  ' 60',
  '60 ',
  '060',
  '60.0',
  '6e1',
  '0x3c',
  'sixty',
  '60\u0000',
  'x'.repeat(100_000),
  true,
  false,
  [],
  [60],
  {},
  { seconds: 60 },
]

test.each(HOSTILE.map((value) => [JSON.stringify(value).slice(0, 40), value]))(
  'heartbeat_timeout_seconds %s is refused with a field error and nothing is written',
  async (_label, value) => {
    const before = { rows: await organizationRows(stack.db, org.organizationId), integrations: await storedIntegrations() }
    const created = await org.call('POST', '/api/v1/integrations/', { type: 'webhook', name: 'hostile', heartbeat_timeout_seconds: value })
    expect(created.status).toBe(400)
    expect(Object.keys(created.body)).toEqual(['heartbeat_timeout_seconds'])
    expect(created.body.heartbeat_timeout_seconds).toEqual([expect.any(String)])
    const target = before.integrations[0]?.id ?? (await org.call('POST', '/api/v1/integrations/', { type: 'webhook', name: 'target' })).body.id
    const baseline = { rows: await organizationRows(stack.db, org.organizationId), integrations: await storedIntegrations() }
    for (const method of ['PUT', 'PATCH']) {
      const updated = await org.call(method, `/api/v1/integrations/${target}/`, { name: 'renamed', heartbeat_timeout_seconds: value })
      expect(updated.status).toBe(400)
      expect(Object.keys(updated.body)).toEqual(['heartbeat_timeout_seconds'])
    }
    expect({ rows: await organizationRows(stack.db, org.organizationId), integrations: await storedIntegrations() }).toEqual(baseline)
  },
)

test("the texts are DRF's for a choice field", async () => {
  expect((await org.call('POST', '/api/v1/integrations/', { type: 'webhook', name: 'x', heartbeat_timeout_seconds: 7 })).body).toEqual({
    heartbeat_timeout_seconds: ['"7" is not a valid choice.'],
  })
  expect((await org.call('POST', '/api/v1/integrations/', { type: 'webhook', name: 'x', heartbeat_timeout_seconds: 'sixty' })).body).toEqual({
    heartbeat_timeout_seconds: ['"sixty" is not a valid choice.'],
  })
  expect((await org.call('GET', '/api/v1/integrations/?extended=maybe')).body).toEqual({ extended: ['Must be a valid boolean.'] })
  expect((await org.call('POST', '/api/v1/integrations/?extended=maybe', { type: 'webhook', name: 'y' })).status).toBe(400)
  expect((await stack.db.selectFrom('integrations').select('id').where('name', 'in', ['x', 'y']).execute()).length).toBe(0)
})

test('a viewer reads the extension but cannot write it', async () => {
  const { id } = (await org.call('POST', '/api/v1/integrations/', { type: 'webhook', name: 'guarded', heartbeat_timeout_seconds: 600 })).body
  const viewer = (await org.call('POST', '/api/v1/users/', { username: 'viewer', email: 'v@s.test', role: 'viewer' })).body
  const asViewer = caller(stack.baseUrl, await issueToken(stack.db, org.organizationId, viewer.id, 'viewer'))
  expect((await asViewer('GET', `/api/v1/integrations/${id}/?extended=true`)).body.heartbeat_timeout_seconds).toBe(600)
  expect((await asViewer('PUT', `/api/v1/integrations/${id}/`, { heartbeat_timeout_seconds: null })).status).toBe(403)
  expect((await org.call('GET', `/api/v1/integrations/${id}/?extended=true`)).body.heartbeat_timeout_seconds).toBe(600)
})

test('a heartbeat turned on is awaited from the next heartbeat, not from one recorded while it was off', async () => {
  const created = (await org.call('POST', '/api/v1/integrations/', { type: 'webhook', name: 'late starter' })).body
  const lastBeat = () =>
    stack.db.selectFrom('integrations').select('heartbeat_last_at').where('id', '=', created.id).executeTakeFirstOrThrow().then((r) => r.heartbeat_last_at)
  expect((await fetch(`${stack.baseUrl}${new URL(created.link).pathname}heartbeat/`)).status).toBe(200)
  expect(await lastBeat()).not.toBeNull()
  await org.call('PATCH', `/api/v1/integrations/${created.id}/`, { heartbeat_timeout_seconds: 60 })
  expect(await lastBeat()).toBeNull()
  expect((await fetch(`${stack.baseUrl}${new URL(created.link).pathname}heartbeat/`)).status).toBe(200)
  const recorded = await lastBeat()
  expect(recorded).not.toBeNull()
  // Changing a timeout that is on keeps the last heartbeat.
  await org.call('PATCH', `/api/v1/integrations/${created.id}/`, { heartbeat_timeout_seconds: 120 })
  expect(await lastBeat()).toBe(recorded)
})
