import type { ShiftSpec, Frequency } from '../workflows/core/schedule/expand'
import { icalEvents, icalRawEvents } from '../workflows/core/schedule/ical'
import {
  finalEvents,
  nextShift,
  CONTEXT_MS,
  onCallAt,
  previousShift,
  type FinalEvent,
  type OnCallAt,
  type RawEvent,
  type ScheduleInput,
} from '../workflows/core/schedule/resolve'
import { DAY, parseNaive, type Weekday } from '../workflows/core/schedule/time'
import type { Db } from './connect'
import { scheduleShifts, type ShiftRow } from './on-call-shifts.repo'
import { icalCopies, type IcalCopy, type IcalOptions } from './schedule-ical'
import { getSchedule, type Schedule } from './schedules.repo'

// Loads a schedule's shifts, calendars and users, and hands them to the pure resolver in workflows/core/schedule.
// The API (on_call_now, final_shifts, oncall, chain views) and the escalation engine's schedule steps all go through
// here, so they can never disagree about who is on call.

/** A shift row as resolver input; a shift without a zone is read in UTC, as OnCall renders it. */
export function shiftToSpec(row: ShiftRow): ShiftSpec {
  return {
    id: row.id,
    type: row.type,
    timeZone: row.time_zone ?? 'UTC',
    level: row.level,
    start: parseNaive(row.start) as number,
    rotationStart: parseNaive(row.rotation_start) as number,
    durationSeconds: row.duration,
    frequency: row.frequency as Frequency | null,
    interval: row.interval ?? 1,
    until: row.until === null ? null : parseNaive(row.until),
    weekStart: row.week_start as Weekday,
    byDay: row.by_day as Weekday[] | null,
    byMonth: row.by_month,
    byMonthday: row.by_monthday,
    users: row.users,
    rollingUsers: row.rolling_users,
    startRotationFromUserIndex: row.start_rotation_from_user_index,
  }
}

export interface LoadedSchedule {
  readonly schedule: Schedule
  readonly shifts: readonly ShiftSpec[]
  readonly ical: readonly IcalCopy[]
  /** Users that can be on call, id → position in the organization's creation order. */
  readonly validUsers: ReadonlyMap<string, number>
  /** iCal names (username, lower-cased email) → user id. */
  readonly userByName: ReadonlyMap<string, string>
}

/** Everything the resolver needs for one schedule; reads (and when due refreshes) its iCal copies. */
export async function loadSchedule(db: Db, schedule: Schedule, options: IcalOptions): Promise<LoadedSchedule> {
  const [shiftRows, ical, users] = await Promise.all([
    schedule.type === 'ical' ? Promise.resolve([]) : scheduleShifts(db, schedule.organizationId, schedule.id),
    icalCopies(db, schedule, options),
    db
      .selectFrom('users')
      .select(['id', 'username', 'email', 'role'])
      .where('organization_id', '=', schedule.organizationId)
      .orderBy('pk')
      .execute(),
  ])
  const validUsers = new Map<string, number>()
  const userByName = new Map<string, string>()
  users.forEach((user, index) => {
    // Users without any role cannot be paged; viewers can (see the report: OnCall also drops viewers).
    if (user.role === 'none') return
    validUsers.set(user.id, index)
    userByName.set(user.username, user.id)
    if (!userByName.has(user.email.toLowerCase())) userByName.set(user.email.toLowerCase(), user.id)
  })
  return { schedule, shifts: shiftRows.map(shiftToSpec), ical, validUsers, userByName }
}

/** The resolver input for [from, to): shifts, plus the iCal copies expanded over the window. */
export function scheduleInput(loaded: LoadedSchedule, from: number, to: number): ScheduleInput {
  const extraEvents: RawEvent[] = []
  const nameLookup = (name: string) => loaded.userByName.get(name) ?? loaded.userByName.get(name.toLowerCase())
  for (const copy of loaded.ical) {
    if (copy.content === null) continue
    // Recurring iCal events are expanded a little wider so events running into the window are seen.
    const events = icalEvents(copy.content, from - 2 * DAY, to)
    extraEvents.push(...icalRawEvents(events, copy.calendar, nameLookup))
  }
  return { shifts: loaded.shifts, extraEvents, validUsers: loaded.validUsers }
}

export function loadedFinalEvents(loaded: LoadedSchedule, from: number, to: number): FinalEvent[] {
  return finalEvents(scheduleInput(loaded, from, to), from, to)
}

export function loadedOnCallAt(loaded: LoadedSchedule, at: number): OnCallAt {
  return onCallAt(scheduleInput(loaded, at - CONTEXT_MS, at + CONTEXT_MS), at)
}

export function loadedNextShift(loaded: LoadedSchedule, after: number, until: number): OnCallAt | null {
  return nextShift(scheduleInput(loaded, after, until), after, until)
}

export function loadedPreviousShift(loaded: LoadedSchedule, since: number, at: number): OnCallAt | null {
  return previousShift(scheduleInput(loaded, since, at + 1), since, at)
}

/** Why a user is on call: the final event's rank and where it came from. */
export interface OnCallReason {
  readonly reason: string
  readonly override: boolean
  readonly level: number
  readonly shiftId: string | null
  readonly icalCalendar: 'primary' | 'overrides' | null
  readonly start: string
  readonly end: string
  readonly userIds: readonly string[]
}

