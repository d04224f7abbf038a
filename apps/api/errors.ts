import type { ErrorRequestHandler } from 'express'
import { type z } from 'zod'
import { drfErrors } from './drf'

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

/** The one place errors become HTTP. Anything unforeseen is a logged 500 without internals. */
export function errorHandler(log: (message: string, err: unknown) => void): ErrorRequestHandler {
  return (err, req, res, next) => {
    if (res.headersSent) return next(err)
    if (err instanceof ApiError) return void res.status(err.status).json(err.body)
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
    log(`unhandled error on ${req.method} ${req.path}`, err)
    res.status(500).json({ detail: 'A server error occurred.' })
  }
}
