import { Router } from 'express'
import type { Db } from '../../../activities/db/connect'
import { getEscalationChain } from '../../../activities/db/escalation-chains.repo'
import { loadedNextShift, loadedOnCallAt, loadedPreviousShift, loadSchedule } from '../../../activities/db/oncall'
import { getSchedule, type ScheduleRow } from '../../../activities/db/schedules.repo'
import { findUsersWithTeams, type UserWithTeams } from '../../../activities/db/users.repo'
import type { FinalEvent } from '../../../workflows/core/schedule/resolve'
import { requirePermission } from '../auth'
import type { ApiDeps } from '../deps'
import { ApiError, notFound } from '../errors'
import { queryString } from '../relations'
import { resource } from '../router'
import { userToWire } from '../serializers'

// GET /escalation_chains/{id}/current_oncall/, previous_oncall/, next_oncall/ (Grafana IRM's chain views, shapes from
// seeds/003): who the chain would page, resolved live through the same schedule resolver as the engine.

const DAY_MS = 86_400_000
const DEFAULT_DAYS = 7
const MAX_DAYS = 30
// IRM's notify_next_on_call_from_schedule looks 14 days ahead (the engine step uses the same window).
const NEXT_STEP_LOOKAHEAD_DAYS = 14

interface Shift {
  schedule_id: string
  schedule_name: string
  team_id: string | null
  shift_start: string
  shift_end: string
  users: string[]
}

/** Python's isoformat for a UTC instant (`+00:00`, microseconds only when non-zero), as IRM's views write it. */
function isoUtc(ms: number): string {
  const iso = new Date(ms).toISOString()
  return iso.endsWith('.000Z') ? `${iso.slice(0, 19)}+00:00` : `${iso.slice(0, 23)}000+00:00`
}

/** Final events grouped by their bounds, one entry per (schedule, start, end) with its users. */
function shiftsOf(schedule: ScheduleRow, events: readonly FinalEvent[]): Shift[] {
  const byBounds = new Map<string, Shift>()
  for (const e of events) {
    const key = `${e.start}/${e.end}`
    const entry = byBounds.get(key) ?? {
      schedule_id: schedule.id,
      schedule_name: schedule.name,
      team_id: schedule.team_id,
      shift_start: isoUtc(e.start),
      shift_end: isoUtc(e.end),
      users: [],
    }
    for (const u of e.users) if (!entry.users.includes(u)) entry.users.push(u)
    byBounds.set(key, entry)
  }
  return [...byBounds.values()]
}

function daysParam(raw: unknown): number {
  const value = queryString(raw)
  if (value === undefined) return DEFAULT_DAYS
  if (!/^-?\d{1,6}$/.test(value.trim())) throw new ApiError(400, { days: ['A valid integer is required.'] })
  const days = Number(value)
  if (days > MAX_DAYS) throw new ApiError(400, { days: [`Ensure this value is less than or equal to ${MAX_DAYS}.`] })
  if (days < 1) throw new ApiError(400, { days: ['Ensure this value is greater than or equal to 1.'] })
  return days
}

/** IRM's user entry: the user's public keys, plus the phone number and its status. */
function chainUserToWire(user: UserWithTeams) {
  const full = userToWire(user) as ReturnType<typeof userToWire> & {
    slack: unknown
    timezone: string | null
    teams: string[]
  }
  return {
    id: full.id,
    grafana_id: full.grafana_id,
    email: full.email,
    slack: full.slack,
    username: full.username,
    role: full.role,
    is_phone_number_verified: full.is_phone_number_verified,
    phone_number: user.phone_number,
    // Tocsin has no "hide my number" setting, so `private` is never given.
    phone_number_status: user.phone_number !== null ? 'available' : 'not_configured',
    timezone: full.timezone,
    teams: full.teams,
  }
}

async function respond(db: Db, organizationId: string, userIds: readonly string[], shifts: Shift[]) {
  const users = await findUsersWithTeams(db, organizationId, [...new Set(userIds)])
  return { count: users.length, users: users.map(chainUserToWire), shifts }
}

async function existing(db: Db, organizationId: string, table: 'users', ids: readonly string[]): Promise<string[]> {
  if (ids.length === 0) return []
  const rows = await db
    .selectFrom(table)
    .select('id')
    .where('organization_id', '=', organizationId)
    .where('id', 'in', ids)
    .execute()
  const found = new Set(rows.map((r) => r.id))
  return ids.filter((id) => found.has(id))
}

async function membersOf(db: Db, organizationId: string, kind: 'team' | 'group', id: string): Promise<string[]> {
  const rows =
    kind === 'team'
      ? await db
          .selectFrom('team_members')
          .innerJoin('users', 'users.id', 'team_members.user_id')
          .select('users.id')
          .where('users.organization_id', '=', organizationId)
          .where('team_members.team_id', '=', id)
          .orderBy('users.pk')
          .execute()
      : await db
          .selectFrom('user_group_members')
          .innerJoin('users', 'users.id', 'user_group_members.user_id')
          .select('users.id')
          .where('users.organization_id', '=', organizationId)
          .where('user_group_members.user_group_id', '=', id)
          .orderBy('users.pk')
          .execute()
  return rows.map((r) => r.id)
}

