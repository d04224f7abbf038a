import { simpleParser, type AddressObject, type ParsedMail } from 'mailparser'
import type { AddressInfo } from 'node:net'
import { SMTPServer } from 'smtp-server'
import { createEmailTransport } from './email'
import { PermanentDeliveryError, type ChannelMessage } from './port'
import { failure, testLinks, testMessage } from './test-message'

// The email transport against a real SMTP server (smtp-server) on 127.0.0.1: authentication, no TLS. Each test sets
// how the server answers RCPT TO; every accepted message is parsed back with mailparser.

interface Received {
  readonly user: string | undefined
  readonly mailFrom: string
  readonly rcptTo: string[]
  readonly mail: ParsedMail
}

const received: Received[] = []
let rcptReply: { code: number; text: string } | null = null
let server: SMTPServer
let port: number

beforeAll(async () => {
  server = new SMTPServer({
    disabledCommands: ['STARTTLS'],
    allowInsecureAuth: true,
    logger: false,
    onAuth(auth, _session, callback) {
      if (auth.username === 'pager' && auth.password === 'p@ss:word') return callback(null, { user: auth.username })
      callback(Object.assign(new Error('Invalid username or password'), { responseCode: 535 }))
    },
    onRcptTo(_address, _session, callback) {
      if (!rcptReply) return callback()
      callback(Object.assign(new Error(rcptReply.text), { responseCode: rcptReply.code }))
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = []
      stream.on('data', (chunk: Buffer) => chunks.push(chunk))
      stream.on('end', () => {
        simpleParser(Buffer.concat(chunks)).then((mail) => {
          received.push({
            user: session.user as string | undefined,
            mailFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            rcptTo: session.envelope.rcptTo.map((r) => r.address),
            mail,
          })
          callback()
        }, callback)
      })
    },
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  port = (server.server.address() as AddressInfo).port
})

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()))
})

beforeEach(() => {
  received.length = 0
  rcptReply = null
})

const links = testLinks

function page(overrides: Partial<ChannelMessage> = {}, user: Partial<ChannelMessage['user']> = {}): ChannelMessage {
  return testMessage('notify_by_email', overrides, user)
}

const transport = (from = 'Tocsin <tocsin@pager.example.com>') =>
  createEmailTransport({ url: `smtp://pager:${encodeURIComponent('p@ss:word')}@127.0.0.1:${port}`, from }, { timeoutMs: 5_000 })

const addresses = (field: AddressObject | AddressObject[] | undefined) => [field ?? []].flat().flatMap((a) => a.value.map((v) => v.address))

test('a page is one authenticated message to the user: subject, sender, text and HTML bodies with the three links', async () => {
  const delivery = await transport().deliver(page())
  expect(received).toHaveLength(1)
  const [{ user, mailFrom, rcptTo, mail }] = received as [Received]
  expect(user).toBe('pager')
  expect(mailFrom).toBe('tocsin@pager.example.com')
  expect(rcptTo).toEqual(['alice@example.com'])
  expect(mail.subject).toBe('[Tocsin] Alert group I1: Disk full on db-1')
  expect(addresses(mail.to)).toEqual(['alice@example.com'])
  expect(mail.from?.value).toEqual([{ name: 'Tocsin', address: 'tocsin@pager.example.com' }])
  expect(mail.text).toContain('Alert group I1: Disk full on db-1')
  expect(mail.text).toContain(`Acknowledge: ${links.acknowledge}`)
  expect(mail.text).toContain(`Resolve: ${links.resolve}`)
  expect(mail.text).toContain(`Silence for 1 hour: ${links.silence}`)
  expect(mail.html).toContain(`<a href="${links.acknowledge}">Acknowledge</a>`)
  expect(mail.html).toContain(`<a href="${links.silence}">Silence for 1 hour</a>`)
  expect(mail.headers.get('x-tocsin-alert-group')).toBe('I1')
  expect(mail.headers.get('x-tocsin-idempotency-key')).toBe('alert-group-I1:step-0:U1:rule-0')
  expect(delivery.providerId).toBe(mail.messageId)
  expect(mail.messageId).toMatch(/^<[0-9a-f]{40}@pager\.example\.com>$/)
})

