import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { NOTHING_ALLOWED, parseAllowList } from '../../workflows/core/outbound-policy'
import { createOutboundFetch, OutboundRefusedError } from '../outbound'
import { PermanentDeliveryError, type ChannelMessage } from './port'
import { createSlackClient, createSlackPoster, createSlackTransport } from './slack'
import { failure, testLinks, testMessage } from './test-message'

// Slack against a server on 127.0.0.1 that answers like Slack's Web API: HTTP 200 with `{ ok, … }`, a bearer token,
// form-encoded arguments; `invalid_auth` for a wrong token. Each test may make it fail on demand.

const TOKEN = 'xoxb-1111-2222-abcdef'

interface Seen {
  readonly path: string
  readonly headers: IncomingHttpHeaders
  readonly form: URLSearchParams
}

const seen: Seen[] = []
let answer: { status: number; body: unknown; headers?: Record<string, string> } | null = null
let server: Server
let apiUrl: string

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = ''
    req.on('data', (chunk) => (body += chunk))
    req.on('end', () => {
      const form = new URLSearchParams(body)
      seen.push({ path: req.url ?? '', headers: req.headers, form })
      const reply = (status: number, json: unknown, headers: Record<string, string> = {}) =>
        res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers }).end(JSON.stringify(json))
      if (req.method !== 'POST' || req.url !== '/api/chat.postMessage') return reply(200, { ok: false, error: 'unknown_method' })
      if (req.headers.authorization !== `Bearer ${TOKEN}`) return reply(200, { ok: false, error: 'invalid_auth' })
      if (!req.headers['content-type']?.startsWith('application/x-www-form-urlencoded')) return reply(200, { ok: false, error: 'invalid_form_data' })
      if (answer) return reply(answer.status, answer.body, answer.headers)
      const channel = form.get('channel') ?? ''
      if (!/^[A-Z0-9#][\w-]*$/.test(channel)) return reply(200, { ok: false, error: 'channel_not_found' })
      const ts = `1700000000.${String(seen.length).padStart(6, '0')}`
      reply(200, { ok: true, channel: channel.startsWith('U') ? `D${channel.slice(1)}` : channel, ts, message: { text: form.get('text'), ts } })
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  apiUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/`
})

afterAll(async () => {
  server.closeAllConnections()
  await new Promise((resolve) => server.close(resolve))
})

beforeEach(() => {
  seen.length = 0
  answer = null
})

const outbound = createOutboundFetch({ allow: parseAllowList('127.0.0.1/32') })
const config = (token = TOKEN) => ({ token, apiUrl, defaultChannel: null })
const slack = (token = TOKEN) => createSlackTransport(createSlackClient(config(token), outbound, { timeoutMs: 5_000 }))

const links = testLinks

function page(overrides: Partial<ChannelMessage> = {}, user: Partial<ChannelMessage['user']> = {}): ChannelMessage {
  return testMessage('notify_by_slack', overrides, { slackUserId: 'U0ALICE', ...user })
}

const linkLine = `<${links.acknowledge}|Acknowledge> · <${links.resolve}|Resolve> · <${links.silence}|Silence for 1 hour>`

test('a page is chat.postMessage to the user (the bot\'s DM), with the links; the ts comes back', async () => {
  const delivery = await slack().deliver(page())
  expect(seen).toHaveLength(1)
  const [request] = seen as [Seen]
  expect(request.headers.authorization).toBe(`Bearer ${TOKEN}`)
  expect(request.form.get('channel')).toBe('U0ALICE')
  expect(request.form.get('text')).toBe(`Alert group I1: Disk full on db-1\n${linkLine}`)
  expect(JSON.parse(request.form.get('blocks') ?? 'null')).toEqual([
    { type: 'section', text: { type: 'mrkdwn', text: 'Alert group I1: Disk full on db-1' } },
    { type: 'section', text: { type: 'mrkdwn', text: linkLine } },
  ])
  expect(request.form.get('unfurl_links')).toBe('false')
  expect(delivery).toEqual({ providerId: '1700000000.000001' })
})

test('an important page says so; a page without links has no link line', async () => {
  await slack().deliver(page({ important: true, links: null }))
  const [request] = seen as [Seen]
  expect(request.form.get('text')).toBe(':rotating_light: *Important:* Alert group I1: Disk full on db-1')
  expect(JSON.parse(request.form.get('blocks') ?? 'null')).toHaveLength(1)
})

test('Slack refusing for good (channel_not_found, invalid_auth) is permanent', async () => {
  let err = await failure(slack().deliver(page({}, { slackUserId: 'u-not-a-slack-id' })))
  expect(err).toBeInstanceOf(PermanentDeliveryError)
  expect(err.message).toBe('Slack refused the message: channel_not_found')
  err = await failure(slack('xoxb-revoked').deliver(page()))
  expect(err).toBeInstanceOf(PermanentDeliveryError)
  expect(err.message).toBe('Slack refused the message: invalid_auth')
})

test("rate limits, Slack's own trouble and 5xx are transient, and the client itself never retries", async () => {
  answer = { status: 429, body: { ok: false, error: 'ratelimited' }, headers: { 'retry-after': '30' } }
  let err = await failure(slack().deliver(page()))
  expect(err).not.toBeInstanceOf(PermanentDeliveryError)
  expect(err.message).toBe('Slack rate limited the call (retry after 30 s)')
  answer = { status: 200, body: { ok: false, error: 'internal_error' } }
  err = await failure(slack().deliver(page()))
  expect(err).not.toBeInstanceOf(PermanentDeliveryError)
  expect(err.message).toBe('Slack answered internal_error')
  answer = { status: 503, body: { ok: false } }
  err = await failure(slack().deliver(page()))
  expect(err).not.toBeInstanceOf(PermanentDeliveryError)
  expect(err.message).toBe('Slack answered HTTP 503')
  // One request per delivery: Temporal is the one that retries.
  expect(seen).toHaveLength(3)
})

test('a Slack API that cannot be reached is transient', async () => {
  const closed = createServer()
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve))
  const closedUrl = `http://127.0.0.1:${(closed.address() as AddressInfo).port}/api/`
  await new Promise((resolve) => closed.close(resolve))
  const down = createSlackTransport(createSlackClient({ token: TOKEN, apiUrl: closedUrl, defaultChannel: null }, outbound, { timeoutMs: 5_000 }))
  const err = await failure(down.deliver(page()))
  expect(err).not.toBeInstanceOf(PermanentDeliveryError)
  expect(err.message).toMatch(/^Slack not reached: .*ECONNREFUSED/)
})

