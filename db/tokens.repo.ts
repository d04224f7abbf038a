import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import type { Db } from './connect'
import { toUser, userColumns, type User } from './users.repo'

// OnCall's token scheme: 64 lowercase hex characters, found by the first 8, verified by a SHA-512 digest.
const PREFIX_LENGTH = 8

function digest(token: string): string {
  return createHash('sha512').update(token, 'utf8').digest('hex')
}

/** Issues an API token for a user; the raw token is returned once and only its digest is stored. */
export async function issueToken(db: Db, organizationId: string, userId: string, name: string): Promise<string> {
  const token = randomBytes(32).toString('hex')
  await db
    .insertInto('api_tokens')
    .values({
      organization_id: organizationId,
      user_id: userId,
      name,
      token_prefix: token.slice(0, PREFIX_LENGTH),
      token_hash: digest(token),
    })
    .execute()
  return token
}

/** The user a raw token belongs to, or undefined for an unknown or revoked token. */
export async function findUserByToken(db: Db, token: string): Promise<User | undefined> {
  if (!/^[0-9a-f]{64}$/.test(token)) return undefined
  const candidates = await db
    .selectFrom('api_tokens')
    .innerJoin('users', 'users.id', 'api_tokens.user_id')
    .select(['api_tokens.token_hash', ...userColumns])
    .where('api_tokens.token_prefix', '=', token.slice(0, PREFIX_LENGTH))
    .where('api_tokens.revoked_at', 'is', null)
    .execute()
  const expected = Buffer.from(digest(token), 'hex')
  for (const { token_hash, ...user } of candidates) {
    const stored = Buffer.from(token_hash, 'hex')
    if (stored.length === expected.length && timingSafeEqual(stored, expected)) return toUser(user)
  }
  return undefined
}
