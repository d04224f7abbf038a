import { Router } from 'express'
import { getAlertGroup, lifecycleOf, listAlertGroups, listEvents, type AlertGroupFilter } from '../../../activities/db/alert-groups.repo'
import { refusal } from '../../../workflows/core/lifecycle'
import type { EscalationAction } from '../../escalations'
import { requirePermission } from '../auth'
import type { ApiDeps } from '../deps'
import { ApiError, badRequest, notFound, parseOrThrow } from '../errors'
import { paginate } from '../pagination'
import { resource } from '../router'
import { listAlertGroupsQuery, parseStartedAt, parseStateFilter } from '../schemas/alert-groups'
import { alertGroupToWire, timelineEventToWire } from '../serializers'
import { userActor } from './escalation'

const ALERT_GROUPS_PAGE_SIZE = 50

export function alertGroupsRouter(deps: ApiDeps): Router {
  const router = Router()

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
      const group = await getAlertGroup(deps.db, organizationId, String(req.params.id))
      if (!group) throw notFound()
      res.json(alertGroupToWire(group, deps.webUrl))
    },
  })

  for (const action of ['acknowledge', 'resolve'] as const satisfies readonly EscalationAction[]) {
    resource(router, `/alert_groups/:id/${action}`, {
      POST: async (req, res) => {
        const caller = requirePermission(req, 'write_alert_groups')
        const group = await getAlertGroup(deps.db, caller.organizationId, String(req.params.id))
        if (!group) throw notFound()
        const outcome = await deps.escalations.act(group.id, action, { actor: userActor(caller) }).catch((err: unknown) => {
          deps.log(`${action} update failed`, err)
          return Promise.reject(new ApiError(503, { detail: 'The escalation engine is unavailable. Retry shortly.' }))
        })
        if (outcome.kind === 'refused') throw badRequest(outcome.reason)
        if (outcome.kind === 'closed') {
          // The workflow ends on resolve; the stored state says why the action is refused.
          throw badRequest(refusal(lifecycleOf(group), action) ?? "Can't change an alert group whose escalation has ended")
        }
        res.status(200).end()
      },
    })
  }

  resource(router, '/alert_groups/:id/timeline', {
    GET: async (req, res) => {
      const { organizationId } = requirePermission(req, 'read')
      const group = await getAlertGroup(deps.db, organizationId, String(req.params.id))
      if (!group) throw notFound()
      const events = await listEvents(deps.db, organizationId, group.id)
      res.json({ alert_group_id: group.id, events: events.map(timelineEventToWire) })
    },
  })

  return router
}
