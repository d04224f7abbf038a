import { execFile } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type Server } from 'node:http'
import { promisify } from 'node:util'
import { createActivities } from '../activities'
import { createLogNotifier } from '../activities/notifications'
import { insertAlertGroup } from '../db/alert-groups.repo'
import { newPublicId } from '../db/ids'
import { ensureDirectPagingIntegration } from '../db/integrations.repo'
import { chainOf, escalate } from '../test/engine'
import { ALLOW_LOOPBACK, createOrg, eventually, recordingNotifier, startStack, temporalAddress, type Stack } from '../test/stack'
import { temporalCliPath } from '../test/temporal-dev-server'
import type { AlertGroupRecord } from './core/types'
import { alertGroupWorkflowId, escalationStatusQuery } from './messages'

// What the run's effects report: only pages actually sent count, lifecycle webhooks report the state their event
// produced, an incident belongs to the step that declared it, and effect timeline entries carry the decision's time.

const run = promisify(execFile)

interface Received {
  path: string
  at: number
  headers: IncomingMessage['headers']
  body: string
}
const received: Received[] = []
/** Milliseconds to hold each answer on a path, to tell "decided at" from "answered at". */
const delays: Record<string, number> = {}
const receiver: Server = createServer((req, res) => {
  let body = ''
  req.on('data', (chunk) => (body += chunk))
  req.on('end', () => {
    const path = req.url ?? ''
    received.push({ path, at: Date.now(), headers: req.headers, body })
    setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok": true}'), delays[path] ?? 0)
  })
})
const receiverUrl = (path: string) => `http://127.0.0.1:${(receiver.address() as { port: number }).port}${path}`
const hits = (path: string, groupId: string) => received.filter((r) => r.path === path && r.body.includes(groupId))

let stack: Stack
let org: Awaited<ReturnType<typeof createOrg>>
const users: Record<string, string> = {}

beforeAll(async () => {
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve))
  // The receiver listens on loopback, which outbound calls refuse unless allowed.
  stack = await startStack('effects', { notifier: recordingNotifier(), chatWebhookUrl: receiverUrl('/chat'), outboundAllow: ALLOW_LOOPBACK })
  org = await createOrg(stack, 'Effects Co')
  for (const name of ['alice', 'bob', 'gone']) {
    users[name] = (await org.call('POST', '/api/v1/users/', { username: name, email: `${name}@effects.test`, role: 'editor' })).body.id
  }
  await org.call('DELETE', `/api/v1/users/${users.gone}/`)
})
afterAll(async () => {
  await stack.stop()
  receiver.closeAllConnections()
  await new Promise((resolve) => receiver.close(resolve))
})

const handleOf = (groupId: string) => stack.escalations.client.workflow.getHandle(alertGroupWorkflowId(groupId))
const status = (groupId: string) => handleOf(groupId).query(escalationStatusQuery)

async function webhook(name: string, triggerType: string, path: string): Promise<string> {
  const hook = await org.call('POST', '/api/v1/webhooks/', { name: `${name}-${Date.now()}`, url: receiverUrl(path), http_method: 'POST', trigger_type: triggerType })
  expect(hook.status).toBe(201)
  return hook.body.id
}

/** Starts a group that pages `pages` directly, as POST /escalation/ does. */
async function directPage(pages: Array<{ userId: string; important: boolean }>): Promise<AlertGroupRecord> {
  const target = await ensureDirectPagingIntegration(stack.db, org.organizationId, null)
  const id = newPublicId('I')
  const record: AlertGroupRecord = {
    id,
    organizationId: org.organizationId,
    integrationId: target.integrationId,
    routeId: target.routeId,
    teamId: null,
    title: `effects ${id}`,
    message: null,
    sourceUrl: null,
    workflowId: alertGroupWorkflowId(id),
    createdAt: new Date().toISOString(),
    firstAlert: { id: newPublicId('A'), payload: {} },
  }
  await insertAlertGroup(stack.db, record)
  await stack.escalations.client.workflow.start('alertGroupWorkflow', {
    taskQueue: stack.taskQueue,
    workflowId: record.workflowId,
    args: [{ alertGroup: record, createdBy: null, directPages: pages, escalation: null }],
  })
  return record
}

async function timeline(groupId: string) {
  return stack.db.selectFrom('alert_group_events').select(['kind', 'at', 'detail']).where('alert_group_id', '=', groupId).orderBy('at').orderBy('id').execute()
}

