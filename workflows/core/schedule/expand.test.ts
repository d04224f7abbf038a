import { expandShift, type ShiftSpec } from './expand'
import { finalEvents, nextShift, onCallAt, previousShift, type ScheduleInput } from './resolve'
import { DAY, HOUR, localToInstant, parseNaive } from './time'

const iso = (instant: number) => new Date(instant).toISOString().replace('.000', '')
const at = (text: string) => Date.parse(text)

function shift(fields: Partial<Omit<ShiftSpec, 'start'>> & { start: string; duration: number }): ShiftSpec {
  const { start, duration, ...rest } = fields
  const local = parseNaive(start) as number
  return {
    id: 'O1',
    type: 'recurrent_event',
    timeZone: 'UTC',
    level: 0,
    rotationStart: local,
    frequency: 'daily',
    interval: 1,
    until: null,
    weekStart: 'MO',
    byDay: null,
    byMonth: null,
    byMonthday: null,
    users: ['U1'],
    rollingUsers: null,
    startRotationFromUserIndex: null,
    ...rest,
    start: local,
    durationSeconds: duration,
  }
}

const starts = (s: ShiftSpec, from: string, to: string) => expandShift(s, at(from), at(to)).map((e) => iso(e.start))
const spans = (s: ShiftSpec, from: string, to: string) =>
  expandShift(s, at(from), at(to)).map((e) => `${iso(e.start)}/${iso(e.end)}`)

describe('wall-clock to instant on transition days (the DST rule in time.ts)', () => {
  const cases: Array<[string, string, string, string]> = [
    // zone, wall time, expected instant, why
    ['America/New_York', '2024-03-10T02:30:00', '2024-03-10T07:30:00Z', 'skipped hour: moved forward to 03:30 EDT'],
    ['America/New_York', '2024-11-03T01:30:00', '2024-11-03T05:30:00Z', 'repeated hour: the earlier 01:30 (EDT)'],
    ['Europe/London', '2024-03-31T01:30:00', '2024-03-31T01:30:00Z', 'skipped hour: 02:30 BST'],
    ['Europe/London', '2024-10-27T01:30:00', '2024-10-27T00:30:00Z', 'repeated hour: the earlier 01:30 (BST)'],
    ['Australia/Lord_Howe', '2024-10-06T02:15:00', '2024-10-05T15:45:00Z', 'skipped half hour: 02:45 +11'],
    ['Australia/Lord_Howe', '2024-04-07T01:45:00', '2024-04-06T14:45:00Z', 'repeated half hour: the earlier (+11)'],
    ['Asia/Kolkata', '2024-03-10T02:30:00', '2024-03-09T21:00:00Z', 'no DST: +05:30 always'],
    ['UTC', '2024-03-10T02:30:00', '2024-03-10T02:30:00Z', 'UTC'],
  ]
  test.each(cases)('%s %s → %s (%s)', (zone, wall, expected) => {
    expect(iso(localToInstant(zone, parseNaive(wall) as number))).toBe(expected)
  })
})

