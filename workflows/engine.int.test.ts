import { execFile } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type Server } from 'node:http'
import { promisify } from 'node:util'
import { createTeam } from '../db/teams.repo'
import { chainOf, escalate, ledger, sleep, timelineKinds } from '../test/engine'
import { ALLOW_LOOPBACK, createOrg, eventually, recordingNotifier, startStack, temporalAddress, type Stack } from '../test/stack'
import { temporalCliPath } from '../test/temporal-dev-server'

const run = promisify(execFile)
import { escalationStatusQuery, newAlertSignal } from './messages'

// The escalation engine on the real Temporal dev server and PostgreSQL, one OnCall behaviour per test, with
// second-scale waits.

interface Received {
  path: string
  headers: IncomingMessage['headers']
  body: string
}
const received: Received[] = []
let answers: number[] = [] // status codes to answer in turn; 200 once exhausted
const receiver: Server = createServer((req, res) => {
  let body = ''
  req.on('data', (chunk) => (body += chunk))
  req.on('end', () => {
    received.push({ path: req.url ?? '', headers: req.headers, body })
    res.writeHead(answers.shift() ?? 200, { 'content-type': 'application/json' }).end('{"ok": true}')
  })
})
const receiverUrl = (path: string) => `http://127.0.0.1:${(receiver.address() as { port: number }).port}${path}`

const notifier = recordingNotifier()
let stack: Stack
let org: Awaited<ReturnType<typeof createOrg>>
const users: Record<string, string> = {}

beforeAll(async () => {
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve))
  // The receiver listens on loopback, which outbound calls refuse unless allowed.
  stack = await startStack('engine', { notifier, chatWebhookUrl: receiverUrl('/chat'), outboundAllow: ALLOW_LOOPBACK })
  org = await createOrg(stack, 'Engine Co')
  for (const name of ['alice', 'bob', 'carol', 'dave']) {
    users[name] = (await org.call('POST', '/api/v1/users/', { username: name, email: `${name}@engine.test`, role: 'editor' })).body.id
  }
})
afterAll(async () => {
  await stack.stop()
  receiver.closeAllConnections()
  await new Promise((resolve) => receiver.close(resolve))
})

const notifyPersons = (...names: string[]) => ({ type: 'notify_persons', persons_to_notify: names.map((n) => users[n]) })
const wait = (seconds: number) => ({ type: 'wait', seconds })
const paged = async (groupId: string) => (await ledger(stack, groupId)).map((row) => Object.entries(users).find(([, id]) => id === row.user_id)?.[0])
const handleOf = (groupId: string) => stack.escalations.client.workflow.getHandle(`alert-group-${groupId}`)
const status = (groupId: string) => handleOf(groupId).query(escalationStatusQuery)

async function pagedExactly(groupId: string, expected: string[], timeoutMs = 20_000) {
  await eventually(async () => ((await paged(groupId)).length >= expected.length ? true : undefined), timeoutMs, `pages ${expected}`)
  expect(await paged(groupId)).toEqual(expected)
}

/** Steps that fire together page in parallel: compare those pages as a set, after the ones before them. */
async function pagedTogether(groupId: string, before: string[], together: string[], timeoutMs = 20_000) {
  const total = before.length + together.length
  await eventually(async () => ((await paged(groupId)).length >= total ? true : undefined), timeoutMs, `pages ${together}`)
  const all = await paged(groupId)
  expect(all).toHaveLength(total)
  expect(all.slice(0, before.length)).toEqual(before)
  expect([...all.slice(before.length)].sort()).toEqual([...together].sort())
}

