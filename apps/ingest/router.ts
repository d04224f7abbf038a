import express, { Router, type ErrorRequestHandler, type Request, type Response } from 'express'
import { defaultIngestLimits, InboxWriter, type IngestLimits } from '../../db/ingestion.repo'
import { recordHeartbeat } from '../../db/heartbeats.repo'
import { isDatabaseUnavailable, type Db } from '../../db/connect'
import { logThrottle } from '../health'
import type { Escalations } from '../escalations'
import { redactUrl, type Logger } from '../logger'
import type { TocsinMetrics } from '../metrics'
import { syncHeartbeatWorkflow } from '../services/heartbeats'
import { enrichPayload, LINKLESS_TYPES } from './formats'
import { IntegrationTokenCache } from './integration-cache'
import { IngestRateLimiter } from './rate-limit'

// POST <BASE_URL>/integrations/v1/<type>/<token>/ : OnCall's alert endpoint. No auth header (the token is the
// secret), plain-text answers. The alert is in PostgreSQL before the 200; grouping happens in the processor.

export interface IngestionHttpOptions {
  readonly limits?: IngestLimits
  /** Told about every accepted alert (the in-process processor wakes up). */
  readonly onAccepted?: () => void
  /** Where refusals for want of storage are logged. */
  readonly logger?: Logger
  /** Heartbeats reset the integration's heartbeat workflow through it (without it, a sweep tells the workflow). */
  readonly escalations?: Escalations
  /** Counts accepted alerts and rate-limit refusals. */
  readonly metrics?: Pick<TocsinMetrics, 'alertsReceived' | 'rateLimitRefusals'>
  /** Token lookups, shared with whatever deletes or changes integrations (default: a cache of the router's own). */
  readonly integrationTokens?: IntegrationTokenCache
}

// Real Alertmanager batches stay far below this; bigger bodies are refused before parsing.
export const INGEST_BODY_LIMIT = '2mb'
const MAX_DEPTH = 64

const UNAVAILABLE_RETRY_AFTER_SECONDS = '5'

const notFoundText = 'Integration key was not found. Permission denied.'

function plain(res: Response, status: number, text: string): void {
  res.status(status).type('text/plain; charset=utf-8').send(text)
}

/** Why a payload cannot be stored as jsonb, or undefined: nesting depth, U+0000, lone surrogates. */
export function unstorable(value: unknown): string | undefined {
  const stack: Array<[unknown, number]> = [[value, 0]]
  while (stack.length > 0) {
    const [v, depth] = stack.pop() as [unknown, number]
    if (depth > MAX_DEPTH) return `JSON is nested too deeply (more than ${MAX_DEPTH} levels).`
    const check = (s: string) => {
      if (s.includes('\u0000')) return 'Null characters are not allowed.'
      if (/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(s)) return 'Invalid Unicode (lone surrogate).'
      return undefined
    }
    if (typeof v === 'string') {
      const bad = check(v)
      if (bad) return bad
    } else if (Array.isArray(v)) {
      for (const item of v) stack.push([item, depth + 1])
    } else if (v !== null && typeof v === 'object') {
      for (const [k, item] of Object.entries(v)) {
        const bad = check(k)
        if (bad) return bad
        stack.push([item, depth + 1])
      }
    }
  }
  return undefined
}

function parseBody(req: Request): { payload: unknown } | { error: string } {
  const type = (req.get('content-type') ?? '').toLowerCase()
  if (type.startsWith('multipart/')) return { error: 'File uploads are not allowed' }
  const raw: string = Buffer.isBuffer(req.body) ? req.body.toString('utf8') : ''
  if (type.startsWith('application/x-www-form-urlencoded')) {
    return { payload: Object.fromEntries(new URLSearchParams(raw)) }
  }
  if (raw.trim() === '') return { payload: {} }
  try {
    return { payload: JSON.parse(raw) }
  } catch (err) {
    return { error: `JSON parse error - ${err instanceof Error ? err.message : 'invalid JSON'}` }
  }
}

