import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { simpleParser, type ParsedMail } from 'mailparser'
import { chromium, type BrowserContext, type Page } from 'playwright-core'
import { SMTPServer } from 'smtp-server'
import { createEmailTransport } from '../../activities/channels/email'
import { newPublicId } from '../../db/ids'
import { escalationStatusQuery } from '../../workflows/messages'
import { signActionLink } from '../action-links'
import { chainOf, escalate, ledger } from '../../test/engine'
import { createOrg, eventually, recordingNotifier, startStack, type Stack } from '../../test/stack'

// Acknowledging from the page, end to end in a real browser (Debian's Chromium, driven by playwright-core, with
// JavaScript off: the pages must work without it): a signed link opens the confirmation page, its button
// acknowledges through the engine, and the escalation stops. The second test takes the link from the email an SMTP
// server on 127.0.0.1 received from the email channel.

const SECRET = 'action-links-e2e-secret-0123456789abcdef'
// The stack listens on a port chosen at start; links name this public URL and are opened on the stack's address.
const PUBLIC_URL = 'http://tocsin.test'
const CHROMIUM = '/usr/bin/chromium'

const mails: ParsedMail[] = []
const smtp = new SMTPServer({
  authOptional: true,
  disabledCommands: ['STARTTLS', 'AUTH'],
  logger: false,
  onData(stream, _session, callback) {
    simpleParser(stream).then(
      (mail) => {
        mails.push(mail)
        callback()
      },
      (err: Error) => callback(err),
    )
  },
})

let stack: Stack
let org: Awaited<ReturnType<typeof createOrg>>
let browser: BrowserContext
let profileDir: string

beforeAll(async () => {
  await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve))
  const smtpPort = (smtp.server.address() as { port: number }).port
  const email = createEmailTransport({ url: `smtp://127.0.0.1:${smtpPort}`, from: 'Tocsin <pages@tocsin.test>' }, { timeoutMs: 5000 })
  stack = await startStack('action_links_e2e', { notifier: recordingNotifier(), channels: { email }, linkSecret: SECRET, publicUrl: PUBLIC_URL })
  org = await createOrg(stack, 'Browser Co')
  profileDir = mkdtempSync(path.join(tmpdir(), 'tocsin-chromium-'))
  browser = await chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM,
    headless: true,
    javaScriptEnabled: false,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  })
})
afterAll(async () => {
  await browser?.close()
  if (profileDir) rmSync(profileDir, { recursive: true, force: true })
  await stack?.stop()
  await new Promise<void>((resolve) => smtp.close(() => resolve()))
})

/** A user who is paged by email only: a single notify_by_email rule in both lists. */
async function emailUser(): Promise<{ id: string; email: string }> {
  const username = `u${newPublicId('U').slice(-8).toLowerCase()}`
  const created = await org.call('POST', '/api/v1/users/', { username, email: `${username}@browser.test`, role: 'editor' })
  expect(created.status).toBe(201)
  const id = created.body.id as string
  await stack.db.deleteFrom('personal_notification_rules').where('user_id', '=', id).execute()
  for (const important of [false, true]) {
    await stack.db
      .insertInto('personal_notification_rules')
      .values({ id: newPublicId('N'), organization_id: org.organizationId, user_id: id, important, position: 0, type: 'notify_by_email', duration_seconds: null })
      .execute()
  }
  return { id, email: created.body.email as string }
}

/** Pages `userId` now and again after a few seconds: the second page is what acknowledging must prevent. */
async function escalating(userId: string) {
  const page = { type: 'notify_persons', persons_to_notify: [userId] }
  const chainId = await chainOf(stack, org.call, [page, { type: 'wait', seconds: 6 }, page])
  return escalate(stack, org.organizationId, chainId, { title: 'Checkout latency <p99> over 2 s' })
}

const status = (alertGroupId: string) => stack.escalations.client.workflow.getHandle(`alert-group-${alertGroupId}`).query(escalationStatusQuery)
const onStack = (link: string) => `${stack.baseUrl}${new URL(link).pathname}`

