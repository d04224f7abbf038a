import { createServer, type Server } from 'node:http'
import { createWebhookNotifier } from '../activities/notifications'
import { createOutboundFetch } from '../activities/outbound'
import { chainOf, escalate, ledger } from '../test/engine'
import { createOrg, eventually, resolveOnly, startStack, type Stack } from '../test/stack'
import { parseAllowList } from './core/outbound-policy'

// Outbound calls to user-supplied URLs on the real engine: the suite's TOCSIN_OUTBOUND_ALLOW is the host name
// `hooks.internal` only, so 127.0.0.1 written in a URL is refused as it is by default, and so is `rebind.test`, a
// name that resolves to it. Each refusal is recorded where the call is: the webhook's responses, the timeline. The
// receiver listens on 127.0.0.1 and every name resolves through the suite's own lookup: a broken guard could only
// ever reach the receiver, which would then see the call.

const ALLOW = 'hooks.internal'
const lookup = resolveOnly({ 'hooks.internal': '127.0.0.1', 'rebind.test': '127.0.0.1' })
const LOOPBACK_REFUSED = '127.0.0.1 is in a blocked range (loopback 127.0.0.0/8)'
const REBIND_REFUSED = 'rebind.test resolves to 127.0.0.1, which is in a blocked range (loopback 127.0.0.0/8)'

const received: string[] = []
const receiver: Server = createServer((req, res) => {
  req.resume()
  req.on('end', () => {
    received.push(req.url ?? '')
    if (req.url === '/redirect') return void res.writeHead(302, { location: url('127.0.0.1', '/secret') }).end()
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok": true}')
  })
})
const url = (host: string, path: string) => `http://${host}:${(receiver.address() as { port: number }).port}${path}`

let stack: Stack
let org: Awaited<ReturnType<typeof createOrg>>

beforeAll(async () => {
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve))
  stack = await startStack('outbound', {
    outboundAllow: ALLOW,
    outboundLookup: lookup,
    chatWebhookUrl: url('rebind.test', '/chat'),
    // The webhook notifier under the same policy, pointed at a name that resolves to loopback.
    notifier: createWebhookNotifier(url('rebind.test', '/page'), 2000, createOutboundFetch({ allow: parseAllowList(ALLOW), lookup })),
  })
  org = await createOrg(stack, 'Outbound Co')
})
afterAll(async () => {
  await stack.stop()
  receiver.closeAllConnections()
  await new Promise((resolve) => receiver.close(resolve))
})

async function webhook(path: string, host: string, triggerType = 'escalation'): Promise<string> {
  const created = await org.call('POST', '/api/v1/webhooks/', {
    name: `${host}${path}-${Date.now()}`,
    url: url(host, path),
    http_method: 'POST',
    trigger_type: triggerType,
  })
  expect(created.status).toBe(201)
  return created.body.id
}

/** The timeline events of a group once one of `type` is there. */
async function eventOf(groupId: string, type: string): Promise<Record<string, unknown>> {
  return eventually(async () => {
    const events = (await org.call('GET', `/api/v1/alert_groups/${groupId}/timeline/`)).body.events as Array<Record<string, unknown>>
    return events.find((e) => e.type === type)
  }, 20_000, `a ${type} event`)
}

async function responsesOf(webhookId: string) {
  const answer = await org.call('GET', `/api/v1/webhooks/${webhookId}/responses/`)
  expect(answer.status).toBe(200)
  return answer.body.results as Array<{ status_code: number | null; content: string | null; url: string }>
}

/** Runs a chain of one trigger_webhook step and returns the step's timeline event once the call has finished. */
async function escalateTo(webhookId: string, outcome: 'step_failed' | 'webhook_triggered') {
  const chainId = await chainOf(stack, org.call, [{ type: 'trigger_webhook', action_to_trigger: webhookId }])
  const group = await escalate(stack, org.organizationId, chainId)
  return eventOf(group.id, outcome)
}

