import { isWithinHours } from '../core/working-hours'
import { type WeekdayInterval, type WorkingHours } from './path'
import { weeklyHoursOf, workingHoursProblems } from './working-hours'

const workingHours = (timezone: string, ...weekday_intervals: WeekdayInterval[]): WorkingHours => ({
  id: 'UK',
  name: 'UK office hours',
  timezone,
  weekday_intervals,
})
const on = (weekday: WeekdayInterval['weekday'], start_time: string, end_time: string): WeekdayInterval => ({
  weekday,
  start_time,
  end_time,
})

describe('weeklyHoursOf', () => {
  test('maps weekday names to ISO weekdays and HH:MM to minutes of the day, 24:00 to the end of the day', () => {
    const hours = weeklyHoursOf(
      workingHours(
        'Europe/London',
        on('monday', '09:00', '17:30'),
        on('sunday', '22:15', '24:00'),
        on('wednesday', '00:00', '00:01'),
      ),
    )
    expect(hours).toEqual({
      zone: 'Europe/London',
      intervals: [
        { weekday: 1, startMinute: 540, endMinute: 1050 },
        { weekday: 7, startMinute: 1335, endMinute: 1440 },
        { weekday: 3, startMinute: 0, endMinute: 1 },
      ],
    })
  })

  test('the result evaluates in the set’s zone: 09:30 BST on a Monday is inside, 17:30 BST is not', () => {
    const hours = weeklyHoursOf(workingHours('Europe/London', on('monday', '09:00', '17:00')))
    expect(isWithinHours(hours, new Date('2026-06-01T08:30:00Z'))).toBe(true)
    expect(isWithinHours(hours, new Date('2026-06-01T16:30:00Z'))).toBe(false)
  })

  test('refuses a time it cannot read rather than guess', () => {
    expect(() => weeklyHoursOf(workingHours('UTC', on('monday', '9:00', '17:00')))).toThrow(RangeError)
  })
})

