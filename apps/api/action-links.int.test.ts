import fc from 'fast-check'
import type { Server } from 'node:http'
import { silentLogger } from '../logger'
import { signActionLink, type ActionLinkAction } from '../action-links'
import { escalationStatusQuery } from '../../workflows/messages'
import { chainOf, escalate, ledger, timelineKinds } from '../../test/engine'
import { createOrg, eventually, organizationRows, recordingNotifier, startStack, type Stack } from '../../test/stack'
import { createApp } from './app'

// Signed action links on the real stack: GET shows a page and never acts, POST from that page acts through the
// Temporal update as the link's user, and every bad link or body gets a page, never an action.

const SECRET = 'action-links-suite-secret-0123456789abcdef'
const notifier = recordingNotifier()
let stack: Stack
let org: Awaited<ReturnType<typeof createOrg>>
let other: Awaited<ReturnType<typeof createOrg>>
const users: Record<string, string> = {}

beforeAll(async () => {
  stack = await startStack('action_links', { notifier, linkSecret: SECRET })
  org = await createOrg(stack, 'Links Co')
  other = await createOrg(stack, 'Elsewhere Inc')
  for (const [name, role] of [['bob', 'editor'], ['vic', 'viewer'], ['gone', 'editor']] as const) {
    const created = await org.call('POST', '/api/v1/users/', { username: name, email: `${name}@links.test`, role })
    expect(created.status).toBe(201)
    users[name] = created.body.id
  }
})
afterAll(() => stack.stop())

function link(alertGroupId: string, userId: string, action: ActionLinkAction, expiresAt = new Date(Date.now() + 3600_000)): string {
  return signActionLink({ secret: SECRET, publicUrl: stack.baseUrl, alertGroupId, userId, action, expiresAt })
}

const tokenOf = (url: string) => url.slice(url.lastIndexOf('/') + 1)

async function request(method: string, url: string, body?: string, contentType = 'application/x-www-form-urlencoded') {
  const response = await fetch(url, { method, ...(body === undefined ? {} : { body, headers: { 'content-type': contentType } }) })
  return { status: response.status, text: await response.text(), headers: response.headers }
}

const open = (url: string) => request('GET', url)
const press = (url: string, token = tokenOf(url)) => request('POST', url, new URLSearchParams({ token }).toString())

/**
 * An escalating group that has paged bob once (in the ledger); `pagesAgain`: and pages him again after a few
 * seconds. Suites comparing rows before and after use one page only, so that the engine writes nothing meanwhile.
 */
async function firingGroup(options: { pagesAgain?: boolean } = {}) {
  const page = { type: 'notify_persons', persons_to_notify: [users.bob] }
  const chainId = await chainOf(stack, org.call, options.pagesAgain ? [page, { type: 'wait', seconds: 6 }, page] : [page])
  const group = await escalate(stack, org.organizationId, chainId, { title: 'Disk <full> & "hot"' })
  // Settled: the page is recorded, and a one-page chain has finished (it stays open, waiting for people).
  const settled = options.pagesAgain ? ['user_notified'] : ['user_notified', 'escalation_finished']
  await eventually(async () => {
    const kinds = await timelineKinds(stack, group.id)
    return settled.every((kind) => kinds.includes(kind)) && (await ledger(stack, group.id)).length === 1 ? true : undefined
  }, 20_000, 'the first page')
  return group
}

const status = (alertGroupId: string) => stack.escalations.client.workflow.getHandle(`alert-group-${alertGroupId}`).query(escalationStatusQuery)
const wire = async (alertGroupId: string) => (await org.call('GET', `/api/v1/alert_groups/${alertGroupId}/`)).body
const timeline = async (alertGroupId: string) =>
  (await org.call('GET', `/api/v1/alert_groups/${alertGroupId}/timeline/`)).body.events as Array<{ type: string; actor: unknown }>

/** The rows a link could change, for comparing before and after a refused request. */
async function snapshot(alertGroupId: string) {
  return { rows: await organizationRows(stack.db, org.organizationId), timeline: await timeline(alertGroupId) }
}

