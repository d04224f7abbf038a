import { Router } from 'express'
import {
  actOnAlertGroup,
  alertGroupIncident,
  alertGroupTimeline,
  deleteAlertGroup,
  escalationStatusOf,
  getAlertGroup,
  listAlertGroups,
  unresolveAlertGroup,
  type AlertGroupFilter,
} from '../../../services/alert-groups'
import type { EscalationAction } from '../../../escalations'
import { requirePermission } from '../auth'
import type { ApiDeps } from '../../deps'
import { ApiError, badRequest, parseOrThrow } from '../errors'
import { paginate } from '../pagination'
import { resource } from '../router'
import { listAlertGroupsQuery, parseSilenceDelay, parseStartedAt, parseStateFilter } from '../schemas/alert-groups'
import { alertGroupToWire, escalationStatusToWire, incidentToWire, timelineEventToWire } from '../serializers'
import { userActor } from './escalation'

const ALERT_GROUPS_PAGE_SIZE = 50

export function alertGroupsRouter(deps: ApiDeps): Router {
  const router = Router()
  const id = (params: Record<string, unknown>) => String(params.id)

  resource(router, '/alert_groups', {
    GET: async (req, res) => {
      const { organizationId } = requirePermission(req, 'read')
      const query = parseOrThrow(listAlertGroupsQuery, req.query)
      const state = parseStateFilter(query.state)
      if (typeof state === 'object') throw new ApiError(400, { state: state.error })
      const filter: AlertGroupFilter = {
        id: query.id,
        integrationId: query.integration_id,
        routeId: query.route_id,
        teamId: query.team_id === undefined ? undefined : query.team_id === 'null' ? null : query.team_id,
        state,
      }
      if (query.started_at !== undefined) {
        const range = parseStartedAt(query.started_at)
        if (!range) throw badRequest('Invalid range value')
        filter.startedAt = range
      }
      res.json(
        await paginate(
          req,
          deps.publicUrl,
          ALERT_GROUPS_PAGE_SIZE,
          (page) => listAlertGroups(deps.db, organizationId, filter, page),
          (group) => alertGroupToWire(group, deps.webUrl),
        ),
      )
    },
  })

  resource(router, '/alert_groups/:id', {
    GET: async (req, res) => {
      const { organizationId } = requirePermission(req, 'read')
      res.json(alertGroupToWire(await getAlertGroup(deps.db, organizationId, id(req.params)), deps.webUrl))
    },
    DELETE: async (req, res) => {
      const caller = requirePermission(req, 'write_alert_groups')
      // OnCall answers these two as bare JSON strings.
      const body = req.body === undefined ? {} : req.body
      if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new ApiError(400, 'A dict with a `mode` key is expected')
      const mode = (body as { mode?: unknown }).mode ?? 'wipe'
      if (mode !== 'wipe' && mode !== 'delete') throw new ApiError(400, 'Invalid mode')
      const group = await getAlertGroup(deps.db, caller.organizationId, id(req.params))
      await deleteAlertGroup(deps, group, mode, userActor(caller))
      res.status(204).end()
    },
  })

  for (const action of ['acknowledge', 'unacknowledge', 'resolve', 'unsilence'] as const satisfies readonly EscalationAction[]) {
    resource(router, `/alert_groups/:id/${action}`, {
      POST: async (req, res) => {
        const caller = requirePermission(req, 'write_alert_groups')
        const group = await getAlertGroup(deps.db, caller.organizationId, id(req.params))
        await actOnAlertGroup(deps, group, action, userActor(caller))
        res.status(200).end()
      },
    })
  }

  resource(router, '/alert_groups/:id/silence', {
    POST: async (req, res) => {
      const caller = requirePermission(req, 'write_alert_groups')
      const group = await getAlertGroup(deps.db, caller.organizationId, id(req.params))
      // OnCall's checks and texts, in its order, before the state checks.
      const delay = parseSilenceDelay(req.body)
      if (delay === 'missing') throw badRequest('delay is required')
      if (delay === 'invalid') throw badRequest('invalid delay value')
      await actOnAlertGroup(deps, group, 'silence', userActor(caller), delay)
      res.status(200).end()
    },
  })

  resource(router, '/alert_groups/:id/unresolve', {
    POST: async (req, res) => {
      const caller = requirePermission(req, 'write_alert_groups')
      const group = await getAlertGroup(deps.db, caller.organizationId, id(req.params))
      await unresolveAlertGroup(deps, group, userActor(caller))
      res.status(200).end()
    },
  })

  resource(router, '/alert_groups/:id/escalation', {
    GET: async (req, res) => {
      const { organizationId } = requirePermission(req, 'read')
      const group = await getAlertGroup(deps.db, organizationId, id(req.params))
      res.json(escalationStatusToWire(group.id, await escalationStatusOf(deps, group)))
    },
  })

  resource(router, '/alert_groups/:id/incident', {
    GET: async (req, res) => {
      const { organizationId } = requirePermission(req, 'read')
      const group = await getAlertGroup(deps.db, organizationId, id(req.params))
      res.json(incidentToWire(group.id, await alertGroupIncident(deps.db, group)))
    },
  })

  resource(router, '/alert_groups/:id/timeline', {
    GET: async (req, res) => {
      const { organizationId } = requirePermission(req, 'read')
      const alertGroupId = id(req.params)
      const events = await alertGroupTimeline(deps.db, organizationId, alertGroupId)
      res.json({ alert_group_id: alertGroupId, events: events.map(timelineEventToWire) })
    },
  })

  return router
}
