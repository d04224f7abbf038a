import { sql } from 'kysely'
import type { UserSource } from '../workflows/core/escalation'
import { NEXT_SHIFT_LOOKAHEAD_DAYS } from '../workflows/oncall/steps'
import type { FinalEvent } from '../workflows/core/schedule/resolve'
import type { ResolvedTarget } from '../workflows/core/step-page'
import type { Db } from './connect'
import { nextShiftUsers, usersOnCallAt } from './oncall'
import type { IcalOptions } from './schedule-ical'
import { getTeam, teamMemberIds } from './teams.repo'
import { getUserGroup } from './user-groups.repo'
import { existingUserIds } from './users.repo'

// Who a notify command pages, read live when the step runs. The engine picks round-robin users for real (moving the
// queue once per step key); previews and dry runs peek at the queue without moving it. Both go through here, so a
// preview can never disagree with the engine about whom a step reaches.

/** Whom one notify target reaches: the shape the engine merges into a step's page. */
export type Recipients = ResolvedTarget

/** The schedule shifts behind a schedule step's answer, for previews. */
export interface RecipientShifts {
  readonly schedule: { readonly id: string; readonly name: string; readonly teamId: string | null }
  readonly events: readonly FinalEvent[]
}

export type RoundRobin =
  /** The engine: move the queue once for `key` and page whoever was at its head. */
  | { readonly mode: 'pick'; readonly key: string }
  /** A preview: read the head of the queue without moving it. */
  | { readonly mode: 'peek' }

export async function resolveRecipients(
  db: Db,
  organizationId: string,
  source: UserSource,
  options: { readonly now: Date; readonly roundRobin: RoundRobin; readonly ical: IcalOptions },
): Promise<Recipients & { readonly shifts?: RecipientShifts }> {
  switch (source.kind) {
    case 'users': {
      const userIds = await existingUserIds(db, organizationId, source.userIds)
      return userIds.length ? { userIds } : { userIds, emptyReason: "none of the step's users exist any more" }
    }
    case 'round_robin': {
      const keyed = source.queue === 'keyed'
      const userId =
        options.roundRobin.mode === 'pick'
          ? await (keyed ? keyedRoundRobinPick : roundRobinPick)(db, organizationId, source.policyId, source.userIds, options.roundRobin.key)
          : await (keyed ? keyedRoundRobinHead(db, organizationId, source.policyId, source.userIds) : roundRobinHead(db, organizationId, source.policyId))
      return userId ? { userIds: [userId] } : { userIds: [], emptyReason: 'the round-robin queue has no users' }
    }
    case 'team': {
      const team = await getTeam(db, organizationId, source.teamId)
      if (!team) return { userIds: [], emptyReason: 'the team no longer exists' }
      const userIds = await teamMemberIds(db, organizationId, source.teamId)
      return userIds.length ? { userIds, detail: { team: team.name } } : { userIds, emptyReason: `team ${team.name} has no members` }
    }
    case 'user_group': {
      const group = await getUserGroup(db, organizationId, source.userGroupId)
      if (!group) return { userIds: [], emptyReason: 'the user group no longer exists' }
      const userIds = group.members
      return userIds.length ? { userIds, detail: { user_group: group.handle } } : { userIds, emptyReason: `user group @${group.handle} is empty` }
    }
    case 'schedule':
    case 'next_shift': {
      const found =
        source.kind === 'schedule'
          ? await usersOnCallAt(db, organizationId, source.scheduleId, options.now, options.ical)
          : await nextShiftUsers(db, organizationId, source.scheduleId, options.now, options.ical, NEXT_SHIFT_LOOKAHEAD_DAYS)
      if (found === null) return { userIds: [], emptyReason: 'the schedule no longer exists' }
      const shifts: RecipientShifts = {
        schedule: { id: found.schedule.id, name: found.schedule.name, teamId: found.schedule.teamId },
        events: found.events,
      }
      if (found.userIds.length === 0) {
        const reason = source.kind === 'schedule' ? 'nobody is on call in the schedule now' : `no shift starts in the schedule within ${NEXT_SHIFT_LOOKAHEAD_DAYS} days`
        return { userIds: [], emptyReason: reason, detail: found.detail, shifts }
      }
      return { userIds: found.userIds, detail: found.detail, shifts }
    }
  }
}

