import { sql, type Selectable, type Updateable } from 'kysely'
import type { StepSettings, StepType } from '../workflows/oncall/steps'
import type { ChainSnapshot } from '../workflows/oncall/steps'
import type { Db } from './connect'
import { newPublicId } from './ids'
import { placeNew, reposition, type Ordered, type Reordering } from './ordering'
import type { EscalationPoliciesTable } from './schema'

/** One step of an escalation chain, with its settings in the step registry's shape. */
export interface EscalationPolicy {
  readonly id: string
  readonly organizationId: string
  readonly chainId: string
  readonly position: number
  readonly type: StepType
  readonly settings: StepSettings
  /** Index into `settings.userIds` of the next person a round-robin step pages. */
  readonly roundRobinIndex: number
}

type PolicyRow = Omit<Selectable<EscalationPoliciesTable>, 'pk' | 'created_at'>

/** The columns whose read type fits setting `F`. */
type ColumnFor<F extends keyof StepSettings> = {
  [C in keyof PolicyRow]: PolicyRow[C] extends StepSettings[F] ? C : never
}[keyof PolicyRow]

/** Where each setting is stored: the one map between the registry's settings and the table. */
const columnOfSetting = {
  important: 'important',
  durationSeconds: 'duration',
  // Both user-list types share the list, as in OnCall.
  userIds: 'users',
  scheduleId: 'schedule_id',
  teamId: 'team_to_notify',
  userGroupId: 'group_to_notify',
  webhookId: 'action_to_trigger',
  timeFrom: 'notify_if_time_from',
  timeTo: 'notify_if_time_to',
  numAlertsInWindow: 'num_alerts_in_window',
  numMinutesInWindow: 'num_minutes_in_window',
  severity: 'severity',
} as const satisfies { [F in keyof StepSettings]: ColumnFor<F> }

const settingKeys = Object.keys(columnOfSetting) as Array<keyof StepSettings>

const columns = [
  'escalation_policies.id',
  'escalation_policies.organization_id',
  'escalation_policies.escalation_chain_id',
  'escalation_policies.position',
  'escalation_policies.type',
  'escalation_policies.round_robin_index',
  ...settingKeys.map((key) => `escalation_policies.${columnOfSetting[key]}` as const),
] as const

function settingsOfRow(row: PolicyRow): StepSettings {
  const settings: Record<string, unknown> = {}
  for (const key of settingKeys) settings[key] = row[columnOfSetting[key]]
  return settings as unknown as StepSettings
}

function policyOfRow(row: PolicyRow): EscalationPolicy {
  return {
    id: row.id,
    organizationId: row.organization_id,
    chainId: row.escalation_chain_id,
    position: row.position,
    type: row.type,
    settings: settingsOfRow(row),
    roundRobinIndex: row.round_robin_index,
  }
}

/** The columns that store `settings` (absent settings are left out). */
function columnsOfSettings(settings: Partial<StepSettings>): Updateable<EscalationPoliciesTable> {
  const values: Record<string, unknown> = {}
  for (const key of settingKeys) {
    const value = settings[key]
    if (value !== undefined) values[columnOfSetting[key]] = Array.isArray(value) ? [...value] : value
  }
  return values as Updateable<EscalationPoliciesTable>
}

/** OnCall's order: by chain (creation order), then position. An unknown chain filter gives an empty list. */
export async function listEscalationPolicies(
  db: Db,
  organizationId: string,
  filter: { chainId?: string },
  page: { offset: number; limit: number },
): Promise<{ rows: EscalationPolicy[]; count: number }> {
  let query = db
    .selectFrom('escalation_policies')
    .innerJoin('escalation_chains', 'escalation_chains.id', 'escalation_policies.escalation_chain_id')
    .where('escalation_policies.organization_id', '=', organizationId)
  if (filter.chainId !== undefined) query = query.where('escalation_policies.escalation_chain_id', '=', filter.chainId)
  const [rows, total] = await Promise.all([
    query
      .select(columns)
      .orderBy('escalation_chains.pk')
      .orderBy('escalation_policies.position')
      .orderBy('escalation_policies.pk')
      .offset(page.offset)
      .limit(page.limit)
      .execute(),
    query.select((eb) => eb.fn.countAll<string>().as('count')).executeTakeFirstOrThrow(),
  ])
  return { rows: rows.map(policyOfRow), count: Number(total.count) }
}

export async function getEscalationPolicy(db: Db, organizationId: string, id: string): Promise<EscalationPolicy | undefined> {
  const row = await db
    .selectFrom('escalation_policies')
    .select(columns)
    .where('organization_id', '=', organizationId)
    .where('id', '=', id)
    .executeTakeFirst()
  return row && policyOfRow(row)
}

/** The chain's policies in order, with the chain row locked so that concurrent moves serialize. */
async function lockChainOrdering(trx: Db, organizationId: string, chainId: string): Promise<Ordered[]> {
  await trx
    .selectFrom('escalation_chains')
    .select('id')
    .where('organization_id', '=', organizationId)
    .where('id', '=', chainId)
    .forUpdate()
    .executeTakeFirstOrThrow()
  const rows = await trx
    .selectFrom('escalation_policies')
    .select(['id', 'position'])
    .where('escalation_chain_id', '=', chainId)
    .execute()
  return rows.map((row) => ({ id: row.id, order: row.position }))
}