/** Opens the link, checks the page reads well to assistive technology, presses Acknowledge and reads the result. */
async function acknowledgeInBrowser(link: string, username: string): Promise<Page> {
  const page = await browser.newPage()
  const problems: string[] = []
  // A CSP violation (say, the stylesheet's hash) shows up as a console error.
  page.on('console', (message) => void (message.type() === 'error' && problems.push(message.text())))
  const response = await page.goto(link)
  expect(response?.status()).toBe(200)
  expect(response?.headers()).toMatchObject({ 'cache-control': 'no-store', 'referrer-policy': 'no-referrer' })
  expect(await page.title()).toBe('Acknowledge this alert group? · Tocsin')
  expect(await page.locator('html').getAttribute('lang')).toBe('en')
  const outline = await page.locator('main').ariaSnapshot()
  expect(outline).toContain('- heading "Acknowledge this alert group?" [level=1]')
  expect(outline).toContain('- button "Acknowledge"')
  expect(outline).toContain('Checkout latency <p99> over 2 s')
  expect(outline).toContain(username)
  expect(await page.getByRole('button').count()).toBe(1)
  // The stylesheet applied: the button is not the browser's default grey.
  const backgroundOf = (element: unknown) => (globalThis as unknown as { getComputedStyle(e: unknown): { backgroundColor: string } }).getComputedStyle(element).backgroundColor
  expect(await page.getByRole('button', { name: 'Acknowledge' }).evaluate(backgroundOf)).toBe('rgb(31, 95, 191)')

  await page.getByRole('button', { name: 'Acknowledge' }).click()
  await page.getByRole('heading', { level: 1, name: 'Acknowledged' }).waitFor()
  expect(await page.getByRole('status').textContent()).toContain('You acknowledged this alert group')
  expect(problems).toEqual([])
  return page
}

/** The API shows the group acknowledged by the user, and the page due after the wait never comes. */
async function expectAcknowledgedAndStopped(alertGroupId: string, user: { id: string; username: string }, pagesSoFar: () => Promise<number>, wakeAt: string) {
  const group = (await org.call('GET', `/api/v1/alert_groups/${alertGroupId}/`)).body
  expect(group).toMatchObject({ state: 'acknowledged', acknowledged_by: user.id })
  const events = (await org.call('GET', `/api/v1/alert_groups/${alertGroupId}/timeline/`)).body.events as Array<{ type: string; actor: unknown }>
  expect(events.filter((e) => e.type === 'acknowledged').map((e) => e.actor)).toEqual([{ kind: 'user', userId: user.id, username: user.username }])
  const before = await pagesSoFar()
  await eventually(async () => (Date.now() > Date.parse(wakeAt) + 2000 ? true : undefined), 15_000, 'the second page to fall due')
  expect(await pagesSoFar()).toBe(before)
  expect((await status(alertGroupId)).state).toBe('acknowledged')
}

test('a signed link opens an accessible page in Chromium whose button acknowledges and stops the escalation', async () => {
  const user = await emailUser()
  const username = (await org.call('GET', `/api/v1/users/${user.id}/`)).body.username as string
  const group = await escalating(user.id)
  await eventually(async () => ((await ledger(stack, group.id)).length === 1 ? true : undefined), 20_000, 'the first page')
  const wakeAt = (await status(group.id)).nextWakeAt as string
  expect(wakeAt).not.toBeNull()

  const link = signActionLink({ secret: SECRET, publicUrl: stack.baseUrl, alertGroupId: group.id, userId: user.id, action: 'acknowledge', expiresAt: new Date(Date.now() + 3600_000) })
  const page = await acknowledgeInBrowser(link, username)
  await page.close()
  await expectAcknowledgedAndStopped(group.id, { id: user.id, username }, async () => (await ledger(stack, group.id)).length, wakeAt)
})

test('the acknowledge link of the page email, opened in Chromium, acknowledges and no second email comes', async () => {
  const user = await emailUser()
  const username = (await org.call('GET', `/api/v1/users/${user.id}/`)).body.username as string
  const group = await escalating(user.id)
  const mailsOfGroup = () => mails.filter((m) => m.headers.get('x-tocsin-alert-group') === group.id)
  const mail = await eventually(async () => mailsOfGroup()[0], 20_000, 'the page email')
  expect((mail.to as { text: string }).text).toBe(user.email)
  const wakeAt = (await status(group.id)).nextWakeAt as string
  expect(wakeAt).not.toBeNull()

  // The HTML part's Acknowledge anchor, and the same link in the text part.
  const anchor = /<a href="([^"]+)">Acknowledge<\/a>/.exec(typeof mail.html === 'string' ? mail.html : '')
  expect(anchor).not.toBeNull()
  const link = (anchor as RegExpExecArray)[1] as string
  expect(link).toMatch(/^http:\/\/tocsin\.test\/l\/[A-Za-z0-9_-]+$/)
  expect(link.length).toBeLessThan(120)
  expect(mail.text).toContain(`Acknowledge: ${link}`)

  const page = await acknowledgeInBrowser(onStack(link), username)
  // Pressed again (a reload of the POST): harmless, and says so.
  await page.reload()
  await page.getByRole('heading', { level: 1, name: 'Already acknowledged' }).waitFor()
  await page.close()
  await expectAcknowledgedAndStopped(group.id, { id: user.id, username }, async () => mailsOfGroup().length, wakeAt)
  expect(mailsOfGroup()).toHaveLength(1)
})
