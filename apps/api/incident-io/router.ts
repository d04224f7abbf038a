import express, { Router } from 'express'
import type { ApiDeps } from '../deps'
import { authenticate } from './auth'
import { notFoundError, v2ErrorHandler } from './errors'
import { openApiDocument } from './openapi'
import { rateLimit, v2RateLimitRule, type V2RateLimitOverrides } from './rate-limit'
import { escalationPathsRouter } from './routes/escalation-paths'
import { escalationPathSimulateRouter } from './routes/escalation-path-simulate'
import { escalationsRouter } from './routes/escalations'

// The incident.io dialect, mounted at /v2: bearer API keys, incident.io's rate limits and error object.

// As for /api/v1: large enough for any real path or escalation request.
const JSON_BODY_LIMIT = '1mb'

export interface V2RouterOptions {
  /** Requests per minute per API key, by rule (default: incident.io's, see V2_RATE_LIMITS); tests set low ones. */
  readonly rateLimits?: V2RateLimitOverrides
}

/** Every /v2 route, with its own 404, 405 and error handling: nothing under /v2 answers in another dialect. */
export function v2Router(deps: ApiDeps, options: V2RouterOptions = {}): Router {
  const router = Router()
  // The API's own description is public, like any API reference.
  router.get('/openapi.json', (_req, res) => void res.json(openApiDocument(deps.publicUrl)))
  router.use(authenticate(deps.db))
  router.use(rateLimit(v2RateLimitRule('global', options.rateLimits)))
  // incident.io's own limit on paging: interactive use, not alert storms.
  router.post('/escalations', rateLimit(v2RateLimitRule('createEscalation', options.rateLimits)))
  router.use(express.json({ limit: JSON_BODY_LIMIT, strict: false }))
  router.use(escalationPathsRouter(deps))
  router.use(escalationPathSimulateRouter(deps))
  router.use(escalationsRouter(deps)) // escalations issue: /v2/escalations mounts here
  router.use((req, _res, next) => next(notFoundError(`No such endpoint: ${req.method} /v2${req.path.slice(0, 200)}`)))
  router.use(v2ErrorHandler(deps.logger))
  return router
}