const SCHEDULE_STEPS = ['notify_on_call_from_schedule', 'notify_next_on_call_from_schedule']

async function chainPolicies(db: Db, organizationId: string, chainId: string) {
  return db
    .selectFrom('escalation_policies')
    .select(['type', 'users', 'schedule_id', 'team_to_notify', 'group_to_notify', 'round_robin_index'])
    .where('organization_id', '=', organizationId)
    .where('escalation_chain_id', '=', chainId)
    .orderBy('position')
    .orderBy('pk')
    .execute()
}

/**
 * Who the chain pages at `now`: every user-resolving step before the first `wait` (the engine fires those together);
 * round-robin steps are read at their pointer without moving it.
 */
export async function currentOnCall(db: Db, organizationId: string, chainId: string, now: number) {
  const userIds: string[] = []
  const shifts: Shift[] = []
  for (const policy of await chainPolicies(db, organizationId, chainId)) {
    if (policy.type === 'wait') break
    switch (policy.type) {
      case 'notify_persons':
        userIds.push(...(await existing(db, organizationId, 'users', policy.users)))
        break
      case 'notify_person_next_each_time': {
        const queue = await existing(db, organizationId, 'users', policy.users)
        const head = policy.users.length > 0 ? policy.users[policy.round_robin_index % policy.users.length] : undefined
        if (head !== undefined && queue.includes(head)) userIds.push(head)
        break
      }
      case 'notify_team_members':
        if (policy.team_to_notify) userIds.push(...(await membersOf(db, organizationId, 'team', policy.team_to_notify)))
        break
      case 'notify_user_group':
        if (policy.group_to_notify)
          userIds.push(...(await membersOf(db, organizationId, 'group', policy.group_to_notify)))
        break
      case 'notify_on_call_from_schedule':
      case 'notify_next_on_call_from_schedule': {
        const schedule = policy.schedule_id ? await getSchedule(db, organizationId, policy.schedule_id) : undefined
        if (!schedule) break
        const loaded = await loadSchedule(db, schedule)
        const found =
          policy.type === 'notify_on_call_from_schedule'
            ? loadedOnCallAt(loaded, now)
            : loadedNextShift(loaded, now, now + NEXT_STEP_LOOKAHEAD_DAYS * DAY_MS)
        if (!found) break
        userIds.push(...found.userIds)
        shifts.push(...shiftsOf(schedule, found.events))
        break
      }
    }
  }
  return respond(db, organizationId, userIds, shifts)
}

/** The previous (most recently completed) or next (first starting after now) shift of the chain's first schedule step. */
export async function adjacentOnCall(
  db: Db,
  organizationId: string,
  chainId: string,
  now: number,
  days: number,
  which: 'previous' | 'next',
) {
  const step = (await chainPolicies(db, organizationId, chainId)).find(
    (p) => SCHEDULE_STEPS.includes(p.type) && p.schedule_id !== null,
  )
  const schedule = step?.schedule_id ? await getSchedule(db, organizationId, step.schedule_id) : undefined
  if (!schedule) return respond(db, organizationId, [], [])
  const loaded = await loadSchedule(db, schedule)
  const found =
    which === 'previous'
      ? loadedPreviousShift(loaded, now - days * DAY_MS, now)
      : loadedNextShift(loaded, now, now + days * DAY_MS)
  if (!found) return respond(db, organizationId, [], [])
  return respond(db, organizationId, found.userIds, shiftsOf(schedule, found.events))
}

export function escalationChainOnCallRouter(deps: ApiDeps): Router {
  const router = Router()
  const chainOf = async (organizationId: string, id: string) => {
    const chain = await getEscalationChain(deps.db, organizationId, id)
    if (!chain) throw notFound()
    return chain
  }

  resource(router, '/escalation_chains/:id/current_oncall', {
    GET: async (req, res) => {
      const { organizationId } = requirePermission(req, 'read')
      const chain = await chainOf(organizationId, String(req.params.id))
      res.json(await currentOnCall(deps.db, organizationId, chain.id, Date.now()))
    },
  })
  for (const which of ['previous', 'next'] as const) {
    resource(router, `/escalation_chains/:id/${which}_oncall`, {
      GET: async (req, res) => {
        const { organizationId } = requirePermission(req, 'read')
        const chain = await chainOf(organizationId, String(req.params.id))
        const days = daysParam(req.query.days)
        res.json(await adjacentOnCall(deps.db, organizationId, chain.id, Date.now(), days, which))
      },
    })
  }
  return router
}
