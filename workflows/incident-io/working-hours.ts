import { isKnownZone, type WeeklyHours, type WeeklyInterval } from '../core/working-hours'
import { type WeekdayInterval, type WorkingHours } from './path'

// incident.io's working hours on the wire (weekday names, "HH:MM" local times, an IANA zone) to the core's weekly
// intervals, and the checks the API runs before storing them.

const WEEKDAYS: readonly WeekdayInterval['weekday'][] = [
  'monday',
  'tuesday',
  'wednesday',
  'thursday',
  'friday',
  'saturday',
  'sunday',
]

const END_OF_DAY = 24 * 60
const HH_MM = /^(\d{2}):(\d{2})$/

/** Minutes since local midnight of an "HH:MM" time from 00:00 to 23:59 (and 24:00 for an end), or null. */
function minuteOfDay(time: string, isEnd: boolean): number | null {
  const match = HH_MM.exec(time)
  if (!match) return null
  const hour = Number(match[1])
  const minute = Number(match[2])
  if (isEnd && hour === 24 && minute === 0) return END_OF_DAY
  if (hour > 23 || minute > 59) return null
  return hour * 60 + minute
}

/** ISO weekday (1 = Monday … 7 = Sunday) of a wire weekday, or 0 when it is not one. */
const isoWeekday = (weekday: string) => WEEKDAYS.indexOf(weekday as WeekdayInterval['weekday']) + 1

/** The core form of valid working hours (workingHoursProblems returned nothing); throws on a malformed time. */
export function weeklyHoursOf(hours: WorkingHours): WeeklyHours {
  return { zone: hours.timezone, intervals: hours.weekday_intervals.map(weeklyIntervalOf) }
}

function weeklyIntervalOf(interval: WeekdayInterval): WeeklyInterval {
  const startMinute = minuteOfDay(interval.start_time, false)
  const endMinute = minuteOfDay(interval.end_time, true)
  if (startMinute === null || endMinute === null || isoWeekday(interval.weekday) === 0) {
    throw new RangeError(`invalid working hours interval ${JSON.stringify(interval)}`)
  }
  return { weekday: isoWeekday(interval.weekday), startMinute, endMinute }
}

export interface WorkingHoursProblem {
  /** Relative to the working-hours object, e.g. `weekday_intervals[2].start_time`. */
  readonly field: string
  readonly message: string
}

/** Every problem of a working-hours set (zone, each interval, then overlaps); none means weeklyHoursOf may take it. */
export function workingHoursProblems(hours: WorkingHours): WorkingHoursProblem[] {
  const problems: WorkingHoursProblem[] = []
  const zoneProblem = timezoneProblem(hours.timezone)
  if (zoneProblem) problems.push({ field: 'timezone', message: zoneProblem })
  if (hours.weekday_intervals.length === 0) {
    problems.push({
      field: 'weekday_intervals',
      message: 'weekday_intervals is empty: list at least one interval, such as monday 09:00 to 17:00.',
    })
  }
  const valid: Array<{ index: number; interval: WeeklyInterval }> = []
  hours.weekday_intervals.forEach((interval, index) => {
    const intervalProblems = problemsOfInterval(interval, `weekday_intervals[${index}]`)
    problems.push(...intervalProblems)
    if (intervalProblems.length === 0) valid.push({ index, interval: weeklyIntervalOf(interval) })
  })
  problems.push(...overlaps(valid))
  return problems
}

function timezoneProblem(timezone: string): string | null {
  if (timezone.trim() === '') return 'timezone is empty: give an IANA time zone name such as "Europe/London" or "UTC".'
  if (isKnownZone(timezone)) return null
  return `"${timezone}" is not a known IANA time zone name: use a name such as "Europe/London", "America/New_York" or "UTC", not a fixed offset.`
}

function problemsOfInterval(interval: WeekdayInterval, field: string): WorkingHoursProblem[] {
  const problems: WorkingHoursProblem[] = []
  if (isoWeekday(interval.weekday) === 0) {
    problems.push({
      field: `${field}.weekday`,
      message: `"${interval.weekday}" is not a weekday: use one of ${WEEKDAYS.join(', ')}.`,
    })
  }
  const start = minuteOfDay(interval.start_time, false)
  if (start === null) {
    problems.push({
      field: `${field}.start_time`,
      message: `start_time "${interval.start_time}" is not a time of day: write it as HH:MM, from 00:00 to 23:59.`,
    })
  }
  const end = minuteOfDay(interval.end_time, true)
  if (end === null) {
    problems.push({
      field: `${field}.end_time`,
      message: `end_time "${interval.end_time}" is not a time of day: write it as HH:MM, from 00:00 to 23:59, or 24:00 for the end of the day.`,
    })
  }
  if (start !== null && end !== null && end <= start) {
    problems.push({ field: `${field}.end_time`, message: endNotAfterStart(interval, end) })
  }
  return problems
}

function endNotAfterStart(interval: WeekdayInterval, end: number): string {
  const { weekday, start_time: start, end_time: endTime } = interval
  if (end === 0) {
    return `end_time 00:00 is the start of the day, not after start_time ${start}: write 24:00 to run to midnight (${weekday} ${start} to 24:00).`
  }
  if (endTime === start) return `end_time must be after start_time: ${weekday} ${start} to ${endTime} is empty.`
  const day = isoWeekday(weekday)
  const nextDay = day === 0 ? 'the next day' : (WEEKDAYS[day % 7] as string)
  return (
    `end_time ${endTime} is before start_time ${start}: an interval cannot cross midnight; split an overnight ` +
    `interval into two days (${weekday} ${start} to 24:00 and ${nextDay} 00:00 to ${endTime}).`
  )
}

const formatMinute = (minute: number) =>
  `${String(Math.floor(minute / 60)).padStart(2, '0')}:${String(minute % 60).padStart(2, '0')}`

/** One problem per pair of intervals on the same weekday that share time; intervals that only touch are fine. */
function overlaps(valid: ReadonlyArray<{ index: number; interval: WeeklyInterval }>): WorkingHoursProblem[] {
  const problems: WorkingHoursProblem[] = []
  valid.forEach((later, position) => {
    for (const earlier of valid.slice(0, position)) {
      const a = earlier.interval
      const b = later.interval
      if (a.weekday !== b.weekday || a.startMinute >= b.endMinute || b.startMinute >= a.endMinute) continue
      const day = WEEKDAYS[a.weekday - 1] as string
      problems.push({
        field: `weekday_intervals[${later.index}]`,
        message:
          `weekday_intervals[${later.index}] (${day} ${formatMinute(b.startMinute)} to ${formatMinute(b.endMinute)}) ` +
          `overlaps weekday_intervals[${earlier.index}] (${day} ${formatMinute(a.startMinute)} to ${formatMinute(a.endMinute)}): ` +
          'merge them into one interval.',
      })
    }
  })
  return problems
}