function expectPage(page: { status: number; text: string; headers: Headers }, status: number, heading: string) {
  expect({ status: page.status, heading: /<h1>(.*?)<\/h1>/.exec(page.text)?.[1] }).toEqual({ status, heading })
  expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8')
  expect(page.headers.get('cache-control')).toBe('no-store')
  expect(page.headers.get('referrer-policy')).toBe('no-referrer')
  expect(page.headers.get('content-security-policy')).toMatch(/^default-src 'none'; style-src 'sha256-[A-Za-z0-9+/=]+'; form-action 'self'; frame-ancestors 'none'/)
  expect(page.text).toMatch(/^<!doctype html>\n<html lang="en">/)
  expect(page.text).toContain(`<title>${heading} · Tocsin</title>`)
}

test('GET shows the confirmation page and acts on nothing; POST acknowledges as the user; a second POST is harmless', async () => {
  const group = await firingGroup({ pagesAgain: true })
  const url = link(group.id, users.bob as string, 'acknowledge')
  expect(url.length).toBeLessThan(120)
  const before = await snapshot(group.id)
  const wakeBefore = (await status(group.id)).nextWakeAt

  const shown = await open(url)
  expectPage(shown, 200, 'Acknowledge this alert group?')
  expect(shown.text).toContain('<form method="post">')
  expect(shown.text).toContain(`<input type="hidden" name="token" value="${tokenOf(url)}">`)
  expect(shown.text).toContain('<button type="submit">Acknowledge</button>')
  // The title is text, never markup.
  expect(shown.text).toContain('<dd>Disk &#60;full&#62; &#38; &#34;hot&#34;</dd>')
  expect(shown.text).toContain('<dd>firing</dd>')
  expect(shown.text).toContain('<dd>bob</dd>')
  expect((await request('HEAD', url)).status).toBe(200)
  expect(await snapshot(group.id)).toEqual(before)
  expect((await status(group.id)).state).toBe('firing')

  const pressed = await press(url)
  expectPage(pressed, 200, 'Acknowledged')
  expect(pressed.text).toContain('<p role="status">You acknowledged this alert group')
  expect(await wire(group.id)).toMatchObject({ state: 'acknowledged', acknowledged_by: users.bob })
  const acknowledged = (await timeline(group.id)).filter((e) => e.type === 'acknowledged')
  expect(acknowledged).toEqual([expect.objectContaining({ actor: { kind: 'user', userId: users.bob, username: 'bob' } })])

  const again = await press(url)
  expectPage(again, 200, 'Already acknowledged')
  expect(again.text).toContain('This alert group is already acknowledged. Nothing was changed.')
  expect(again.text).toMatch(/<dd>acknowledged by bob at \d{4}-\d\d-\d\d \d\d:\d\d UTC<\/dd>/)
  const reopened = await open(url)
  expectPage(reopened, 200, 'Already acknowledged')
  expect(reopened.text).not.toContain('<form')
  expect((await timeline(group.id)).filter((e) => e.type === 'acknowledged')).toHaveLength(1)

  // The second page was due at wakeBefore: past it, nobody was paged again.
  expect(wakeBefore).not.toBeNull()
  await eventually(async () => (Date.now() > Date.parse(wakeBefore as string) + 1500 ? true : undefined), 10_000, 'the old wake-up')
  expect(await ledger(stack, group.id)).toHaveLength(1)
  expect((await status(group.id)).state).toBe('acknowledged')
})