test('steps fire in order: consecutive steps together, a wait as a timer on schedule', async () => {
  const chainId = await chainOf(stack, org.call, [notifyPersons('alice'), notifyPersons('bob'), wait(2), notifyPersons('carol')])
  const group = await escalate(stack, org.organizationId, chainId)
  await pagedTogether(group.id, [], ['alice', 'bob'])
  expect((await status(group.id)).currentStep).toMatchObject({ index: 3, type: 'notify_persons' })
  await eventually(async () => ((await paged(group.id)).length === 3 ? true : undefined), 20_000, 'the page after the wait')
  const pages = await paged(group.id)
  expect([pages.slice(0, 2).sort(), pages[2]]).toEqual([['alice', 'bob'], 'carol'])
  const rows = await ledger(stack, group.id)
  const gap = Date.parse(rows[2]!.created_at.replace(' ', 'T').replace('+00', 'Z')) - Date.parse(group.createdAt)
  expect(gap).toBeGreaterThanOrEqual(2000)
  await eventually(async () => ((await timelineKinds(stack, group.id)).includes('escalation_finished') ? true : undefined))
  expect((await status(group.id)).finished).toBe(true)
  // Every notification is in the ledger once, under a key derived from the workflow and the step.
  expect(new Set(rows.map((r) => r.idempotency_key)).size).toBe(3)
  expect(rows.every((r) => r.idempotency_key.startsWith(`alert-group-${group.id}:`))).toBe(true)
})

test('acknowledge stops the escalation; unacknowledge restarts it from step 1', async () => {
  const chainId = await chainOf(stack, org.call, [notifyPersons('alice'), wait(3), notifyPersons('bob')])
  const group = await escalate(stack, org.organizationId, chainId)
  await pagedExactly(group.id, ['alice'])
  expect((await org.call('POST', `/api/v1/alert_groups/${group.id}/acknowledge/`)).status).toBe(200)
  await sleep(4000)
  expect(await paged(group.id)).toEqual(['alice'])
  expect((await org.call('POST', `/api/v1/alert_groups/${group.id}/unacknowledge/`)).status).toBe(200)
  expect((await org.call('GET', `/api/v1/alert_groups/${group.id}/`)).body.state).toBe('firing')
  await pagedExactly(group.id, ['alice', 'alice'])
  await pagedExactly(group.id, ['alice', 'alice', 'bob'])
  expect((await status(group.id)).restarts).toBe(1)
  expect(await org.call('POST', `/api/v1/alert_groups/${group.id}/unacknowledge/`)).toMatchObject({
    status: 400,
    body: { detail: "Can't unacknowledge an unacknowledged alert group" },
  })
  expect((await org.call('POST', `/api/v1/alert_groups/${group.id}/resolve/`)).status).toBe(200)
  await handleOf(group.id).result()
  if (process.env.TOCSIN_RECORD_HISTORY) {
    // Refreshes the replay fixture after a deliberate shape change (see README, Development notes).
    const shown = await run(temporalCliPath(), ['workflow', 'show', '--address', temporalAddress(), '-w', `alert-group-${group.id}`, '--output', 'json'])
    writeFileSync(process.env.TOCSIN_RECORD_HISTORY, shown.stdout)
  }
})

test('repeat runs the chain 6 times in all, then the steps after it', async () => {
  const chainId = await chainOf(stack, org.call, [notifyPersons('alice'), wait(1), { type: 'repeat_escalation' }, notifyPersons('bob')])
  const group = await escalate(stack, org.organizationId, chainId)
  await pagedExactly(group.id, [...Array(6).fill('alice'), 'bob'], 30_000)
  const kinds = await timelineKinds(stack, group.id)
  expect(kinds.filter((k) => k === 'escalation_repeated')).toHaveLength(5)
  expect(kinds).toContain('escalation_finished')
  expect((await status(group.id)).finished).toBe(true)
})

test('the resolve step resolves the group; later steps never run', async () => {
  const chainId = await chainOf(stack, org.call, [{ type: 'resolve' }, notifyPersons('alice')])
  const group = await escalate(stack, org.organizationId, chainId)
  await handleOf(group.id).result()
  const stored = (await org.call('GET', `/api/v1/alert_groups/${group.id}/`)).body
  expect(stored).toMatchObject({ state: 'resolved', resolved_by: null })
  expect(await paged(group.id)).toEqual([])
  const timeline = (await org.call('GET', `/api/v1/alert_groups/${group.id}/timeline/`)).body.events
  expect(timeline.find((e: { type: string }) => e.type === 'resolved').actor).toEqual({ kind: 'system' })
})

test('a route without a chain escalates nothing; an empty chain finishes at once', async () => {
  const none = await escalate(stack, org.organizationId, null)
  await eventually(async () => ((await timelineKinds(stack, none.id)).includes('created') ? true : undefined))
  expect((await status(none.id)).finished).toBe(true)
  const empty = await escalate(stack, org.organizationId, await chainOf(stack, org.call, []))
  await eventually(async () => ((await timelineKinds(stack, empty.id)).includes('escalation_finished') ? true : undefined))
  expect(await paged(empty.id)).toEqual([])
})