/** One pick per key, in a transaction with the pointer move, so a retry never skips a person. */
async function roundRobinPick(db: Db, organizationId: string, policyId: string, snapshotUserIds: readonly string[], key: string) {
  return db.transaction().execute(async (trx) => {
    const earlier = await trx.selectFrom('round_robin_picks').select('user_id').where('idempotency_key', '=', key).executeTakeFirst()
    if (earlier) return earlier.user_id
    const moved = await trx
      .updateTable('escalation_policies')
      .set({ round_robin_index: sql<number>`(round_robin_index + 1) % cardinality(users)` })
      .where('organization_id', '=', organizationId)
      .where('id', '=', policyId)
      .where(sql<boolean>`cardinality(users) > 0`)
      .returning(['round_robin_index', 'users'])
      .executeTakeFirst()
    // @NOTE The queue lives on the policy row (shared by all groups, moved by advance_round_robin too); a
    // deleted policy falls back to the snapshot's first user, as OnCall's null pointer does.
    const picked = moved
      ? (moved.users[(moved.round_robin_index + moved.users.length - 1) % moved.users.length] as string)
      : (await existingUserIds(trx, organizationId, snapshotUserIds))[0]
    if (picked === undefined) return null
    await trx.insertInto('round_robin_picks').values({ idempotency_key: key, organization_id: organizationId, policy_id: policyId, user_id: picked }).execute()
    return picked
  })
}

/**
 * A keyed queue (an incident.io level) over the users the program froze: the n-th pick pages the n-th of them that
 * still exists, counting round. One pick per key, like the policy queue.
 */
async function keyedRoundRobinPick(db: Db, organizationId: string, queueKey: string, userIds: readonly string[], key: string) {
  return db.transaction().execute(async (trx) => {
    const earlier = await trx.selectFrom('round_robin_picks').select('user_id').where('idempotency_key', '=', key).executeTakeFirst()
    if (earlier) return earlier.user_id
    const existing = await existingUserIds(trx, organizationId, userIds)
    if (existing.length === 0) return null
    const moved = await trx
      .insertInto('round_robin_queues')
      .values({ organization_id: organizationId, queue_key: queueKey, picks: 1 })
      .onConflict((oc) => oc.columns(['organization_id', 'queue_key']).doUpdateSet({ picks: sql`round_robin_queues.picks + 1`, updated_at: sql`now()` }))
      .returning('picks')
      .executeTakeFirstOrThrow()
    const picked = existing[(Number(moved.picks) - 1) % existing.length] as string
    await trx.insertInto('round_robin_picks').values({ idempotency_key: key, organization_id: organizationId, policy_id: queueKey, user_id: picked }).execute()
    return picked
  })
}

/** Whom the next pick of a keyed queue would page, read without moving it. */
async function keyedRoundRobinHead(db: Db, organizationId: string, queueKey: string, userIds: readonly string[]): Promise<string | null> {
  const existing = await existingUserIds(db, organizationId, userIds)
  if (existing.length === 0) return null
  const queue = await db
    .selectFrom('round_robin_queues')
    .select('picks')
    .where('organization_id', '=', organizationId)
    .where('queue_key', '=', queueKey)
    .executeTakeFirst()
  return existing[Number(queue?.picks ?? 0) % existing.length] ?? null
}

/** The user a pick would page now, read without moving the queue; null when the head no longer exists. */
async function roundRobinHead(db: Db, organizationId: string, policyId: string): Promise<string | null> {
  const policy = await db
    .selectFrom('escalation_policies')
    .select(['users', 'round_robin_index'])
    .where('organization_id', '=', organizationId)
    .where('id', '=', policyId)
    .executeTakeFirst()
  const head = policy && policy.users.length > 0 ? policy.users[policy.round_robin_index % policy.users.length] : undefined
  if (head === undefined) return null
  return (await existingUserIds(db, organizationId, [head]))[0] ?? null
}
