import { randomBytes } from 'node:crypto'
import { sql, type Expression, type SqlBool } from 'kysely'
import type { Db } from './connect'
import type { UserRole } from './schema'

// incident.io's escalations: the /v2 facts of an alert group that the engine runs. The status is derived from the
// alert group's lifecycle columns in SQL, so a filter on it and the object shown can never disagree.

/** incident.io's nine escalation statuses; Tocsin produces six of them (never pending, delayed, pending_repeat). */
export const ESCALATION_STATUSES = ['pending', 'triggered', 'acked', 'resolved', 'expired', 'cancelled', 'snoozed', 'delayed', 'pending_repeat'] as const
export type EscalationStatus = (typeof ESCALATION_STATUSES)[number]

/** The creating user as shown when the escalation was created (the user may change or leave later). */
export interface EscalationCreator {
  readonly user: {
    readonly id: string
    readonly username: string
    readonly email: string
    readonly role: UserRole
    readonly slackUserId: string | null
  }
}

export interface Escalation {
  readonly id: string
  readonly organizationId: string
  readonly alertGroupId: string
  /** Null only for an escalation created by a reassign. */
  readonly idempotencyKey: string | null
  /** Exactly one of escalationPathId and userIds is set. */
  readonly escalationPathId: string | null
  readonly userIds: readonly string[] | null
  readonly title: string
  readonly description: string
  readonly priority: string
  readonly incidentId: string | null
  readonly creator: EscalationCreator
  readonly reassignedFromId: string | null
  readonly reassignedToId: string | null
  readonly status: EscalationStatus
  /** PostgreSQL's UTC text. */
  readonly createdAt: string
  /** The later of the row's own update and the alert group's newest timeline entry. */
  readonly updatedAt: string
}

/** A new escalation row: `createdAt` is the alert group's creation instant (ISO), so both agree. */
export type NewEscalation = Omit<Escalation, 'reassignedToId' | 'status' | 'updatedAt'>

/** `oneOf` keeps rows whose value is among the list, `notIn` rows whose value is not (absent values included). */
export interface SetFilter<T extends string = string> {
  readonly oneOf?: readonly T[]
  readonly notIn?: readonly T[]
}

/** ISO instants: `gte` and `lte` inclusive, `lt` exclusive. */
export interface InstantFilter {
  readonly gte?: string
  readonly lte?: string
  readonly lt?: string
}

export interface EscalationFilter {
  readonly status?: SetFilter<EscalationStatus>
  readonly escalationPath?: SetFilter
  /** An alert of the escalation's alert group. */
  readonly alert?: SetFilter
  readonly incident?: SetFilter
  readonly createdAt?: InstantFilter
  readonly updatedAt?: InstantFilter
  readonly idempotencyKey?: { readonly is?: string; readonly startsWith?: string }
}

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'

/** A ULID, the shape of incident.io's ids: 48 bits of milliseconds then 80 random bits, in Crockford base32. */
export function newUlid(now: number = Date.now()): string {
  let time = ''
  let ms = now
  for (let i = 0; i < 10; i++) {
    time = CROCKFORD[ms % 32] + time
    ms = Math.floor(ms / 32)
  }
  const bytes = randomBytes(10)
  let bits = 0n
  for (const byte of bytes) bits = (bits << 8n) | BigInt(byte)
  let random = ''
  for (let i = 0; i < 16; i++) {
    random = CROCKFORD[Number(bits & 31n)] + random
    bits >>= 5n
  }
  return time + random
}

// Precedence: a resolution names how the group ended; then OnCall's resolved > acknowledged > silenced.
const statusSql = sql<EscalationStatus>`case
  when g.resolution = 'cancelled' then 'cancelled'
  when g.resolution = 'expired' then 'expired'
  when g.resolved_at is not null then 'resolved'
  when g.acknowledged_at is not null then 'acked'
  when g.silenced_at is not null then 'snoozed'
  else 'triggered' end`

const updatedAtSql = sql<string>`greatest(e.updated_at,
  (select max(ev.at) from alert_group_events ev where ev.alert_group_id = e.alert_group_id))`

function selectEscalations(db: Db, organizationId: string) {
  return db
    .selectFrom('escalations as e')
    .innerJoin('alert_groups as g', 'g.id', 'e.alert_group_id')
    .select([
      'e.pk',
      'e.id',
      'e.organization_id',
      'e.alert_group_id',
      'e.idempotency_key',
      'e.escalation_path_id',
      'e.user_ids',
      'e.title',
      'e.description',
      'e.priority',
      'e.incident_id',
      'e.creator',
      'e.reassigned_from_id',
      'e.reassigned_to_id',
      'e.created_at',
      statusSql.as('status'),
      updatedAtSql.as('updated_at'),
    ])
    .where('e.organization_id', '=', organizationId)
}