test('notify_if_num_alerts_in_window pauses until enough alerts arrive', async () => {
  const chainId = await chainOf(stack, org.call, [{ type: 'notify_if_num_alerts_in_window', num_alerts_in_window: 2, num_minutes_in_window: 1 }, notifyPersons('dave')])
  const group = await escalate(stack, org.organizationId, chainId)
  await eventually(async () => ((await status(group.id)).paused ? true : undefined))
  const handle = handleOf(group.id)
  await handle.signal(newAlertSignal, { alertId: 'A-second', receivedAt: new Date().toISOString() })
  await handle.signal(newAlertSignal, { alertId: 'A-second', receivedAt: new Date().toISOString() }) // a redelivery
  await sleep(1000)
  expect(await paged(group.id)).toEqual([])
  expect(await status(group.id)).toMatchObject({ paused: true, alertsCount: 2 })
  await handle.signal(newAlertSignal, { alertId: 'A-third', receivedAt: new Date().toISOString() })
  await pagedExactly(group.id, ['dave'])
  expect((await timelineKinds(stack, group.id)).filter((k) => k === 'escalation_paused')).toHaveLength(1)
})

test('notify_if_time_from_to waits for its UTC window, then continues', async () => {
  const hhmmss = (d: Date) => `${d.toISOString().slice(11, 19)}Z`
  const opens = new Date(Math.ceil((Date.now() + 3000) / 1000) * 1000)
  const closes = new Date(opens.getTime() + 3600_000)
  const chainId = await chainOf(stack, org.call, [
    { type: 'notify_if_time_from_to', notify_if_time_from: hhmmss(opens), notify_if_time_to: hhmmss(closes) },
    notifyPersons('carol'),
  ])
  const group = await escalate(stack, org.organizationId, chainId)
  await eventually(async () => ((await status(group.id)).nextWakeAt ? true : undefined))
  expect((await status(group.id)).nextWakeAt).toBe(opens.toISOString())
  expect(await paged(group.id)).toEqual([])
  await pagedExactly(group.id, ['carol'])
  const [row] = await ledger(stack, group.id)
  expect(Date.parse(row!.created_at.replace(' ', 'T').replace('+00', 'Z'))).toBeGreaterThanOrEqual(opens.getTime())
})

test('round-robin pages the next person each time, across alert groups', async () => {
  const chainId = await chainOf(stack, org.call, [
    { type: 'notify_person_next_each_time', persons_to_notify_next_each_time: [users.bob, users.alice, users.carol] },
  ])
  const picks: string[] = []
  for (let i = 0; i < 4; i++) {
    const group = await escalate(stack, org.organizationId, chainId)
    await eventually(async () => ((await paged(group.id)).length === 1 ? true : undefined))
    picks.push((await paged(group.id))[0] as string)
  }
  expect(picks).toEqual(['bob', 'alice', 'carol', 'bob'])
})

test('team members and user group members are read live when the step runs', async () => {
  const team = await createTeam(stack.db, org.organizationId, { name: `Team ${Date.now()}`, email: null, avatarUrl: null })
  await org.call('PATCH', `/api/v1/users/${users.carol}/`, { teams: [team.id] })
  const group = await org.call('POST', '/api/v1/user_groups/', { name: 'DBAs', handle: `dba-${Date.now()}`, members: [users.dave] })
  expect(group.status).toBe(201)
  const chainId = await chainOf(stack, org.call, [
    { type: 'notify_team_members', team_to_notify: team.id },
    { type: 'notify_user_group', group_to_notify: group.body.id, important: true },
  ])
  const alertGroup = await escalate(stack, org.organizationId, chainId)
  await pagedTogether(alertGroup.id, [], ['carol', 'dave'])
  const rows = await ledger(stack, alertGroup.id)
  expect(Object.fromEntries(rows.map((r) => [r.user_id, r.important]))).toEqual({ [users.carol!]: false, [users.dave!]: true })
})

