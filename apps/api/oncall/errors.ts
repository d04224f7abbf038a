import type { ErrorRequestHandler } from 'express'
import { type z } from 'zod'
import { isDatabaseUnavailable } from '../../../db/connect'
import { logThrottle } from '../../health'
import type { Logger } from '../../logger'
import { unreachable } from '../../../workflows/oncall/steps'
import { ServiceError } from '../../services/errors'
import { drfErrors } from './drf'
import { refusalText } from './refusals'

/** An answer decided at the edge, in OnCall's shape: a status and a JSON body. */
export class ApiError extends Error {
  override name = 'ApiError'
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {
    super(typeof body === 'object' && body && 'detail' in body ? String(body.detail) : JSON.stringify(body))
  }
}

export const notFound = () => new ApiError(404, { detail: 'Not found.' })
export const badRequest = (detail: string) => new ApiError(400, { detail })
export const fieldError = (field: string, message: string) => new ApiError(400, { [field]: [message] })
export const nonFieldError = (message: string) => new ApiError(400, { non_field_errors: [message] })

/** Parses with a zod schema; failures become DRF field errors (400). No body at all is empty data, as in DRF. */
export function parseOrThrow<S extends z.ZodType>(schema: S, raw: unknown): z.output<S> {
  const input = raw === undefined ? {} : raw
  const result = schema.safeParse(input)
  if (!result.success) throw new ApiError(400, drfErrors(result.error, input))
  return result.data
}

interface BodyParserError {
  type?: string
  status?: number
  message?: string
}

const DATABASE_RETRY_AFTER_SECONDS = '5'

/** The one place errors become HTTP. Anything unforeseen is a logged 500 without internals. */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  const unavailableLog = logThrottle()
  return (err, req, res, next) => {
    if (res.headersSent) return next(err)
    if (err instanceof ApiError) return void res.status(err.status).json(err.body)
    if (err instanceof ServiceError) {
      const mapped = apiErrorOf(err)
      return void res.status(mapped.status).json(mapped.body)
    }
    const parserError = err as BodyParserError
    if (parserError.type === 'entity.parse.failed') {
      return void res.status(400).json({ detail: `JSON parse error - ${parserError.message ?? 'invalid JSON'}` })
    }
    if (parserError.type === 'entity.too.large') {
      return void res.status(413).json({ detail: 'Request body is too large.' })
    }
    if (parserError.type === 'encoding.unsupported' || parserError.type === 'charset.unsupported') {
      return void res.status(415).json({ detail: parserError.message ?? 'Unsupported media type.' })
    }
    if (parserError.status && parserError.status >= 400 && parserError.status < 500) {
      return void res.status(parserError.status).json({ detail: parserError.message ?? 'Bad request.' })
    }
    if (isDatabaseUnavailable(err)) {
      // PostgreSQL is away or restarting: a retryable answer at once, not an internal error.
      unavailableLog((heldBack) => logger.warn({ err: { message: (err as Error).message }, alsoRefused: heldBack }, 'requests refused: database unavailable'))
      res.set('Retry-After', DATABASE_RETRY_AFTER_SECONDS)
      return void res.status(503).json({ detail: 'The database is unavailable. Retry shortly.' })
    }
    logger.error({ err, method: req.method, path: req.path }, 'unhandled error')
    res.status(500).json({ detail: 'A server error occurred.' })
  }
}

/** A service's refusal in OnCall's words: DRF's `detail` or field lists, 503 when the engine is unavailable. */
export function apiErrorOf(err: ServiceError): ApiError {
  switch (err.code) {
    case 'not_found':
      return notFound()
    case 'invalid_reference':
      return fieldError(err.details.field ?? 'non_field_errors', 'Object does not exist')
    case 'invalid_value':
      return err.details.field ? fieldError(err.details.field, err.message) : badRequest(err.message)
    case 'invalid_request':
      return badRequest(err.message)
    case 'refused':
      return badRequest(err.details.refusal ? refusalText(err.details.refusal) : err.message)
    case 'engine_unavailable':
      return new ApiError(503, {
        detail: err.details.nothingPaged
          ? 'The escalation engine is unavailable; nothing was paged. Retry shortly.'
          : 'The escalation engine is unavailable. Retry shortly.',
      })
    default:
      return unreachable(err.code)
  }
}
