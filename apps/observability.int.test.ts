import { createServer, type IncomingMessage, type Server } from 'node:http'
import { ALLOW_LOOPBACK, caller, createOrg, eventually, recordingNotifier } from '../test/stack'
import { scrape, startObservedStack, type ObservedStack } from '../test/observed-stack'

// What an operator sees of a real escalation: the counters on the API's and the worker's /metrics, the inbox
// gauges, and the JSON log lines of both processes, which name the alert group, workflow and step of every
// activity line and never hold a token or a secret.

interface Received {
  path: string
  headers: IncomingMessage['headers']
  body: string
}
const received: Received[] = []
const receiver: Server = createServer((req, res) => {
  let body = ''
  req.on('data', (chunk) => (body += chunk))
  req.on('end', () => {
    received.push({ path: req.url ?? '', headers: req.headers, body })
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok": true}')
  })
})
const receiverUrl = (path: string) => `http://127.0.0.1:${(receiver.address() as { port: number }).port}${path}`

// Secrets a careless log line would leak: each must reach its destination, and never the log.
const WEBHOOK_AUTHORIZATION = 'Bearer whk_live_5f1c9e0b7a2d4c68'
const WEBHOOK_PASSWORD = 'pw-8c1e7b2a9f'
const WRONG_TOKEN = 'not-a-token-3e9d1c'

let stack: ObservedStack
let org: Awaited<ReturnType<typeof createOrg>>

beforeAll(async () => {
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve))
  stack = await startObservedStack('observability', {
    notifier: recordingNotifier(),
    outboundAllow: ALLOW_LOOPBACK,
    limits: { integration: { count: 2, windowSeconds: 300 }, organization: { count: 100, windowSeconds: 300 } },
  })
  org = await createOrg(stack, 'Observed Co')
})
afterAll(async () => {
  await stack.stop()
  receiver.closeAllConnections()
  await new Promise((resolve) => receiver.close(resolve))
})

async function integration(name: string, chainId: string | null) {
  const created = await org.call('POST', '/api/v1/integrations/', { type: 'webhook', name })
  expect(created.status).toBe(201)
  const body = created.body as { id: string; link: string; default_route: { id: string } }
  expect((await org.call('PUT', `/api/v1/routes/${body.default_route.id}/`, { escalation_chain_id: chainId })).status).toBe(200)
  return { ...body, path: new URL(body.link).pathname, token: new URL(body.link).pathname.split('/')[4] as string }
}

