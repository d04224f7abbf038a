import { Router, type Request } from 'express'
import {
  alertGroupRecordOf,
  deleteAlertGroup,
  getAlertGroup,
  getIncident,
  lifecycleOf,
  listAlertGroups,
  listEvents,
  routeSnapshot,
  wipeAlertGroup,
  type AlertGroupFilter,
  type AlertGroupRow,
} from '../../../activities/db/alert-groups.repo'
import type { Actor } from '../../../workflows/core/types'
import type { EscalationStatus } from '../../../workflows/messages'
import { refusal } from '../../../workflows/core/lifecycle'
import type { EscalationAction } from '../../escalations'
import { requirePermission } from '../auth'
import type { ApiDeps } from '../deps'
import { ApiError, badRequest, notFound, parseOrThrow } from '../errors'
import { paginate } from '../pagination'
import { resource } from '../router'
import { listAlertGroupsQuery, parseStartedAt, parseStateFilter } from '../schemas/alert-groups'
import { alertGroupToWire, drfDateTime, timelineEventToWire } from '../serializers'
import { userActor } from './escalation'

const ALERT_GROUPS_PAGE_SIZE = 50

/** The escalation query in the API's snake_case. */
function toSnakeStatus(status: EscalationStatus) {
  return {
    state: status.state,
    chain_id: status.chainId,
    current_step: status.currentStep && { index: status.currentStep.index, policy_id: status.currentStep.policyId, type: status.currentStep.type },
    next_wake_at: status.nextWakeAt,
    paused: status.paused,
    finished: status.finished,
    repeats: status.repeats,
    steps_executed: status.stepsExecuted,
    restarts: status.restarts,
    alerts_count: status.alertsCount,
    notifications_sent: status.notificationsSent,
    pending_notifications: status.pendingNotifications,
  }
}

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
    DELETE: async (req, res) => {
      const caller = requirePermission(req, 'write_alert_groups')
      // OnCall answers these two as bare JSON strings.
      const body = req.body === undefined ? {} : req.body
      if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new ApiError(400, 'A dict with a `mode` key is expected')
      const mode = (body as { mode?: unknown }).mode ?? 'wipe'
      if (mode !== 'wipe' && mode !== 'delete') throw new ApiError(400, 'Invalid mode')
      const group = await getAlertGroup(deps.db, caller.organizationId, String(req.params.id))
      if (!group) throw notFound()
      // The escalation stops first (resolved by the system), so nobody is paged for a deleted group.
      if (group.resolved_at === null) {
        const outcome = await deps.escalations.act(group.id, 'resolve', { kind: 'system' }).catch(engineUnavailable('resolve before delete'))
        if (outcome.kind === 'refused' && !/resolved/.test(outcome.reason)) throw badRequest(outcome.reason)
      }
      if (mode === 'delete') await deleteAlertGroup(deps.db, caller.organizationId, group.id)
      else await wipeAlertGroup(deps.db, caller.organizationId, group.id, userActor(caller))
      res.status(204).end()
    },
  })

  const engineUnavailable = (what: string) => (err: unknown) => {
    deps.log(`${what} failed`, err)
    return Promise.reject(new ApiError(503, { detail: 'The escalation engine is unavailable. Retry shortly.' }))
  }

  /** Runs an action on the group's running escalation; a refusal answers OnCall's 400 text and writes nothing. */
  const runAction = async (group: AlertGroupRow, action: EscalationAction, actor: Actor, delaySeconds?: number) => {
    const outcome = await deps.escalations.act(group.id, action, actor, delaySeconds).catch(engineUnavailable(action))
    if (outcome.kind === 'refused') throw badRequest(outcome.reason)
    if (outcome.kind === 'closed') {
      // The workflow ends on resolve; the stored state says why the action is refused.
      throw badRequest(refusal(lifecycleOf(group), action, { maintenance: group.is_maintenance }) ?? "Can't change an alert group whose escalation has ended")
    }
  }

  const lookup = async (req: Request, permission: 'read' | 'write_alert_groups') => {
    const caller = requirePermission(req, permission)
    const group = await getAlertGroup(deps.db, caller.organizationId, String(req.params.id))
    if (!group) throw notFound()
    return { caller, group }
  }

  for (const action of ['acknowledge', 'unacknowledge', 'resolve', 'unsilence'] as const satisfies readonly EscalationAction[]) {
    resource(router, `/alert_groups/:id/${action}`, {
      POST: async (req, res) => {
        const { caller, group } = await lookup(req, 'write_alert_groups')
        await runAction(group, action, userActor(caller))
        res.status(200).end()
      },
    })
  }

  resource(router, '/alert_groups/:id/silence', {
    POST: async (req, res) => {
      const { caller, group } = await lookup(req, 'write_alert_groups')
      const body = req.body as { delay?: unknown } | undefined
      // OnCall's checks and texts, in its order, before the state checks.
      if (body === undefined || body === null || typeof body !== 'object' || body.delay === undefined) throw badRequest('delay is required')
      const delay = typeof body.delay === 'string' && /^-?\d+$/.test(body.delay) ? Number(body.delay) : body.delay
      if (typeof delay !== 'number' || !Number.isSafeInteger(delay) || delay < -1) throw badRequest('invalid delay value')
      await runAction(group, 'silence', userActor(caller), delay)
      res.status(200).end()
    },
  })

  resource(router, '/alert_groups/:id/unresolve', {
    POST: async (req, res) => {
      const { caller, group } = await lookup(req, 'write_alert_groups')
      const reason = refusal(lifecycleOf(group), 'unresolve', { maintenance: group.is_maintenance })
      if (reason !== null) throw badRequest(reason)
      // A resolved group's escalation has ended: a new run starts it over on the route's current chain.
      const snapshot = await routeSnapshot(deps.db, caller.organizationId, group.route_id)
      const stored = { resolvedAt: group.resolved_at as string, lifecycleVersion: group.lifecycle_version }
      const outcome = await deps.escalations
        .reopen(alertGroupRecordOf(group), snapshot, userActor(caller), stored)
        .catch(engineUnavailable('unresolve'))
      if (outcome.kind !== 'done') throw badRequest(outcome.kind === 'refused' ? outcome.reason : "Can't unresolve an unresolved alert group")
      res.status(200).end()
    },
  })

  resource(router, '/alert_groups/:id/escalation', {
    GET: async (req, res) => {
      const { group } = await lookup(req, 'read')
      const status = await deps.escalations.status(group.id).catch(engineUnavailable('status query'))
      res.json(status === null ? { alert_group_id: group.id, running: false } : { alert_group_id: group.id, running: true, ...toSnakeStatus(status) })
    },
  })

  resource(router, '/alert_groups/:id/incident', {
    GET: async (req, res) => {
      const { caller, group } = await lookup(req, 'read')
      const incident = await getIncident(deps.db, caller.organizationId, group.id)
      if (!incident) throw notFound()
      res.json({ alert_group_id: group.id, severity: incident.severity, policy_id: incident.policy_id, declared_at: drfDateTime(incident.declared_at) })
    },
  })

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
