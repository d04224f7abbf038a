import { sql, type Expression, type Selectable, type SqlBool } from 'kysely'
import type { LifecycleState, Resolution } from '../workflows/core/lifecycle'
import type { Actor, AlertGroupRecord } from '../workflows/core/types'
import type { ChainSnapshot } from '../workflows/oncall/steps'
import { loadChainSnapshot } from './escalation-policies.repo'
import type { Db } from './connect'
import { alertOf, type Alert, type AlertRow } from './alerts.repo'
import type { AlertGroupEventsTable, AlertGroupsTable, IncidentsTable } from './schema'

/** An alert group with its stored lifecycle facts (instants are PostgreSQL's UTC text, microseconds kept), its alert count and its newest alert. */
export interface AlertGroup extends Omit<AlertGroupRecord, 'firstAlert' | 'isMaintenance'> {
  readonly acknowledgedAt: string | null
  /** The acknowledging user's id (null when the system or an operator acknowledged). */
  readonly acknowledgedBy: string | null
  readonly resolvedAt: string | null
  readonly resolvedBy: string | null
  readonly silencedAt: string | null
  readonly lifecycleVersion: number
  /** How the escalation ended when it was cancelled or expired; null otherwise. */
  readonly resolution: Resolution | null
  readonly isMaintenance: boolean
  readonly alertsCount: number
  readonly lastAlert: Alert | null
}

/** One timeline entry as stored. */
export interface RecordedEvent {
  /** The entry's sequence number (bigint text). */
  readonly id: string
  readonly kind: string
  readonly at: string
  readonly actor: unknown
  readonly detail: unknown
}

/** The incident a declare_incident step recorded. */
export interface Incident {
  readonly severity: string
  readonly policyId: string | null
  readonly declaredAt: string
}

type AlertGroupRow = Pick<
  Selectable<AlertGroupsTable>,
  | 'id'
  | 'organization_id'
  | 'integration_id'
  | 'route_id'
  | 'team_id'
  | 'title'
  | 'message'
  | 'source_url'
  | 'workflow_id'
  | 'created_at'
  | 'acknowledged_at'
  | 'acknowledged_by'
  | 'resolved_at'
  | 'resolved_by'
  | 'silenced_at'
  | 'lifecycle_version'
  | 'resolution'
  | 'is_maintenance'
> & { alerts_count: number; last_alert: AlertRow | null }

function alertGroupOf(row: AlertGroupRow): AlertGroup {
  return {
    id: row.id,
    organizationId: row.organization_id,
    integrationId: row.integration_id,
    routeId: row.route_id,
    teamId: row.team_id,
    title: row.title,
    message: row.message,
    sourceUrl: row.source_url,
    workflowId: row.workflow_id,
    createdAt: row.created_at,
    acknowledgedAt: row.acknowledged_at,
    acknowledgedBy: row.acknowledged_by,
    resolvedAt: row.resolved_at,
    resolvedBy: row.resolved_by,
    silencedAt: row.silenced_at,
    lifecycleVersion: row.lifecycle_version,
    resolution: row.resolution,
    isMaintenance: row.is_maintenance,
    alertsCount: row.alerts_count,
    lastAlert: row.last_alert ? alertOf(row.last_alert) : null,
  }
}

/** The stored facts as the core's lifecycle state (actors live in the timeline). */
export function lifecycleOf(group: AlertGroup): LifecycleState {
  return {
    acknowledgedAt: group.acknowledgedAt,
    acknowledgedBy: null,
    resolvedAt: group.resolvedAt,
    resolvedBy: null,
    silencedAt: group.silencedAt,
    silencedUntil: null,
    resolution: group.resolution,
  }
}

export type AlertGroupStateFilter = 'new' | 'acknowledged' | 'resolved' | 'silenced'

export interface AlertGroupFilter {
  id?: string
  integrationId?: string
  routeId?: string
  teamId?: string | null
  state?: AlertGroupStateFilter
  startedAt?: { from: string; to: string }
}

/** Inserts the group and its first alert; a second call with the same ids changes nothing. */
export async function insertAlertGroup(db: Db, group: AlertGroupRecord): Promise<void> {
  await db
    .insertInto('alert_groups')
    .values({
      id: group.id,
      organization_id: group.organizationId,
      integration_id: group.integrationId,
      route_id: group.routeId,
      team_id: group.teamId,
      title: group.title,
      message: group.message,
      source_url: group.sourceUrl,
      workflow_id: group.workflowId,
      created_at: group.createdAt,
    })
    .onConflict((oc) => oc.column('id').doNothing())
    .execute()
  await db
    .insertInto('alerts')
    .values({
      id: group.firstAlert.id,
      organization_id: group.organizationId,
      alert_group_id: group.id,
      payload: JSON.stringify(group.firstAlert.payload),
      created_at: group.createdAt,
    })
    .onConflict((oc) => oc.column('id').doNothing())
    .execute()
}

