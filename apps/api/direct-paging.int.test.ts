import { execFile } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import { promisify } from 'node:util'
import { escalationStatusQuery } from '../../workflows/messages'
import { AlertGroupStateKey } from '../../workflows/search-attributes'
import { createOrg, eventually, recordingNotifier, startStack, temporalAddress, type Stack } from '../../test/stack'
import { temporalCliPath } from '../../test/temporal-dev-server'

const run = promisify(execFile)
const notifier = recordingNotifier()
let stack: Stack
let org: Awaited<ReturnType<typeof createOrg>>
let bob: { id: string }
let carol: { id: string }

beforeAll(async () => {
  stack = await startStack('direct_paging', { notifier })
  org = await createOrg(stack, 'Acme')
  bob = (await org.call('POST', '/api/v1/users/', { username: 'bob', email: 'bob@acme.test', role: 'editor' })).body
  carol = (await org.call('POST', '/api/v1/users/', { username: 'carol', email: 'carol@acme.test', role: 'viewer' })).body
})
afterAll(() => stack.stop())

async function ledgerRows(alertGroupId: string) {
  return stack.db
    .selectFrom('notifications')
    .selectAll()
    .where('alert_group_id', '=', alertGroupId)
    .orderBy('user_id')
    .execute()
}

async function page(body: unknown) {
  const response = await org.call('POST', '/api/v1/escalation/', body)
  expect(response.status).toBe(200)
  return response.body as { id: string; [key: string]: unknown }
}

test('pages two users, acknowledges and resolves through the API, and the workflow closes', async () => {
  const group = await page({
    title: 'We are seeing a network outage',
    message: 'Can you join?',
    source_url: 'https://github.com/acme/repo/issues/123',
    users: [
      { id: bob.id, important: false },
      { id: carol.id, important: true },
    ],
  })
  expect(Object.keys(group).sort()).toEqual(
    [
      'id', 'integration_id', 'team_id', 'route_id', 'alerts_count', 'state', 'created_at', 'resolved_at', 'resolved_by',
      'acknowledged_at', 'acknowledged_by', 'labels', 'title', 'permalinks', 'silenced_at', 'last_alert',
    ].sort(),
  )
  expect(group).toMatchObject({
    state: 'firing',
    alerts_count: 1,
    title: 'We are seeing a network outage',
    team_id: null,
    labels: [],
    resolved_at: null,
    acknowledged_at: null,
    silenced_at: null,
  })
  expect(group.id).toMatch(/^I[A-NP-Z1-9]{12}$/)
  expect(group.integration_id).toMatch(/^C[A-NP-Z1-9]{12}$/)
  expect(group.route_id).toMatch(/^R[A-NP-Z1-9]{12}$/)
  expect(group.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?Z$/)
  expect((group.permalinks as { web: string }).web).toBe(`http://grafana.test/a/grafana-oncall-app/alert-groups/${group.id}`)
  expect((group.last_alert as { payload: unknown }).payload).toMatchObject({
    oncall: { title: 'We are seeing a network outage', permalink: 'https://github.com/acme/repo/issues/123', important: false },
  })

  const rows = await eventually(async () => {
    const found = await ledgerRows(group.id)
    return found.length === 2 && found.every((r) => r.delivered_at !== null) ? found : undefined
  }, 20_000, 'two delivered ledger rows')
  expect(rows.map((r) => [r.user_id, r.important, r.step])).toEqual(
    [
      [bob.id, false, 'direct-page'],
      [carol.id, true, 'direct-page'],
    ].sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
  )

  const handle = stack.escalations.client.workflow.getHandle(`alert-group-${group.id}`)
  const description = await handle.describe()
  expect(description.memo).toMatchObject({ title: 'We are seeing a network outage' })
  expect(description.typedSearchAttributes.get(AlertGroupStateKey)).toBe('firing')

  expect((await org.call('POST', `/api/v1/alert_groups/${group.id}/acknowledge/`)).status).toBe(200)
  const acked = await org.call('GET', `/api/v1/alert_groups/${group.id}/`)
  expect(acked.body).toMatchObject({ state: 'acknowledged', acknowledged_by: org.adminUserId })
  const again = await org.call('POST', `/api/v1/alert_groups/${group.id}/acknowledge`)
  expect(again).toMatchObject({ status: 400, body: { detail: "Can't acknowledge an acknowledged alert group" } })
  expect((await handle.query(escalationStatusQuery)).state).toBe('acknowledged')

  const resolved = await org.call('POST', `/api/v1/alert_groups/${group.id}/resolve/`)
  expect(resolved.status).toBe(200)
  expect(resolved.text).toBe('')
  await handle.result()
  expect((await handle.describe()).status.name).toBe('COMPLETED')
  if (process.env.TOCSIN_RECORD_HISTORY) {
    // Refreshes the replay fixture: TOCSIN_RECORD_HISTORY=workflows/histories/<name>.json after a deliberate shape change.
    const shown = await run(temporalCliPath(), ['workflow', 'show', '--address', temporalAddress(), '-w', handle.workflowId, '--output', 'json'])
    writeFileSync(process.env.TOCSIN_RECORD_HISTORY, shown.stdout)
  }
  const after = await org.call('GET', `/api/v1/alert_groups/${group.id}`)
  expect(after.body).toMatchObject({ state: 'resolved', resolved_by: org.adminUserId })
  const ackResolved = await org.call('POST', `/api/v1/alert_groups/${group.id}/acknowledge/`)
  expect(ackResolved).toMatchObject({ status: 400, body: { detail: "Can't acknowledge an acknowledged alert group" } })
  expect(await org.call('POST', `/api/v1/alert_groups/${group.id}/resolve/`)).toMatchObject({
    status: 400,
    body: { detail: "Can't resolve a resolved alert group" },
  })

  const timeline = await org.call('GET', `/api/v1/alert_groups/${group.id}/timeline/`)
  expect(timeline.status).toBe(200)
  const events = timeline.body.events as Array<{ type: string; ledger_id?: string; actor: unknown; at: string }>
  expect(events.map((e) => e.type)).toEqual(['created', 'notification_plan', 'notification_plan', 'user_notified', 'user_notified', 'acknowledged', 'resolved'])
  expect(events.filter((e) => e.type === 'user_notified').map((e) => e.ledger_id).sort()).toEqual(rows.map((r) => r.id).sort())
  expect(events.find((e) => e.type === 'acknowledged')?.actor).toEqual({ kind: 'user', userId: org.adminUserId, username: 'admin' })
  expect([...events.map((e) => e.at)]).toEqual([...events.map((e) => e.at)].sort())
  expect(notifier.delivered.filter((d) => d.idempotencyKey.includes(group.id))).toHaveLength(2)
})