test('a skipped page (user deleted) neither counts as sent nor fires the personal-notification webhook', async () => {
  const hookId = await webhook('personal', 'personal notification', '/personal')
  const group = await directPage([
    { userId: users.alice as string, important: false },
    { userId: users.gone as string, important: false },
  ])
  // Both pages settle, and every webhook they caused has been called, before the counts are read.
  await eventually(async () => ((await timeline(group.id)).some((e) => e.kind === 'notification_skipped') ? true : undefined))
  await eventually(async () => {
    const s = await status(group.id)
    return s.pendingNotifications === 0 && s.notificationsSent > 0 ? s : undefined
  })
  expect((await status(group.id)).notificationsSent).toBe(1)
  expect(hits('/personal', group.id)).toHaveLength(1)

  await org.call('POST', `/api/v1/alert_groups/${group.id}/resolve/`)
  await handleOf(group.id).result()
  if (process.env.TOCSIN_RECORD_HISTORY) {
    // Refreshes the replay fixture: TOCSIN_RECORD_HISTORY=workflows/histories/<name>.json after a deliberate shape change.
    const shown = await run(temporalCliPath(), ['workflow', 'show', '--address', temporalAddress(), '-w', handleOf(group.id).workflowId, '--output', 'json'])
    writeFileSync(process.env.TOCSIN_RECORD_HISTORY, shown.stdout)
  }
  await org.call('DELETE', `/api/v1/webhooks/${hookId}/`)
})

test('the acknowledge webhook reports the state the acknowledgement produced, even when a resolve follows at once', async () => {
  const hookId = await webhook('ack-state', 'acknowledge', '/ack-state')
  const group = await directPage([{ userId: users.bob as string, important: false }])
  await eventually(async () => ((await status(group.id)).notificationsSent === 1 ? true : undefined))
  expect((await org.call('POST', `/api/v1/alert_groups/${group.id}/acknowledge/`)).status).toBe(200)
  expect((await org.call('POST', `/api/v1/alert_groups/${group.id}/resolve/`)).status).toBe(200)
  const [hit] = await eventually(async () => (hits('/ack-state', group.id).length > 0 ? hits('/ack-state', group.id) : undefined))
  expect(JSON.parse(hit!.body).event).toMatchObject({ type: 'acknowledge', alert_group_state: 'acknowledged' })
  await org.call('DELETE', `/api/v1/webhooks/${hookId}/`)
})

test('a retried declaration from the step that declared the incident still reports it declared', async () => {
  const group = await directPage([])
  const activities = createActivities({ db: stack.db, notifier: createLogNotifier(() => undefined), renderTemplate: async (t) => t })
  const request = { organizationId: org.organizationId, alertGroupId: group.id, severity: 'critical', policyId: 'E1', idempotencyKey: `${group.workflowId}:r:0` }
  expect(await activities.declareIncident(request)).toEqual({ declared: true })
  expect(await activities.declareIncident(request)).toEqual({ declared: true }) // the retry after a committed insert
  expect(await activities.declareIncident({ ...request, idempotencyKey: `${group.workflowId}:r:7` })).toEqual({ declared: false })
  await org.call('POST', `/api/v1/alert_groups/${group.id}/resolve/`)
})

test('webhook, channel and incident entries carry the time the step was decided, not when their call returned', async () => {
  delays['/slow'] = 1500
  delays['/chat'] = 1500
  await webhook('slow', 'escalation', '/slow')
  const hooks = await org.call('GET', '/api/v1/webhooks/')
  const slowId = hooks.body.results.find((h: { url: string }) => h.url === receiverUrl('/slow')).id
  const chainId = await chainOf(stack, org.call, [
    { type: 'trigger_webhook', action_to_trigger: slowId },
    { type: 'notify_whole_channel' },
    { type: 'declare_incident', severity: 'major' },
  ])
  const group = await escalate(stack, org.organizationId, chainId)
  const events = await eventually(async () => {
    const found = await timeline(group.id)
    const kinds = new Set(found.map((e) => e.kind))
    return kinds.has('webhook_triggered') && kinds.has('channel_notified') && kinds.has('incident_declared') ? found : undefined
  })
  const at = (kind: string) => Date.parse(events.find((e) => e.kind === kind)!.at.replace(' ', 'T').replace(/\+00(:00)?$/, 'Z'))
  const requested = (path: string) => received.find((r) => r.path === path && r.body.includes(group.id))!.at
  // Decided before the receiver even got the call, so well before the delayed answer came back.
  expect(at('webhook_triggered')).toBeLessThanOrEqual(requested('/slow'))
  expect(at('channel_notified')).toBeLessThanOrEqual(requested('/chat'))
  // The three steps fired in one decision: their entries are 1 ms apart, in step order.
  expect([at('channel_notified') - at('webhook_triggered'), at('incident_declared') - at('channel_notified')]).toEqual([1, 1])
  await org.call('POST', `/api/v1/alert_groups/${group.id}/resolve/`)
})

