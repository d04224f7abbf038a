import { Router, type Request, type Response } from 'express'
import { getEscalationChain } from '../../../activities/db/escalation-chains.repo'
import { getIntegration } from '../../../activities/db/integrations.repo'
import { InvalidPositionError } from '../../../activities/db/ordering'
import { createRoute, deleteRoute, getRoute, listRoutes, updateRoute, type RouteRow, type RouteSettings } from '../../../activities/db/routes.repo'
import { pythonRegex } from '../../ingest/python'
import { sharedTemplateEngine } from '../../ingest/templates'
import { requirePermission } from '../auth'
import type { ApiDeps } from '../deps'
import { ApiError, badRequest, fieldError, nonFieldError, notFound, parseOrThrow } from '../errors'
import { paginate } from '../pagination'
import { queryString } from '../relations'
import { resource } from '../router'
import { createRouteSchema, updateRouteSchema, type UpdateRouteRequest } from '../schemas/routes'

// OnCall's TwentyFivePageSizePaginator for routes.
const ROUTES_PAGE_SIZE = 25
const EXPRESSION_MAX = 1024

export function routeToWire(route: RouteRow) {
  return {
    id: route.id,
    integration_id: route.integration_id,
    escalation_chain_id: route.escalation_chain_id,
    routing_type: route.routing_type,
    routing_regex: route.routing_regex,
    position: route.position,
    is_the_last_route: route.is_default,
    slack: { channel_id: route.slack_channel_id, enabled: route.slack_enabled },
    telegram: { id: route.telegram_id, enabled: route.telegram_enabled },
  }
}

function routingType(raw: unknown): 'regex' | 'jinja2' | undefined {
  if (raw === undefined || raw === null) return undefined
  if (raw === 'regex' || raw === 'jinja2') return raw
  throw nonFieldError('Expression type is incorrect')
}

/** OnCall's checks of a routing expression, with its texts. */
async function checkExpression(type: 'regex' | 'jinja2', expression: string): Promise<void> {
  if (expression.length > EXPRESSION_MAX) {
    throw nonFieldError(`Expression is too long. Maximum length: ${EXPRESSION_MAX} characters, current length: ${expression.length}`)
  }
  if (type === 'regex') {
    try {
      pythonRegex(expression)
    } catch {
      throw nonFieldError('Regular expression is incorrect')
    }
  } else if (await sharedTemplateEngine().compileError(expression)) {
    throw nonFieldError('Jinja template is incorrect')
  }
}

async function resolveChain(deps: ApiDeps, organizationId: string, raw: string | null | undefined) {
  if (raw === undefined || raw === null) return raw
  if (!(await getEscalationChain(deps.db, organizationId, raw))) throw fieldError('escalation_chain_id', 'Object does not exist')
  return raw
}

function messaging(body: UpdateRouteRequest): Partial<RouteSettings> {
  if (body.slack?.channel_id) throw new ApiError(400, { slack: { channel_id: ['Slack channel does not exist'] } })
  if (body.telegram?.id) throw new ApiError(400, { telegram: { id: ['Telegram channel does not exist'] } })
  const settings: Partial<RouteSettings> = {}
  if (body.slack?.enabled !== undefined) settings.slack_enabled = body.slack.enabled
  if (body.telegram?.enabled !== undefined) settings.telegram_enabled = body.telegram.enabled
  return settings
}

const positionError = (err: unknown) => {
  if (err instanceof InvalidPositionError) return Promise.reject(badRequest('Invalid value for position field'))
  return Promise.reject(err)
}

export function routesRouter(deps: ApiDeps): Router {
  const router = Router()

  resource(router, '/routes', {
    GET: async (req, res) => {
      const { organizationId } = requirePermission(req, 'read')
      const filter = { integrationId: queryString(req.query.integration_id), routingRegex: queryString(req.query.routing_regex) }
      res.json(await paginate(req, deps.publicUrl, ROUTES_PAGE_SIZE, (page) => listRoutes(deps.db, organizationId, filter, page), routeToWire))
    },
    POST: async (req, res) => {
      const { organizationId } = requirePermission(req, 'admin')
      const body = parseOrThrow(createRouteSchema, req.body)
      const integration = await getIntegration(deps.db, organizationId, body.integration_id)
      if (!integration) throw fieldError('integration_id', 'Object does not exist')
      const type = routingType(body.routing_type) ?? 'regex'
      await checkExpression(type, body.routing_regex)
      const chain = await resolveChain(deps, organizationId, body.escalation_chain_id)
      const settings: RouteSettings = {
        escalation_chain_id: chain ?? null,
        routing_type: type,
        routing_regex: body.routing_regex,
        slack_channel_id: null,
        slack_enabled: true,
        telegram_id: null,
        telegram_enabled: false,
        ...messaging(body),
      }
      const created = await createRoute(deps.db, organizationId, integration.id, settings, body.position, body.manual_order ?? false).catch(
        positionError,
      )
      res.status(201).json(routeToWire(created))
    },
  })

  const update = async (req: Request, res: Response) => {
    const { organizationId } = requirePermission(req, 'admin')
    const route = await getRoute(deps.db, organizationId, String(req.params.id))
    if (!route) throw notFound()
    const body = parseOrThrow(updateRouteSchema, req.body)
    const settings: Partial<RouteSettings> = messaging(body)
    const chain = await resolveChain(deps, organizationId, body.escalation_chain_id)
    if (chain !== undefined) settings.escalation_chain_id = chain
    // The default route matches everything: its expression is not writable.
    if (!route.is_default) {
      const type = routingType(body.routing_type)
      if (type !== undefined) settings.routing_type = type
      if (body.routing_regex !== undefined || type !== undefined) {
        const expression = body.routing_regex ?? route.routing_regex ?? ''
        await checkExpression(type ?? route.routing_type, expression)
        settings.routing_regex = expression
      }
    }
    res.json(routeToWire(await updateRoute(deps.db, route, settings, body.position, body.manual_order ?? false).catch(positionError)))
  }

  resource(router, '/routes/:id', {
    GET: async (req, res) => {
      const { organizationId } = requirePermission(req, 'read')
      const route = await getRoute(deps.db, organizationId, String(req.params.id))
      if (!route) throw notFound()
      res.json(routeToWire(route))
    },
    PUT: update,
    PATCH: update,
    DELETE: async (req, res) => {
      const { organizationId } = requirePermission(req, 'admin')
      const route = await getRoute(deps.db, organizationId, String(req.params.id))
      if (!route) throw notFound()
      if (route.is_default) throw badRequest('Unable to delete default filter')
      await deleteRoute(deps.db, organizationId, route.id)
      res.status(204).end()
    },
  })

  return router
}
