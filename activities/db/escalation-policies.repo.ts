import { sql } from 'kysely'
import type { ChainSnapshot, StepType } from '../../workflows/core/types'
import type { Db } from './connect'
import { newPublicId } from './ids'
import { placeNew, reposition, type Ordered, type Reordering } from './ordering'

export interface EscalationPolicyRow {
  id: string
  organization_id: string
  escalation_chain_id: string
  position: number
  type: string
  important: boolean
  duration: number | null
  users: string[]
  schedule_id: string | null
  team_to_notify: string | null
  group_to_notify: string | null
  action_to_trigger: string | null
  notify_if_time_from: string | null
  notify_if_time_to: string | null
  num_alerts_in_window: number | null
  num_minutes_in_window: number | null
  severity: string | null
  round_robin_index: number
}

/** The step's own settings: everything but identity, chain and order. */
export type PolicySettings = Omit<EscalationPolicyRow, 'id' | 'organization_id' | 'escalation_chain_id' | 'position' | 'round_robin_index'>

const columns = [
  'escalation_policies.id',
  'escalation_policies.organization_id',
  'escalation_policies.escalation_chain_id',
  'escalation_policies.position',
  'escalation_policies.type',
  'escalation_policies.important',
  'escalation_policies.duration',
  'escalation_policies.users',
  'escalation_policies.schedule_id',
  'escalation_policies.team_to_notify',
  'escalation_policies.group_to_notify',
  'escalation_policies.action_to_trigger',
  'escalation_policies.notify_if_time_from',
  'escalation_policies.notify_if_time_to',
  'escalation_policies.num_alerts_in_window',
  'escalation_policies.num_minutes_in_window',
  'escalation_policies.severity',
  'escalation_policies.round_robin_index',
] as const

/** OnCall's order: by chain (creation order), then position. An unknown chain filter gives an empty list. */
export async function listEscalationPolicies(
  db: Db,
  organizationId: string,
  filter: { chainId?: string },
  page: { offset: number; limit: number },
): Promise<{ rows: EscalationPolicyRow[]; count: number }> {
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
  return { rows, count: Number(total.count) }
}

export async function getEscalationPolicy(db: Db, organizationId: string, id: string): Promise<EscalationPolicyRow | undefined> {
  return db
    .selectFrom('escalation_policies')
    .select(columns)
    .where('organization_id', '=', organizationId)
    .where('id', '=', id)
    .executeTakeFirst()
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
  chainId: string,
  settings: PolicySettings,
  position: number | undefined,
  manualOrder: boolean,
): Promise<EscalationPolicyRow> {
  const id = newPublicId('E')
  await db.transaction().execute(async (trx) => {
    const changes = placeNew(await lockChainOrdering(trx, organizationId, chainId), id, position, manualOrder)
    await applyOrders(trx, changes, id)
    await trx
      .insertInto('escalation_policies')
      .values({
        id,
        organization_id: organizationId,
        escalation_chain_id: chainId,
        position: changes.get(id) as number,
        ...settings,
      })
      .execute()
  })
  return (await getEscalationPolicy(db, organizationId, id)) as EscalationPolicyRow
}

/** Updates settings and, when `position` is given, moves (or under manual_order swaps) the policy. */
export async function updateEscalationPolicy(
  db: Db,
  policy: EscalationPolicyRow,
  settings: Partial<PolicySettings>,
  position: number | undefined,
  manualOrder: boolean,
): Promise<EscalationPolicyRow> {
  await db.transaction().execute(async (trx) => {
    if (position !== undefined) {
      const ordering = await lockChainOrdering(trx, policy.organization_id, policy.escalation_chain_id)
      const changes = reposition(ordering, policy.id, position, manualOrder)
      await applyOrders(trx, changes, policy.id)
      settings = { ...settings, position: changes.get(policy.id) } as Partial<PolicySettings>
    }
    if (Object.keys(settings).length > 0) {
      await trx
        .updateTable('escalation_policies')
        .set(settings)
        .where('organization_id', '=', policy.organization_id)
        .where('id', '=', policy.id)
        .execute()
    }
  })
  return (await getEscalationPolicy(db, policy.organization_id, policy.id)) as EscalationPolicyRow
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

export type RoundRobinAdvance =
  | { readonly kind: 'advanced'; readonly userId: string; readonly username: string }
  | { readonly kind: 'not_round_robin' }
  | { readonly kind: 'no_users' }

/**
 * Moves a round-robin step's pointer to the next user in one UPDATE, so concurrent calls each move it once,
 * and returns the user now at the head.
 */
export async function advanceRoundRobin(db: Db, policy: EscalationPolicyRow): Promise<RoundRobinAdvance> {
  if (policy.type !== 'notify_person_next_each_time') return { kind: 'not_round_robin' }
  const moved = await db
    .updateTable('escalation_policies')
    .set({ round_robin_index: sql<number>`(round_robin_index + 1) % cardinality(users)` })
    .where('organization_id', '=', policy.organization_id)
    .where('id', '=', policy.id)
    .where(sql<boolean>`cardinality(users) > 0`)
    .returning(['round_robin_index', 'users'])
    .executeTakeFirst()
  if (!moved) return { kind: 'no_users' }
  const userId = moved.users[moved.round_robin_index] as string
  const user = await db
    .selectFrom('users')
    .select('username')
    .where('organization_id', '=', policy.organization_id)
    .where('id', '=', userId)
    .executeTakeFirstOrThrow()
  return { kind: 'advanced', userId, username: user.username }
}

/** Which of `ids` exist in the organization's `table`, keeping the caller's order and dropping repeats. */
export async function existingIds(
  db: Db,
  table: 'users' | 'schedules' | 'user_groups' | 'teams' | 'webhooks',
  organizationId: string,
  ids: readonly string[],
): Promise<string[]> {
  if (ids.length === 0) return []
  let query = db.selectFrom(table).select('id').where('organization_id', '=', organizationId).where('id', 'in', ids)
  if (table === 'webhooks') query = query.where(sql.ref('deleted_at'), 'is', null)
  const found = new Set((await query.execute()).map((row) => row.id))
  return [...new Set(ids)].filter((id) => found.has(id))
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
  const policies = await db
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
    steps: policies.map((p) => ({
      policyId: p.id,
      type: p.type as StepType,
      important: p.important,
      durationSeconds: p.duration,
      userIds: p.users,
      scheduleId: p.schedule_id,
      teamId: p.team_to_notify,
      userGroupId: p.group_to_notify,
      webhookId: p.action_to_trigger,
      timeFrom: p.notify_if_time_from,
      timeTo: p.notify_if_time_to,
      numAlertsInWindow: p.num_alerts_in_window,
      numMinutesInWindow: p.num_minutes_in_window,
      severity: p.severity,
    })),
  }
}