test('a deleted user is dropped silently; an empty step is skipped with a reason', async () => {
  const temp = (await org.call('POST', '/api/v1/users/', { username: `temp${Date.now()}`, email: 't@engine.test' })).body.id
  const chainId = await chainOf(stack, org.call, [{ type: 'notify_persons', persons_to_notify: [users.alice, temp] }, notifyPersons()])
  expect((await org.call('DELETE', `/api/v1/users/${temp}/`)).status).toBe(204)
  const group = await escalate(stack, org.organizationId, chainId)
  await pagedExactly(group.id, ['alice'])
  await eventually(async () => ((await timelineKinds(stack, group.id)).includes('escalation_finished') ? true : undefined))
  expect(await timelineKinds(stack, group.id)).toContain('step_skipped')
})

test('silence pauses the escalation; its end restarts it from step 1; silence forever stays', async () => {
  const chainId = await chainOf(stack, org.call, [notifyPersons('alice'), wait(3), notifyPersons('bob')])
  const group = await escalate(stack, org.organizationId, chainId)
  await pagedExactly(group.id, ['alice'])
  expect(await org.call('POST', `/api/v1/alert_groups/${group.id}/silence/`, {})).toMatchObject({ status: 400, body: { detail: 'delay is required' } })
  expect(await org.call('POST', `/api/v1/alert_groups/${group.id}/silence/`, { delay: -2 })).toMatchObject({ status: 400, body: { detail: 'invalid delay value' } })
  expect(await org.call('POST', `/api/v1/alert_groups/${group.id}/silence/`, { delay: 'fuzz' })).toMatchObject({ status: 400, body: { detail: 'invalid delay value' } })
  expect((await org.call('POST', `/api/v1/alert_groups/${group.id}/silence/`, { delay: 2 })).status).toBe(200)
  expect((await org.call('GET', `/api/v1/alert_groups/${group.id}/`)).body.state).toBe('silenced')
  await pagedExactly(group.id, ['alice', 'alice'], 20_000)
  expect((await org.call('GET', `/api/v1/alert_groups/${group.id}/`)).body.state).toBe('firing')
  const kinds = await timelineKinds(stack, group.id)
  expect(kinds.filter((k) => k === 'unsilenced')).toHaveLength(1)

  expect((await org.call('POST', `/api/v1/alert_groups/${group.id}/silence/`, { delay: -1 })).status).toBe(200)
  await sleep(4000)
  expect(await paged(group.id)).toEqual(['alice', 'alice'])
  expect((await org.call('POST', `/api/v1/alert_groups/${group.id}/unsilence/`)).status).toBe(200)
  await pagedExactly(group.id, ['alice', 'alice', 'alice'])
  expect((await org.call('POST', `/api/v1/alert_groups/${group.id}/acknowledge/`)).status).toBe(200)
  expect(await org.call('POST', `/api/v1/alert_groups/${group.id}/silence/`, { delay: 60 })).toMatchObject({
    status: 400,
    body: { detail: "Can't silence an acknowledged alert group" },
  })
  expect(await org.call('POST', `/api/v1/alert_groups/${group.id}/unsilence/`)).toMatchObject({
    status: 400,
    body: { detail: "Can't unsilence an unsilenced alert group" },
  })
})

test('unresolve starts a new run that escalates again from step 1 with a fresh snapshot', async () => {
  const chainId = await chainOf(stack, org.call, [notifyPersons('alice')])
  const group = await escalate(stack, org.organizationId, chainId)
  await pagedExactly(group.id, ['alice'])
  expect(await org.call('POST', `/api/v1/alert_groups/${group.id}/unresolve/`)).toMatchObject({
    status: 400,
    body: { detail: "Can't unresolve an unresolved alert group" },
  })
  expect((await org.call('POST', `/api/v1/alert_groups/${group.id}/resolve/`)).status).toBe(200)
  await handleOf(group.id).result()
  // The chain changes meanwhile: the new run takes the route's current chain.
  await org.call('POST', '/api/v1/escalation_policies/', { escalation_chain_id: chainId, ...notifyPersons('bob') })
  expect((await org.call('POST', `/api/v1/alert_groups/${group.id}/unresolve/`)).status).toBe(200)
  expect((await org.call('GET', `/api/v1/alert_groups/${group.id}/`)).body).toMatchObject({ state: 'firing', resolved_at: null })
  await pagedTogether(group.id, ['alice'], ['alice', 'bob'])
  expect((await timelineKinds(stack, group.id)).filter((k) => k === 'unresolved')).toHaveLength(1)
})