describe('daily shifts keep their wall-clock start across DST', () => {
  const cases: Array<[string, string, string, string, string[]]> = [
    [
      'Europe/London spring forward',
      'Europe/London',
      '2024-03-30T00:00:00Z',
      '2024-04-01T12:00:00Z',
      ['2024-03-30T09:00:00Z', '2024-03-31T08:00:00Z', '2024-04-01T08:00:00Z'],
    ],
    [
      'Europe/London fall back',
      'Europe/London',
      '2024-10-26T00:00:00Z',
      '2024-10-28T12:00:00Z',
      ['2024-10-26T08:00:00Z', '2024-10-27T09:00:00Z', '2024-10-28T09:00:00Z'],
    ],
    [
      'America/New_York spring forward',
      'America/New_York',
      '2024-03-09T00:00:00Z',
      '2024-03-11T20:00:00Z',
      ['2024-03-09T14:00:00Z', '2024-03-10T13:00:00Z', '2024-03-11T13:00:00Z'],
    ],
    [
      'America/New_York fall back',
      'America/New_York',
      '2024-11-02T00:00:00Z',
      '2024-11-04T20:00:00Z',
      ['2024-11-02T13:00:00Z', '2024-11-03T14:00:00Z', '2024-11-04T14:00:00Z'],
    ],
    [
      'Australia/Lord_Howe spring forward (30 minutes)',
      'Australia/Lord_Howe',
      '2024-10-04T00:00:00Z',
      '2024-10-06T12:00:00Z',
      // 09:00 local is 22:30Z the day before at +10:30, 22:00Z once the clocks moved half an hour to +11
      ['2024-10-03T22:30:00Z', '2024-10-04T22:30:00Z', '2024-10-05T22:00:00Z'],
    ],
    [
      'Australia/Lord_Howe fall back (30 minutes)',
      'Australia/Lord_Howe',
      '2024-04-05T00:00:00Z',
      '2024-04-07T12:00:00Z',
      ['2024-04-04T22:00:00Z', '2024-04-05T22:00:00Z', '2024-04-06T22:30:00Z'],
    ],
    [
      'Asia/Kolkata (no DST)',
      'Asia/Kolkata',
      '2024-03-09T00:00:00Z',
      '2024-03-11T00:00:00Z',
      ['2024-03-09T03:30:00Z', '2024-03-10T03:30:00Z'],
    ],
    ['UTC', 'UTC', '2024-03-30T00:00:00Z', '2024-04-01T00:00:00Z', ['2024-03-30T09:00:00Z', '2024-03-31T09:00:00Z']],
  ]
  test.each(cases)('%s', (_name, zone, from, to, expected) => {
    const s = shift({ start: '2024-01-01T09:00:00', duration: 8 * 3600, timeZone: zone })
    expect(starts(s, from, to)).toEqual(expected)
  })

  test('a 24-hour rotation hands over at 09:00 local: 23 real hours on spring-forward day, 25 on fall-back day', () => {
    const s = shift({ start: '2024-01-01T09:00:00', duration: 86400, timeZone: 'Europe/London' })
    expect(spans(s, '2024-03-30T12:00:00Z', '2024-03-30T13:00:00Z')).toEqual([
      '2024-03-30T09:00:00Z/2024-03-31T08:00:00Z',
    ])
    expect(spans(s, '2024-10-26T12:00:00Z', '2024-10-26T13:00:00Z')).toEqual([
      '2024-10-26T08:00:00Z/2024-10-27T09:00:00Z',
    ])
  })

  test('a shift starting in the skipped hour starts at the moved-forward time; in the repeated hour, the first one', () => {
    const skipped = shift({ start: '2024-03-01T02:30:00', duration: 3600, timeZone: 'America/New_York' })
    expect(spans(skipped, '2024-03-09T00:00:00Z', '2024-03-11T12:00:00Z')).toEqual([
      '2024-03-09T07:30:00Z/2024-03-09T08:30:00Z',
      // 02:30 does not exist: the whole hour moves forward to 03:30-04:30 EDT
      '2024-03-10T07:30:00Z/2024-03-10T08:30:00Z',
      '2024-03-11T06:30:00Z/2024-03-11T07:30:00Z',
    ])
    const repeated = shift({ start: '2024-10-01T01:30:00', duration: 1800, timeZone: 'America/New_York' })
    expect(spans(repeated, '2024-11-02T00:00:00Z', '2024-11-04T12:00:00Z')).toEqual([
      '2024-11-02T05:30:00Z/2024-11-02T06:00:00Z',
      // starts at the first 01:30 (EDT) and ends at the wall clock's only 02:00 (EST): 90 real minutes
      '2024-11-03T05:30:00Z/2024-11-03T07:00:00Z',
      '2024-11-04T06:30:00Z/2024-11-04T07:00:00Z',
    ])
    const lordHowe = shift({ start: '2024-10-01T02:15:00', duration: 3600, timeZone: 'Australia/Lord_Howe' })
    expect(spans(lordHowe, '2024-10-05T12:00:00Z', '2024-10-06T12:00:00Z')).toEqual([
      // 02:15 does not exist on Lord Howe that night: the hour moves forward by the 30-minute gap, 02:45-03:45
      '2024-10-05T15:45:00Z/2024-10-05T16:45:00Z',
    ])
  })
})