const postAlert = (path: string, payload: unknown) =>
  fetch(`${stack.baseUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(payload) })

/** Waits until a scrape of `baseUrl` satisfies `ready`, then returns it. */
function scrapeUntil(baseUrl: string, ready: (value: (sample: string) => number) => boolean, what: string) {
  return eventually(
    async () => {
      const value = await scrape(baseUrl)
      return ready(value) ? value : undefined
    },
    20_000,
    what,
  )
}

let groupId: string

test('one alert that escalates moves the counters of the API and of the worker', async () => {
  const alice = (await org.call('POST', '/api/v1/users/', { username: 'alice', email: 'alice@observed.test', role: 'editor' })).body
  const hook = await org.call('POST', '/api/v1/webhooks/', {
    name: 'escalation hook',
    url: receiverUrl('/hook'),
    http_method: 'POST',
    trigger_type: 'escalation',
    authorization_header: WEBHOOK_AUTHORIZATION,
  })
  expect(hook.status).toBe(201)
  const chain = (await org.call('POST', '/api/v1/escalation_chains/', { name: 'observed' })).body
  for (const policy of [
    { type: 'notify_persons', persons_to_notify: [alice.id] },
    { type: 'trigger_webhook', action_to_trigger: hook.body.id },
  ]) {
    expect((await org.call('POST', '/api/v1/escalation_policies/', { escalation_chain_id: chain.id, ...policy })).status).toBe(201)
  }
  const source = await integration('observed source', chain.id)

  expect((await postAlert(source.path, { title: 'disk full', token_in_payload: 'fine: payloads are not logged' })).status).toBe(200)

  const worker = await scrapeUntil(
    stack.workerUrl,
    (m) => m('tocsin_pages_total{channel="test",outcome="delivered"}') === 1 && m('tocsin_webhook_calls_total{trigger="escalation",status="200"}') === 1,
    'the page and the webhook call counted by the worker',
  )
  expect(worker('tocsin_escalation_events_total{event="started"}')).toBe(1)
  expect(worker('tocsin_step_lateness_seconds_count{step_type="notify_persons"}')).toBe(1)
  expect(worker('tocsin_step_lateness_seconds_count{step_type="trigger_webhook"}')).toBe(1)
  // The first step was due when the group was created: the page went out within seconds of it.
  expect(worker('tocsin_step_lateness_seconds_bucket{le="10",step_type="notify_persons"}')).toBe(1)
  expect(worker('tocsin_worker_polling')).toBe(1)

  const api = await scrape(stack.baseUrl)
  expect(api('tocsin_alerts_received_total{integration_type="webhook"}')).toBe(1)
  expect(api('tocsin_alerts_grouped_total')).toBe(1)
  expect(api('tocsin_ingest_inbox_depth')).toBe(0)
  expect(api('tocsin_ingest_inbox_oldest_age_seconds')).toBe(0)

  const listed = await org.call('GET', `/api/v1/alert_groups/?integration_id=${source.id}`)
  groupId = listed.body.results[0].id
  expect((await org.call('POST', `/api/v1/alert_groups/${groupId}/acknowledge/`)).status).toBe(200)
  expect((await org.call('POST', `/api/v1/alert_groups/${groupId}/resolve/`)).status).toBe(200)
  const after = await scrapeUntil(
    stack.workerUrl,
    (m) => m('tocsin_escalation_events_total{event="resolved"}') === 1,
    'the resolve counted by the worker',
  )
  expect(after('tocsin_escalation_events_total{event="acknowledged"}')).toBe(1)
  // The webhook got its secret: it was used, so the log test below is meaningful.
  expect(received.find((r) => r.path === '/hook')?.headers.authorization).toBe(WEBHOOK_AUTHORIZATION)
})

test('alerts refused by the rate limit are counted, and the inbox gauges show what waits', async () => {
  const quiet = await integration('rate limited', null)
  // Nothing groups for a while: the inbox is seen holding what was accepted.
  await stack.ingestion?.stop()
  expect((await postAlert(quiet.path, { n: 1 })).status).toBe(200)
  expect((await postAlert(quiet.path, { n: 2 })).status).toBe(200)
  expect((await postAlert(quiet.path, { n: 3 })).status).toBe(429)
  const waiting = await scrape(stack.baseUrl)
  expect(waiting('tocsin_ingest_rate_limited_total{scope="integration"}')).toBe(1)
  expect(waiting('tocsin_alerts_received_total{integration_type="webhook"}')).toBe(3)
  expect(waiting('tocsin_ingest_inbox_depth')).toBe(2)
  expect(waiting('tocsin_ingest_inbox_oldest_age_seconds')).toBeGreaterThanOrEqual(0)
  // The worker reads the same inbox.
  expect((await scrape(stack.workerUrl))('tocsin_ingest_inbox_depth')).toBe(2)

  stack.ingestion?.start()
  const drained = await scrapeUntil(stack.baseUrl, (m) => m('tocsin_ingest_inbox_depth') === 0, 'the inbox drained')
  // The API's and the worker's processors share the inbox: either may have grouped any alert, so count both.
  const grouped = drained('tocsin_alerts_grouped_total') + (await scrape(stack.workerUrl))('tocsin_alerts_grouped_total')
  expect(grouped).toBe(3)
})

test('the worker\'s activity lines name the alert group, the workflow and the step', async () => {
  const lines = stack.logs.lines
  const activityLines = lines.filter((l) => typeof l.activityType === 'string' && l.workflowId === `alert-group-${groupId}`)
  expect(activityLines.length).toBeGreaterThan(0)
  for (const line of activityLines) expect(line).toMatchObject({ alertGroupId: groupId, workflowId: `alert-group-${groupId}` })
  expect(lines.find((l) => l.msg === 'page delivered' && l.alertGroupId === groupId)).toMatchObject({ step: 'notify_persons#0', activityType: 'notifyUser' })
  expect(lines.find((l) => l.msg === 'webhook called' && l.alertGroupId === groupId)).toMatchObject({ step: 'trigger_webhook#1', statusCode: 200 })
  expect(lines.find((l) => l.msg === 'alert group acknowledged' && l.alertGroupId === groupId)).toMatchObject({ step: 'lifecycle:acknowledge' })
  // Apart from the SDK's own "Activity started" (logged before the input is known), every activity line has its step.
  expect(activityLines.filter((l) => l.msg !== 'Activity started' && l.step === undefined)).toEqual([])
})

test('no token or secret reaches any log line, whatever the requests and calls carried', async () => {
  // Authenticated requests of every kind, a refused token, and one with the token as a Bearer.
  expect((await caller(stack.baseUrl, WRONG_TOKEN)('GET', '/api/v1/users/')).status).toBe(403)
  expect((await caller(stack.baseUrl, `Bearer ${org.token}`)('GET', '/api/v1/alert_groups/')).status).toBe(200)
  const basic = await org.call('POST', '/api/v1/webhooks/', {
    name: 'basic auth hook',
    url: receiverUrl('/basic'),
    http_method: 'POST',
    trigger_type: 'acknowledge',
    username: 'hooks',
    password: WEBHOOK_PASSWORD,
  })
  expect(basic.status).toBe(201)
  const chainless = await integration('ack source', null)
  expect((await postAlert(chainless.path, { title: 'ack me' })).status).toBe(200)
  const group = await eventually(async () => (await org.call('GET', `/api/v1/alert_groups/?integration_id=${chainless.id}`)).body.results[0])
  expect((await org.call('POST', `/api/v1/alert_groups/${group.id}/acknowledge/`)).status).toBe(200)
  const basicCall = await eventually(async () => received.find((r) => r.path === '/basic'), 20_000, 'the basic-auth webhook call')
  expect(basicCall.headers.authorization).toBe(`Basic ${Buffer.from(`hooks:${WEBHOOK_PASSWORD}`).toString('base64')}`)
  await scrapeUntil(stack.workerUrl, (m) => m('tocsin_webhook_calls_total{trigger="acknowledge",status="200"}') === 1, 'the acknowledge webhook counted')

  const text = stack.logs.text
  const integrationTokens = [chainless.token]
  for (const secret of [org.token, WRONG_TOKEN, WEBHOOK_AUTHORIZATION, 'whk_live_5f1c9e0b7a2d4c68', WEBHOOK_PASSWORD, basicCall.headers.authorization as string, ...integrationTokens]) {
    expect(text).not.toContain(secret)
  }
  expect(text).not.toMatch(/"taskToken"/)
  // The lines were written: requests with their ids, and the alert URL with its token redacted.
  const requests = stack.logs.lines.filter((l) => l.req && l.res)
  expect(requests.length).toBeGreaterThan(10)
  for (const line of requests) expect(typeof line.requestId).toBe('string')
  expect(requests.some((l) => l.req.url === `/integrations/v1/webhook/[redacted]/`)).toBe(true)
})