test('a chain edited mid-escalation does not change the running escalation', async () => {
  const chainId = await chainOf(stack, org.call, [notifyPersons('alice'), wait(2), notifyPersons('bob')])
  const group = await escalate(stack, org.organizationId, chainId)
  await pagedExactly(group.id, ['alice'])
  const policies = (await org.call('GET', `/api/v1/escalation_policies/?escalation_chain_id=${chainId}`)).body.results
  await org.call('PUT', `/api/v1/escalation_policies/${policies[2].id}/`, { persons_to_notify: [users.carol] })
  await pagedExactly(group.id, ['alice', 'bob'])
})

test('trigger_webhook calls the webhook with an idempotency key, retries a 5xx, records every response', async () => {
  const webhook = await org.call('POST', '/api/v1/webhooks/', {
    name: `escalation-hook-${Date.now()}`,
    url: receiverUrl('/hook'),
    http_method: 'POST',
    trigger_type: 'escalation',
    forward_all: false,
    data: '{"group": "{{ alert_group_id }}", "event": "{{ event.type }}"}',
  })
  expect(webhook.status).toBe(201)
  answers = [503]
  const chainId = await chainOf(stack, org.call, [{ type: 'trigger_webhook', action_to_trigger: webhook.body.id }, notifyPersons('alice')])
  const group = await escalate(stack, org.organizationId, chainId)
  // The step does not wait for the webhook: the next step pages at once.
  await pagedExactly(group.id, ['alice'])
  const hits = await eventually(async () => {
    const found = received.filter((r) => r.path === '/hook' && r.body.includes(group.id))
    return found.length >= 2 ? found : undefined
  }, 30_000, 'the retried webhook')
  expect(hits.map((h) => h.headers['idempotency-key'])).toEqual([hits[0]!.headers['idempotency-key'], hits[0]!.headers['idempotency-key']])
  expect(JSON.parse(hits[1]!.body)).toEqual({ group: group.id, event: 'escalation' })
  const responses = await eventually(async () => {
    const r = await org.call('GET', `/api/v1/webhooks/${webhook.body.id}/responses/`)
    return r.body.count >= 2 ? r.body.results : undefined
  })
  expect(responses.map((r: { status_code: number }) => r.status_code).sort()).toEqual([200, 503])
  await eventually(async () => ((await timelineKinds(stack, group.id)).includes('webhook_triggered') ? true : undefined))
})

test('lifecycle webhooks fire once per event from the workflow', async () => {
  const hook = await org.call('POST', '/api/v1/webhooks/', {
    name: `ack-hook-${Date.now()}`,
    url: receiverUrl('/ack'),
    http_method: 'POST',
    trigger_type: 'acknowledge',
  })
  expect(hook.status).toBe(201)
  const chainId = await chainOf(stack, org.call, [notifyPersons('alice')])
  const group = await escalate(stack, org.organizationId, chainId)
  await pagedExactly(group.id, ['alice'])
  await org.call('POST', `/api/v1/alert_groups/${group.id}/acknowledge/`)
  await eventually(async () => (received.some((r) => r.path === '/ack' && r.body.includes(group.id)) ? true : undefined))
  await sleep(1500)
  expect(received.filter((r) => r.path === '/ack' && r.body.includes(group.id))).toHaveLength(1)
  await org.call('DELETE', `/api/v1/webhooks/${hook.body.id}/`)
})

test('declare_incident records one incident per alert group, even when the chain repeats', async () => {
  const chainId = await chainOf(stack, org.call, [{ type: 'declare_incident', severity: 'critical' }, wait(1), { type: 'repeat_escalation' }])
  const group = await escalate(stack, org.organizationId, chainId)
  await eventually(async () => ((await timelineKinds(stack, group.id)).includes('escalation_finished') ? true : undefined), 20_000)
  const incident = await org.call('GET', `/api/v1/alert_groups/${group.id}/incident/`)
  expect(incident).toMatchObject({ status: 200, body: { alert_group_id: group.id, severity: 'critical' } })
  const kinds = await timelineKinds(stack, group.id)
  expect(kinds.filter((k) => k === 'incident_declared')).toHaveLength(1)
  expect(kinds.filter((k) => k === 'step_skipped')).toHaveLength(5)
})