type EscalationRow = Awaited<ReturnType<ReturnType<typeof selectEscalations>['executeTakeFirstOrThrow']>>

function escalationOf(row: EscalationRow): Escalation {
  return {
    id: row.id,
    organizationId: row.organization_id,
    alertGroupId: row.alert_group_id,
    idempotencyKey: row.idempotency_key,
    escalationPathId: row.escalation_path_id,
    userIds: row.user_ids,
    title: row.title,
    description: row.description,
    priority: row.priority,
    incidentId: row.incident_id,
    creator: row.creator as EscalationCreator,
    reassignedFromId: row.reassigned_from_id,
    reassignedToId: row.reassigned_to_id,
    status: row.status,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  }
}

/**
 * Inserts the escalation unless the organization already has one under its idempotency key: false then. A
 * concurrent insert of the same key waits here until the other transaction commits (false) or rolls back (true).
 */
export async function insertEscalation(db: Db, escalation: NewEscalation): Promise<boolean> {
  const inserted = await db
    .insertInto('escalations')
    .values({
      id: escalation.id,
      organization_id: escalation.organizationId,
      alert_group_id: escalation.alertGroupId,
      idempotency_key: escalation.idempotencyKey,
      escalation_path_id: escalation.escalationPathId,
      user_ids: escalation.userIds === null ? null : [...escalation.userIds],
      title: escalation.title,
      description: escalation.description,
      priority: escalation.priority,
      incident_id: escalation.incidentId,
      creator: JSON.stringify(escalation.creator),
      reassigned_from_id: escalation.reassignedFromId,
      created_at: escalation.createdAt,
      updated_at: escalation.createdAt,
    })
    .onConflict((oc) => oc.columns(['organization_id', 'idempotency_key']).doNothing())
    .returning('id')
    .executeTakeFirst()
  return inserted !== undefined
}

/**
 * Locks the escalation `id` until the transaction ends and says whether it is still unreassigned (false also when it
 * is not the organization's). A parallel caller waits here, then sees the first one's claim.
 */
export async function lockUnreassigned(db: Db, organizationId: string, id: string): Promise<boolean> {
  const row = await db
    .selectFrom('escalations')
    .select('reassigned_to_id')
    .where('organization_id', '=', organizationId)
    .where('id', '=', id)
    .forUpdate()
    .executeTakeFirst()
  return row !== undefined && row.reassigned_to_id === null
}

/**
 * Marks `id` as reassigned to `toId`, once: false when it already was (or is not the organization's). The row lock
 * makes a parallel reassign wait and then find it taken.
 */
export async function claimReassignment(db: Db, organizationId: string, id: string, toId: string): Promise<boolean> {
  const claimed = await db
    .updateTable('escalations')
    .set({ reassigned_to_id: toId, updated_at: sql<string>`now()` })
    .where('organization_id', '=', organizationId)
    .where('id', '=', id)
    .where('reassigned_to_id', 'is', null)
    .returning('id')
    .executeTakeFirst()
  return claimed !== undefined
}

export async function getEscalation(db: Db, organizationId: string, id: string): Promise<Escalation | undefined> {
  const row = await selectEscalations(db, organizationId).where('e.id', '=', id).executeTakeFirst()
  return row && escalationOf(row)
}

export async function getEscalationByKey(db: Db, organizationId: string, idempotencyKey: string): Promise<Escalation | undefined> {
  const row = await selectEscalations(db, organizationId).where('e.idempotency_key', '=', idempotencyKey).executeTakeFirst()
  return row && escalationOf(row)
}

function setCondition(column: Expression<string | null>, filter: SetFilter | undefined): Expression<SqlBool>[] {
  const conditions: Expression<SqlBool>[] = []
  if (filter?.oneOf !== undefined) conditions.push(sql<SqlBool>`${column} = any(${[...filter.oneOf]}::text[])`)
  if (filter?.notIn !== undefined) conditions.push(sql<SqlBool>`(${column} is null or ${column} <> all(${[...filter.notIn]}::text[]))`)
  return conditions
}

function instantConditions(column: Expression<string>, filter: InstantFilter | undefined): Expression<SqlBool>[] {
  const conditions: Expression<SqlBool>[] = []
  if (filter?.gte !== undefined) conditions.push(sql<SqlBool>`${column} >= ${filter.gte}::timestamptz`)
  if (filter?.lte !== undefined) conditions.push(sql<SqlBool>`${column} <= ${filter.lte}::timestamptz`)
  if (filter?.lt !== undefined) conditions.push(sql<SqlBool>`${column} < ${filter.lt}::timestamptz`)
  return conditions
}

/** `LIKE` matches its pattern characters literally once escaped. */
function likePrefix(prefix: string): string {
  return `${prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`
}