test('the outbound policy applies to the API URL: a refused one is an OutboundRefusedError, and nothing is sent', async () => {
  const guarded = createSlackTransport(createSlackClient(config(), createOutboundFetch({ allow: NOTHING_ALLOWED }), { timeoutMs: 5_000 }))
  const err = await failure(guarded.deliver(page()))
  expect(err).toBeInstanceOf(OutboundRefusedError)
  expect(err.message).toMatch(/127\.0\.0\.1 is in a blocked range/)
  expect(seen).toHaveLength(0)
})

test('a user without a linked Slack account is unreachable, and nothing is sent', async () => {
  const transport = slack()
  expect(transport.unreachable(page().user)).toBeNull()
  for (const slackUserId of [null, '', ' ']) {
    expect(transport.unreachable(page({}, { slackUserId }).user)).toBe('no Slack account linked')
    await expect(transport.deliver(page({}, { slackUserId }))).rejects.toBeInstanceOf(PermanentDeliveryError)
  }
  expect(seen).toHaveLength(0)
})

test('a hostile title cannot mention everyone, forge a link or add arguments', async () => {
  await slack().deliver(page({ title: '<!channel> <https://evil.test|your bank> & more\n*bold*&channel=C0OTHER', links: null }))
  const [request] = seen as [Seen]
  expect(request.form.getAll('channel')).toEqual(['U0ALICE'])
  expect(request.form.get('text')).toBe('Alert group I1: &lt;!channel&gt; &lt;https://evil.test|your bank&gt; &amp; more *bold*&amp;channel=C0OTHER')
})

test('a channel post (notify_whole_channel) goes to the channel named, as escaped text', async () => {
  const poster = createSlackPoster({ ...config(), defaultChannel: 'C0ONCALL' }, outbound, { timeoutMs: 5_000 })
  expect(poster.defaultChannel).toBe('C0ONCALL')
  expect(await poster.post('C0OPS', 'Alert group I1: <!here> db down needs attention')).toEqual({ channel: 'C0OPS', ts: '1700000000.000001' })
  const [request] = seen as [Seen]
  expect(request.form.get('channel')).toBe('C0OPS')
  expect(request.form.get('text')).toBe('Alert group I1: &lt;!here&gt; db down needs attention')
  const err = await failure(poster.post('no such channel', 'x'))
  expect(err).toBeInstanceOf(PermanentDeliveryError)
  expect(err.message).toBe('Slack refused the message: channel_not_found')
})
