import { DateTime, IANAZone } from 'luxon'

// Working hours (incident.io's if_else on working hours): a weekly set of wall-clock intervals in one IANA zone.
// Membership is read off the wall clock an instant shows in the zone, so DST needs no special case there; it only
// matters when finding the instant at which the answer next changes.

/** Half-open [startMinute, endMinute) of one ISO weekday (1 = Monday … 7 = Sunday), in minutes of the local day. */
export interface WeeklyInterval {
  readonly weekday: number
  /** 0..1439 */
  readonly startMinute: number
  /** 1..1440, exclusive, greater than startMinute; 1440 is the end of the day. */
  readonly endMinute: number
}

export interface WeeklyHours {
  /** An IANA zone name (see isKnownZone). */
  readonly zone: string
  readonly intervals: readonly WeeklyInterval[]
}

const MINUTE = 60_000
const HOUR = 60 * MINUTE
const DAY = 24 * HOUR
const WEEK = 7 * DAY
// A week plus a day: a DST shift cannot push a weekly set's next change out of reach.
const SEARCH_HORIZON = 8 * DAY
// 1970-01-05 was a Monday: a local value minus this, modulo a week, is the time since local Monday 00:00.
const FIRST_MONDAY = 4 * DAY

const WEEKDAY_NAMES = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'] as const

/** True for IANA zone names luxon can use ("Europe/London", "UTC", "Etc/UTC"); false for "", "UTC+2" and the like. */
export function isKnownZone(zone: string): boolean {
  return IANAZone.isValidZone(zone)
}

function zoneOf(name: string): IANAZone {
  const zone = IANAZone.create(name)
  if (!zone.isValid) throw new RangeError(`unknown time zone ${JSON.stringify(name)}`)
  return zone
}

/** Whether the wall clock `at` shows in the zone (its weekday and minute of the day) falls in one of the intervals. */
export function isWithinHours(hours: WeeklyHours, at: Date): boolean {
  const local = DateTime.fromJSDate(at, { zone: zoneOf(hours.zone) })
  const minute = local.hour * 60 + local.minute
  return hours.intervals.some((i) => i.weekday === local.weekday && i.startMinute <= minute && minute < i.endMinute)
}

/**
 * The first instant strictly after `at` at which isWithinHours changes its answer, looking at most 8 days ahead;
 * null when it does not change in that time (no intervals, or the whole week).
 *
 * The DST rule is the wall clock's, the same as isWithinHours: a boundary that falls in a skipped hour takes effect
 * at the first instant after the gap (02:30 on a spring-forward day acts at 03:00), and one in a repeated hour at
 * its first occurrence; since the repeated hour is lived twice, an interval starting or ending inside it changes
 * its answer again when the clocks go back and once more at the second occurrence.
 */
export function nextHoursChange(hours: WeeklyHours, at: Date): Date | null {
  if (hours.intervals.length === 0) return null
  const inside = isWithinHours(hours, at)
  for (const candidate of candidateInstants(hours, at.getTime())) {
    const instant = new Date(candidate)
    if (isWithinHours(hours, instant) !== inside) return instant
  }
  return null
}

/**
 * Every instant in (from, from + horizon] at which the answer can change, ascending: where the wall clock reaches an
 * interval boundary while the offset holds still, and where the offset itself changes (the wall clock jumps).
 * Instants where nothing changes are harmless: the caller compares answers.
 */
function candidateInstants(hours: WeeklyHours, from: number): number[] {
  const zone = zoneOf(hours.zone)
  const until = from + SEARCH_HORIZON
  const boundaries = boundariesInWeek(hours)
  const changes = offsetChanges(zone, from, until)
  const candidates: number[] = [...changes]
  const segmentStarts = [from, ...changes]
  const segmentEnds = [...changes, until]
  segmentStarts.forEach((start, index) => {
    const offset = zone.offset(start) * MINUTE
    const end = segmentEnds[index] as number
    for (const local of wallClockCrossings(boundaries, start + offset, end + offset)) candidates.push(local - offset)
  })
  return [...new Set(candidates)].filter((c) => c > from && c <= until).sort((a, b) => a - b)
}

/** The intervals' starts and ends as times since local Monday 00:00 (Sunday's 24:00 is Monday's 00:00). */
function boundariesInWeek(hours: WeeklyHours): number[] {
  const boundaries = new Set<number>()
  for (const i of hours.intervals) {
    const dayStart = (i.weekday - 1) * DAY
    boundaries.add((dayStart + i.startMinute * MINUTE) % WEEK)
    boundaries.add((dayStart + i.endMinute * MINUTE) % WEEK)
  }
  return [...boundaries]
}

/** Local values (wall-clock times written as UTC milliseconds) in (localFrom, localTo] that are boundaries. */
function wallClockCrossings(boundaries: readonly number[], localFrom: number, localTo: number): number[] {
  const sinceMonday = (((localFrom - FIRST_MONDAY) % WEEK) + WEEK) % WEEK
  const weekStart = localFrom - sinceMonday
  const crossings: number[] = []
  for (const boundary of boundaries) {
    let local = weekStart + boundary
    if (local <= localFrom) local += WEEK
    for (; local <= localTo; local += WEEK) crossings.push(local)
  }
  return crossings
}

/**
 * The instants in (from, until] at which the zone's offset changes. Sampled hourly (no zone changes its offset twice
 * within an hour), then each change is narrowed to the millisecond.
 */
function offsetChanges(zone: IANAZone, from: number, until: number): number[] {
  const changes: number[] = []
  let low = from
  let lowOffset = zone.offset(low)
  while (low < until) {
    const high = Math.min(low + HOUR, until)
    const highOffset = zone.offset(high)
    if (highOffset !== lowOffset) changes.push(firstChangeAfter(zone, low, high))
    low = high
    lowOffset = highOffset
  }
  return changes
}

/** The first instant in (low, high] whose offset differs from the one at `low`; one change lies in between. */
function firstChangeAfter(zone: IANAZone, low: number, high: number): number {
  const before = zone.offset(low)
  while (high - low > 1) {
    const mid = Math.floor((low + high) / 2)
    if (zone.offset(mid) === before) low = mid
    else high = mid
  }
  return high
}

const pad = (n: number) => String(n).padStart(2, '0')
const offsetText = (minutes: number) =>
  `${minutes < 0 ? '-' : '+'}${pad(Math.floor(Math.abs(minutes) / 60))}:${pad(Math.abs(minutes) % 60)}`

/** The wall clock `at` shows in the zone, for explanations: "Sunday 01:30 Europe/London (+01:00)". */
export function describeLocal(hours: WeeklyHours, at: Date): string {
  const local = DateTime.fromJSDate(at, { zone: zoneOf(hours.zone) })
  const weekday = WEEKDAY_NAMES[local.weekday - 1] as string
  return `${weekday} ${pad(local.hour)}:${pad(local.minute)} ${hours.zone} (${offsetText(local.offset)})`
}
