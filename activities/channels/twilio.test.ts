import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { NOTHING_ALLOWED, parseAllowList } from '../../workflows/core/outbound-policy'
import { createOutboundFetch, OutboundRefusedError } from '../outbound'
import { PermanentDeliveryError, type ChannelMessage } from './port'
import { createTwilioTransports } from './twilio'
import { failure, testLinks, testMessage } from './test-message'

// SMS and voice against a server on 127.0.0.1 that speaks Twilio's REST API the way Twilio documents it: it checks
// the path, basic auth and form encoding as Twilio does (401 with error 20003 otherwise), and fails on demand.

const SID = 'AC0123456789abcdef0123456789abcdef'
const TOKEN = 'twilio-auth-token'
const FROM = '+15005550006'

interface Seen {
  readonly method: string
  readonly path: string
  readonly headers: IncomingHttpHeaders
  readonly form: URLSearchParams
}

const seen: Seen[] = []
let answer: { status: number; body: unknown } | null = null
let server: Server
let base: string

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = ''
    req.on('data', (chunk) => (body += chunk))
    req.on('end', () => {
      const form = new URLSearchParams(body)
      seen.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, form })
      const reply = (status: number, json: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(json))
      const expectedAuth = `Basic ${Buffer.from(`${SID}:${TOKEN}`).toString('base64')}`
      if (req.headers.authorization !== expectedAuth) return reply(401, { code: 20003, message: 'Authenticate', status: 401 })
      const match = /^\/2010-04-01\/Accounts\/([^/]+)\/(Messages|Calls)\.json$/.exec(req.url ?? '')
      if (req.method !== 'POST' || !match || match[1] !== SID) return reply(404, { code: 20404, message: 'The requested resource was not found', status: 404 })
      if (req.headers['content-type'] !== 'application/x-www-form-urlencoded') return reply(400, { code: 20001, message: 'Unsupported media type', status: 400 })
      if (answer) return reply(answer.status, answer.body)
      const prefix = match[2] === 'Messages' ? 'SM' : 'CA'
      reply(201, { sid: `${prefix}${String(seen.length).padStart(32, '0')}`, status: 'queued', to: form.get('To'), from: form.get('From') })
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
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
const twilio = (authToken = TOKEN) => createTwilioTransports({ baseUrl: base, accountSid: SID, authToken, fromNumber: FROM }, outbound, { timeoutMs: 5_000 })

const links = testLinks

function page(overrides: Partial<ChannelMessage> = {}, user: Partial<ChannelMessage['user']> = {}): ChannelMessage {
  return testMessage('notify_by_sms', overrides, { phoneNumber: '+15551234567', ...user })
}

test('an SMS is one form-encoded POST to the account\'s Messages resource, with the links; the SID comes back', async () => {
  const delivery = await twilio().sms.deliver(page())
  expect(seen).toHaveLength(1)
  const [request] = seen as [Seen]
  expect(request.path).toBe(`/2010-04-01/Accounts/${SID}/Messages.json`)
  expect(request.headers['i-twilio-idempotency-token']).toBe('alert-group-I1:step-0:U1:rule-0')
  expect([...request.form.keys()].sort()).toEqual(['Body', 'From', 'To'])
  expect(request.form.get('To')).toBe('+15551234567')
  expect(request.form.get('From')).toBe(FROM)
  expect(request.form.get('Body')).toBe(
    [
      'Tocsin: Alert group I1: Disk full on db-1',
      `Ack: ${links.acknowledge}`,
      `Resolve: ${links.resolve}`,
      `Silence 1h: ${links.silence}`,
    ].join('\n'),
  )
  expect(delivery).toEqual({ providerId: `SM${'1'.padStart(32, '0')}` })
})

test('a call POSTs TwiML that says the page (escaped) to the Calls resource', async () => {
  const delivery = await twilio().voice.deliver(page({ important: true, title: 'Latency > 5s & <rising>' }))
  const [request] = seen as [Seen]
  expect(request.path).toBe(`/2010-04-01/Accounts/${SID}/Calls.json`)
  expect([...request.form.keys()].sort()).toEqual(['From', 'To', 'Twiml'])
  expect(request.form.get('Twiml')).toBe(
    '<?xml version="1.0" encoding="UTF-8"?><Response><Say loop="2">This is Tocsin with an important page. ' +
      'Alert group I1: Latency &#62; 5s &#38; &#60;rising&#62;.</Say></Response>',
  )
  expect(delivery.providerId).toMatch(/^CA/)
})

