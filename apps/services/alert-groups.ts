import * as repo from '../../db/alert-groups.repo'
import type { AlertGroup, AlertGroupFilter, Incident, RecordedEvent } from '../../db/alert-groups.repo'
import * as alerts from '../../db/alerts.repo'
import type { Alert, AlertFilter } from '../../db/alerts.repo'
import type { Db } from '../../db/connect'
import { refusal, type Refusal } from '../../workflows/core/lifecycle'
import type { Actor } from '../../workflows/core/types'
import type { EscalationStatus } from '../../workflows/messages'
import type { EscalationAction, Escalations } from '../escalations'
import type { Logger } from '../logger'
import { callEngine, ServiceError } from './errors'

// Alert groups: reads, lifecycle actions through the running escalation, and deletion. Every refusal leaves the
// group untouched.

/** What the alert-group services need. */
export interface AlertGroupDeps {
  readonly db: Db
  readonly escalations: Escalations
  readonly logger: Logger
}

export type { Alert, AlertFilter, AlertGroup, AlertGroupFilter, Incident, RecordedEvent }

/** One page of the organization's alert groups, newest first, with the total count. */
export function listAlertGroups(
  db: Db,
  organizationId: string,
  filter: AlertGroupFilter,
  page: { offset: number; limit: number },
): Promise<{ rows: AlertGroup[]; count: number }> {
  return repo.listAlertGroups(db, organizationId, filter, page)
}

/** One page of the organization's alerts, newest first, with the total count. */
export function listAlerts(db: Db, organizationId: string, filter: AlertFilter, page: { offset: number; limit: number }): Promise<{ rows: Alert[]; count: number }> {
  return alerts.listAlerts(db, organizationId, filter, page)
}

/** The organization's alert group; `not_found` for an unknown id or another organization's. */
export async function getAlertGroup(db: Db, organizationId: string, id: string): Promise<AlertGroup> {
  const group = await repo.getAlertGroup(db, organizationId, id)
  if (!group) throw new ServiceError('not_found', `alert group ${id} not found`)
  return group
}

/**
 * Runs an action on the group's running escalation (a Temporal update whose validator applies the lifecycle).
 * A refusal is `refused` and writes nothing; once the escalation has ended, the stored state explains the refusal.
 */
export async function actOnAlertGroup(
  deps: AlertGroupDeps,
  group: AlertGroup,
  action: Exclude<EscalationAction, 'escalate_now'>,
  actor: Actor,
  delaySeconds?: number,
): Promise<void> {
  const outcome = await callEngine(deps.logger, action, () => deps.escalations.act(group.id, action, actor, delaySeconds))
  switch (outcome.kind) {
    case 'done':
      return
    case 'refused':
      throw refused(outcome.refusal)
    case 'closed': {
      // The workflow ends on resolve: the stored state says why the action is refused.
      const stored = refusal(repo.lifecycleOf(group), action, { maintenance: group.isMaintenance })
      if (stored) throw refused(stored)
      throw new ServiceError('invalid_request', "Can't change an alert group whose escalation has ended")
    }
  }
}

/** Unresolve: the ended escalation starts over on the route's current chain (a new run of the same workflow). */
export async function unresolveAlertGroup(deps: AlertGroupDeps, group: AlertGroup, actor: Actor): Promise<void> {
  const stored = refusal(repo.lifecycleOf(group), 'unresolve', { maintenance: group.isMaintenance })
  if (stored !== null) throw refused(stored)
  const snapshot = await repo.routeSnapshot(deps.db, group.organizationId, group.routeId)
  const resolved = { resolvedAt: group.resolvedAt as string, lifecycleVersion: group.lifecycleVersion }
  const outcome = await callEngine(deps.logger, 'unresolve', () =>
    deps.escalations.reopen(repo.alertGroupRecordOf(group), snapshot, actor, resolved),
  )
  if (outcome.kind === 'refused') throw refused(outcome.refusal)
  if (outcome.kind === 'closed') throw refused({ code: 'not_resolved', action: 'unresolve' })
}

/** `wipe` erases the content and keeps the group (OnCall's default); `delete` removes it with everything it holds. */
export type DeleteMode = 'wipe' | 'delete'

/** Stops the escalation first (resolved by the system, so nobody is paged for a deleted group), then deletes. */
export async function deleteAlertGroup(deps: AlertGroupDeps, group: AlertGroup, mode: DeleteMode, actor: Actor): Promise<void> {
  if (group.resolvedAt === null) {
    const outcome = await callEngine(deps.logger, 'resolve before delete', () =>
      deps.escalations.act(group.id, 'resolve', { kind: 'system' }),
    )
    // Resolved meanwhile is as good as resolved now; an ended escalation has nothing left to stop.
    if (outcome.kind === 'refused' && outcome.refusal.code !== 'resolved') throw refused(outcome.refusal)
  }
  if (mode === 'delete') await repo.deleteAlertGroup(deps.db, group.organizationId, group.id)
  else await repo.wipeAlertGroup(deps.db, group.organizationId, group.id, actor)
}

/** Where the escalation is; null when no run is going (ended, or never started). */
export function escalationStatusOf(deps: AlertGroupDeps, group: AlertGroup): Promise<EscalationStatus | null> {
  return callEngine(deps.logger, 'status query', () => deps.escalations.status(group.id))
}

/** The group's timeline, oldest first; `not_found` for an unknown group. */
export async function alertGroupTimeline(db: Db, organizationId: string, id: string): Promise<RecordedEvent[]> {
  const group = await getAlertGroup(db, organizationId, id)
  return repo.listEvents(db, organizationId, group.id)
}

/** The incident a declare_incident step recorded; `not_found` when the group has none. */
export async function alertGroupIncident(db: Db, group: AlertGroup): Promise<Incident> {
  const incident = await repo.getIncident(db, group.organizationId, group.id)
  if (!incident) throw new ServiceError('not_found', `alert group ${group.id} has no incident`)
  return incident
}

function refused(reason: Refusal): ServiceError {
  return new ServiceError('refused', `${reason.action} refused: ${reason.code}`, { refusal: reason })
}
