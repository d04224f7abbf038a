import type { Db } from '../../db/connect'
import { loadChainSnapshot } from '../../db/escalation-policies.repo'
import { loadedNextShift, loadedPreviousShift, loadSchedule } from '../../db/oncall'
import { resolveRecipients, type RecipientShifts } from '../../db/recipients'
import type { IcalOptions } from '../../db/schedule-ical'
import { getSchedule } from '../../db/schedules.repo'
import { simulate } from '../../workflows/core/simulate'
import { compileChain } from '../../workflows/oncall/compile'
import { ServiceError } from './errors'

// Who a chain would page, computed by running the engine's own decide() over the chain's snapshot and resolving
// each notify command with the engine's resolver in read-only mode (round-robin queues are peeked, never moved).

const DAY_MS = 86_400_000

export interface ChainOnCall {
  /** User ids in the order the steps reach them, deduplicated. */
  readonly userIds: readonly string[]
  readonly shifts: readonly RecipientShifts[]
}

const none: ChainOnCall = { userIds: [], shifts: [] }

async function programOf(db: Db, organizationId: string, chainId: string) {
  const snapshot = await loadChainSnapshot(db, organizationId, chainId)
  if (!snapshot) throw new ServiceError('not_found', `escalation chain ${chainId} not found`)
  return compileChain(snapshot)
}

/** Everyone the chain pages at `now`: the steps the engine's first decision fires together. */
export async function currentOnCall(db: Db, organizationId: string, chainId: string, now: Date, ical: IcalOptions): Promise<ChainOnCall> {
  const [first] = simulate(await programOf(db, organizationId, chainId), now, { maxDecisions: 1 })
  const userIds: string[] = []
  const shifts: RecipientShifts[] = []
  for (const command of first?.commands ?? []) {
    if (command.kind !== 'notify') continue
    for (const { source } of command.targets) {
      const found = await resolveRecipients(db, organizationId, source, { now, roundRobin: { mode: 'peek' }, ical })
      for (const id of found.userIds) if (!userIds.includes(id)) userIds.push(id)
      if (found.shifts && found.userIds.length > 0) shifts.push(found.shifts)
    }
  }
  return { userIds, shifts }
}

/**
 * The previous (most recently completed) or next (first starting after now) shift of the first schedule the
 * escalation would reach, in the order the engine would run the steps.
 */
export async function adjacentOnCall(
  db: Db,
  organizationId: string,
  chainId: string,
  now: Date,
  days: number,
  which: 'previous' | 'next',
  ical: IcalOptions,
): Promise<ChainOnCall> {
  const decisions = simulate(await programOf(db, organizationId, chainId), now)
  const scheduleId = decisions
    .flatMap((d) => d.commands)
    .flatMap((c) => (c.kind === 'notify' ? c.targets.map((t) => t.source) : []))
    .map((source) => (source.kind === 'schedule' || source.kind === 'next_shift' ? source.scheduleId : null))
    .find((id) => id !== null)
  const schedule = scheduleId ? await getSchedule(db, organizationId, scheduleId) : undefined
  if (!schedule) return none
  const loaded = await loadSchedule(db, schedule, ical)
  const at = now.getTime()
  const found = which === 'previous' ? loadedPreviousShift(loaded, at - days * DAY_MS, at) : loadedNextShift(loaded, at, at + days * DAY_MS)
  if (!found) return none
  return {
    userIds: found.userIds,
    shifts: [{ schedule: { id: schedule.id, name: schedule.name, teamId: schedule.teamId }, events: found.events }],
  }
}