test('a resolve link resolves as the user and ends the escalation; every link of a resolved group says so', async () => {
  const group = await firingGroup()
  const url = link(group.id, users.bob as string, 'resolve')
  expectPage(await open(url), 200, 'Resolve this alert group?')
  expect((await open(url)).text).toContain('<button type="submit">Resolve</button>')
  expectPage(await press(url), 200, 'Resolved')
  await stack.escalations.client.workflow.getHandle(`alert-group-${group.id}`).result()
  expect(await wire(group.id)).toMatchObject({ state: 'resolved', resolved_by: users.bob })
  expect((await timeline(group.id)).find((e) => e.type === 'resolved')?.actor).toEqual({ kind: 'user', userId: users.bob, username: 'bob' })

  const before = await snapshot(group.id)
  for (const action of ['resolve', 'acknowledge', 'silence'] as const) {
    const other = link(group.id, users.bob as string, action)
    const shown = await open(other)
    expectPage(shown, 200, 'Already resolved')
    expect(shown.text).toMatch(/<dd>resolved by bob at /)
    // The workflow has ended: the stored state explains the refusal.
    expectPage(await press(other), 200, 'Already resolved')
  }
  expect(await snapshot(group.id)).toEqual(before)
})

test('a silence link silences for one hour as the user; silencing an acknowledged group is refused', async () => {
  const group = await firingGroup()
  const url = link(group.id, users.bob as string, 'silence')
  const shown = await open(url)
  expectPage(shown, 200, 'Silence this alert group for 1 hour?')
  expect(shown.text).toContain('<button type="submit">Silence for 1 hour</button>')
  const pressedAt = Date.now()
  expectPage(await press(url), 200, 'Silenced for 1 hour')
  const silenced = await status(group.id)
  expect(silenced.state).toBe('silenced')
  const until = Date.parse(silenced.lifecycle.silencedUntil as string)
  expect(until).toBeGreaterThanOrEqual(pressedAt + 3600_000 - 5000)
  expect(until).toBeLessThanOrEqual(Date.now() + 3600_000 + 5000)
  expect(await eventually(async () => ((await wire(group.id)).state === 'silenced' ? true : undefined))).toBe(true)
  expect((await timeline(group.id)).find((e) => e.type === 'silenced')?.actor).toEqual({ kind: 'user', userId: users.bob, username: 'bob' })

  expectPage(await press(link(group.id, users.bob as string, 'acknowledge')), 200, 'Acknowledged')
  expectPage(await press(url), 200, 'Already acknowledged')
})

test('tampered, foreign-secret and expired links get a clear page, and nothing changes', async () => {
  const group = await firingGroup()
  const url = link(group.id, users.bob as string, 'acknowledge')
  const token = tokenOf(url)
  const base = `${stack.baseUrl}/l/`
  const flipped = token.slice(0, 10) + (token[10] === 'A' ? 'B' : 'A') + token.slice(11)
  const foreign = signActionLink({ secret: 'some other secret', publicUrl: stack.baseUrl, alertGroupId: group.id, userId: users.bob as string, action: 'acknowledge', expiresAt: new Date(Date.now() + 3600_000) })
  const expired = link(group.id, users.bob as string, 'acknowledge', new Date(Date.now() - 1000))
  const before = await snapshot(group.id)

  for (const bad of [`${base}${flipped}`, `${base}${token.slice(0, -2)}`, `${base}${token}x`, foreign]) {
    expectPage(await open(bad), 400, 'This link is not valid')
    expectPage(await press(bad), 400, 'This link is not valid')
  }
  expectPage(await open(expired), 410, 'This link has expired')
  expectPage(await press(expired), 410, 'This link has expired')
  // The form must carry the link it was shown for.
  expectPage(await press(url, tokenOf(link(group.id, users.bob as string, 'resolve'))), 400, 'Form incomplete')
  expectPage(await request('POST', url), 400, 'Form incomplete')
  expectPage(await request('POST', url, JSON.stringify({ token }), 'application/json'), 400, 'Form incomplete')
  expectPage(await request('PUT', url), 405, 'Method not allowed')
  expectPage(await open(`${stack.baseUrl}/l/`), 404, 'Page not found')
  expectPage(await open(`${base}${token}/more`), 404, 'Page not found')

  expect(await snapshot(group.id)).toEqual(before)
  expect((await status(group.id)).state).toBe('firing')
})