describe('midnight-crossing shifts', () => {
  const cases: Array<[string, string, string, string, string[]]> = [
    [
      'UTC night shift',
      'UTC',
      '2024-05-01T00:00:00Z',
      '2024-05-02T00:00:00Z',
      ['2024-04-30T22:00:00Z/2024-05-01T06:00:00Z', '2024-05-01T22:00:00Z/2024-05-02T06:00:00Z'],
    ],
    // 22:00 → 06:00 local across the jump: 7 real hours
    [
      'New York night of spring forward',
      'America/New_York',
      '2024-03-10T00:00:00Z',
      '2024-03-10T12:00:00Z',
      ['2024-03-10T03:00:00Z/2024-03-10T10:00:00Z'],
    ],
    // 22:00 → 06:00 local across the repeated hour: 9 real hours
    [
      'London night of fall back',
      'Europe/London',
      '2024-10-26T23:00:00Z',
      '2024-10-27T05:00:00Z',
      ['2024-10-26T21:00:00Z/2024-10-27T06:00:00Z'],
    ],
    [
      'Kolkata night',
      'Asia/Kolkata',
      '2024-05-01T00:00:00Z',
      '2024-05-01T12:00:00Z',
      ['2024-04-30T16:30:00Z/2024-05-01T00:30:00Z'],
    ],
  ]
  test.each(cases)('%s', (_name, zone, from, to, expected) => {
    const s = shift({ start: '2024-01-01T22:00:00', duration: 8 * 3600, timeZone: zone })
    expect(spans(s, from, to)).toEqual(expected)
  })
})

describe('monthly shifts on the 31st', () => {
  test('happen only in 31-day months (RFC 5545 skips, never moves to the 30th)', () => {
    const s = shift({ start: '2024-01-31T10:00:00', duration: 3600, frequency: 'monthly', timeZone: 'Europe/London' })
    expect(starts(s, '2024-01-01T00:00:00Z', '2024-09-01T00:00:00Z')).toEqual([
      '2024-01-31T10:00:00Z',
      '2024-03-31T09:00:00Z',
      '2024-05-31T09:00:00Z',
      '2024-07-31T09:00:00Z',
      '2024-08-31T09:00:00Z',
    ])
  })
  test('by_monthday -1 is the last day of every month, in the shift zone', () => {
    const s = shift({
      start: '2024-01-01T00:00:00',
      duration: 3600,
      frequency: 'monthly',
      byMonthday: [-1],
      timeZone: 'Asia/Kolkata',
    })
    expect(starts(s, '2024-01-01T00:00:00Z', '2024-04-01T00:00:00Z')).toEqual([
      '2024-01-30T18:30:00Z',
      '2024-02-28T18:30:00Z',
      '2024-03-30T18:30:00Z',
    ])
  })
  test('interval 2 with by_month: every other month, limited to the listed months', () => {
    const s = shift({
      start: '2024-01-15T12:00:00',
      duration: 60,
      frequency: 'monthly',
      interval: 2,
      byMonth: [1, 5, 6],
    })
    expect(starts(s, '2024-01-01T00:00:00Z', '2025-01-01T00:00:00Z')).toEqual([
      '2024-01-15T12:00:00Z',
      '2024-05-15T12:00:00Z',
    ])
  })
})

describe('until boundaries are inclusive of an occurrence starting exactly at until', () => {
  const cases: Array<[string, string, string, number]> = [
    ['UTC, exactly at until', 'UTC', '2024-05-03T09:00:00', 3],
    ['UTC, one second before', 'UTC', '2024-05-03T08:59:59', 2],
    ['New York across spring forward', 'America/New_York', '2024-03-10T09:00:00', 10],
    ['Lord Howe, exactly at until', 'Australia/Lord_Howe', '2024-05-03T09:00:00', 3],
  ]
  test.each(cases)('%s', (_name, zone, until, count) => {
    const first = zone === 'America/New_York' ? '2024-03-01T09:00:00' : '2024-05-01T09:00:00'
    const s = shift({ start: first, duration: 3600, timeZone: zone, until: parseNaive(until) as number })
    expect(expandShift(s, at('2024-02-01T00:00:00Z'), at('2024-06-01T00:00:00Z'))).toHaveLength(count)
  })
  test('an event that started before the window and runs into it is kept; until stops a still-running series', () => {
    const s = shift({ start: '2024-05-01T20:00:00', duration: 12 * 3600, until: parseNaive('2024-05-02T20:00:00') })
    expect(spans(s, '2024-05-03T00:00:00Z', '2024-05-04T00:00:00Z')).toEqual([
      '2024-05-02T20:00:00Z/2024-05-03T08:00:00Z',
    ])
  })
})

