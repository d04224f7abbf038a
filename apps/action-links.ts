import { createHmac, timingSafeEqual } from 'node:crypto'
import type { ActionLinks } from '../activities/channels/port'
import type { LifecycleAction } from '../workflows/core/lifecycle'

// Signed links in pages (email, SMS, Slack) that act on one alert group as one user until they expire. The token is
// the credential: no session, no database row. It is short enough for an SMS: a binary payload (version and action,
// expiry in seconds, the two ids) and a truncated HMAC-SHA256, in base64url.

/** The lifecycle actions a link may carry. */
export type ActionLinkAction = Extract<LifecycleAction, 'acknowledge' | 'resolve' | 'silence'>

export const ACTION_LINK_ACTIONS: readonly ActionLinkAction[] = ['acknowledge', 'resolve', 'silence']

/** How long a silence link silences the group. */
export const SILENCE_LINK_SECONDS = 3600

export type ActionLinkVerdict =
  | { readonly ok: true; readonly alertGroupId: string; readonly userId: string; readonly action: ActionLinkAction; readonly expiresAt: Date }
  | { readonly ok: false; readonly reason: 'malformed' | 'bad_signature' | 'expired' }

const VERSION = 1
// 128 bits: forging one stays out of reach, and the URL stays under SMS length.
const MAC_BYTES = 16
// Keys another use of the same secret could never produce.
const MAC_CONTEXT = Buffer.from('tocsin action link\0')
// OnCall-style public ids (`I1234ABCDEFGH`) and anything else URL- and HTML-safe.
const ID = /^[A-Za-z0-9_-]{1,64}$/
const MAX_TOKEN_CHARS = 256
const MAX_EXPIRY_SECONDS = 0xffffffff

/** `${publicUrl}/l/<token>`: a link acting as `userId` on `alertGroupId` until `expiresAt`. */
export function signActionLink(options: {
  secret: string
  publicUrl: string
  alertGroupId: string
  userId: string
  action: ActionLinkAction
  expiresAt: Date
}): string {
  const { secret, alertGroupId, userId, action, expiresAt } = options
  if (secret === '') throw new Error('the action link secret is empty')
  if (!ID.test(alertGroupId) || !ID.test(userId)) throw new Error('action links carry URL-safe ids of at most 64 characters')
  const expiry = Math.floor(expiresAt.getTime() / 1000)
  if (!Number.isInteger(expiry) || expiry < 0 || expiry > MAX_EXPIRY_SECONDS) throw new Error(`action link expiry out of range: ${expiresAt.toISOString()}`)
  const group = Buffer.from(alertGroupId, 'ascii')
  const user = Buffer.from(userId, 'ascii')
  const payload = Buffer.alloc(1 + 4 + 1 + group.length + 1 + user.length)
  let at = payload.writeUInt8((VERSION << 4) | ACTION_LINK_ACTIONS.indexOf(action), 0)
  at = payload.writeUInt32BE(expiry, at)
  at = payload.writeUInt8(group.length, at)
  at += group.copy(payload, at)
  at = payload.writeUInt8(user.length, at)
  user.copy(payload, at)
  const token = Buffer.concat([payload, mac(secret, payload)]).toString('base64url')
  return `${options.publicUrl.replace(/\/+$/, '')}/l/${token}`
}

/** What a token says, once its signature is checked; expired from `now` on. Never throws on any input. */
export function verifyActionLink(secret: string, token: string, now: Date): ActionLinkVerdict {
  if (secret === '') throw new Error('the action link secret is empty')
  if (typeof token !== 'string' || token.length > MAX_TOKEN_CHARS || !/^[A-Za-z0-9_-]+$/.test(token)) return malformed
  const bytes = Buffer.from(token, 'base64url')
  // One byte string has one spelling: a token whose unused trailing bits differ is not the token that was signed.
  if (bytes.toString('base64url') !== token) return malformed
  const payload = parsePayload(bytes)
  if (!payload) return malformed
  const signed = bytes.subarray(0, payload.length)
  if (!timingSafeEqual(bytes.subarray(payload.length), mac(secret, signed))) return { ok: false, reason: 'bad_signature' }
  const expiresAt = new Date(payload.expiry * 1000)
  if (now.getTime() >= expiresAt.getTime()) return { ok: false, reason: 'expired' }
  return { ok: true, alertGroupId: payload.alertGroupId, userId: payload.userId, action: payload.action, expiresAt }
}

/** The three links of one page, for the worker to put in every message; each expires `ttlSeconds` after `now()`. */
export function actionLinksFor(options: {
  secret: string
  publicUrl: string
  ttlSeconds: number
  now?: () => Date
}): (alertGroupId: string, userId: string) => ActionLinks {
  const now = options.now ?? (() => new Date())
  return (alertGroupId, userId) => {
    const expiresAt = new Date(now().getTime() + options.ttlSeconds * 1000)
    const link = (action: ActionLinkAction) =>
      signActionLink({ secret: options.secret, publicUrl: options.publicUrl, alertGroupId, userId, action, expiresAt })
    return { acknowledge: link('acknowledge'), resolve: link('resolve'), silence: link('silence') }
  }
}

const malformed = { ok: false, reason: 'malformed' } as const

function mac(secret: string, payload: Buffer): Buffer {
  return createHmac('sha256', secret).update(MAC_CONTEXT).update(payload).digest().subarray(0, MAC_BYTES)
}

function parsePayload(bytes: Buffer): { length: number; action: ActionLinkAction; expiry: number; alertGroupId: string; userId: string } | null {
  if (bytes.length < 1 + 4 + 1 + 1 + 1 + 1 + MAC_BYTES) return null
  const head = bytes.readUInt8(0)
  const action = ACTION_LINK_ACTIONS[head & 0x0f]
  if (head >> 4 !== VERSION || action === undefined) return null
  const expiry = bytes.readUInt32BE(1)
  const alertGroupId = idAt(bytes, 5)
  if (alertGroupId === null) return null
  const userAt = 5 + 1 + alertGroupId.length
  const userId = idAt(bytes, userAt)
  if (userId === null) return null
  const length = userAt + 1 + userId.length
  if (bytes.length !== length + MAC_BYTES) return null
  return { length, action, expiry, alertGroupId, userId }
}

/** The length-prefixed id at `at`, or null when it runs past the MAC or is not a valid id. */
function idAt(bytes: Buffer, at: number): string | null {
  if (at >= bytes.length) return null
  const length = bytes.readUInt8(at)
  if (at + 1 + length > bytes.length - MAC_BYTES) return null
  const id = bytes.toString('latin1', at + 1, at + 1 + length)
  return ID.test(id) ? id : null
}