test("error 21211 (an invalid 'To' number) is permanent, with Twilio's words and code", async () => {
  answer = {
    status: 400,
    body: { code: 21211, message: "The 'To' number +1555 is not a valid phone number.", more_info: 'https://www.twilio.com/docs/errors/21211', status: 400 },
  }
  const err = await failure(twilio().sms.deliver(page({}, { phoneNumber: '+1555' })))
  expect(err).toBeInstanceOf(PermanentDeliveryError)
  expect(err.message).toBe("Twilio refused the SMS: The 'To' number +1555 is not a valid phone number. (error 21211, HTTP 400)")
})

test('bad credentials are refused for good (401, error 20003)', async () => {
  const err = await failure(twilio('wrong-token').voice.deliver(page()))
  expect(err).toBeInstanceOf(PermanentDeliveryError)
  expect(err.message).toBe('Twilio refused the call: Authenticate (error 20003, HTTP 401)')
})

test('500, 429 and a body that is not JSON are transient: plain errors, retried by the activity', async () => {
  answer = { status: 500, body: { code: 20500, message: 'An internal server error has occurred', status: 500 } }
  let err = await failure(twilio().sms.deliver(page()))
  expect(err).not.toBeInstanceOf(PermanentDeliveryError)
  expect(err.message).toBe('Twilio SMS not sent: An internal server error has occurred (error 20500, HTTP 500)')
  answer = { status: 429, body: { code: 20429, message: 'Too Many Requests', status: 429 } }
  err = await failure(twilio().voice.deliver(page()))
  expect(err).not.toBeInstanceOf(PermanentDeliveryError)
  expect(err.message).toBe('Twilio call not sent: Too Many Requests (error 20429, HTTP 429)')
  answer = { status: 503, body: '<html>maintenance</html>' }
  err = await failure(twilio().sms.deliver(page()))
  expect(err.message).toBe('Twilio SMS not sent: HTTP 503')
})

test('a provider that cannot be reached is transient', async () => {
  const closed = createServer()
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve))
  const closedBase = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`
  await new Promise((resolve) => closed.close(resolve))
  const down = createTwilioTransports({ baseUrl: closedBase, accountSid: SID, authToken: TOKEN, fromNumber: FROM }, outbound, { timeoutMs: 5_000 })
  const err = await failure(down.sms.deliver(page()))
  expect(err).not.toBeInstanceOf(PermanentDeliveryError)
  expect(err.message).toMatch(/^Twilio SMS not sent: .*ECONNREFUSED/)
})

test('the outbound policy applies: a base URL it refuses is an OutboundRefusedError, and nothing is sent', async () => {
  const guarded = createTwilioTransports({ baseUrl: base, accountSid: SID, authToken: TOKEN, fromNumber: FROM }, createOutboundFetch({ allow: NOTHING_ALLOWED }), {
    timeoutMs: 5_000,
  })
  await expect(guarded.sms.deliver(page())).rejects.toBeInstanceOf(OutboundRefusedError)
  expect(seen).toHaveLength(0)
})

test('a user without a phone number is unreachable, and nothing is sent', async () => {
  const { sms, voice } = twilio()
  expect(sms.unreachable(page().user)).toBeNull()
  for (const phoneNumber of [null, '', '  ']) {
    expect(sms.unreachable(page({}, { phoneNumber }).user)).toBe('no verified phone number')
    expect(voice.unreachable(page({}, { phoneNumber }).user)).toBe('no verified phone number')
    await expect(voice.deliver(page({}, { phoneNumber }))).rejects.toBeInstanceOf(PermanentDeliveryError)
  }
  expect(seen).toHaveLength(0)
})

test('hostile input stays data: a title cannot add form fields or lines, a number cannot change the path', async () => {
  await twilio().sms.deliver(page({ title: 'x&To=+15550000000&Body=pwned\r\nline two', links: null }, { phoneNumber: '+15551234567&From=+1666' }))
  const [request] = seen as [Seen]
  expect(request.path).toBe(`/2010-04-01/Accounts/${SID}/Messages.json`)
  expect(request.form.getAll('To')).toEqual(['+15551234567&From=+1666'])
  expect(request.form.getAll('From')).toEqual([FROM])
  expect(request.form.getAll('Body')).toEqual(['Tocsin: Alert group I1: x&To=+15550000000&Body=pwned line two'])
})