describe('weekly by_day rotations with interval > 1', () => {
  test('every second week on MO and WE, rolling users turn per active week', () => {
    const s = shift({
      type: 'rolling_users',
      start: '2024-01-01T09:00:00',
      duration: 8 * 3600,
      frequency: 'weekly',
      interval: 2,
      byDay: ['MO', 'WE'],
      weekStart: 'MO',
      users: [],
      rollingUsers: [['A'], ['B'], ['C']],
      startRotationFromUserIndex: 0,
      timeZone: 'America/New_York',
    })
    const events = expandShift(s, at('2024-01-01T00:00:00Z'), at('2024-02-12T00:00:00Z'))
    expect(events.map((e) => `${iso(e.start)} ${e.users.join()}`)).toEqual([
      '2024-01-01T14:00:00Z A',
      '2024-01-03T14:00:00Z A',
      '2024-01-15T14:00:00Z B',
      '2024-01-17T14:00:00Z B',
      '2024-01-29T14:00:00Z C',
      '2024-01-31T14:00:00Z C',
    ])
  })
  test('week_start decides which days share a period (SU start: a Sunday begins the next period)', () => {
    const base = {
      start: '2024-01-03T09:00:00',
      duration: 3600,
      frequency: 'weekly' as const,
      interval: 2,
      byDay: ['MO', 'SU'] as ShiftSpec['byDay'],
    }
    expect(starts(shift({ ...base, weekStart: 'MO' }), '2024-01-01T00:00:00Z', '2024-01-22T00:00:00Z')).toEqual([
      '2024-01-07T09:00:00Z',
      '2024-01-15T09:00:00Z',
      '2024-01-21T09:00:00Z',
    ])
    expect(starts(shift({ ...base, weekStart: 'SU' }), '2024-01-01T00:00:00Z', '2024-01-22T00:00:00Z')).toEqual([
      '2024-01-14T09:00:00Z',
      '2024-01-15T09:00:00Z',
    ])
  })
  test('a far-away window is reached without walking from the start, and with the right turn', () => {
    const s = shift({
      type: 'rolling_users',
      start: '2000-01-03T09:00:00',
      duration: 3600,
      frequency: 'weekly',
      interval: 3,
      byDay: ['TU'],
      users: [],
      rollingUsers: [['A'], ['B']],
      startRotationFromUserIndex: 1,
    })
    const from = at('2024-06-01T00:00:00Z')
    const to = at('2024-06-22T00:00:00Z')
    const jumped = expandShift(s, from, to)
    // The same window cut out of a walk from the very first occurrence.
    const walked = expandShift(s, at('2000-01-01T00:00:00Z'), to).filter((e) => e.end > from)
    expect(jumped).toHaveLength(1)
    expect(jumped).toEqual(walked)
    expect(walked.length).toBe(1)
  })
})

describe('other recurrences', () => {
  test('daily rolling users with by_day take turns on selected days only', () => {
    const s = shift({
      type: 'rolling_users',
      start: '2024-01-05T09:00:00', // a Friday
      duration: 3600,
      byDay: ['MO', 'FR'],
      users: [],
      rollingUsers: [['A'], ['B']],
      startRotationFromUserIndex: 0,
    })
    const events = expandShift(s, at('2024-01-01T00:00:00Z'), at('2024-01-20T00:00:00Z'))
    expect(events.map((e) => `${iso(e.start).slice(0, 10)} ${e.users.join()}`)).toEqual([
      '2024-01-05 A',
      '2024-01-08 B',
      '2024-01-12 A',
      '2024-01-15 B',
      '2024-01-19 A',
    ])
  })
  test('hourly steps in real hours through the skipped hour', () => {
    const s = shift({ start: '2024-03-10T00:00:00', duration: 3600, frequency: 'hourly', timeZone: 'America/New_York' })
    const events = expandShift(s, at('2024-03-10T05:00:00Z'), at('2024-03-10T09:00:00Z'))
    expect(events.map((e) => iso(e.start))).toEqual([
      '2024-03-10T05:00:00Z',
      '2024-03-10T06:00:00Z',
      '2024-03-10T07:00:00Z',
      '2024-03-10T08:00:00Z',
    ])
    expect(events.every((e) => e.end - e.start === HOUR)).toBe(true)
  })
  test('rotation_start drops earlier occurrences; single events ignore recurrence fields', () => {
    const s = shift({
      start: '2024-05-01T09:00:00',
      duration: 3600,
      rotationStart: parseNaive('2024-05-03T00:00:00') as number,
    })
    expect(starts(s, '2024-05-01T00:00:00Z', '2024-05-05T00:00:00Z')).toEqual([
      '2024-05-03T09:00:00Z',
      '2024-05-04T09:00:00Z',
    ])
    const single = shift({ type: 'single_event', start: '2024-05-01T09:00:00', duration: 3600 })
    expect(starts(single, '2024-01-01T00:00:00Z', '2025-01-01T00:00:00Z')).toEqual(['2024-05-01T09:00:00Z'])
  })
})