test('a generated title names the pager and the paged, and is HTML-escaped as OnCall stores it', async () => {
  const group = await page({ users: [{ id: bob.id, important: false }, { id: carol.id, important: false }] })
  expect(group.title).toBe('admin is paging bob and carol to join escalation')
  const escaped = await page({ title: '<b>Tom & Jerry\'s</b>', users: [{ id: bob.id, important: false }] })
  expect(escaped.title).toBe('&lt;b&gt;Tom &amp; Jerry&#x27;s&lt;/b&gt;')
})

test('alert_group_id adds responders to an open group and returns it', async () => {
  const group = await page({ users: [{ id: bob.id, important: false }] })
  const added = await org.call('POST', '/api/v1/escalation/', { alert_group_id: group.id, users: [{ id: carol.id, important: true }] })
  expect(added.status).toBe(200)
  expect(added.body.id).toBe(group.id)
  await eventually(async () => ((await ledgerRows(group.id)).length === 2 ? true : undefined), 20_000, 'responder paged')
  const carolRow = (await ledgerRows(group.id)).find((r) => r.user_id === carol.id)
  expect(carolRow).toMatchObject({ important: true, step: 'responders-1' })
})

test('the ops script acknowledges and resolves straight through Temporal, and the database follows', async () => {
  const group = await page({ users: [{ id: bob.id, important: false }] })
  const env = {
    ...process.env,
    TEMPORAL_ADDRESS: temporalAddress(),
    TEMPORAL_TASK_QUEUE: stack.taskQueue,
    DATABASE_URL: stack.dbUrl,
    TOCSIN_LOG_LEVEL: 'WARN',
  }
  const tsx = path.join(__dirname, '..', '..', 'node_modules', '.bin', 'tsx')
  const ops = path.join(__dirname, '..', 'cli', 'ops.ts')
  const ack = await run(tsx, [ops, 'ack', group.id], { env })
  expect(ack.stdout).toContain('acknowledge done')
  expect((await org.call('GET', `/api/v1/alert_groups/${group.id}/`)).body.state).toBe('acknowledged')
  await expect(run(tsx, [ops, 'ack', group.id], { env })).rejects.toMatchObject({
    stderr: expect.stringContaining("Can't acknowledge an acknowledged alert group"),
  })
  await run(tsx, [ops, 'resolve', group.id], { env })
  const resolved = (await org.call('GET', `/api/v1/alert_groups/${group.id}/`)).body
  expect(resolved).toMatchObject({ state: 'resolved', resolved_by: null })
  const timeline = (await org.call('GET', `/api/v1/alert_groups/${group.id}/timeline/`)).body.events
  expect(timeline.at(-1)).toMatchObject({ type: 'resolved', actor: { kind: 'ops' } })
  await expect(run(tsx, [ops, 'resolve', group.id], { env })).rejects.toMatchObject({
    stderr: expect.stringContaining("Can't resolve a resolved alert group"),
  })
}, 60_000)