async function applyOrders(trx: Db, changes: Reordering, skip: string): Promise<void> {
  for (const [id, position] of changes) {
    if (id !== skip) await trx.updateTable('escalation_policies').set({ position }).where('id', '=', id).execute()
  }
}

/** Creates a policy, placed as OnCall places it (see ordering.ts); throws InvalidPositionError. */
export async function createEscalationPolicy(
  db: Db,
  organizationId: string,
  policy: { chainId: string; type: StepType; settings: StepSettings; position: number | undefined; manualOrder: boolean },
): Promise<EscalationPolicy> {
  const id = newPublicId('E')
  await db.transaction().execute(async (trx) => {
    const changes = placeNew(await lockChainOrdering(trx, organizationId, policy.chainId), id, policy.position, policy.manualOrder)
    await applyOrders(trx, changes, id)
    await trx
      .insertInto('escalation_policies')
      .values({
        id,
        organization_id: organizationId,
        escalation_chain_id: policy.chainId,
        position: changes.get(id) as number,
        type: policy.type,
        ...columnsOfSettings(policy.settings),
      })
      .execute()
  })
  return (await getEscalationPolicy(db, organizationId, id)) as EscalationPolicy
}

/**
 * Writes a new type and the given settings and, when `position` is given, moves (or under manual_order swaps) the
 * policy, all or nothing; throws InvalidPositionError.
 */
export async function updateEscalationPolicy(
  db: Db,
  policy: EscalationPolicy,
  change: { type?: StepType; settings: Partial<StepSettings>; position: number | undefined; manualOrder: boolean },
): Promise<EscalationPolicy> {
  await db.transaction().execute(async (trx) => {
    const values: Updateable<EscalationPoliciesTable> = {
      ...(change.type !== undefined ? { type: change.type } : {}),
      ...columnsOfSettings(change.settings),
    }
    if (change.position !== undefined) {
      const ordering = await lockChainOrdering(trx, policy.organizationId, policy.chainId)
      const changes = reposition(ordering, policy.id, change.position, change.manualOrder)
      await applyOrders(trx, changes, policy.id)
      values.position = changes.get(policy.id)
    }
    if (Object.keys(values).length > 0) {
      await trx
        .updateTable('escalation_policies')
        .set(values)
        .where('organization_id', '=', policy.organizationId)
        .where('id', '=', policy.id)
        .execute()
    }
  })
  return (await getEscalationPolicy(db, policy.organizationId, policy.id)) as EscalationPolicy
}

/** Deletes a policy; the others keep their positions (OnCall leaves the gap). */
export async function deleteEscalationPolicy(db: Db, organizationId: string, id: string): Promise<boolean> {
  const result = await db
    .deleteFrom('escalation_policies')
    .where('organization_id', '=', organizationId)
    .where('id', '=', id)
    .executeTakeFirst()
  return Number(result.numDeletedRows) > 0
}

/**
 * Moves a policy's round-robin pointer to the next user in one UPDATE, so concurrent calls each move it once, and
 * returns the user now at the head; undefined when its queue is empty (or the policy is gone).
 */
export async function advanceRoundRobinPointer(
  db: Db,
  policy: EscalationPolicy,
): Promise<{ userId: string; username: string } | undefined> {
  const moved = await db
    .updateTable('escalation_policies')
    .set({ round_robin_index: sql<number>`(round_robin_index + 1) % cardinality(users)` })
    .where('organization_id', '=', policy.organizationId)
    .where('id', '=', policy.id)
    .where(sql<boolean>`cardinality(users) > 0`)
    .returning(['round_robin_index', 'users'])
    .executeTakeFirst()
  if (!moved) return undefined
  const userId = moved.users[moved.round_robin_index] as string
  const user = await db
    .selectFrom('users')
    .select('username')
    .where('organization_id', '=', policy.organizationId)
    .where('id', '=', userId)
    .executeTakeFirstOrThrow()
  return { userId, username: user.username }
}

/**
 * The chain as a running escalation freezes it (OnCall's snapshot): its steps in order with their settings.
 * What steps point to (schedules, teams, groups, webhooks, users' rules) stays live and is read at step time.
 */
export async function loadChainSnapshot(db: Db, organizationId: string, chainId: string): Promise<ChainSnapshot | null> {
  const chain = await db
    .selectFrom('escalation_chains')
    .select(['id', 'name'])
    .where('organization_id', '=', organizationId)
    .where('id', '=', chainId)
    .executeTakeFirst()
  if (!chain) return null
  const rows = await db
    .selectFrom('escalation_policies')
    .select(columns)
    .where('organization_id', '=', organizationId)
    .where('escalation_chain_id', '=', chainId)
    .orderBy('position')
    .orderBy('pk')
    .execute()
  return {
    chainId: chain.id,
    chainName: chain.name,
    steps: rows.map((row) => ({ policyId: row.id, type: row.type, ...settingsOfRow(row) })),
  }
}
