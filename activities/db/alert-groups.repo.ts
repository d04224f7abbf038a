import { sql, type Expression, type SqlBool } from 'kysely'
import type { LifecycleState } from '../../workflows/core/lifecycle'
import type { AlertGroupRecord, ChainSnapshot } from '../../workflows/core/types'
import { loadChainSnapshot } from './escalation-policies.repo'
import type { Db } from './connect'

export interface AlertGroupRow {
  id: string
  organization_id: string
  integration_id: string
  route_id: string | null
  team_id: string | null
  title: string | null
  message: string | null
  source_url: string | null
  workflow_id: string
  created_at: string
  acknowledged_at: string | null
  acknowledged_by: string | null
  resolved_at: string | null
  resolved_by: string | null
  silenced_at: string | null
  lifecycle_version: number
  is_maintenance: boolean
  alerts_count: number
  last_alert: AlertRow | null
}

export interface AlertRow {
  id: string
  alert_group_id: string
  created_at: string
  payload: unknown
}

/** The stored facts as the core's lifecycle state (actors live in the timeline). */
export function lifecycleOf(group: AlertGroupRow): LifecycleState {
  return {
    acknowledgedAt: group.acknowledged_at,
    acknowledgedBy: null,
    resolvedAt: group.resolved_at,
    resolvedBy: null,
    silencedAt: group.silenced_at,
    silencedUntil: null,
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
): Promise<{ rows: AlertGroupRow[]; count: number }> {
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
  return { rows, count: Number(total.count) }
}

export async function getAlertGroup(db: Db, organizationId: string, id: string): Promise<AlertGroupRow | undefined> {
  return selectAlertGroups(db, organizationId).where('g.id', '=', id).executeTakeFirst()
}

/** Operator lookup across organizations: only the ops script, which already holds Temporal access, uses it. */
export async function getAlertGroupById(db: Db, id: string): Promise<AlertGroupRow | undefined> {
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

export async function listEvents(db: Db, organizationId: string, alertGroupId: string) {
  return db
    .selectFrom('alert_group_events')
    .select(['id', 'kind', 'at', 'actor', 'detail'])
    .where('organization_id', '=', organizationId)
    .where('alert_group_id', '=', alertGroupId)
    .orderBy('at')
    .orderBy('id')
    .execute()
}

/** The workflow's record of a stored group (for a new run after unresolve). */
export function alertGroupRecordOf(group: AlertGroupRow): AlertGroupRecord {
  return {
    id: group.id,
    organizationId: group.organization_id,
    integrationId: group.integration_id,
    routeId: group.route_id,
    teamId: group.team_id,
    title: group.title,
    message: group.message,
    sourceUrl: group.source_url,
    workflowId: group.workflow_id,
    createdAt: group.created_at,
    firstAlert: { id: group.last_alert?.id ?? group.id, payload: group.last_alert?.payload ?? {} },
    isMaintenance: group.is_maintenance,
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

export async function getIncident(db: Db, organizationId: string, alertGroupId: string) {
  return db
    .selectFrom('incidents')
    .select(['severity', 'policy_id', 'declared_at'])
    .where('organization_id', '=', organizationId)
    .where('alert_group_id', '=', alertGroupId)
    .executeTakeFirst()
}

/** DELETE mode "delete": the group and everything hanging off it (cascades). */
export async function deleteAlertGroup(db: Db, organizationId: string, alertGroupId: string): Promise<void> {
  await db.deleteFrom('alert_groups').where('organization_id', '=', organizationId).where('id', '=', alertGroupId).execute()
}

/** DELETE mode "wipe" (OnCall's default): the group stays, its content is erased, and the timeline says who. */
export async function wipeAlertGroup(db: Db, organizationId: string, alertGroupId: string, actor: unknown): Promise<void> {
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