test('notify_whole_channel posts to the chat webhook once', async () => {
  const chainId = await chainOf(stack, org.call, [{ type: 'notify_whole_channel' }])
  const group = await escalate(stack, org.organizationId, chainId)
  await eventually(async () => (received.some((r) => r.path === '/chat' && r.body.includes(group.id)) ? true : undefined))
  await eventually(async () => ((await timelineKinds(stack, group.id)).includes('channel_notified') ? true : undefined))
  expect(received.filter((r) => r.path === '/chat' && r.body.includes(group.id))).toHaveLength(1)
})

test('a long escalation continues as new and loses nothing', async () => {
  const chainId = await chainOf(stack, org.call, [notifyPersons('bob'), wait(1), { type: 'repeat_escalation' }])
  const group = await escalate(stack, org.organizationId, chainId, { historyLimit: 40 })
  const handle = handleOf(group.id)
  const firstRun = (await handle.describe()).runId
  await pagedExactly(group.id, Array(6).fill('bob'), 30_000)
  await eventually(async () => ((await status(group.id)).finished ? true : undefined))
  const described = await handle.describe()
  expect(described.runId).not.toBe(firstRun)
  expect(await status(group.id)).toMatchObject({ notificationsSent: 6, alertsCount: 1, finished: true })
  expect((await org.call('GET', `/api/v1/alert_groups/${group.id}/escalation/`)).body).toMatchObject({ running: true, finished: true })
  expect((await org.call('POST', `/api/v1/alert_groups/${group.id}/resolve/`)).status).toBe(200)
})

test('un-acknowledging a paused escalation resumes its paused step instead of starting over', async () => {
  const chainId = await chainOf(stack, org.call, [
    notifyPersons('alice'),
    { type: 'notify_if_num_alerts_in_window', num_alerts_in_window: 5, num_minutes_in_window: 1 },
    notifyPersons('bob'),
  ])
  const group = await escalate(stack, org.organizationId, chainId)
  await pagedExactly(group.id, ['alice'])
  await eventually(async () => ((await status(group.id)).paused ? true : undefined))
  expect((await org.call('POST', `/api/v1/alert_groups/${group.id}/acknowledge/`)).status).toBe(200)
  expect((await org.call('POST', `/api/v1/alert_groups/${group.id}/unacknowledge/`)).status).toBe(200)
  await sleep(1500)
  expect(await paged(group.id)).toEqual(['alice'])
  expect(await status(group.id)).toMatchObject({ paused: true, currentStep: { index: 1, type: 'notify_if_num_alerts_in_window' } })
})

test('re-silencing replaces the first silence: only the newest end restarts the escalation', async () => {
  const chainId = await chainOf(stack, org.call, [notifyPersons('carol')])
  const group = await escalate(stack, org.organizationId, chainId)
  await pagedExactly(group.id, ['carol'])
  expect((await org.call('POST', `/api/v1/alert_groups/${group.id}/silence/`, { delay: 2 })).status).toBe(200)
  expect((await org.call('POST', `/api/v1/alert_groups/${group.id}/silence/`, { delay: 5 })).status).toBe(200)
  await sleep(3500)
  expect(await paged(group.id)).toEqual(['carol'])
  expect((await org.call('GET', `/api/v1/alert_groups/${group.id}/`)).body.state).toBe('silenced')
  await pagedExactly(group.id, ['carol', 'carol'], 20_000)
  expect((await timelineKinds(stack, group.id)).filter((k) => k === 'unsilenced')).toHaveLength(1)
})

