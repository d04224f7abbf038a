import { randomUUID } from 'node:crypto'
import type { ErrorRequestHandler, Request, Response } from 'express'
import type { z } from 'zod'
import { isDatabaseUnavailable } from '../../../db/connect'
import { unreachable } from '../../../workflows/core/program'
import { logThrottle } from '../../health'
import type { Logger } from '../../logger'
import { ServiceError } from '../../services/errors'
import { REQUEST_ID_HEADER } from '../request-logging'

// incident.io's error object on every /v2 answer that is not a success:
// `{type, status, request_id, errors: [{code, message, source?: {field}}], rate_limit?}`.

/** incident.io's closed list of error types. */
export const V2_ERROR_TYPES = [
  'invalid_request_error',
  'authentication_error',
  'resource_forbidden',
  'not_found',
  'not_acceptable',
  'method_not_allowed',
  'request_timeout',
  'conflict',
  'precondition_failed',
  'payload_too_large',
  'validation_error',
  'too_many_requests',
  'api_error',
  'rate_limit_reached',
  'client_timeout',
] as const
export type V2ErrorType = (typeof V2_ERROR_TYPES)[number]

/**
 * What went wrong with one part of a request. `code` is machine-readable: for field errors one of
 * `is_required`, `invalid_type`, `invalid_value`, `not_supported`, `not_found` (a reference to nothing),
 * `unknown_field`, `unknown_operator`; otherwise the error's type.
 */
export interface V2ErrorItem {
  readonly code: string
  readonly message: string
  /** The field at fault, as a path into the request: `path[1].if_else.then_path[0].level.targets`. */
  readonly source?: { readonly field: string }
}

/** The `rate_limit` member of a 429: `retry_after` is an RFC 3339 instant (the header carries seconds). */
export interface V2RateLimitInfo {
  readonly name: string
  readonly limit: number
  readonly remaining: number
  readonly retry_after: string
}

/** An answer decided at the edge, in incident.io's shape. Throw it from a handler; `v2ErrorHandler` writes it. */
export class V2Error extends Error {
  override name = 'V2Error'
  constructor(
    readonly status: number,
    readonly type: V2ErrorType,
    readonly errors: readonly V2ErrorItem[],
    readonly extra: { readonly rateLimit?: V2RateLimitInfo; readonly headers?: Readonly<Record<string, string>> } = {},
  ) {
    super(errors.map((e) => (e.source ? `${e.source.field}: ${e.message}` : e.message)).join('; ') || type)
  }
}

/** A 422 about one field (`field` as a path into the request, see `fieldPath`). */
export function validationError(field: string | undefined, message: string, code = 'invalid_value'): V2Error {
  return new V2Error(422, 'validation_error', [{ code, message, ...(field ? { source: { field } } : {}) }])
}

/** A 422 listing several field problems at once; `problems` must not be empty. */
export function validationErrors(problems: ReadonlyArray<{ field?: string; message: string; code?: string }>): V2Error {
  return new V2Error(
    422,
    'validation_error',
    problems.map((p) => ({ code: p.code ?? 'invalid_value', message: p.message, ...(p.field ? { source: { field: p.field } } : {}) })),
  )
}

export const notFoundError = (message = 'Not found.') => new V2Error(404, 'not_found', [{ code: 'not_found', message }])
export const invalidRequestError = (message: string, status = 400) =>
  new V2Error(status, 'invalid_request_error', [{ code: 'invalid_request_error', message }])