export function ingestionRouter(db: Db, options: IngestionHttpOptions = {}): Router {
  const router = Router()
  const limiter = new IngestRateLimiter(db, options.limits ?? defaultIngestLimits)
  const body = express.raw({ type: () => true, limit: INGEST_BODY_LIMIT })
  const integrationTokens = options.integrationTokens ?? new IntegrationTokenCache(db)
  // Concurrent alerts share one insert and one commit; each is answered only once its row is committed.
  const inbox = new InboxWriter(db)

  const lookup = async (req: Request, res: Response) => {
    const token = String(req.params.token)
    const integration = token.length <= 100 ? await integrationTokens.get(token) : undefined
    if (!integration || LINKLESS_TYPES.has(integration.type)) {
      plain(res, 403, notFoundText)
      return undefined
    }
    const urlType = String(req.params.type)
    if (urlType !== integration.type) {
      plain(res, 400, `This url is for integration with ${urlType}. Key is for ${integration.type}`)
      return undefined
    }
    return integration
  }

  const heartbeatLog = logThrottle()
  const heartbeat = async (req: Request, res: Response) => {
    const integration = await lookup(req, res)
    if (!integration) return
    const recorded = await recordHeartbeat(db, integration.organizationId, integration.id)
    // Recorded is accepted: if Temporal cannot be told now, the sync flag stays up and the sweep tells it.
    if (recorded?.timeoutSeconds != null && options.escalations) {
      await syncHeartbeatWorkflow(db, options.escalations, recorded).catch((err: unknown) =>
        heartbeatLog((heldBack) => options.logger?.warn({ err, integrationId: integration.id, alsoDeferred: heldBack }, 'heartbeat recorded; its workflow will be told later')),
      )
    }
    res.status(200).json('Ok.')
  }
  router.get('/integrations/v1/:type/:token/heartbeat', heartbeat)
  router.post('/integrations/v1/:type/:token/heartbeat', body, heartbeat)

  router.get('/integrations/v1/:type/:token', async (req, res) => {
    const integration = await lookup(req, res)
    if (!integration) return
    res
      .status(200)
      .type('text/html; charset=utf-8')
      .send('<!doctype html><title>Tocsin integration</title><p>This is an alert endpoint: POST alerts here as JSON.</p>')
  })

  router.post('/integrations/v1/:type/:token', body, async (req, res) => {
    const integration = await lookup(req, res)
    if (!integration) return
    const parsed = parseBody(req)
    if ('error' in parsed) return plain(res, 400, parsed.error)
    const bad = unstorable(parsed.payload)
    if (bad) return plain(res, 400, bad)
    if (['alertmanager', 'grafana_alerting'].includes(integration.type) && (parsed.payload === null || typeof parsed.payload !== 'object' || Array.isArray(parsed.payload))) {
      return plain(res, 400, 'Payload must be a JSON object')
    }
    const decision = await limiter.check(integration.id, integration.organizationId)
    if (!decision.allowed) {
      options.metrics?.rateLimitRefusals.inc({ scope: decision.scope })
      res.set('Retry-After', String(decision.retryAfterSeconds))
      return plain(
        res,
        429,
        `Rate limit of the ${decision.scope} reached (${decision.limit.count} alerts per ${decision.limit.windowSeconds} s). ` +
          `Retry in ${decision.retryAfterSeconds} seconds.`,
      )
    }
    try {
      await inbox.enqueue(integration, enrichPayload(integration.type, parsed.payload))
    } catch (err) {
      decision.release()
      throw err
    }
    options.metrics?.alertsReceived.inc({ integration_type: integration.type })
    options.onAccepted?.()
    res.status(200).json('Ok.')
  })

  // Body-parser refusals (too large, bad encoding) in the endpoint's plain-text style. Anything else means the
  // alert could not be stored: 503, so that the sender retries (never a 200 for an alert not in the inbox).
  const unavailableLog = logThrottle()
  const errors: ErrorRequestHandler = (err: { type?: string; status?: number; message?: string }, req, res, next) => {
    if (!req.path.startsWith('/integrations/v1/') || res.headersSent) return next(err)
    if (err.type === 'entity.too.large') return plain(res, 413, `Request body is too large (limit ${INGEST_BODY_LIMIT}).`)
    if (err.status && err.status >= 400 && err.status < 500) return plain(res, err.status, err.message ?? 'Bad request.')
    if (isDatabaseUnavailable(err)) {
      unavailableLog((heldBack) => options.logger?.warn({ err: { message: err.message }, alsoRefused: heldBack }, 'alerts refused: database unavailable'))
    } else {
      // The path holds the integration token: logged redacted.
      options.logger?.error({ err, path: redactUrl(req.path) }, 'alert refused: storing it failed')
    }
    res.set('Retry-After', UNAVAILABLE_RETRY_AFTER_SECONDS)
    return plain(res, 503, 'The alert could not be stored, so it was not accepted. Retry shortly.')
  }
  router.use(errors)
  return router
}
