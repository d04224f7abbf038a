import express, { type Express } from 'express'
import { pingDb } from '../../activities/db/connect'
import { authenticate } from './auth'
import type { ApiDeps } from './deps'
import { errorHandler } from './errors'
import { openApiDocument } from './openapi'
import { refuseNullCharacters } from './null-characters'
import { alertGroupsRouter } from './routes/alert-groups'
import { escalationRouter } from './routes/escalation'
import { escalationChainOnCallRouter } from './routes/escalation-chain-oncall'
import { escalationChainsRouter } from './routes/escalation-chains'
import { escalationPoliciesRouter } from './routes/escalation-policies'
import { onCallShiftsRouter } from './routes/on-call-shifts'
import { schedulesRouter } from './routes/schedules'
import { teamsRouter } from './routes/teams'
import { userGroupsRouter } from './routes/user-groups'
import { usersRouter } from './routes/users'
import { webhooksRouter } from './routes/webhooks'
import { alertsRouter } from './routes/alerts'
import { integrationsRouter } from './routes/integrations'
import { routesRouter } from './routes/routes'
import { ingestionRouter } from '../ingest/router'

// Large enough for any real page request; OnCall clients never send more.
const JSON_BODY_LIMIT = '1mb'

/** Builds the HTTP app: no listening, no environment reads, so tests build it with their own parts. */
export function createApp(deps: ApiDeps): Express {
  const app = express()
  app.disable('x-powered-by')
  app.set('query parser', 'extended')

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
  api.use(alertGroupsRouter(deps))
  api.use(webhooksRouter(deps))
  api.use(userGroupsRouter(deps))
  api.use(schedulesRouter(deps))
  // schedules issue: on-call shifts and on-call views mount here
  api.use(onCallShiftsRouter(deps))
  api.use(escalationChainOnCallRouter(deps))
  // ingestion issue: integrations, routes and alerts mount here
  api.use(integrationsRouter(deps))
  api.use(routesRouter(deps))
  api.use(alertsRouter(deps))
  api.use((_req, res) => void res.status(404).json({ detail: 'Not found.' }))
  app.use('/api/v1', api)
  // Alert ingestion: outside /api/v1, no auth header (the token in the URL is the secret).
  app.use(ingestionRouter(deps.db, deps.ingestion))

  app.use((_req, res) => void res.status(404).json({ detail: 'Not found.' }))
  app.use(errorHandler(deps.log))
  return app
}