function selectAlertGroups(db: Db, organizationId: string) {
  return db
    .selectFrom('alert_groups as g')
    .select([
      'g.id',
      'g.organization_id',
      'g.integration_id',
      'g.route_id',
      'g.team_id',
      'g.title',
      'g.message',
      'g.source_url',
      'g.workflow_id',
      'g.created_at',
      'g.acknowledged_at',
      'g.acknowledged_by',
      'g.resolved_at',
      'g.resolved_by',
      'g.silenced_at',
      'g.lifecycle_version',
      'g.resolution',
      'g.is_maintenance',
      sql<number>`(select count(*)::int from alerts a where a.alert_group_id = g.id)`.as('alerts_count'),
      sql<AlertRow | null>`(select json_build_object('id', a.id, 'alert_group_id', a.alert_group_id,
        'created_at', a.created_at::text, 'payload', a.payload)
        from alerts a where a.alert_group_id = g.id order by a.pk desc limit 1)`.as('last_alert'),
    ])
    .where('g.organization_id', '=', organizationId)
}

function stateCondition(state: AlertGroupStateFilter): Expression<SqlBool> {
  switch (state) {
    case 'resolved':
      return sql<SqlBool>`g.resolved_at is not null`
    case 'acknowledged':
      return sql<SqlBool>`g.acknowledged_at is not null and g.resolved_at is null`
    case 'silenced':
      return sql<SqlBool>`g.silenced_at is not null and g.acknowledged_at is null and g.resolved_at is null`
    case 'new':
      return sql<SqlBool>`g.silenced_at is null and g.acknowledged_at is null and g.resolved_at is null`
  }
}

/** One page of an organization's alert groups, newest first, with the total count. */
export async function listAlertGroups(
  db: Db,
  organizationId: string,
  filter: AlertGroupFilter,
  page: { offset: number; limit: number },
): Promise<{ rows: AlertGroup[]; count: number }> {
  let query = selectAlertGroups(db, organizationId)
  if (filter.id !== undefined) query = query.where('g.id', '=', filter.id)
  if (filter.integrationId !== undefined) query = query.where('g.integration_id', '=', filter.integrationId)
  if (filter.routeId !== undefined) query = query.where('g.route_id', '=', filter.routeId)
  if (filter.teamId !== undefined) {
    query = filter.teamId === null ? query.where('g.team_id', 'is', null) : query.where('g.team_id', '=', filter.teamId)
  }
  if (filter.state !== undefined) query = query.where(stateCondition(filter.state))
  if (filter.startedAt !== undefined) {
    query = query.where('g.created_at', '>=', filter.startedAt.from).where('g.created_at', '<=', filter.startedAt.to)
  }
  const [rows, total] = await Promise.all([
    query.orderBy('g.created_at', 'desc').orderBy('g.pk', 'desc').offset(page.offset).limit(page.limit).execute(),
    query
      .clearSelect()
      .select((eb) => eb.fn.countAll<string>().as('count'))
      .executeTakeFirstOrThrow(),
  ])
  return { rows: rows.map(alertGroupOf), count: Number(total.count) }
}

export async function getAlertGroup(db: Db, organizationId: string, id: string): Promise<AlertGroup | undefined> {
  const row = await selectAlertGroups(db, organizationId).where('g.id', '=', id).executeTakeFirst()
  return row && alertGroupOf(row)
}

/** Operator lookup across organizations: only the ops script, which already holds Temporal access, uses it. */
export async function getAlertGroupById(db: Db, id: string): Promise<AlertGroup | undefined> {
  const row = await db.selectFrom('alert_groups').select('organization_id').where('id', '=', id).executeTakeFirst()
  return row ? getAlertGroup(db, row.organization_id, id) : undefined
}

/**
 * Writes the lifecycle state the workflow reached after its `version`-th action. Same arguments, same row; an
 * older version never overwrites a newer one (activities of two quick actions may finish out of order).
 */
export async function writeLifecycle(
  db: Db,
  organizationId: string,
  alertGroupId: string,
  lifecycle: LifecycleState,
  version: number,
): Promise<void> {
  const userOf = (actor: LifecycleState['acknowledgedBy']) => (actor?.kind === 'user' ? actor.userId : null)
  await db
    .updateTable('alert_groups')
    .set({
      acknowledged_at: lifecycle.acknowledgedAt,
      acknowledged_by: userOf(lifecycle.acknowledgedBy),
      resolved_at: lifecycle.resolvedAt,
      resolved_by: userOf(lifecycle.resolvedBy),
      silenced_at: lifecycle.silencedAt,
      silenced_until: lifecycle.silencedUntil,
      resolution: lifecycle.resolution ?? null,
      lifecycle_version: version,
    })
    .where('organization_id', '=', organizationId)
    .where('id', '=', alertGroupId)
    .where('lifecycle_version', '<', version)
    .execute()
}