describe('resolution rules', () => {
  const users = new Map<string, number>([
    ['A', 0],
    ['B', 1],
    ['C', 2],
  ])
  const day = (id: string, level: number, who: string[], extra: { start?: string; duration?: number } = {}) =>
    shift({ id, level, users: who, start: '2024-05-01T00:00:00', duration: 86400, ...extra })
  const input = (shifts: ShiftSpec[]): ScheduleInput => ({ shifts, validUsers: users })

  test('higher level beats lower; same level overlapping keeps both; overrides beat all layers', () => {
    const base = day('L0', 0, ['A'])
    const high = day('L1', 1, ['B'], { start: '2024-05-01T09:00:00', duration: 8 * 3600 })
    const same = day('L1b', 1, ['C'], { start: '2024-05-01T12:00:00', duration: 2 * 3600 })
    const override = shift({
      id: 'OV',
      type: 'override',
      level: 0,
      users: ['A'],
      start: '2024-05-02T10:00:00',
      duration: 3600,
    })
    const schedule = input([base, high, same, override])
    expect(onCallAt(schedule, at('2024-05-02T08:00:00Z')).userIds).toEqual(['A'])
    expect(onCallAt(schedule, at('2024-05-02T09:00:00Z')).userIds).toEqual(['B'])
    expect(onCallAt(schedule, at('2024-05-02T13:00:00Z')).userIds).toEqual(['B', 'C'])
    const overridden = onCallAt(schedule, at('2024-05-02T10:30:00Z'))
    expect(overridden.userIds).toEqual(['A'])
    expect(overridden.events.map((e) => e.reason)).toEqual(['override'])
    const finals = finalEvents(schedule, at('2024-05-02T00:00:00Z'), at('2024-05-03T00:00:00Z'))
    expect(
      finals.map((e) => `${iso(e.start).slice(11, 16)}-${iso(e.end).slice(11, 16)} ${e.users} ${e.reason}`),
    ).toEqual([
      '00:00-09:00 A layer 0',
      '09:00-10:00 B layer 1',
      '10:00-11:00 A override',
      '11:00-17:00 B layer 1',
      '12:00-14:00 C layer 1',
      '17:00-00:00 A layer 0',
    ])
  })

  test('a shift whose users are all gone lets the lower layer show through', () => {
    const schedule = input([day('L0', 0, ['A']), day('L1', 1, ['GONE'])])
    expect(onCallAt(schedule, at('2024-05-02T12:00:00Z'))).toMatchObject({ userIds: ['A'] })
    expect(onCallAt(input([day('L1', 1, ['GONE', 'B'])]), at('2024-05-02T12:00:00Z')).userIds).toEqual(['B'])
  })

  test('handover instant belongs to the new shift; next and previous shifts', () => {
    const morning = day('M', 0, ['A'], { duration: 12 * 3600 })
    const evening = day('E', 0, ['B'], { start: '2024-05-01T12:00:00', duration: 12 * 3600 })
    const schedule = input([morning, evening])
    expect(onCallAt(schedule, at('2024-05-02T12:00:00Z')).userIds).toEqual(['B'])
    expect(onCallAt(schedule, at('2024-05-02T11:59:59Z')).userIds).toEqual(['A'])
    const next = nextShift(schedule, at('2024-05-02T13:00:00Z'), at('2024-05-16T13:00:00Z'))
    expect(next?.userIds).toEqual(['A'])
    expect(iso(next?.events[0]?.start as number)).toBe('2024-05-03T00:00:00Z')
    const previous = previousShift(schedule, at('2024-04-25T13:00:00Z'), at('2024-05-02T13:00:00Z'))
    expect(previous?.userIds).toEqual(['A'])
    expect(iso(previous?.events[0]?.end as number)).toBe('2024-05-02T12:00:00Z')
    expect(nextShift(input([]), 0, DAY)).toBeNull()
    expect(previousShift(input([]), 0, DAY)).toBeNull()
  })
})
