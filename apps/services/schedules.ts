import type { Db } from '../../db/connect'
import { findShifts, setScheduleShifts, shiftIdsBySchedule } from '../../db/on-call-shifts.repo'
import { loadedFinalEvents, loadedOnCallAt, loadSchedule, reasonsOf, staleness, type OnCallReason } from '../../db/oncall'
import type { IcalOptions } from '../../db/schedule-ical'
import * as repo from '../../db/schedules.repo'
import type { Schedule, ScheduleFilter, ScheduleType, ScheduleUpdate } from '../../db/schedules.repo'
import { getTeam } from '../../db/teams.repo'
import { findUsers } from '../../db/users.repo'
import { ServiceError } from './errors'

// Schedules: what a schedule may hold (shifts, calendars; never Slack, which Tocsin does not have), and who is on call
// in it, through the same resolver as the escalation engine.

export type { OnCallReason, Schedule, ScheduleFilter, ScheduleType }

const DAY_MS = 86_400_000
const MAX_FINAL_SHIFTS_DAYS = 365

/** A create or an update; absent fields keep their stored value (or the default). */
export interface ScheduleInput {
  readonly teamId?: string | null
  readonly name?: string
  readonly timeZone?: string
  readonly icalUrlPrimary?: string
  readonly icalUrlOverrides?: string | null
  readonly enableWebOverrides?: boolean
  readonly slackChannelId?: string | null
  readonly slackUserGroupId?: string | null
  /** On-call shift ids; ids that are not the organization's are dropped. Ignored for iCal schedules. */
  readonly shifts?: string[] | null
}

/** Why a schedule write is refused; the API dialect words each. */
export type ScheduleProblem =
  | { readonly kind: 'slack_not_connected' }
  | { readonly kind: 'override_shifts_in_calendar' }
  /** Web schedules are edited in the web UI only (OnCall's rule). */
  | { readonly kind: 'web_schedule_update' }

export type ScheduleOutcome = { readonly kind: 'saved'; readonly schedule: Schedule } | { readonly kind: 'invalid'; readonly problem: ScheduleProblem }

/** A schedule with who is on call in it now and its shifts. */
export interface ScheduleView {
  readonly schedule: Schedule
  readonly onCallNow: string[]
  readonly shiftIds: string[]
}

export function listSchedules(
  db: Db,
  organizationId: string,
  filter: ScheduleFilter,
  page: { offset: number; limit: number },
): Promise<{ rows: Schedule[]; count: number }> {
  return repo.listSchedules(db, organizationId, filter, page)
}

/** The schedule, or `not_found`. */
export async function getSchedule(db: Db, organizationId: string, id: string): Promise<Schedule> {
  const schedule = await repo.getSchedule(db, organizationId, id)
  if (!schedule) throw new ServiceError('not_found', `no schedule ${id}`)
  return schedule
}

/** Who is on call in each schedule at `now`, and its shift ids, in the order given. */
export async function describeSchedules(db: Db, schedules: readonly Schedule[], now: number, ical: IcalOptions): Promise<ScheduleView[]> {
  const shiftIds = await shiftIdsBySchedule(
    db,
    schedules.map((s) => s.id),
  )
  return Promise.all(
    schedules.map(async (schedule) => ({
      schedule,
      onCallNow: loadedOnCallAt(await loadSchedule(db, schedule, ical), now).userIds,
      shiftIds: shiftIds.get(schedule.id) ?? [],
    })),
  )
}

/** The checks every write makes, in OnCall's order: Slack, the team, then the shifts. */
async function checkInput(
  db: Db,
  organizationId: string,
  type: ScheduleType,
  input: ScheduleInput,
): Promise<{ fields: ScheduleUpdate; shiftIds: string[] | undefined } | ScheduleProblem> {
  if (input.slackChannelId != null || input.slackUserGroupId != null) return { kind: 'slack_not_connected' }
  if (input.teamId != null && !(await getTeam(db, organizationId, input.teamId))) {
    throw new ServiceError('invalid_reference', `no team ${input.teamId}`, { field: 'teamId' })
  }
  let shiftIds: string[] | undefined
  if (input.shifts !== undefined && type !== 'ical') {
    const shifts = await findShifts(db, organizationId, input.shifts ?? [])
    if (type === 'calendar' && shifts.some((s) => s.type === 'override')) return { kind: 'override_shifts_in_calendar' }
    shiftIds = shifts.map((s) => s.id)
  }
  const given: ScheduleUpdate = {
    teamId: input.teamId,
    name: input.name,
    timeZone: input.timeZone,
    // Stored as given; the calendar is fetched when the schedule is first resolved, and refreshed after that.
    icalUrlPrimary: input.icalUrlPrimary,
    icalUrlOverrides: input.icalUrlOverrides,
    enableWebOverrides: input.enableWebOverrides,
  }
  const fields = Object.fromEntries(Object.entries(given).filter(([, value]) => value !== undefined)) as ScheduleUpdate
  return { fields, shiftIds }
}

