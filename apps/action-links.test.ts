import fc from 'fast-check'
import { ACTION_LINK_ACTIONS, actionLinksFor, signActionLink, verifyActionLink, type ActionLinkAction } from './action-links'

const secret = 'test-secret-with-enough-entropy-0123456789'
const publicUrl = 'https://oncall.example.com'
const now = new Date('2026-12-07T10:00:00Z')
const inADay = new Date('2026-12-08T10:00:00Z')

function tokenOf(url: string): string {
  const match = /\/l\/([A-Za-z0-9_-]+)$/.exec(url)
  if (!match?.[1]) throw new Error(`not an action link: ${url}`)
  return match[1]
}

function link(action: ActionLinkAction = 'acknowledge', expiresAt = inADay) {
  return signActionLink({ secret, publicUrl, alertGroupId: 'I1234ABCDEFGH', userId: 'U9ZZZYYYXXXW1', action, expiresAt })
}

test.each(ACTION_LINK_ACTIONS)('a %s link verifies to what was signed', (action) => {
  const url = link(action)
  expect(url.startsWith(`${publicUrl}/l/`)).toBe(true)
  expect(verifyActionLink(secret, tokenOf(url), now)).toEqual({
    ok: true,
    alertGroupId: 'I1234ABCDEFGH',
    userId: 'U9ZZZYYYXXXW1',
    action,
    expiresAt: inADay,
  })
})

test('links stay short enough for an SMS', () => {
  for (const action of ACTION_LINK_ACTIONS) expect(link(action).length).toBeLessThan(120)
  // The longest part is the token: 66 characters for OnCall's 13-character ids.
  expect(tokenOf(link()).length).toBe(66)
})

test('a trailing slash of the public URL is not doubled', () => {
  const url = signActionLink({ secret, publicUrl: 'https://x.example/tocsin/', alertGroupId: 'I1', userId: 'U1', action: 'resolve', expiresAt: inADay })
  expect(url).toMatch(/^https:\/\/x\.example\/tocsin\/l\/[A-Za-z0-9_-]+$/)
})

test('changing any one character of the token makes it invalid', () => {
  const token = tokenOf(link())
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
  for (let i = 0; i < token.length; i++) {
    for (const replacement of alphabet) {
      if (replacement === token[i]) continue
      const tampered = token.slice(0, i) + replacement + token.slice(i + 1)
      expect(verifyActionLink(secret, tampered, now).ok).toBe(false)
    }
  }
})

test('flipping any bit of the decoded token is refused', () => {
  const bytes = Buffer.from(tokenOf(link()), 'base64url')
  for (let i = 0; i < bytes.length; i++) {
    for (let bit = 0; bit < 8; bit++) {
      const tampered = Buffer.from(bytes)
      tampered[i] = (tampered[i] as number) ^ (1 << bit)
      const verdict = verifyActionLink(secret, tampered.toString('base64url'), now)
      expect(verdict.ok).toBe(false)
    }
  }
})

test('a payload signed for another action, group or user does not verify with the MAC of the first', () => {
  const ack = Buffer.from(tokenOf(link('acknowledge')), 'base64url')
  const resolve = Buffer.from(tokenOf(link('resolve')), 'base64url')
  // The resolve payload with the acknowledge MAC: a swapped action.
  const swapped = Buffer.concat([resolve.subarray(0, resolve.length - 16), ack.subarray(ack.length - 16)])
  expect(verifyActionLink(secret, swapped.toString('base64url'), now)).toEqual({ ok: false, reason: 'bad_signature' })
})

test('expired from the expiry instant on, and only a correctly signed link is reported as expired', () => {
  const token = tokenOf(link('acknowledge', inADay))
  expect(verifyActionLink(secret, token, new Date(inADay.getTime() - 1000)).ok).toBe(true)
  expect(verifyActionLink(secret, token, inADay)).toEqual({ ok: false, reason: 'expired' })
  expect(verifyActionLink(secret, token, new Date('2030-01-01T00:00:00Z'))).toEqual({ ok: false, reason: 'expired' })
  expect(verifyActionLink('another secret', token, new Date('2030-01-01T00:00:00Z'))).toEqual({ ok: false, reason: 'bad_signature' })
})