test('a disabled webhook is skipped with a reason and the escalation goes on', async () => {
  const hook = await org.call('POST', '/api/v1/webhooks/', {
    name: `disabled-${Date.now()}`,
    url: receiverUrl('/disabled'),
    http_method: 'POST',
    trigger_type: 'escalation',
    is_webhook_enabled: false,
  })
  expect(hook.status).toBe(201)
  const chainId = await chainOf(stack, org.call, [{ type: 'trigger_webhook', action_to_trigger: hook.body.id }, notifyPersons('dave')])
  const group = await escalate(stack, org.organizationId, chainId)
  await pagedExactly(group.id, ['dave'])
  const events = await eventually(async () => {
    const found = (await org.call('GET', `/api/v1/alert_groups/${group.id}/timeline/`)).body.events
    return found.some((e: { type: string }) => e.type === 'step_skipped') ? found : undefined
  })
  expect(events.find((e: { type: string }) => e.type === 'step_skipped')).toMatchObject({ reason: 'the webhook is disabled' })
  expect(received.some((r) => r.path === '/disabled')).toBe(false)
})

test('DELETE stops the escalation and wipes or deletes the group', async () => {
  const chainId = await chainOf(stack, org.call, [notifyPersons('alice'), wait(2), notifyPersons('bob')])
  const group = await escalate(stack, org.organizationId, chainId)
  await pagedExactly(group.id, ['alice'])
  expect(await org.call('DELETE', `/api/v1/alert_groups/${group.id}/`, { mode: 'random' })).toMatchObject({ status: 400, body: 'Invalid mode' })
  expect(await org.call('DELETE', `/api/v1/alert_groups/${group.id}/`, '"delete"')).toMatchObject({
    status: 400,
    body: 'A dict with a `mode` key is expected',
  })
  expect((await org.call('DELETE', `/api/v1/alert_groups/${group.id}/`)).status).toBe(204)
  await handleOf(group.id).result()
  const wiped = (await org.call('GET', `/api/v1/alert_groups/${group.id}/`)).body
  expect(wiped).toMatchObject({ state: 'resolved', title: null })
  await sleep(2500)
  expect(await paged(group.id)).toEqual(['alice'])
  expect((await org.call('DELETE', `/api/v1/alert_groups/${group.id}/`, { mode: 'delete' })).status).toBe(204)
  expect((await org.call('GET', `/api/v1/alert_groups/${group.id}/`)).status).toBe(404)
})

describe('schedule steps read who is on call when they run', () => {
  const naive = (d: Date) => d.toISOString().slice(0, 19)
  async function shift(body: Record<string, unknown>): Promise<string> {
    const created = await org.call('POST', '/api/v1/on_call_shifts/', { time_zone: 'UTC', ...body })
    expect(created.status).toBe(201)
    return created.body.id
  }
  async function schedule(shifts: string[]): Promise<string> {
    const created = await org.call('POST', '/api/v1/schedules/', { name: `S ${Date.now()}`, type: 'calendar', time_zone: 'UTC', shifts })
    expect(created.status).toBe(201)
    return created.body.id
  }

  test('the higher layer wins; a layer whose users are gone lets the lower one through', async () => {
    const now = Date.now()
    const lower = await shift({ type: 'single_event', level: 1, start: naive(new Date(now - 3600_000)), duration: 7200, users: [users.alice] })
    const upper = await shift({ type: 'single_event', level: 2, start: naive(new Date(now - 600_000)), duration: 3600, users: [users.bob] })
    const scheduleId = await schedule([lower, upper])
    const chainId = await chainOf(stack, org.call, [{ type: 'notify_on_call_from_schedule', notify_on_call_from_schedule: scheduleId, important: true }])
    const group = await escalate(stack, org.organizationId, chainId)
    await pagedExactly(group.id, ['bob'])
    expect((await ledger(stack, group.id))[0]?.important).toBe(true)

    const temp = (await org.call('POST', '/api/v1/users/', { username: `gone${Date.now()}`, email: 'g@engine.test' })).body.id
    const top = await shift({ type: 'single_event', level: 3, start: naive(new Date(now - 600_000)), duration: 3600, users: [temp] })
    const withGone = await schedule([lower, upper, top])
    await org.call('DELETE', `/api/v1/users/${temp}/`)
    const chain2 = await chainOf(stack, org.call, [{ type: 'notify_on_call_from_schedule', notify_on_call_from_schedule: withGone }])
    const group2 = await escalate(stack, org.organizationId, chain2)
    await pagedExactly(group2.id, ['bob'])
  })

  test('nobody on call: the step is skipped with a reason and the next step runs', async () => {
    const later = await shift({ type: 'single_event', start: naive(new Date(Date.now() + 7200_000)), duration: 3600, users: [users.carol] })
    const scheduleId = await schedule([later])
    const chainId = await chainOf(stack, org.call, [
      { type: 'notify_on_call_from_schedule', notify_on_call_from_schedule: scheduleId },
      notifyPersons('dave'),
    ])
    const group = await escalate(stack, org.organizationId, chainId)
    await pagedExactly(group.id, ['dave'])
    const events = (await org.call('GET', `/api/v1/alert_groups/${group.id}/timeline/`)).body.events
    expect(events.find((e: { type: string }) => e.type === 'step_skipped')).toMatchObject({ reason: 'nobody is on call in the schedule now' })

    // notify_next_on_call_from_schedule pages the users of the next shift within 14 days.
    const chain2 = await chainOf(stack, org.call, [{ type: 'notify_next_on_call_from_schedule', notify_on_call_from_schedule: scheduleId }])
    const group2 = await escalate(stack, org.organizationId, chain2)
    await pagedExactly(group2.id, ['carol'])
  })
})