export async function createSchedule(db: Db, organizationId: string, type: ScheduleType, name: string, input: ScheduleInput): Promise<ScheduleOutcome> {
  const checked = await checkInput(db, organizationId, type, input)
  if ('kind' in checked) return { kind: 'invalid', problem: checked }
  const schedule = await repo.createSchedule(db, organizationId, {
    teamId: null,
    timeZone: null,
    icalUrlPrimary: null,
    icalUrlOverrides: null,
    enableWebOverrides: false,
    ...checked.fields,
    name,
    type,
  })
  if (checked.shiftIds) await setScheduleShifts(db, schedule.id, checked.shiftIds)
  return { kind: 'saved', schedule }
}

/** Applies `input` over the stored schedule; its type never changes. `not_found` if it was deleted meanwhile. */
export async function updateSchedule(db: Db, existing: Schedule, input: ScheduleInput): Promise<ScheduleOutcome> {
  const checked = await checkInput(db, existing.organizationId, existing.type, input)
  if ('kind' in checked) return { kind: 'invalid', problem: checked }
  // Refused only once the fields are valid, as OnCall does.
  if (existing.type === 'web') return { kind: 'invalid', problem: { kind: 'web_schedule_update' } }
  const schedule = await repo.updateSchedule(db, existing.organizationId, existing.id, checked.fields)
  if (!schedule) throw new ServiceError('not_found', `no schedule ${existing.id}`)
  if (checked.shiftIds) await setScheduleShifts(db, schedule.id, checked.shiftIds)
  return { kind: 'saved', schedule }
}

export async function deleteSchedule(db: Db, organizationId: string, id: string): Promise<void> {
  if (!(await repo.deleteSchedule(db, organizationId, id))) throw new ServiceError('not_found', `no schedule ${id}`)
}

/** The bounds asked for, as given: epoch ms (a date is its 00:00 UTC). */
export interface FinalShiftsRange {
  readonly start: number
  readonly end: number
}

/**
 * What final_shifts covers, as OnCall computes it: as many whole days as lie between the bounds, counted from 00:00
 * UTC of the start's day. The end's own day is never covered, and bounds less than a day apart cover nothing.
 * OnCall ends the range at 23:59:59 of the last day; here it ends at the next 00:00 (exclusive), so a shift running
 * past it is clipped to midnight rather than to the second before.
 */
export function finalShiftsWindow(range: FinalShiftsRange): { readonly from: number; readonly to: number } {
  const days = Math.floor((range.end - range.start) / DAY_MS)
  const from = Math.floor(range.start / DAY_MS) * DAY_MS
  return { from, to: from + Math.max(days, 0) * DAY_MS }
}

/** One (shift, user) of the final schedule; email and username are null for a user deleted meanwhile. */
export interface FinalShift {
  readonly userId: string
  readonly userEmail: string | null
  readonly username: string | null
  readonly start: number
  readonly end: number
}

export type FinalShiftsOutcome =
  | { readonly kind: 'shifts'; readonly shifts: FinalShift[] }
  | { readonly kind: 'invalid'; readonly problem: 'start_after_end' | 'longer_than_a_year' }

/** The final schedule (layers and overrides resolved) over the whole days of a range of at most a year. */
export async function finalShifts(db: Db, schedule: Schedule, range: FinalShiftsRange, ical: IcalOptions): Promise<FinalShiftsOutcome> {
  if (range.start > range.end) return { kind: 'invalid', problem: 'start_after_end' }
  if (range.end - range.start > MAX_FINAL_SHIFTS_DAYS * DAY_MS) return { kind: 'invalid', problem: 'longer_than_a_year' }
  const { from, to } = finalShiftsWindow(range)
  if (from === to) return { kind: 'shifts', shifts: [] }
  const events = loadedFinalEvents(await loadSchedule(db, schedule, ical), from, to)
  const users = new Map((await findUsers(db, schedule.organizationId, [...new Set(events.flatMap((e) => e.users))])).map((u) => [u.id, u]))
  const shifts = events.flatMap((event) =>
    event.users.map((userId) => ({
      userId,
      userEmail: users.get(userId)?.email ?? null,
      username: users.get(userId)?.username ?? null,
      start: event.start,
      end: event.end,
    })),
  )
  return { kind: 'shifts', shifts }
}

/** Who is on call at an instant and why, and whether an old iCal copy (its refresh failed) was used. */
export interface OnCallAt {
  readonly userIds: string[]
  readonly reasons: OnCallReason[]
  readonly stale: boolean
  /** When the stale copy was fetched (PostgreSQL UTC text), or null. */
  readonly staleCopyFetchedAt: string | null
  readonly icalErrors: string[]
}

export async function onCallAt(db: Db, schedule: Schedule, at: number, ical: IcalOptions): Promise<OnCallAt> {
  const loaded = await loadSchedule(db, schedule, ical)
  const found = loadedOnCallAt(loaded, at)
  const { stale, staleCopyFetchedAt, icalErrors } = staleness(loaded)
  return { userIds: found.userIds, reasons: reasonsOf(found.events), stale, staleCopyFetchedAt: stale ? staleCopyFetchedAt : null, icalErrors }
}