export function reasonsOf(events: readonly FinalEvent[]): OnCallReason[] {
  return events.map((e) => ({
    reason: e.reason,
    override: e.override,
    level: e.level,
    shiftId: e.source.kind === 'shift' ? e.source.shiftId : null,
    icalCalendar: e.source.kind === 'ical' ? e.source.calendar : null,
    start: new Date(e.start).toISOString(),
    end: new Date(e.end).toISOString(),
    userIds: e.users,
  }))
}

/** Whether the schedule is being served from an old iCal copy (its latest refresh failed), and since when. */
export function staleness(loaded: LoadedSchedule): {
  stale: boolean
  staleCopyFetchedAt: string | null
  icalErrors: string[]
} {
  const stale = loaded.ical.filter((c) => c.stale)
  return {
    stale: stale.length > 0,
    staleCopyFetchedAt: stale.map((c) => c.fetchedAt).find((f) => f !== null) ?? null,
    icalErrors: stale.map((c) => `${c.calendar}: ${c.error ?? 'never fetched'}`),
  }
}

export interface UsersOnCall {
  /** User ids, deduplicated, in the organization's user creation order. */
  readonly userIds: string[]
  /** Which layer or override put each user on call. */
  readonly reasons: OnCallReason[]
  /** True when an iCal calendar of the schedule could not be refreshed and an older copy (or none) was used. */
  readonly stale: boolean
  /** The same facts as plain data for the alert group's timeline. */
  readonly detail: Record<string, unknown>
  /** The schedule and its final events behind the answer, for previews that show the shifts. */
  readonly schedule: Schedule
  readonly events: readonly FinalEvent[]
}

function detailOf(loaded: LoadedSchedule, reasons: OnCallReason[]): Record<string, unknown> {
  const { stale, staleCopyFetchedAt, icalErrors } = staleness(loaded)
  return {
    schedule: loaded.schedule.name,
    schedule_id: loaded.schedule.id,
    reasons: reasons.map((r) => ({ reason: r.reason, shift_id: r.shiftId, ical: r.icalCalendar, users: r.userIds })),
    ...(stale ? { stale_ical_copy: true, ical_copy_fetched_at: staleCopyFetchedAt, ical_errors: icalErrors } : {}),
  }
}

/**
 * Who is on call in a schedule at an instant (start ≤ at < end), through the same resolver as the API.
 *
 * @param db the database
 * @param organizationId the caller's organization: a schedule of another organization is not found
 * @param scheduleId the schedule's public id (`S…`)
 * @param at the instant; the engine passes the step's time
 * @param ical how the schedule's iCal calendars are downloaded when due
 * @returns the users (ids, stable order) with the reasons (layer/override) and whether a stale iCal copy was used;
 *   null when the schedule does not exist (deleted since the chain was snapshotted)
 */
export async function usersOnCallAt(
  db: Db,
  organizationId: string,
  scheduleId: string,
  at: Date,
  ical: IcalOptions,
): Promise<UsersOnCall | null> {
  const schedule = await getSchedule(db, organizationId, scheduleId)
  if (!schedule) return null
  const loaded = await loadSchedule(db, schedule, ical)
  const found = loadedOnCallAt(loaded, at.getTime())
  const reasons = reasonsOf(found.events)
  return { userIds: found.userIds, reasons, stale: staleness(loaded).stale, detail: detailOf(loaded, reasons), schedule, events: found.events }
}

export interface NextShiftUsers extends UsersOnCall {
  /** Start and end of the next shift (ISO), or null when none starts within the lookahead. */
  readonly shift: { readonly start: string; readonly end: string } | null
}

/**
 * The users of the next shift that starts strictly after `after` and within `lookaheadDays` (the earliest final event
 * starting then, with every event sharing its start), for `notify_next_on_call_from_schedule`.
 *
 * @param db the database
 * @param organizationId the caller's organization
 * @param scheduleId the schedule's public id
 * @param after the instant to look ahead from
 * @param ical how the schedule's iCal calendars are downloaded when due
 * @param lookaheadDays how far to look (IRM's step: 14 days)
 * @returns null when the schedule does not exist; otherwise the users (empty, with `shift: null`, when no shift starts
 *   within the window), the reasons and the staleness flag
 */
export async function nextShiftUsers(
  db: Db,
  organizationId: string,
  scheduleId: string,
  after: Date,
  ical: IcalOptions,
  lookaheadDays = 14,
): Promise<NextShiftUsers | null> {
  const schedule = await getSchedule(db, organizationId, scheduleId)
  if (!schedule) return null
  const loaded = await loadSchedule(db, schedule, ical)
  const next = loadedNextShift(loaded, after.getTime(), after.getTime() + lookaheadDays * DAY)
  const reasons = next ? reasonsOf(next.events) : []
  const shift = next
    ? {
        start: new Date(Math.min(...next.events.map((e) => e.start))).toISOString(),
        end: new Date(Math.max(...next.events.map((e) => e.end))).toISOString(),
      }
    : null
  return {
    userIds: next?.userIds ?? [],
    reasons,
    stale: staleness(loaded).stale,
    detail: { ...detailOf(loaded, reasons), next_shift: shift },
    shift,
    schedule,
    events: next?.events ?? [],
  }
}