function filterConditions(filter: EscalationFilter): Expression<SqlBool>[] {
  const alertIn = (ids: readonly string[]) =>
    sql<SqlBool>`exists (select 1 from alerts a where a.alert_group_id = e.alert_group_id and a.id = any(${[...ids]}::text[]))`
  const conditions = [
    ...setCondition(statusSql, filter.status),
    ...setCondition(sql<string | null>`e.escalation_path_id`, filter.escalationPath),
    ...setCondition(sql<string | null>`e.incident_id`, filter.incident),
    ...instantConditions(sql<string>`e.created_at`, filter.createdAt),
    ...instantConditions(updatedAtSql, filter.updatedAt),
  ]
  if (filter.alert?.oneOf !== undefined) conditions.push(alertIn(filter.alert.oneOf))
  if (filter.alert?.notIn !== undefined) conditions.push(sql<SqlBool>`not ${alertIn(filter.alert.notIn)}`)
  if (filter.idempotencyKey?.is !== undefined) conditions.push(sql<SqlBool>`e.idempotency_key = ${filter.idempotencyKey.is}`)
  if (filter.idempotencyKey?.startsWith !== undefined) {
    conditions.push(sql<SqlBool>`e.idempotency_key like ${likePrefix(filter.idempotencyKey.startsWith)}`)
  }
  return conditions
}

/**
 * Up to `limit` of the organization's escalations, newest first, after the escalation `after` (exclusive); undefined
 * when `after` is not one of the organization's escalations.
 */
export async function listEscalations(
  db: Db,
  organizationId: string,
  filter: EscalationFilter,
  page: { readonly after?: string; readonly limit: number },
): Promise<Escalation[] | undefined> {
  let query = selectEscalations(db, organizationId)
  if (page.after !== undefined) {
    const cursor = await db
      .selectFrom('escalations')
      .select('pk')
      .where('organization_id', '=', organizationId)
      .where('id', '=', page.after)
      .executeTakeFirst()
    if (!cursor) return undefined
    query = query.where('e.pk', '<', cursor.pk)
  }
  for (const condition of filterConditions(filter)) query = query.where(condition)
  const rows = await query.orderBy('e.pk', 'desc').limit(page.limit).execute()
  return rows.map(escalationOf)
}

/** A timeline entry of an escalation's alert group. */
export interface EscalationTimelineEntry {
  readonly id: string
  readonly alertGroupId: string
  readonly kind: string
  /** PostgreSQL's UTC text. */
  readonly at: string
  readonly actor: unknown
  readonly detail: unknown
}

/** The timelines of the organization's alert groups `alertGroupIds`, each oldest first. */
export async function timelinesOf(db: Db, organizationId: string, alertGroupIds: readonly string[]): Promise<EscalationTimelineEntry[]> {
  if (alertGroupIds.length === 0) return []
  const rows = await db
    .selectFrom('alert_group_events')
    .select(['id', 'alert_group_id', 'kind', 'at', 'actor', 'detail'])
    .where('organization_id', '=', organizationId)
    .where('alert_group_id', 'in', alertGroupIds)
    .orderBy('at')
    .orderBy('id')
    .execute()
  return rows.map((row) => ({ id: row.id, alertGroupId: row.alert_group_id, kind: row.kind, at: row.at, actor: row.actor, detail: row.detail }))
}

/** An alert of an escalation's alert group, with what incident.io's AlertSlim shows of it. */
export interface EscalationAlert {
  readonly id: string
  readonly alertGroupId: string
  readonly integrationId: string
  readonly payload: unknown
  /** PostgreSQL's UTC text. */
  readonly createdAt: string
  /** The alert group's resolution instant: alerts share their group's fate. */
  readonly resolvedAt: string | null
}

/** The alerts of the organization's alert groups `alertGroupIds`, oldest first. */
export async function alertsOf(db: Db, organizationId: string, alertGroupIds: readonly string[]): Promise<EscalationAlert[]> {
  if (alertGroupIds.length === 0) return []
  const rows = await db
    .selectFrom('alerts as a')
    .innerJoin('alert_groups as g', 'g.id', 'a.alert_group_id')
    .select(['a.id', 'a.alert_group_id', 'g.integration_id', 'a.payload', 'a.created_at', 'g.resolved_at'])
    .where('a.organization_id', '=', organizationId)
    .where('a.alert_group_id', 'in', alertGroupIds)
    .orderBy('a.pk')
    .execute()
  return rows.map((row) => ({
    id: row.id,
    alertGroupId: row.alert_group_id,
    integrationId: row.integration_id,
    payload: row.payload,
    createdAt: row.created_at,
    resolvedAt: row.resolved_at,
  }))
}

/** The alert group behind a /v2 escalation id, in any organization: for operators, who act across organizations. */
export async function alertGroupIdOfEscalation(db: Db, escalationId: string): Promise<string | undefined> {
  const row = await db.selectFrom('escalations').select('alert_group_id').where('id', '=', escalationId).executeTakeFirst()
  return row?.alert_group_id
}
