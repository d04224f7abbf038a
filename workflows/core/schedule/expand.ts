import {
  DAY,
  HOUR,
  MAX_OFFSET,
  WEEKDAYS,
  dayStart,
  daysInMonth,
  localToInstant,
  instantToLocal,
  weekdayOf,
  type Weekday,
} from './time'

// Expansion of one on-call shift into concrete events, in the shift's own time zone (OnCall turns shifts into iCal
// RRULEs; this follows RFC 5545 for the parts OnCall's API can express).

export type ShiftType = 'single_event' | 'recurrent_event' | 'rolling_users' | 'override'
export type Frequency = 'hourly' | 'daily' | 'weekly' | 'monthly'

export interface ShiftSpec {
  readonly id: string
  readonly type: ShiftType
  /** IANA zone the wall-clock fields below are read in. */
  readonly timeZone: string
  readonly level: number
  /** Wall-clock start of the first occurrence, as a local value (see time.ts). */
  readonly start: number
  /** Occurrences starting before this wall-clock time are not generated (OnCall's rotation_start). */
  readonly rotationStart: number
  readonly durationSeconds: number
  readonly frequency: Frequency | null
  readonly interval: number
  /** Inclusive wall-clock bound on occurrence starts (RFC 5545 UNTIL), or null. */
  readonly until: number | null
  readonly weekStart: Weekday
  readonly byDay: readonly Weekday[] | null
  readonly byMonth: readonly number[] | null
  readonly byMonthday: readonly number[] | null
  readonly users: readonly string[]
  readonly rollingUsers: readonly (readonly string[])[] | null
  readonly startRotationFromUserIndex: number | null
}

/** One occurrence of a shift: instants in ms, half-open [start, end). */
export interface ShiftEvent {
  readonly shiftId: string
  readonly start: number
  readonly end: number
  readonly users: readonly string[]
}

// Hostile but valid input (hourly, 1-second shifts over a year) stays bounded.
const MAX_OCCURRENCES_PER_SHIFT = 20_000

/**
 * The shift's occurrences that overlap [from, to) (instants). Wall-clock rule: an occurrence starts at the shift's
 * wall time on its day and ends at start + duration on the wall clock, so a 09:00 daily shift in Europe/London starts
 * at 09:00 local on both sides of a DST change and a 24-hour rotation hands over at 09:00 (the shift lasting 23 or 25
 * real hours on transition days; a 01:30-02:00 shift on fall-back night runs from the first 01:30 to the only
 * 02:00, 90 real minutes). Hourly recurrences are the exception: they step in real hours and last
 * `duration` real seconds, since stepping the wall clock would double or drop an hour's slot. Times that do not
 * exist or exist twice on transition days follow `localToInstant`.
 */
export function expandShift(shift: ShiftSpec, from: number, to: number): ShiftEvent[] {
  const events: ShiftEvent[] = []
  const durationMs = shift.durationSeconds * 1000
  const push = (startInstant: number, endInstant: number, turn: number) => {
    if (endInstant <= from || startInstant >= to) return
    const users = usersFor(shift, turn)
    events.push({ shiftId: shift.id, start: startInstant, end: Math.max(endInstant, startInstant + 1000), users })
  }
  const wallEvent = (local: number, turn: number) => {
    if (local < shift.rotationStart) return
    if (shift.until !== null && local > shift.until) return
    const startInstant = localToInstant(shift.timeZone, local)
    // A start moved forward out of a skipped hour moves its end by the same amount, so the shift keeps its length.
    const moved = instantToLocal(shift.timeZone, startInstant) - local
    push(startInstant, localToInstant(shift.timeZone, local + moved + durationMs), turn)
  }

  if (shift.type === 'single_event' || shift.type === 'override' || shift.frequency === null) {
    wallEvent(shift.start, 0)
    return events
  }

  const interval = Math.max(1, shift.interval)
  // Earliest wall-clock start that can still overlap the window, and the latest one that can start inside it.
  const lowLocal = from - MAX_OFFSET - durationMs - DAY
  const highLocal = to + MAX_OFFSET + DAY
  const timeOfDay = shift.start - dayStart(shift.start)
  let produced = 0
  const more = () => produced++ < MAX_OCCURRENCES_PER_SHIFT

  switch (shift.frequency) {
    case 'hourly': {
      const startInstant = localToInstant(shift.timeZone, shift.start)
      const rotationInstant = localToInstant(shift.timeZone, shift.rotationStart)
      const untilInstant = shift.until === null ? null : localToInstant(shift.timeZone, shift.until)
      const step = interval * HOUR
      let k = Math.max(0, Math.floor((from - durationMs - startInstant) / step))
      for (; more(); k++) {
        const at = startInstant + k * step
        if (at >= to || (untilInstant !== null && at > untilInstant)) break
        if (at < rotationInstant || !matchesLimits(shift, instantToLocal(shift.timeZone, at), true)) continue
        push(at, at + durationMs, k)
      }
      break
    }
    case 'daily': {
      const startDay = dayStart(shift.start)
      let k = Math.max(0, Math.floor((lowLocal - startDay) / (interval * DAY)))
      for (; more(); k++) {
        const local = startDay + k * interval * DAY + timeOfDay
        if (local > highLocal || (shift.until !== null && local > shift.until)) break
        if (!matchesLimits(shift, local, true)) continue
        wallEvent(local, dailyTurn(shift, startDay, interval, k))
      }
      break
    }
    case 'weekly': {
      const weekStart = WEEKDAYS.indexOf(shift.weekStart)
      const firstWeek = dayStart(shift.start) - ((weekdayOf(shift.start) - weekStart + 7) % 7) * DAY
      const days = (shift.byDay && shift.byDay.length > 0 ? shift.byDay : [WEEKDAYS[weekdayOf(shift.start)] as Weekday])
        .map((d) => (WEEKDAYS.indexOf(d) - weekStart + 7) % 7)
        .sort((a, b) => a - b)
      const period = interval * 7 * DAY
      let k = Math.max(0, Math.floor((lowLocal - firstWeek) / period) - 1)
      for (; more(); k++) {
        const week = firstWeek + k * period
        if (week > highLocal || (shift.until !== null && week > shift.until + DAY)) break
        for (const offset of days) {
          const local = week + offset * DAY + timeOfDay
          if (local < shift.start || !matchesLimits(shift, local, false)) continue
          wallEvent(local, k)
        }
      }
      break
    }
    case 'monthly': {
      const first = new Date(shift.start)
      const y0 = first.getUTCFullYear()
      const m0 = first.getUTCMonth()
      const low = new Date(Math.max(lowLocal, shift.start))
      let k = Math.max(0, Math.floor(((low.getUTCFullYear() - y0) * 12 + low.getUTCMonth() - m0) / interval) - 1)
      for (; more(); k++) {
        const monthIndex = m0 + k * interval
        const year = y0 + Math.floor(monthIndex / 12)
        const month = ((monthIndex % 12) + 12) % 12
        const monthStart = Date.UTC(year, month, 1)
        if (monthStart > highLocal || (shift.until !== null && monthStart > shift.until)) break
        for (const day of monthDays(shift, year, month, first.getUTCDate())) {
          const local = Date.UTC(year, month, day) + timeOfDay
          if (local < shift.start || !matchesLimits(shift, local, false)) continue
          wallEvent(local, k)
        }
      }
      break
    }
  }
  return events
}