test('a webhook to 127.0.0.1 is refused once (no retry), recorded in its responses and as the step failure', async () => {
  const hook = await webhook('/blocked', '127.0.0.1')
  const failed = await escalateTo(hook, 'step_failed')
  expect(failed).toMatchObject({ webhook_id: hook, reason: `refused: ${LOOPBACK_REFUSED}` })
  // The step fails only once the activity gave up: a single attempt means it was not retried.
  expect(await responsesOf(hook)).toEqual([
    expect.objectContaining({ url: url('127.0.0.1', '/blocked'), status_code: null, content: `refused: ${LOOPBACK_REFUSED}` }),
  ])
  expect(received).not.toContain('/blocked')
})

test('a host the setting allows is called', async () => {
  const hook = await webhook('/allowed', 'hooks.internal')
  const sent = await escalateTo(hook, 'webhook_triggered')
  expect(sent).toMatchObject({ webhook_id: hook, status: 'sent', statusCode: 200 })
  expect(await responsesOf(hook)).toEqual([expect.objectContaining({ status_code: 200, content: '{"ok": true}' })])
  expect(received).toContain('/allowed')
})

test('a redirect from the allowed host to a blocked address is refused, the second hop never made', async () => {
  const hook = await webhook('/redirect', 'hooks.internal')
  const failed = await escalateTo(hook, 'step_failed')
  expect(failed).toMatchObject({ reason: `refused: ${LOOPBACK_REFUSED}` })
  expect(await responsesOf(hook)).toEqual([expect.objectContaining({ status_code: null, content: `refused: ${LOOPBACK_REFUSED}` })])
  expect(received).toContain('/redirect')
  expect(received).not.toContain('/secret')
})

test('DNS rebinding: a name that resolves to a blocked address is refused', async () => {
  const hook = await webhook('/rebound', 'rebind.test')
  const failed = await escalateTo(hook, 'step_failed')
  expect(failed).toMatchObject({ reason: `refused: ${REBIND_REFUSED}` })
  expect(await responsesOf(hook)).toEqual([expect.objectContaining({ status_code: null, content: `refused: ${REBIND_REFUSED}` })])
  expect(received).not.toContain('/rebound')
})

test('a refused lifecycle webhook is recorded in its responses; the action itself succeeds', async () => {
  const hook = await webhook('/ack', '127.0.0.1', 'acknowledge')
  const group = await escalate(stack, org.organizationId, null)
  expect((await org.call('POST', `/api/v1/alert_groups/${group.id}/acknowledge/`)).status).toBe(200)
  const responses = await eventually(async () => {
    const found = await responsesOf(hook)
    return found.length > 0 ? found : undefined
  })
  expect(responses).toEqual([expect.objectContaining({ status_code: null, content: `refused: ${LOOPBACK_REFUSED}` })])
  expect((await org.call('GET', `/api/v1/alert_groups/${group.id}/`)).body.state).toBe('acknowledged')
  await org.call('DELETE', `/api/v1/webhooks/${hook}/`)
})

test('a refused chat webhook skips notify_whole_channel with the reason', async () => {
  const chainId = await chainOf(stack, org.call, [{ type: 'notify_whole_channel' }])
  const group = await escalate(stack, org.organizationId, chainId)
  expect(await eventOf(group.id, 'step_skipped')).toMatchObject({ status: 'skipped', reason: `refused: ${REBIND_REFUSED}` })
  expect(received).not.toContain('/chat')
})

test('a refused webhook notifier is recorded in the timeline, and the page is kept (retried), not dropped', async () => {
  const alice = (await org.call('POST', '/api/v1/users/', { username: 'alice', email: 'alice@outbound.test', role: 'editor' })).body.id
  const chainId = await chainOf(stack, org.call, [{ type: 'notify_persons', persons_to_notify: [alice] }])
  const group = await escalate(stack, org.organizationId, chainId)
  expect(await eventOf(group.id, 'notification_failed')).toMatchObject({
    user_id: alice,
    channel: 'webhook',
    reason: `refused: ${REBIND_REFUSED}`,
  })
  expect(await ledger(stack, group.id)).toEqual([expect.objectContaining({ user_id: alice, delivered_at: null })])
  expect(received).not.toContain('/page')
})