test('paging a team goes through its direct-paging routes: important pages pick their own chain', async () => {
  const team = await org.call('POST', '/api/v1/teams/', { name: `Paged team ${Date.now()}` })
  expect(team.status).toBe(201)
  const integrations = await org.call('GET', `/api/v1/integrations/?team_id=${team.body.id}`)
  const directPaging = integrations.body.results.find((i: { type: string }) => i.type === 'direct_paging')
  expect(directPaging).toBeDefined()
  const routes = (await org.call('GET', `/api/v1/routes/?integration_id=${directPaging.id}`)).body.results
  const defaultRoute = routes.find((r: { is_the_last_route: boolean }) => r.is_the_last_route)
  const normalChain = await chainOf(stack, org.call, [notifyPersons('alice')])
  const importantChain = await chainOf(stack, org.call, [notifyPersons('bob')])
  expect((await org.call('PUT', `/api/v1/routes/${defaultRoute.id}/`, { escalation_chain_id: normalChain })).status).toBe(200)
  const important = await org.call('POST', '/api/v1/routes/', {
    integration_id: directPaging.id,
    routing_type: 'jinja2',
    routing_regex: '{{ payload.oncall.important }}',
    escalation_chain_id: importantChain,
  })
  expect(important.status).toBe(201)

  const normal = await org.call('POST', '/api/v1/escalation/', { team: team.body.id, important_team_escalation: false })
  expect(normal.status).toBe(200)
  expect(normal.body).toMatchObject({ team_id: team.body.id, route_id: defaultRoute.id, integration_id: directPaging.id })
  expect(normal.body.title).toBe(`admin is paging ${team.body.name} to join escalation`)
  await pagedExactly(normal.body.id, ['alice'])

  const urgent = await org.call('POST', '/api/v1/escalation/', { team: team.body.id, important_team_escalation: true, title: 'DB down' })
  expect(urgent.status).toBe(200)
  expect(urgent.body).toMatchObject({ route_id: important.body.id, title: 'DB down' })
  await pagedExactly(urgent.body.id, ['bob'])
  const described = await handleOf(urgent.body.id).describe()
  expect(described.memo).toMatchObject({ title: 'DB down' })
})

test('a "personal notification" webhook fires once per page sent', async () => {
  const hook = await org.call('POST', '/api/v1/webhooks/', {
    name: `personal-${Date.now()}`,
    url: receiverUrl('/personal'),
    http_method: 'POST',
    trigger_type: 'personal notification',
  })
  expect(hook.status).toBe(201)
  const chainId = await chainOf(stack, org.call, [notifyPersons('alice', 'bob')])
  const group = await escalate(stack, org.organizationId, chainId)
  await pagedTogether(group.id, [], ['alice', 'bob'])
  const hits = await eventually(async () => {
    const found = received.filter((r) => r.path === '/personal' && r.body.includes(group.id))
    return found.length >= 2 ? found : undefined
  })
  await sleep(1000)
  expect(received.filter((r) => r.path === '/personal' && r.body.includes(group.id))).toHaveLength(2)
  expect(new Set(hits.map((h) => h.headers['idempotency-key'])).size).toBe(2)
  await org.call('DELETE', `/api/v1/webhooks/${hook.body.id}/`)
})