/**
 * BYDAY limits daily and hourly recurrences (weekly and monthly expand it themselves); BYMONTH limits all;
 * BYMONTHDAY limits all but monthly (which expands it).
 */
function matchesLimits(shift: ShiftSpec, local: number, checkDay: boolean): boolean {
  const date = new Date(local)
  if (shift.byMonth && shift.byMonth.length > 0 && !shift.byMonth.includes(date.getUTCMonth() + 1)) return false
  if (
    checkDay &&
    shift.byDay &&
    shift.byDay.length > 0 &&
    !shift.byDay.includes(WEEKDAYS[weekdayOf(local)] as Weekday)
  ) {
    return false
  }
  if (shift.frequency !== 'monthly' && shift.byMonthday && shift.byMonthday.length > 0) {
    const dim = daysInMonth(date.getUTCFullYear(), date.getUTCMonth())
    const day = date.getUTCDate()
    if (!shift.byMonthday.some((d) => (d > 0 ? d : dim + 1 + d) === day)) return false
  }
  return true
}

/**
 * Days of a monthly occurrence: BYMONTHDAY (negative counts from the end), else every BYDAY weekday of the month,
 * else the start's day of month. A day the month lacks is skipped, as RFC 5545 says: a shift started on the 31st
 * happens only in 31-day months (it is not moved to the 30th).
 */
function monthDays(shift: ShiftSpec, year: number, month: number, startDay: number): number[] {
  const dim = daysInMonth(year, month)
  let days: number[]
  if (shift.byMonthday && shift.byMonthday.length > 0) {
    days = shift.byMonthday.map((d) => (d > 0 ? d : dim + 1 + d)).filter((d) => d >= 1 && d <= dim)
    if (shift.byDay && shift.byDay.length > 0) {
      days = days.filter((d) => shift.byDay?.includes(WEEKDAYS[weekdayOf(Date.UTC(year, month, d))] as Weekday))
    }
  } else if (shift.byDay && shift.byDay.length > 0) {
    days = []
    for (let d = 1; d <= dim; d++) {
      if (shift.byDay.includes(WEEKDAYS[weekdayOf(Date.UTC(year, month, d))] as Weekday)) days.push(d)
    }
  } else {
    days = startDay <= dim ? [startDay] : []
  }
  return [...new Set(days)].sort((a, b) => a - b)
}

/**
 * The rotation turn of the k-th daily period: every period is a turn, except that with BYDAY only the selected
 * days take turns (Monday-to-Friday rolling users hand over Friday → Monday, as OnCall's daily rotations do).
 */
function dailyTurn(shift: ShiftSpec, startDay: number, interval: number, k: number): number {
  if (shift.type !== 'rolling_users' || !shift.byDay || shift.byDay.length === 0) return k
  // The weekday of period j repeats with period 7 in j, so whole cycles are counted at once.
  const firstWeekday = weekdayOf(startDay)
  const selected = (j: number) => shift.byDay?.includes(WEEKDAYS[(firstWeekday + j * interval) % 7] as Weekday) ?? false
  let perCycle = 0
  for (let j = 0; j < 7; j++) if (selected(j)) perCycle++
  let turn = Math.floor(k / 7) * perCycle
  for (let j = k - (k % 7); j < k; j++) if (selected(j)) turn++
  return turn
}

function usersFor(shift: ShiftSpec, turn: number): readonly string[] {
  if (shift.type !== 'rolling_users') return shift.users
  const groups = shift.rollingUsers ?? []
  if (groups.length === 0) return []
  const index = ((((shift.startRotationFromUserIndex ?? 0) + turn) % groups.length) + groups.length) % groups.length
  return groups[index] ?? []
}
