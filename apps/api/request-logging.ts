import type { RequestHandler } from 'express'
import { randomUUID } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { pinoHttp } from 'pino-http'
import { redactUrl, type Logger } from '../logger'

// One JSON line per request (method, redacted URL, status, duration) with a request id that is also echoed in the
// `X-Request-Id` response header and available to handlers as `req.log`. No header is logged: the Authorization
// header carries an API token, and alert URLs carry the integration token (redacted from the URL).

export const REQUEST_ID_HEADER = 'X-Request-Id'

// A proxy's or client's id is kept when it looks like one (UUIDs, ULIDs, trace ids...); anything else could
// forge log lines or smuggle data, and is replaced.
const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/

/** The incoming `X-Request-Id` when sane, else a new UUID. */
export function requestIdOf(incoming: string | string[] | undefined): string {
  const value = Array.isArray(incoming) ? incoming[0] : incoming
  return value !== undefined && SANE_REQUEST_ID.test(value) ? value : randomUUID()
}

// Probes and scrapes every few seconds would drown the requests that matter.
const QUIET_PATHS = new Set(['/health', '/health/live', '/health/ready', '/metrics'])

export function requestLogging(logger: Logger): RequestHandler {
  const middleware = pinoHttp<IncomingMessage, ServerResponse>({
    logger,
    genReqId: (req, res) => {
      const id = requestIdOf(req.headers['x-request-id'])
      res.setHeader(REQUEST_ID_HEADER, id)
      return id
    },
    customAttributeKeys: { reqId: 'requestId' },
    quietReqLogger: true,
    autoLogging: { ignore: (req) => QUIET_PATHS.has((req.url ?? '/').split('?')[0]?.replace(/(.)\/+$/, '$1') ?? '/') },
    customLogLevel: (_req, res, err) => (err || res.statusCode >= 500 ? 'error' : 'info'),
    customSuccessMessage: (req, res) => `${req.method} ${res.statusCode}`,
    customErrorMessage: (req, res) => `${req.method} ${res.statusCode} failed`,
    serializers: {
      req: (req: { id?: unknown; method?: string; url?: string; remoteAddress?: string }) => ({
        method: req.method,
        url: redactUrl(req.url ?? '/'),
        remoteAddress: req.remoteAddress,
      }),
      res: (res: { statusCode?: number }) => ({ statusCode: res.statusCode }),
    },
  })
  return (req, res, next) => middleware(req, res, next)
}