test('resolving an acknowledged group fires the resolve webhook: effects started by the last update finish before the run ends', async () => {
  const hookId = await webhook('resolve', 'resolve', '/resolve')
  const group = await directPage([{ userId: users.bob as string, important: false }])
  await eventually(async () => ((await status(group.id)).notificationsSent === 1 ? true : undefined))
  expect((await org.call('POST', `/api/v1/alert_groups/${group.id}/acknowledge/`)).status).toBe(200)
  expect((await org.call('POST', `/api/v1/alert_groups/${group.id}/resolve/`)).status).toBe(200)
  await handleOf(group.id).result()
  if (process.env.TOCSIN_RECORD_HISTORY) {
    const shown = await run(temporalCliPath(), ['workflow', 'show', '--address', temporalAddress(), '-w', handleOf(group.id).workflowId, '--output', 'json'])
    writeFileSync(process.env.TOCSIN_RECORD_HISTORY, shown.stdout)
  }
  const [hit] = await eventually(async () => (hits('/resolve', group.id).length > 0 ? hits('/resolve', group.id) : undefined))
  expect(JSON.parse(hit!.body).event).toMatchObject({ type: 'resolve', alert_group_state: 'resolved' })
  await org.call('DELETE', `/api/v1/webhooks/${hookId}/`)
})

test('each personal-notification webhook names the user it was for and the channel, once per page', async () => {
  const forwarded = await webhook('personal-who', 'personal notification', '/personal-who')
  const templated = await org.call('POST', '/api/v1/webhooks/', {
    name: `personal-templated-${Date.now()}`,
    url: receiverUrl('/personal-templated'),
    http_method: 'POST',
    trigger_type: 'personal notification',
    forward_all: false,
    data: '{"group": "{{ alert_group_id }}", "id": "{{ event.user.id }}", "username": "{{ event.user.username }}", "email": "{{ event.user.email }}", "channel": "{{ event.channel }}"}',
  })
  expect(templated.status).toBe(201)
  const group = await directPage([
    { userId: users.alice as string, important: false },
    { userId: users.bob as string, important: true },
  ])
  await eventually(async () => ((await status(group.id)).notificationsSent === 2 ? true : undefined))
  // The run ends only once every effect it started has finished, so every webhook call has been made by then.
  await org.call('POST', `/api/v1/alert_groups/${group.id}/resolve/`)
  await handleOf(group.id).result()

  const alice = { id: users.alice, username: 'alice', email: 'alice@effects.test' }
  const bob = { id: users.bob, username: 'bob', email: 'bob@effects.test' }
  const byUsername = (a: { username: string }, b: { username: string }) => a.username.localeCompare(b.username)
  const forwardedEvents = hits('/personal-who', group.id).map((hit) => JSON.parse(hit.body).event)
  expect(forwardedEvents.map((event) => event.user).sort(byUsername)).toEqual([alice, bob])
  for (const event of forwardedEvents) expect(event).toMatchObject({ type: 'personal notification', channel: 'test' })
  const templatedBodies = hits('/personal-templated', group.id).map((hit) => JSON.parse(hit.body))
  expect(templatedBodies.sort(byUsername)).toEqual([
    { group: group.id, ...alice, channel: 'test' },
    { group: group.id, ...bob, channel: 'test' },
  ])
  await org.call('DELETE', `/api/v1/webhooks/${forwarded}/`)
  await org.call('DELETE', `/api/v1/webhooks/${templated.body.id}/`)
})

test('a page costs one local activity per decision: the first task records the group and plans the page in one, a step resolves and plans in one, and the page names its webhooks', async () => {
  const hookId = await webhook('personal-shape', 'personal notification', '/personal-shape')
  const chain = await chainOf(stack, org.call, [{ type: 'notify_persons', persons_to_notify: [users.alice] }])
  const group = await escalate(stack, org.organizationId, chain)
  await eventually(async () => (hits('/personal-shape', group.id).length === 1 ? true : undefined))
  await org.call('POST', `/api/v1/alert_groups/${group.id}/resolve/`)
  await handleOf(group.id).result()

  const localActivities: string[] = []
  for (const event of (await handleOf(group.id).fetchHistory()).events ?? []) {
    const marker = event.markerRecordedEventAttributes
    if (marker?.markerName !== 'core_local_activity') continue
    const data = marker.details?.data?.payloads?.[0]?.data
    localActivities.push((JSON.parse(Buffer.from(data as Uint8Array).toString('utf8')) as { activity_type: string }).activity_type)
  }
  // No lookups of webhooks by the run itself: the record's and the page's activities name them. (Steps that only
  // log, such as the end of the chain, write their timeline entry on their own.)
  expect(localActivities.filter((type) => type !== 'recordTimeline')).toEqual(['openAlertGroup', 'planStepPage'])
  expect(hits('/personal-shape', group.id)).toHaveLength(1)
  await org.call('DELETE', `/api/v1/webhooks/${hookId}/`)
})