test('the expiry keeps second precision', () => {
  const token = tokenOf(link('silence', new Date('2026-12-08T10:00:00.999Z')))
  expect(verifyActionLink(secret, token, now)).toMatchObject({ ok: true, expiresAt: new Date('2026-12-08T10:00:00Z') })
})

test('a link signed with another secret is a bad signature', () => {
  expect(verifyActionLink('test-secret-with-enough-entropy-0123456788', tokenOf(link()), now)).toEqual({ ok: false, reason: 'bad_signature' })
})

test('malformed tokens', () => {
  const token = tokenOf(link())
  for (const bad of ['', 'x', token.slice(0, -1), `${token}A`, `${token}=`, token.replace(/./, '+'), 'A'.repeat(300), `${token}/`, '%41']) {
    expect(verifyActionLink(secret, bad, now)).toEqual({ ok: false, reason: 'malformed' })
  }
  // A well-formed payload of another version.
  const bytes = Buffer.from(token, 'base64url')
  bytes[0] = 0x20
  expect(verifyActionLink(secret, bytes.toString('base64url'), now)).toEqual({ ok: false, reason: 'malformed' })
})

test('any string is answered without throwing, and never verifies', () => {
  fc.assert(
    fc.property(fc.oneof(fc.string(), fc.base64String(), fc.stringMatching(/^[A-Za-z0-9_-]{40,80}$/)), (token) => {
      expect(verifyActionLink(secret, token, now).ok).toBe(false)
    }),
    { numRuns: 2000 },
  )
})

test('signing refuses what a link cannot carry', () => {
  const base = { secret, publicUrl, alertGroupId: 'I1', userId: 'U1', action: 'acknowledge' as const, expiresAt: inADay }
  expect(() => signActionLink({ ...base, secret: '' })).toThrow()
  expect(() => signActionLink({ ...base, alertGroupId: '' })).toThrow()
  expect(() => signActionLink({ ...base, userId: 'U1/../x' })).toThrow()
  expect(() => signActionLink({ ...base, alertGroupId: 'I'.repeat(65) })).toThrow()
  expect(() => signActionLink({ ...base, expiresAt: new Date('2200-01-01T00:00:00Z') })).toThrow()
  expect(() => signActionLink({ ...base, expiresAt: new Date(Number.NaN) })).toThrow()
})

test('ids of any allowed shape roundtrip', () => {
  fc.assert(
    fc.property(fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/), fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/), fc.constantFrom(...ACTION_LINK_ACTIONS), (alertGroupId, userId, action) => {
      const url = signActionLink({ secret, publicUrl, alertGroupId, userId, action, expiresAt: inADay })
      expect(verifyActionLink(secret, tokenOf(url), now)).toEqual({ ok: true, alertGroupId, userId, action, expiresAt: inADay })
    }),
  )
})

test('actionLinksFor signs the three actions for one group and user, expiring ttlSeconds from now', () => {
  const links = actionLinksFor({ secret, publicUrl, ttlSeconds: 3600, now: () => now })('I1234ABCDEFGH', 'U9ZZZYYYXXXW1')
  const expected = { ok: true, alertGroupId: 'I1234ABCDEFGH', userId: 'U9ZZZYYYXXXW1', expiresAt: new Date('2026-12-07T11:00:00Z') }
  expect(verifyActionLink(secret, tokenOf(links.acknowledge), now)).toEqual({ ...expected, action: 'acknowledge' })
  expect(verifyActionLink(secret, tokenOf(links.resolve), now)).toEqual({ ...expected, action: 'resolve' })
  expect(verifyActionLink(secret, tokenOf(links.silence), now)).toEqual({ ...expected, action: 'silence' })
})
