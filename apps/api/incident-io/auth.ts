import { createHash } from 'node:crypto'
import type { Request, RequestHandler } from 'express'
import type { Db } from '../../../db/connect'
import { findUserByToken } from '../../../db/tokens.repo'
import type { User } from '../../../db/users.repo'
import { hasRole } from '../../services/roles'
import { V2Error } from './errors'

// incident.io's scheme: `Authorization: Bearer <api key>`. The keys are the organization's API tokens (the same
// hashed store the OnCall dialect reads); a key acts with its user's role.

/** Who is calling: every query a handler makes is scoped to `organizationId`. */
export interface V2Caller {
  readonly organizationId: string
  readonly user: User
  /** Identifies the API key (a digest, never the key): what rate limits count per. */
  readonly keyId: string
}

const callers = new WeakMap<Request, V2Caller>()

const unauthenticated = (message: string) =>
  new V2Error(401, 'authentication_error', [{ code: 'authentication_error', message }], {
    headers: { 'WWW-Authenticate': 'Bearer realm="tocsin"' },
  })

const BEARER = /^bearer[ \t]+(\S+)[ \t]*$/i

/** Finds the caller of every request it passes on; missing or unknown keys are 401 `authentication_error`. */
export function authenticate(db: Db): RequestHandler {
  return async (req, _res, next) => {
    const header = req.get('authorization')?.trim()
    if (!header) throw unauthenticated('No API key: send it as "Authorization: Bearer <api key>".')
    const key = BEARER.exec(header)?.[1]
    if (key === undefined) throw unauthenticated('The Authorization header must be "Bearer <api key>".')
    const user = await findUserByToken(db, key)
    if (!user) throw unauthenticated('The API key is not valid: it is unknown or has been revoked.')
    callers.set(req, { organizationId: user.organizationId, user, keyId: createHash('sha256').update(key).digest('hex') })
    next()
  }
}

/** The authenticated caller; a handler reached without `authenticate` answers 401. */
export function callerOf(req: Request): V2Caller {
  const caller = callers.get(req)
  if (!caller) throw unauthenticated('No API key: send it as "Authorization: Bearer <api key>".')
  return caller
}

/** The roles an operation may require, lowest first (a key with role `none` may do nothing). */
export type V2Role = 'viewer' | 'editor' | 'admin'

/** The caller, if its key's role is at least `role`; otherwise 403 `resource_forbidden`. */
export function requireRole(req: Request, role: V2Role): V2Caller {
  const caller = callerOf(req)
  if (!hasRole(caller.user.role, role)) {
    throw new V2Error(403, 'resource_forbidden', [
      { code: 'resource_forbidden', message: `This API key's user has the role ${caller.user.role}; this request needs ${role} or above.` },
    ])
  }
  return caller
}
