import { sql, type Selectable, type Updateable } from 'kysely'
import type { Db } from './connect'
import { newPublicId } from './ids'
import { placeNew, reposition, type Ordered, type Reordering } from './ordering'
import type { PersonalNotificationRulesTable } from './schema'
import type { NotificationRule, NotificationRuleType } from '../workflows/core/personal-rules'

/** One rule of a user's default or important list, as the API sees it. */
export interface PersonalNotificationRule {
  readonly id: string
  readonly organizationId: string
  readonly userId: string
  readonly important: boolean
  readonly position: number
  readonly type: NotificationRuleType
  /** Seconds, for a wait only. */
  readonly durationSeconds: number | null
}

/** OnCall's list filters; its detail routes apply them too. */
export interface RuleFilter {
  readonly userId?: string
  readonly important?: boolean
}

/** A user's rules of one list (default or important), in order: what a page runs for them. */
export async function notificationRulesOf(db: Db, organizationId: string, userId: string, important: boolean): Promise<NotificationRule[]> {
  const rows = await db
    .selectFrom('personal_notification_rules')
    .select(['position', 'type', 'duration_seconds'])
    .where('organization_id', '=', organizationId)
    .where('user_id', '=', userId)
    .where('important', '=', important)
    .orderBy('position')
    .orderBy('pk')
    .execute()
  return rows.map((row) => ({ position: row.position, type: row.type as NotificationRuleType, durationSeconds: row.duration_seconds }))
}

const columns = [
  'personal_notification_rules.id',
  'personal_notification_rules.organization_id',
  'personal_notification_rules.user_id',
  'personal_notification_rules.important',
  'personal_notification_rules.position',
  'personal_notification_rules.type',
  'personal_notification_rules.duration_seconds',
] as const

type RuleRow = Omit<Selectable<PersonalNotificationRulesTable>, 'pk' | 'created_at'>

function ruleOfRow(row: RuleRow): PersonalNotificationRule {
  return {
    id: row.id,
    organizationId: row.organization_id,
    userId: row.user_id,
    important: row.important,
    position: row.position,
    type: row.type as NotificationRuleType,
    durationSeconds: row.duration_seconds,
  }
}

/** Rules of the organization's existing users (a deleted user's rules are never shown), narrowed by `filter`. */
function selectRules(db: Db, organizationId: string, filter: RuleFilter) {
  let query = db
    .selectFrom('personal_notification_rules')
    .innerJoin('users', (join) =>
      join.onRef('users.id', '=', 'personal_notification_rules.user_id').on('users.organization_id', '=', organizationId),
    )
    .where('personal_notification_rules.organization_id', '=', organizationId)
  if (filter.userId !== undefined) query = query.where('personal_notification_rules.user_id', '=', filter.userId)
  if (filter.important !== undefined) query = query.where('personal_notification_rules.important', '=', filter.important)
  return query
}

/** OnCall's order: by user (creation order), then the default list before the important one, then position. */
export async function listPersonalNotificationRules(
  db: Db,
  organizationId: string,
  filter: RuleFilter,
  page: { offset: number; limit: number },
): Promise<{ rows: PersonalNotificationRule[]; count: number }> {
  const query = selectRules(db, organizationId, filter)
  const [rows, total] = await Promise.all([
    query
      .select(columns)
      .orderBy('users.pk')
      .orderBy('personal_notification_rules.important')
      .orderBy('personal_notification_rules.position')
      .orderBy('personal_notification_rules.pk')
      .offset(page.offset)
      .limit(page.limit)
      .execute(),
    query.select((eb) => eb.fn.countAll<string>().as('count')).executeTakeFirstOrThrow(),
  ])
  return { rows: rows.map(ruleOfRow), count: Number(total.count) }
}

export async function getPersonalNotificationRule(
  db: Db,
  organizationId: string,
  id: string,
  filter: RuleFilter = {},
): Promise<PersonalNotificationRule | undefined> {
  const row = await selectRules(db, organizationId, filter)
    .select(columns)
    .where('personal_notification_rules.id', '=', id)
    .executeTakeFirst()
  return row && ruleOfRow(row)
}

// Any constant of our own: it only has to differ from the other advisory lock classes (ingestion's leases).
const RULE_LIST_LOCK_CLASS = 7_466_002