test('a deleted user, another organization\'s group, or a viewer: a clear page, nothing changes', async () => {
  const group = await firingGroup()
  const foreignGroup = await escalate(stack, other.organizationId, null)
  const goneLink = link(group.id, users.gone as string, 'acknowledge')
  expect((await org.call('DELETE', `/api/v1/users/${users.gone}/`)).status).toBe(204)
  const before = await snapshot(group.id)
  const foreignBefore = await organizationRows(stack.db, other.organizationId)

  expectPage(await open(goneLink), 404, 'This link no longer works')
  expectPage(await press(goneLink), 404, 'This link no longer works')
  const crossing = link(foreignGroup.id, users.bob as string, 'resolve')
  expectPage(await open(crossing), 404, 'Alert group not found')
  expectPage(await press(crossing), 404, 'Alert group not found')
  const unknown = link('INOSUCHGROUP1', users.bob as string, 'resolve')
  expectPage(await press(unknown), 404, 'Alert group not found')
  const viewer = link(group.id, users.vic as string, 'acknowledge')
  expectPage(await open(viewer), 403, 'Not allowed')
  expectPage(await press(viewer), 403, 'Not allowed')

  expect(await snapshot(group.id)).toEqual(before)
  expect(await organizationRows(stack.db, other.organizationId)).toEqual(foreignBefore)
  expect((await status(foreignGroup.id)).state).toBe('firing')
})

test('without a link secret, link routes answer a 404 page', async () => {
  const app = createApp({ db: stack.db, escalations: stack.escalations, publicUrl: 'http://tocsin.test', webUrl: 'http://grafana.test', logger: silentLogger() })
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s))
  })
  try {
    const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`
    const url = link('I1234ABCDEFGH', users.bob as string, 'acknowledge').replace(stack.baseUrl, base)
    expectPage(await open(url), 404, 'Action links are off')
    expectPage(await press(url), 404, 'Action links are off')
  } finally {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  }
})

test('hostile tokens, bodies and methods: never a 5xx, always a page, nothing written', async () => {
  const group = await firingGroup()
  const valid = link(group.id, users.bob as string, 'acknowledge')
  const token = tokenOf(valid)
  const before = await snapshot(group.id)
  const segment = fc.oneof(
    fc.string().map(encodeURIComponent),
    fc.stringMatching(/^[A-Za-z0-9_-]{60,70}$/),
    fc.constantFrom('%', '%E0%A4%A', '%00', '%2E%2E%2E', '%2F', token.slice(1), `${token}%00`, 'A'.repeat(5000)),
    fc.nat(token.length - 1).map((i) => token.slice(0, i) + (token[i] === '_' ? '-' : '_') + token.slice(i + 1)),
    fc.constant(token),
  ).filter((path) => path !== '.' && path !== '..') // a URL resolves those away from /l/
  const body = fc.oneof(
    fc.string(),
    fc.string().map((t) => `token=${encodeURIComponent(t)}`),
    fc.constantFrom(`token=${token}&token=${token}`, `token[]=${token}`, `token=${token.slice(2)}`, 'a=1&'.repeat(50), 'x'.repeat(5000), ''),
    fc.json(),
  )
  const contentType = fc.constantFrom(
    'application/x-www-form-urlencoded',
    'application/x-www-form-urlencoded; charset=utf-16',
    'application/json',
    'text/plain',
    'multipart/form-data; boundary=x',
  )
  await fc.assert(
    fc.asyncProperty(fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH'), segment, body, contentType, async (method, path, text, type) => {
      // The valid token with the POST that would act is left out: it is the one request that may change things.
      fc.pre(!(method === 'POST' && path === token && text === `token=${token}`))
      const response = await request(method, `${stack.baseUrl}/l/${path}`, method === 'GET' ? undefined : text, type)
      expect(response.status).toBeLessThan(500)
      expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8')
      expect(response.headers.get('cache-control')).toBe('no-store')
    }),
    { numRuns: 300 },
  )
  expect(await snapshot(group.id)).toEqual(before)
  expect((await status(group.id)).state).toBe('firing')
}, 90_000)
