import type { Request, Response, Router } from 'express'
import type { z } from 'zod'
import { requireRole, type V2Caller, type V2Role } from './auth'
import { notFoundError, parseBody, V2Error } from './errors'
import { parseListRequest, type FilterSpec, type ListRequest } from './filters'

// Every /v2 endpoint is declared once, with what it needs (role, body schema, list filters) and what it answers:
// the declaration registers the route, checks the request before the handler runs, and is what the OpenAPI
// document is generated from. Adding an endpoint is one `resource(...)` call in its route file.

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'

/** What a handler gets: the request already authenticated, authorized and parsed. */
export interface HandlerContext<Body, List> {
  readonly req: Request
  readonly res: Response
  readonly caller: V2Caller
  /** The parsed body (undefined when the operation declares none). */
  readonly body: Body
  /** The page and filters of a list (undefined when the operation is not a list). */
  readonly list: List
}

export interface Operation<B extends z.ZodType | undefined = undefined, S extends FilterSpec | undefined = undefined> {
  readonly summary: string
  readonly description?: string
  /** The least role of the API key's user (403 `resource_forbidden` below it), checked before anything else. */
  readonly role: V2Role
  /** The body schema: parsed before the handler runs (422 naming each bad field), and documented. */
  readonly body?: B
  /** With `body`: no body at all reads as `{}` (for actions whose body is optional). */
  readonly optionalBody?: boolean
  /** Makes the operation a cursor-paginated list with these filters (`{}`: none): `page_size`, `after` and filters parsed. */
  readonly list?: S
  /** The schema of the success answer, for the document. */
  readonly response?: z.ZodType
  /** Status → description of every answer besides the common errors (401, 403, 422, 429). */
  readonly responses: Readonly<Record<string, string>>
  readonly handler: (context: HandlerContext<B extends z.ZodType ? z.output<B> : undefined, S extends FilterSpec ? ListRequest<S> : undefined>) => Promise<void>
}

// Erased for storage: `operation()` checked each declaration's handler against its own schemas.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyOperation = Operation<any, any>

/** Declares one operation; only here to infer the handler's types from `body` and `list`. */
export function operation<B extends z.ZodType | undefined = undefined, S extends FilterSpec | undefined = undefined>(
  declared: Operation<B, S>,
): Operation<B, S> {
  return declared
}

// Every (path, method) registered, in Express syntax: the OpenAPI document is generated from it.
const declared = new Map<string, Map<Method, AnyOperation>>()

export function declaredOperations(): ReadonlyMap<string, ReadonlyMap<Method, AnyOperation>> {
  return declared
}

// Ids are short ASCII tokens: anything else names nothing (and must never reach SQL: NUL breaks text queries).
const PATH_PARAMETER = /^[A-Za-z0-9_-]{1,64}$/

/**
 * Registers `path` (Express syntax, relative to /v2) with its operations. Another method is 405
 * `method_not_allowed`; a path parameter that cannot be an id is 404; then, in order: role, body, list query.
 */
export function resource(router: Router, path: string, operations: Partial<Record<Method, AnyOperation>>): void {
  const methods = declared.get(path) ?? new Map<Method, AnyOperation>()
  for (const [method, op] of Object.entries(operations) as Array<[Method, AnyOperation]>) methods.set(method, op)
  declared.set(path, methods)
  const allowed = Object.keys(operations).join(', ')
  router.all(path, async (req, res) => {
    if (req.method === 'OPTIONS') {
      res.set('Allow', `${allowed}, OPTIONS`).status(204).end()
      return
    }
    const op = operations[(req.method === 'HEAD' ? 'GET' : req.method) as Method]
    if (!op) {
      throw new V2Error(405, 'method_not_allowed', [{ code: 'method_not_allowed', message: `${req.method} is not allowed here: use ${allowed}` }], {
        headers: { Allow: allowed },
      })
    }
    const caller = requireRole(req, op.role)
    if (Object.values(req.params).some((value) => typeof value !== 'string' || !PATH_PARAMETER.test(value))) throw notFoundError()
    const raw = req.body === undefined && op.optionalBody ? {} : req.body
    await op.handler({
      req,
      res,
      caller,
      body: op.body ? parseBody(op.body, raw) : undefined,
      list: op.list ? parseListRequest(req.query as Record<string, unknown>, op.list) : undefined,
    })
  })
}