export interface TimelineEvent {
  kind: string
  at: string
  actor: unknown
  detail: unknown
  idempotencyKey: string
}

/** Appends a timeline event once per idempotency key. */
export async function appendEvent(db: Db, organizationId: string, alertGroupId: string, event: TimelineEvent): Promise<void> {
  await db
    .insertInto('alert_group_events')
    .values({
      organization_id: organizationId,
      alert_group_id: alertGroupId,
      kind: event.kind,
      at: event.at,
      actor: event.actor === null || event.actor === undefined ? null : JSON.stringify(event.actor),
      detail: JSON.stringify(event.detail ?? {}),
      idempotency_key: event.idempotencyKey,
    })
    .onConflict((oc) => oc.column('idempotency_key').doNothing())
    .execute()
}

/** The group's timeline, oldest first. */
export async function listEvents(db: Db, organizationId: string, alertGroupId: string): Promise<RecordedEvent[]> {
  const rows: Array<Pick<Selectable<AlertGroupEventsTable>, 'id' | 'kind' | 'at' | 'actor' | 'detail'>> = await db
    .selectFrom('alert_group_events')
    .select(['id', 'kind', 'at', 'actor', 'detail'])
    .where('organization_id', '=', organizationId)
    .where('alert_group_id', '=', alertGroupId)
    .orderBy('at')
    .orderBy('id')
    .execute()
  return rows.map((row) => ({ id: row.id, kind: row.kind, at: row.at, actor: row.actor, detail: row.detail }))
}

/** The workflow's record of a stored group (for a new run after unresolve). */
export function alertGroupRecordOf(group: AlertGroup): AlertGroupRecord {
  return {
    id: group.id,
    organizationId: group.organizationId,
    integrationId: group.integrationId,
    routeId: group.routeId,
    teamId: group.teamId,
    title: group.title,
    message: group.message,
    sourceUrl: group.sourceUrl,
    workflowId: group.workflowId,
    createdAt: group.createdAt,
    firstAlert: { id: group.lastAlert?.id ?? group.id, payload: group.lastAlert?.payload ?? {} },
    isMaintenance: group.isMaintenance,
  }
}

/** The route's current chain, frozen: what a restart escalates with. Null when the route has no chain. */
export async function routeSnapshot(db: Db, organizationId: string, routeId: string | null): Promise<ChainSnapshot | null> {
  if (routeId === null) return null
  const route = await db
    .selectFrom('routes')
    .select('escalation_chain_id')
    .where('organization_id', '=', organizationId)
    .where('id', '=', routeId)
    .executeTakeFirst()
  return route?.escalation_chain_id ? loadChainSnapshot(db, organizationId, route.escalation_chain_id) : null
}

export async function getIncident(db: Db, organizationId: string, alertGroupId: string): Promise<Incident | undefined> {
  const row: Pick<Selectable<IncidentsTable>, 'severity' | 'policy_id' | 'declared_at'> | undefined = await db
    .selectFrom('incidents')
    .select(['severity', 'policy_id', 'declared_at'])
    .where('organization_id', '=', organizationId)
    .where('alert_group_id', '=', alertGroupId)
    .executeTakeFirst()
  return row && { severity: row.severity, policyId: row.policy_id, declaredAt: row.declared_at }
}

/** DELETE mode "delete": the group and everything hanging off it (cascades). */
export async function deleteAlertGroup(db: Db, organizationId: string, alertGroupId: string): Promise<void> {
  await db.deleteFrom('alert_groups').where('organization_id', '=', organizationId).where('id', '=', alertGroupId).execute()
}

/** DELETE mode "wipe" (OnCall's default): the group stays, its content is erased, and the timeline says who. */
export async function wipeAlertGroup(db: Db, organizationId: string, alertGroupId: string, actor: Actor): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await trx
      .updateTable('alert_groups')
      .set({ title: null, message: null, source_url: null })
      .where('organization_id', '=', organizationId)
      .where('id', '=', alertGroupId)
      .execute()
    await trx.updateTable('alerts').set({ payload: '{}' }).where('organization_id', '=', organizationId).where('alert_group_id', '=', alertGroupId).execute()
    await appendEvent(trx, organizationId, alertGroupId, {
      kind: 'wiped',
      at: new Date().toISOString(),
      actor,
      detail: {},
      idempotencyKey: `wipe:${alertGroupId}`,
    })
  })
}
