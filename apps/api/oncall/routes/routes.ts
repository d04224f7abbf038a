import { Router, type Request, type Response } from 'express'
import { getEscalationChain } from '../../../../db/escalation-chains.repo'
import { getIntegration } from '../../../../db/integrations.repo'
import { InvalidPositionError } from '../../../../db/ordering'
import { createRoute, deleteRoute, getRoute, listRoutes, updateRoute, type Route, type RouteSettings } from '../../../../db/routes.repo'
import { pythonRegex } from '../../../ingest/python'
import { sharedTemplateEngine } from '../../../ingest/templates'
import { requirePermission } from '../auth'
import type { ApiDeps } from '../../deps'
import { ApiError, badRequest, fieldError, nonFieldError, notFound, parseOrThrow } from '../errors'
import { paginate } from '../pagination'
import { queryString } from '../relations'
import { resource } from '../router'
import { createRouteSchema, updateRouteSchema, type UpdateRouteRequest } from '../schemas/routes'

// OnCall's TwentyFivePageSizePaginator for routes.
const ROUTES_PAGE_SIZE = 25
const EXPRESSION_MAX = 1024

export function routeToWire(route: Route) {
  return {
    id: route.id,
    integration_id: route.integrationId,
    escalation_chain_id: route.escalationChainId,
    routing_type: route.routingType,
    routing_regex: route.routingRegex,
    position: route.position,
    is_the_last_route: route.isDefault,
    slack: { channel_id: route.slackChannelId, enabled: route.slackEnabled },
    telegram: { id: route.telegramId, enabled: route.telegramEnabled },
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
  if (body.slack?.enabled !== undefined) settings.slackEnabled = body.slack.enabled
  if (body.telegram?.enabled !== undefined) settings.telegramEnabled = body.telegram.enabled
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
        escalationChainId: chain ?? null,
        routingType: type,
        routingRegex: body.routing_regex,
        slackChannelId: null,
        slackEnabled: true,
        telegramId: null,
        telegramEnabled: false,
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
    if (chain !== undefined) settings.escalationChainId = chain
    // The default route matches everything: its expression is not writable.
    if (!route.isDefault) {
      const type = routingType(body.routing_type)
      if (type !== undefined) settings.routingType = type
      if (body.routing_regex !== undefined || type !== undefined) {
        const expression = body.routing_regex ?? route.routingRegex ?? ''
        await checkExpression(type ?? route.routingType, expression)
        settings.routingRegex = expression
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
      if (route.isDefault) throw badRequest('Unable to delete default filter')
      await deleteRoute(deps.db, organizationId, route.id)
      res.status(204).end()
    },
  })

  return router
}
