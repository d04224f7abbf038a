import type { NextFunction, Request, RequestHandler, Response } from 'express'
import type { Db } from '../../../db/connect'
import type { UserRole } from '../../../db/schema'
import { findUserByToken } from '../../../db/tokens.repo'
import type { User } from '../../../db/users.repo'
import { hasRole } from '../../services/roles'
import { ApiError } from './errors'

/** Who is calling: every query a handler makes is scoped to `organizationId`. */
export interface Caller {
  readonly organizationId: string
  readonly user: User
}

declare module 'express-serve-static-core' {
  interface Request {
    caller?: Caller
  }
}

const invalidToken = () => new ApiError(403, { detail: 'Invalid token.' })

/** OnCall's scheme: `Authorization: <token>`; `Bearer <token>` is accepted too (as Grafana IRM documents). */
export function authenticate(db: Db): RequestHandler {
  return async (req: Request, _res: Response, next: NextFunction) => {
    const header = req.get('authorization')?.trim()
    if (!header) throw invalidToken()
    const token = header.replace(/^bearer\s+/i, '')
    const user = await findUserByToken(db, token)
    if (!user) throw invalidToken()
    req.caller = { organizationId: user.organizationId, user }
    next()
  }
}

export function callerOf(req: Request): Caller {
  if (!req.caller) throw invalidToken()
  return req.caller
}

/** OnCall's legacy roles: viewer reads, editor also pages and acts on alert groups, admin configures. */
export type Permission = 'read' | 'write_alert_groups' | 'admin'
const needed: Record<Permission, UserRole> = { read: 'viewer', write_alert_groups: 'editor', admin: 'admin' }

/** Checked before any lookup, as OnCall does: a forbidden request for a missing id is 403, not 404. */
export function requirePermission(req: Request, permission: Permission): Caller {
  const caller = callerOf(req)
  if (!hasRole(caller.user.role, needed[permission])) {
    throw new ApiError(403, { detail: 'You do not have permission to perform this action.' })
  }
  return caller
}