describe('workingHoursProblems', () => {
  test('valid hours have none, including adjacent intervals and one running to 24:00', () => {
    const hours = workingHours(
      'Europe/London',
      on('monday', '09:00', '12:00'),
      on('monday', '12:00', '17:00'),
      on('friday', '18:00', '24:00'),
      on('saturday', '00:00', '02:00'),
    )
    expect(workingHoursProblems(hours)).toEqual([])
  })

  test.each(['UTC', 'Etc/UTC', 'America/New_York', 'Australia/Sydney'])('the zone %s is accepted', (zone) => {
    expect(workingHoursProblems(workingHours(zone, on('monday', '09:00', '17:00')))).toEqual([])
  })

  const fields = (hours: WorkingHours) => workingHoursProblems(hours).map((p) => p.field)
  const messages = (hours: WorkingHours) => workingHoursProblems(hours).map((p) => p.message)

  test.each(['UTC+2', '+02:00', 'Europe/Londres', 'GMT+1'])('the zone %s is refused', (zone) => {
    const hours = workingHours(zone, on('monday', '09:00', '17:00'))
    expect(workingHoursProblems(hours)).toEqual([
      {
        field: 'timezone',
        message: `"${zone}" is not a known IANA time zone name: use a name such as "Europe/London", "America/New_York" or "UTC", not a fixed offset.`,
      },
    ])
  })

  test('an empty zone is refused with its own sentence', () => {
    expect(workingHoursProblems(workingHours('', on('monday', '09:00', '17:00')))).toEqual([
      { field: 'timezone', message: 'timezone is empty: give an IANA time zone name such as "Europe/London" or "UTC".' },
    ])
  })

  test('an empty interval list is refused', () => {
    expect(workingHoursProblems(workingHours('UTC'))).toEqual([
      {
        field: 'weekday_intervals',
        message: 'weekday_intervals is empty: list at least one interval, such as monday 09:00 to 17:00.',
      },
    ])
  })

  const badStarts = ['9:00', '24:00', '12:60', '12:00:00', 'noon', '', ' 09:00']
  test.each(badStarts)('start_time %j is refused', (start) => {
    const hours = workingHours('UTC', on('monday', '08:00', '09:00'), on('tuesday', start, '17:00'))
    expect(workingHoursProblems(hours)).toEqual([
      {
        field: 'weekday_intervals[1].start_time',
        message: `start_time "${start}" is not a time of day: write it as HH:MM, from 00:00 to 23:59.`,
      },
    ])
  })

  const badEnds = ['24:01', '25:00', '17:5', '1700']
  test.each(badEnds)('end_time %j is refused', (end) => {
    expect(workingHoursProblems(workingHours('UTC', on('monday', '09:00', end)))).toEqual([
      {
        field: 'weekday_intervals[0].end_time',
        message: `end_time "${end}" is not a time of day: write it as HH:MM, from 00:00 to 23:59, or 24:00 for the end of the day.`,
      },
    ])
  })

  test('an overnight interval is refused with a suggestion to split it at midnight', () => {
    expect(workingHoursProblems(workingHours('UTC', on('friday', '22:00', '06:00')))).toEqual([
      {
        field: 'weekday_intervals[0].end_time',
        message:
          'end_time 06:00 is before start_time 22:00: an interval cannot cross midnight; split an overnight interval ' +
          'into two days (friday 22:00 to 24:00 and saturday 00:00 to 06:00).',
      },
    ])
  })

  test('Sunday night splits into Monday morning', () => {
    expect(messages(workingHours('UTC', on('sunday', '23:00', '01:00')))[0]).toContain(
      '(sunday 23:00 to 24:00 and monday 00:00 to 01:00)',
    )
  })

  test('an end of 00:00 is pointed to 24:00', () => {
    expect(workingHoursProblems(workingHours('UTC', on('monday', '18:00', '00:00')))).toEqual([
      {
        field: 'weekday_intervals[0].end_time',
        message: 'end_time 00:00 is the start of the day, not after start_time 18:00: write 24:00 to run to midnight (monday 18:00 to 24:00).',
      },
    ])
  })

  test('an empty interval (start equals end) is refused', () => {
    expect(messages(workingHours('UTC', on('monday', '09:00', '09:00')))).toEqual([
      'end_time must be after start_time: monday 09:00 to 09:00 is empty.',
    ])
  })

  test('overlapping intervals on one weekday are named, each pair once', () => {
    const hours = workingHours(
      'UTC',
      on('monday', '09:00', '13:00'),
      on('tuesday', '10:00', '11:00'),
      on('monday', '12:00', '17:00'),
      on('monday', '16:00', '18:00'),
    )
    expect(workingHoursProblems(hours)).toEqual([
      {
        field: 'weekday_intervals[2]',
        message:
          'weekday_intervals[2] (monday 12:00 to 17:00) overlaps weekday_intervals[0] (monday 09:00 to 13:00): merge them into one interval.',
      },
      {
        field: 'weekday_intervals[3]',
        message:
          'weekday_intervals[3] (monday 16:00 to 18:00) overlaps weekday_intervals[2] (monday 12:00 to 17:00): merge them into one interval.',
      },
    ])
  })

  test('a duplicated interval overlaps itself; the same times on different days do not', () => {
    const monday = on('monday', '09:00', '17:00')
    const hours = workingHours('UTC', monday, on('tuesday', '09:00', '17:00'), monday)
    expect(fields(hours)).toEqual(['weekday_intervals[2]'])
  })

  test('an interval with a bad time is left out of the overlap check', () => {
    const hours = workingHours('UTC', on('monday', '09:00', '17:00'), on('monday', '10:00', '08:00'))
    expect(fields(hours)).toEqual(['weekday_intervals[1].end_time'])
  })

  test('every problem is reported, not only the first', () => {
    const hours = workingHours(
      'Mars/Olympus_Mons',
      on('monday', '9', '17:00'),
      on('tuesday', '10:00', '25:00'),
      on('wednesday', '18:00', '02:00'),
      on('thursday', '09:00', '12:00'),
      on('thursday', '11:00', '13:00'),
    )
    expect(fields(hours)).toEqual([
      'timezone',
      'weekday_intervals[0].start_time',
      'weekday_intervals[1].end_time',
      'weekday_intervals[2].end_time',
      'weekday_intervals[4]',
    ])
  })

  test('a weekday outside the wire type (unchecked input) is refused, not mapped', () => {
    const stray = { weekday: 'funday', start_time: '09:00', end_time: '17:00' } as unknown as WeekdayInterval
    expect(workingHoursProblems(workingHours('UTC', stray))).toEqual([
      {
        field: 'weekday_intervals[0].weekday',
        message: '"funday" is not a weekday: use one of monday, tuesday, wednesday, thursday, friday, saturday, sunday.',
      },
    ])
  })
})