test('a retry carries the same Message-ID; another notification gets another', async () => {
  await transport().deliver(page())
  await transport().deliver(page())
  await transport().deliver(page({ idempotencyKey: 'alert-group-I1:step-0:U1:rule-2' }))
  const ids = received.map((r) => r.mail.messageId)
  expect(ids[0]).toBe(ids[1])
  expect(ids[2]).not.toBe(ids[0])
})

test('an important page says so first in the subject; a page without a link secret has no links', async () => {
  await transport('tocsin@localhost').deliver(page({ important: true, links: null, title: null }))
  const [{ mail }] = received as [Received]
  expect(mail.subject).toBe('Important: [Tocsin] Alert group I1: untitled')
  expect(mail.text).not.toMatch(/Acknowledge|https?:/)
  expect(mail.html).not.toContain('<a ')
})

test('550 on RCPT TO is a permanent refusal: nothing is sent and the rule is not retried', async () => {
  rcptReply = { code: 550, text: '5.1.1 <alice@example.com>: Recipient address rejected: User unknown' }
  const err = await failure(transport().deliver(page()))
  expect(err).toBeInstanceOf(PermanentDeliveryError)
  expect(err.message).toMatch(/^the mail server refused the message: 550 5\.1\.1 <alice@example\.com>: Recipient address rejected/)
  expect(received).toHaveLength(0)
})

test('451 on RCPT TO is transient: a plain error, retried by the activity', async () => {
  rcptReply = { code: 451, text: '4.7.1 Greylisted, try again later' }
  const err = await failure(transport().deliver(page()))
  expect(err).not.toBeInstanceOf(PermanentDeliveryError)
  expect(err.message).toMatch(/^email not delivered: 451 4\.7\.1 Greylisted/)
  expect(received).toHaveLength(0)
})

test('a mail server that is down is transient', async () => {
  const closed = new SMTPServer({ logger: false })
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve))
  const closedPort = (closed.server.address() as AddressInfo).port
  await new Promise<void>((resolve) => closed.close(() => resolve()))
  const down = createEmailTransport({ url: `smtp://127.0.0.1:${closedPort}`, from: 'tocsin@localhost' }, { timeoutMs: 5_000 })
  const err = await failure(down.deliver(page()))
  expect(err).not.toBeInstanceOf(PermanentDeliveryError)
  expect(err.message).toMatch(/^email not delivered: .*ECONNREFUSED/)
})

test('a user without a usable address is unreachable, and nothing reaches the server', async () => {
  const email = transport()
  expect(email.unreachable(page().user)).toBeNull()
  expect(email.unreachable(page({}, { email: '' }).user)).toBe('no email address')
  for (const hostile of ['alice@example.com, mallory@evil.test', 'Alice <alice@example.com>', 'alice@example.com\r\nBcc: mallory@evil.test', 'not-an-address']) {
    expect(email.unreachable(page({}, { email: hostile }).user)).toBe('the email address is not a single valid address')
    await expect(email.deliver(page({}, { email: hostile }))).rejects.toBeInstanceOf(PermanentDeliveryError)
  }
  expect(received).toHaveLength(0)
})

test('a hostile title stays one line of subject and inert text in the HTML body', async () => {
  const title = 'db down\r\nBcc: mallory@evil.test\r\n\r\n<script>alert(1)</script><a href="https://evil.test">click</a>'
  await transport().deliver(page({ title }))
  const [{ rcptTo, mail }] = received as [Received]
  expect(rcptTo).toEqual(['alice@example.com'])
  expect(mail.bcc).toBeUndefined()
  expect(mail.headers.has('bcc')).toBe(false)
  expect(mail.subject).toBe('[Tocsin] Alert group I1: db down Bcc: mallory@evil.test <script>alert(1)</script><a href="https://evil.test">click</a>')
  expect(mail.html).not.toContain('<script>')
  expect(mail.html).not.toContain('href="https://evil.test"')
  expect(mail.html).toContain('&#60;script&#62;alert(1)&#60;/script&#62;')
})
