import type { Server as HttpServer } from 'node:http'
import express, { type Express } from 'express'
import { pingDb } from '../../db/connect'
import { DependencyMonitor, liveness, readiness, type HealthSources } from '../health'
import { createMetrics } from '../metrics'
import { traceRequests } from '../tracing'
import { requestLogging } from './request-logging'
import { authenticate } from './oncall/auth'
import type { ApiDeps } from './deps'
import { errorHandler } from './oncall/errors'
import { openApiDocument } from './oncall/openapi'
import { refuseNullCharacters } from './oncall/null-characters'
import { alertGroupsRouter } from './oncall/routes/alert-groups'
import { escalationRouter } from './oncall/routes/escalation'
import { escalationChainOnCallRouter } from './oncall/routes/escalation-chain-oncall'
import { escalationChainSimulateRouter } from './oncall/routes/escalation-chain-simulate'
import { escalationChainsRouter } from './oncall/routes/escalation-chains'
import { escalationPoliciesRouter } from './oncall/routes/escalation-policies'
import { onCallShiftsRouter } from './oncall/routes/on-call-shifts'
import { personalNotificationRulesRouter } from './oncall/routes/personal-notification-rules'
import { schedulesRouter } from './oncall/routes/schedules'
import { teamsRouter } from './oncall/routes/teams'
import { userGroupsRouter } from './oncall/routes/user-groups'
import { usersRouter } from './oncall/routes/users'
import { webhooksRouter } from './oncall/routes/webhooks'
import { alertsRouter } from './oncall/routes/alerts'
import { integrationsRouter } from './oncall/routes/integrations'
import { routesRouter } from './oncall/routes/routes'
import { IntegrationTokenCache } from '../ingest/integration-cache'
import { ingestionRouter } from '../ingest/router'
import { v2Router } from './incident-io/router'
import { actionLinksRouter } from './action-links/router'

// Large enough for any real page request; OnCall clients never send more.
const JSON_BODY_LIMIT = '1mb'

/** Builds the HTTP app: no listening, no environment reads, so tests build it with their own parts. */
export function createApp(deps: ApiDeps): Express {
  const app = express()
  app.disable('x-powered-by')
  app.set('query parser', 'extended')
  // A request id and one JSON log line per request; a server span when tracing is on.
  app.use(requestLogging(deps.logger))
  if (deps.tracer) app.use(traceRequests(deps.tracer))
  const metrics = deps.metrics ?? createMetrics({ db: deps.db })
  // Prometheus's scrape target; what it exposes is counts and ages, nothing about anyone's data.
  app.get('/metrics', async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics())
  })

  app.get('/health', async (_req, res) => {
    const [database, temporal, worker] = await Promise.all([
      pingDb(deps.db),
      deps.escalations.temporalIsUp(),
      deps.escalations.workerIsUp(),
    ])
    const checks = { database, temporal, worker }
    const down = Object.entries(checks)
      .filter(([, up]) => !up)
      .map(([name]) => name)
    const body = {
      status: down.length === 0 ? 'ok' : 'unavailable',
      ...Object.fromEntries(Object.entries(checks).map(([name, up]) => [name, up ? 'up' : 'down'])),
      ...(down.length > 0 ? { down } : {}),
    }
    res.status(down.length === 0 ? 200 : 503).json(body)
  })
  // For orchestrators: live never depends on anything else (an outage must not get the API restarted), ready
  // says whether requests can be served now.
  const health: HealthSources = {
    process: 'api',
    db: deps.db,
    monitor: deps.health?.monitor ?? DependencyMonitor.forTocsin(deps.db, deps.escalations, deps.logger),
    inboxAgeBoundSeconds: deps.health?.inboxAgeBoundSeconds ?? 60,
  }
  app.get('/health/live', (_req, res) => {
    const answer = liveness(health)
    res.status(answer.status).json(answer.body)
  })
  app.get('/health/ready', async (_req, res) => {
    const answer = await readiness(health)
    res.status(answer.status).json(answer.body)
  })

  // Shared by the alert endpoint and the integrations API, which empties it on every delete or change.
  const integrationTokens = deps.ingestion?.integrationTokens ?? new IntegrationTokenCache(deps.db)
  const api = express.Router()
  api.use(express.json({ limit: JSON_BODY_LIMIT, strict: false }))
  // The API's own description is public, like any API reference.
  api.get('/openapi.json', (_req, res) => void res.json(openApiDocument(deps.publicUrl)))
  api.use(authenticate(deps.db))
  api.use(refuseNullCharacters)
  api.use(usersRouter(deps))
  api.use(teamsRouter(deps))
  api.use(escalationChainsRouter(deps))
  api.use(escalationPoliciesRouter(deps))
  api.use(escalationRouter(deps))
  api.use(personalNotificationRulesRouter(deps))
  api.use(alertGroupsRouter(deps))
  api.use(webhooksRouter(deps))
  api.use(userGroupsRouter(deps))
  api.use(schedulesRouter(deps))
  // schedules issue: on-call shifts and on-call views mount here
  api.use(onCallShiftsRouter(deps))
  api.use(escalationChainOnCallRouter(deps))
  api.use(escalationChainSimulateRouter(deps))
  // ingestion issue: integrations, routes and alerts mount here
  api.use(integrationsRouter(deps, integrationTokens))
  api.use(routesRouter(deps))
  api.use(alertsRouter(deps))
  api.use((_req, res) => void res.status(404).json({ detail: 'Not found.' }))
  app.use('/api/v1', api)
  // incident.io's API: its own auth, rate limits, errors and 404s.
  app.use('/v2', v2Router(deps))
  // Alert ingestion: outside /api/v1, no auth header (the token in the URL is the secret).
  app.use(ingestionRouter(deps.db, { logger: deps.logger, escalations: deps.escalations, metrics, ...deps.ingestion, integrationTokens }))
  // Signed action links in pages: outside /api/v1, no auth header (the token in the link is the credential).
  app.use('/l', actionLinksRouter(deps))

  app.use((_req, res) => void res.status(404).json({ detail: 'Not found.' }))
  app.use(errorHandler(deps.logger))
  return app
}

/**
 * Idle keep-alive connections outlive any client's or load balancer's own idle timeout (commonly 60 s): a server that
 * closes first (Node's default is 5 s) races clients that reuse the connection at that moment, and their request is
 * lost with "other side closed". Headers get one second more, as Node requires.
 */
export function applyKeepAlive(server: HttpServer): void {
  server.keepAliveTimeout = 65_000
  server.headersTimeout = 66_000
}