/** `['path', 1, 'if_else', 'then_path', 0]` → `path[1].if_else.then_path[0]`; the empty path is `''`. */
export function fieldPath(path: ReadonlyArray<PropertyKey>): string {
  let out = ''
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`
    else out += out === '' ? String(segment) : `.${String(segment)}`
  }
  return out
}

/** Appends a relative field (`weekday_intervals[0].start_time`, `[2]`, or `''`) to a base field. */
export function joinField(base: string, relative: string): string {
  if (relative === '') return base
  if (base === '') return relative
  return relative.startsWith('[') ? `${base}${relative}` : `${base}.${relative}`
}

/**
 * Custom zod issues may carry `params` to set the incident.io `code` (e.g. `not_supported`) and, for checks run
 * on the whole body, the `field` at fault (which then replaces the issue's path).
 */
export interface IssueParams {
  readonly code?: string
  readonly field?: string
}

const TYPE_NAMES: Record<string, string> = { array: 'a list', object: 'an object', string: 'a string', number: 'a number', int: 'an integer', boolean: 'a boolean' }

/** Messages for zod's own issues, in plain words; schemas' custom messages win over these. */
const readableIssue: z.core.$ZodErrorMap = (issue) => {
  if (issue.code === 'invalid_type') {
    if (issue.input === undefined) return 'This field is required.'
    const expected = TYPE_NAMES[issue.expected] ?? issue.expected
    return `must be ${expected}, not ${describeInput(issue.input)}`
  }
  return undefined
}

function describeInput(input: unknown): string {
  if (input === null) return 'null'
  if (Array.isArray(input)) return 'a list'
  if (Number.isInteger(input)) return 'an integer'
  return typeof input === 'object' ? 'an object' : `a ${typeof input}`
}

function itemOfIssue(issue: z.core.$ZodIssue, input: unknown): V2ErrorItem {
  const params = issue.code === 'custom' ? (issue.params as IssueParams | undefined) : undefined
  const field = typeof params?.field === 'string' ? params.field : fieldPath(issue.path)
  const code =
    typeof params?.code === 'string'
      ? params.code
      : issue.code !== 'custom' && valueAt(input, issue.path) === undefined
        ? 'is_required'
        : issue.code === 'invalid_type'
          ? 'invalid_type'
          : 'invalid_value'
  return { code, message: issue.message, ...(field ? { source: { field } } : {}) }
}

function valueAt(input: unknown, path: ReadonlyArray<PropertyKey>): unknown {
  let value = input
  for (const key of path) {
    if (value === null || typeof value !== 'object' || !Object.hasOwn(value, key)) return undefined
    value = (value as Record<PropertyKey, unknown>)[key]
  }
  return value
}

/** The 422 of a failed parse: one entry per zod issue, each naming its field. */
export function zodValidationError(error: z.ZodError, input: unknown): V2Error {
  return new V2Error(422, 'validation_error', error.issues.map((issue) => itemOfIssue(issue, input)))
}

/** Parses a request body with its zod schema; anything but a JSON body is a 400, a bad one a 422. */
export function parseBody<S extends z.ZodType>(schema: S, raw: unknown): z.output<S> {
  if (raw === undefined) {
    throw invalidRequestError('This request needs a JSON body, sent with Content-Type: application/json.')
  }
  const result = schema.safeParse(raw, { error: readableIssue })
  if (!result.success) throw zodValidationError(result.error, raw)
  return result.data
}

/** Parses any value (a query, a part of a body) with a zod schema; failures are 422s naming their fields. */
export function parseOrThrow<S extends z.ZodType>(schema: S, raw: unknown): z.output<S> {
  const result = schema.safeParse(raw, { error: readableIssue })
  if (!result.success) throw zodValidationError(result.error, raw)
  return result.data
}

/** The id request logging gave this request (also in the `X-Request-Id` response header). */
export function requestIdFor(req: Request, res: Response): string {
  if (typeof req.id === 'string' || typeof req.id === 'number') return String(req.id)
  const header = res.getHeader(REQUEST_ID_HEADER)
  return typeof header === 'string' ? header : randomUUID()
}

/** Writes a V2Error: its status, headers and incident.io body. */
export function sendV2Error(req: Request, res: Response, err: V2Error): void {
  for (const [name, value] of Object.entries(err.extra.headers ?? {})) res.set(name, value)
  res.status(err.status).json({
    type: err.type,
    status: err.status,
    request_id: requestIdFor(req, res),
    errors: err.errors,
    ...(err.extra.rateLimit ? { rate_limit: err.extra.rateLimit } : {}),
  })
}

/** A service's refusal in incident.io's words. */
export function v2ErrorOf(err: ServiceError): V2Error {
  const field = err.details.field
  switch (err.code) {
    case 'not_found':
      return notFoundError(err.message)
    case 'invalid_reference':
      return validationError(field, err.message, 'not_found')
    case 'invalid_value':
      return validationError(field, err.message)
    case 'invalid_request':
      return validationError(undefined, err.message, 'invalid_request')
    case 'refused':
      return validationError(undefined, err.message, 'refused')
    case 'engine_unavailable':
      return new V2Error(
        503,
        'api_error',
        [
          {
            code: 'engine_unavailable',
            message: err.details.nothingPaged
              ? 'The escalation engine is unavailable; nobody was paged. Retry shortly.'
              : 'The escalation engine is unavailable. Retry shortly.',
          },
        ],
        { headers: { 'Retry-After': RETRY_AFTER_SECONDS } },
      )
    default:
      return unreachable(err.code)
  }
}

interface BodyParserError {
  type?: string
  status?: number
  message?: string
}

const RETRY_AFTER_SECONDS = '5'

/** The one place /v2 errors become HTTP. Anything unforeseen is a logged 500 without internals. */
export function v2ErrorHandler(logger: Logger): ErrorRequestHandler {
  const unavailableLog = logThrottle()
  return (err, req, res, next) => {
    if (res.headersSent) return next(err)
    if (err instanceof V2Error) return sendV2Error(req, res, err)
    if (err instanceof ServiceError) return sendV2Error(req, res, v2ErrorOf(err))
    const parserError = err as BodyParserError
    if (parserError.type === 'entity.parse.failed') {
      return sendV2Error(req, res, invalidRequestError(`The body is not valid JSON: ${parserError.message ?? 'parse error'}`))
    }
    if (parserError.type === 'entity.too.large') {
      return sendV2Error(req, res, new V2Error(413, 'payload_too_large', [{ code: 'payload_too_large', message: 'The request body is too large.' }]))
    }
    if (parserError.type === 'encoding.unsupported' || parserError.type === 'charset.unsupported') {
      return sendV2Error(req, res, invalidRequestError(parserError.message ?? 'Unsupported body encoding.', 415))
    }
    if (parserError.status && parserError.status >= 400 && parserError.status < 500) {
      return sendV2Error(req, res, invalidRequestError(parserError.message ?? 'Bad request.', parserError.status))
    }
    if (isDatabaseUnavailable(err)) {
      unavailableLog((heldBack) => logger.warn({ err: { message: (err as Error).message }, alsoRefused: heldBack }, 'requests refused: database unavailable'))
      return sendV2Error(
        req,
        res,
        new V2Error(503, 'api_error', [{ code: 'database_unavailable', message: 'The database is unavailable. Retry shortly.' }], {
          headers: { 'Retry-After': RETRY_AFTER_SECONDS },
        }),
      )
    }
    logger.error({ err, method: req.method, path: req.path }, 'unhandled error')
    sendV2Error(req, res, new V2Error(500, 'api_error', [{ code: 'api_error', message: 'An internal error occurred.' }]))
  }
}