/**
 * One list's rules in order, with that list locked so that concurrent moves serialize, and the user's row held
 * against deletion until the transaction ends. Undefined when the user is not one of the organization's.
 */
async function lockRuleList(trx: Db, organizationId: string, userId: string, important: boolean): Promise<Ordered[] | undefined> {
  const user = await trx
    .selectFrom('users')
    .select('id')
    .where('organization_id', '=', organizationId)
    .where('id', '=', userId)
    .forKeyShare()
    .executeTakeFirst()
  if (!user) return undefined
  await sql`select pg_advisory_xact_lock(${RULE_LIST_LOCK_CLASS}, hashtext(${`${userId}/${important}`}))`.execute(trx)
  const rows = await trx
    .selectFrom('personal_notification_rules')
    .select(['id', 'position'])
    .where('organization_id', '=', organizationId)
    .where('user_id', '=', userId)
    .where('important', '=', important)
    .execute()
  return rows.map((row) => ({ id: row.id, order: row.position }))
}

async function applyOrders(trx: Db, changes: Reordering, skip: string): Promise<void> {
  for (const [id, position] of changes) {
    if (id !== skip) await trx.updateTable('personal_notification_rules').set({ position }).where('id', '=', id).execute()
  }
}

/**
 * Adds a rule to one of the user's lists, placed as OnCall places it (see ordering.ts); undefined when the user is
 * not one of the organization's. Throws InvalidPositionError, having written nothing.
 */
export async function createPersonalNotificationRule(
  db: Db,
  organizationId: string,
  rule: {
    userId: string
    important: boolean
    type: NotificationRuleType
    durationSeconds: number | null
    position: number | undefined
    manualOrder: boolean
  },
): Promise<PersonalNotificationRule | undefined> {
  const id = newPublicId('N')
  const created = await db.transaction().execute(async (trx) => {
    const list = await lockRuleList(trx, organizationId, rule.userId, rule.important)
    if (!list) return false
    const changes = placeNew(list, id, rule.position, rule.manualOrder)
    await applyOrders(trx, changes, id)
    await trx
      .insertInto('personal_notification_rules')
      .values({
        id,
        organization_id: organizationId,
        user_id: rule.userId,
        important: rule.important,
        position: changes.get(id) as number,
        type: rule.type,
        duration_seconds: rule.durationSeconds,
      })
      .execute()
    return true
  })
  return created ? getPersonalNotificationRule(db, organizationId, id) : undefined
}

/**
 * Writes a new type and duration and, when `position` is given, moves (or under manual_order swaps) the rule within
 * its list, all or nothing; throws InvalidPositionError. Undefined when the rule (or its user) is gone.
 */
export async function updatePersonalNotificationRule(
  db: Db,
  rule: PersonalNotificationRule,
  change: { type?: NotificationRuleType; durationSeconds?: number | null; position: number | undefined; manualOrder: boolean },
): Promise<PersonalNotificationRule | undefined> {
  const updated = await db.transaction().execute(async (trx) => {
    const values: Updateable<PersonalNotificationRulesTable> = {
      ...(change.type !== undefined ? { type: change.type } : {}),
      ...(change.durationSeconds !== undefined ? { duration_seconds: change.durationSeconds } : {}),
    }
    if (change.position !== undefined) {
      const list = await lockRuleList(trx, rule.organizationId, rule.userId, rule.important)
      // Deleted meanwhile: nothing to move.
      if (!list?.some((row) => row.id === rule.id)) return false
      const changes = reposition(list, rule.id, change.position, change.manualOrder)
      await applyOrders(trx, changes, rule.id)
      values.position = changes.get(rule.id)
    }
    if (Object.keys(values).length === 0) return true
    const result = await trx
      .updateTable('personal_notification_rules')
      .set(values)
      .where('organization_id', '=', rule.organizationId)
      .where('id', '=', rule.id)
      .executeTakeFirst()
    return Number(result.numUpdatedRows) > 0
  })
  return updated ? getPersonalNotificationRule(db, rule.organizationId, rule.id) : undefined
}

/** Deletes a rule; the others keep their positions (OnCall leaves the gap). */
export async function deletePersonalNotificationRule(db: Db, organizationId: string, id: string): Promise<boolean> {
  const result = await db
    .deleteFrom('personal_notification_rules')
    .where('organization_id', '=', organizationId)
    .where('id', '=', id)
    .executeTakeFirst()
  return Number(result.numDeletedRows) > 0
}
