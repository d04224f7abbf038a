import {
  describeLocal,
  isKnownZone,
  isWithinHours,
  nextHoursChange,
  type WeeklyHours,
  type WeeklyInterval,
} from './working-hours'

const MON = 1
const WED = 3
const FRI = 5
const SAT = 6
const SUN = 7

const minuteOf = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5))
const interval = (weekday: number, start: string, end: string): WeeklyInterval => ({
  weekday,
  startMinute: minuteOf(start),
  endMinute: minuteOf(end),
})
const hoursIn = (zone: string, ...intervals: WeeklyInterval[]): WeeklyHours => ({ zone, intervals })
const weekdays = (zone: string, start: string, end: string) =>
  hoursIn(zone, ...[1, 2, 3, 4, FRI].map((day) => interval(day, start, end)))

const within = (hours: WeeklyHours, iso: string) => isWithinHours(hours, new Date(iso))
const next = (hours: WeeklyHours, iso: string) => nextHoursChange(hours, new Date(iso))?.toISOString() ?? null

/** The next `count` changes after `iso`, each searched from the one before. */
function changes(hours: WeeklyHours, iso: string, count: number): Array<string | null> {
  const found: Array<string | null> = []
  let from: string | null = iso
  while (found.length < count && from !== null) {
    from = next(hours, from)
    found.push(from)
  }
  return found
}

describe('isWithinHours reads the wall clock in the zone', () => {
  const londonOffice = weekdays('Europe/London', '09:00', '17:00')
  const cases: Array<[string, WeeklyHours, string, boolean]> = [
    ['before the start (GMT)', londonOffice, '2026-03-02T08:59:59Z', false],
    ['at the start, inclusive', londonOffice, '2026-03-02T09:00:00Z', true],
    ['the last second', londonOffice, '2026-03-02T16:59:59Z', true],
    ['at the end, exclusive', londonOffice, '2026-03-02T17:00:00Z', false],
    ['Saturday is not listed', londonOffice, '2026-03-07T12:00:00Z', false],
    ['in BST 08:30Z is 09:30 local: inside', londonOffice, '2026-06-01T08:30:00Z', true],
    ['in BST 16:30Z is 17:30 local: outside', londonOffice, '2026-06-01T16:30:00Z', false],
    ['Sydney Monday 08:00 is Sunday 21:00Z', hoursIn('Australia/Sydney', interval(MON, '08:00', '09:00')), '2026-03-01T21:00:00Z', true],
    ['Sunday 21:00Z is not Sydney’s Sunday', hoursIn('Australia/Sydney', interval(SUN, '20:00', '22:00')), '2026-03-01T21:00:00Z', false],
  ]
  test.each(cases)('%s', (_name, hours, iso, expected) => {
    expect(within(hours, iso)).toBe(expected)
  })
})

describe('weekday boundaries fall at local midnight', () => {
  const sundayLate = hoursIn('America/New_York', interval(SUN, '22:00', '24:00'))
  const cases: Array<[string, string, boolean]> = [
    ['Sunday 23:59 EST (Monday 04:59Z)', '2026-03-02T04:59:00Z', true],
    ['Monday 00:00 EST (Monday 05:00Z): the next day', '2026-03-02T05:00:00Z', false],
    ['Sunday 21:59 EST', '2026-03-02T02:59:00Z', false],
  ]
  test.each(cases)('%s', (_name, iso, expected) => {
    expect(within(sundayLate, iso)).toBe(expected)
  })

  test('an interval to 24:00 closes at the next local midnight', () => {
    expect(next(sundayLate, '2026-03-02T04:00:00Z')).toBe('2026-03-02T05:00:00.000Z')
  })

  test('Sunday 23:00–24:00 then Monday 00:00–01:00 is one stretch: no change at midnight, even across the week', () => {
    const overMidnight = hoursIn('Europe/London', interval(SUN, '23:00', '24:00'), interval(MON, '00:00', '01:00'))
    expect(next(overMidnight, '2026-03-01T23:30:00Z')).toBe('2026-03-02T01:00:00.000Z')
  })
})

describe('nextHoursChange on ordinary days', () => {
  const londonOffice = weekdays('Europe/London', '09:00', '17:00')
  const cases: Array<[string, WeeklyHours, string, string | null]> = [
    ['before opening: the opening', londonOffice, '2026-03-02T08:00:00Z', '2026-03-02T09:00:00.000Z'],
    ['strictly after: at the opening, the closing', londonOffice, '2026-03-02T09:00:00Z', '2026-03-02T17:00:00.000Z'],
    ['Friday evening: Monday morning', londonOffice, '2026-03-06T18:00:00Z', '2026-03-09T09:00:00.000Z'],
    ['seconds are kept: from 08:59:30, 09:00', londonOffice, '2026-03-02T08:59:30.250Z', '2026-03-02T09:00:00.000Z'],
    [
      'adjacent intervals (09:00–12:00, 12:00–17:00): no change at 12:00',
      hoursIn('UTC', interval(MON, '09:00', '12:00'), interval(MON, '12:00', '17:00')),
      '2026-03-02T10:00:00Z',
      '2026-03-02T17:00:00.000Z',
    ],
    [
      'overlapping intervals: the change is where the union ends',
      hoursIn('UTC', interval(MON, '09:00', '13:00'), interval(MON, '12:00', '17:00')),
      '2026-03-02T12:30:00Z',
      '2026-03-02T17:00:00.000Z',
    ],
    [
      'across a week: one hour on Wednesday, just closed',
      hoursIn('Etc/UTC', interval(WED, '10:00', '11:00')),
      '2026-03-04T11:00:00Z',
      '2026-03-11T10:00:00.000Z',
    ],
    ['no intervals: never', hoursIn('Europe/London'), '2026-03-02T09:00:00Z', null],
    [
      'all week: never',
      hoursIn('UTC', ...[1, 2, 3, 4, 5, 6, 7].map((day) => interval(day, '00:00', '24:00'))),
      '2026-03-02T09:00:00Z',
      null,
    ],
    [
      'all week in New York over a spring-forward night: never',
      hoursIn('America/New_York', ...[1, 2, 3, 4, 5, 6, 7].map((day) => interval(day, '00:00', '24:00'))),
      '2026-03-07T12:00:00Z',
      null,
    ],
    [
      'all week in Sydney over a fall-back night: never',
      hoursIn('Australia/Sydney', ...[1, 2, 3, 4, 5, 6, 7].map((day) => interval(day, '00:00', '24:00'))),
      '2026-04-04T12:00:00Z',
      null,
    ],
  ]
  test.each(cases)('%s', (_name, hours, iso, expected) => {
    expect(next(hours, iso)).toBe(expected)
  })
})

describe('spring forward: wall times in the skipped hour do not exist', () => {
  // London 2026-03-29: 01:00 GMT → 02:00 BST at 01:00Z. New York 2026-03-08: 02:00 EST → 03:00 EDT at 07:00Z.
  // Sydney 2026-10-04: 02:00 AEST → 03:00 AEDT at 2026-10-03T16:00Z.
  test('New York: an interval starting at 02:30 opens at 03:00 EDT, the first instant after the gap', () => {
    const hours = hoursIn('America/New_York', interval(SUN, '02:30', '04:00'))
    expect(within(hours, '2026-03-08T06:59:59Z')).toBe(false)
    expect(within(hours, '2026-03-08T07:00:00Z')).toBe(true)
    expect(changes(hours, '2026-03-08T06:00:00Z', 2)).toEqual(['2026-03-08T07:00:00.000Z', '2026-03-08T08:00:00.000Z'])
  })

  test('New York: an interval ending at 02:30 closes at 03:00 EDT', () => {
    const hours = hoursIn('America/New_York', interval(SUN, '00:00', '02:30'))
    expect(within(hours, '2026-03-08T06:59:00Z')).toBe(true)
    expect(within(hours, '2026-03-08T07:00:00Z')).toBe(false)
    expect(next(hours, '2026-03-08T05:00:00Z')).toBe('2026-03-08T07:00:00.000Z')
  })

  test('New York: an interval covering the skipped hour (01:30–03:30) lasts one real hour', () => {
    const hours = hoursIn('America/New_York', interval(SUN, '01:30', '03:30'))
    expect(within(hours, '2026-03-08T06:30:00Z')).toBe(true)
    expect(within(hours, '2026-03-08T07:00:00Z')).toBe(true)
    expect(within(hours, '2026-03-08T07:30:00Z')).toBe(false)
    expect(changes(hours, '2026-03-08T06:00:00Z', 2)).toEqual(['2026-03-08T06:30:00.000Z', '2026-03-08T07:30:00.000Z'])
  })

  test('London: an interval wholly inside the skipped hour is not met that day, but the next Sunday', () => {
    const hours = hoursIn('Europe/London', interval(SUN, '01:00', '02:00'))
    expect(within(hours, '2026-03-29T00:59:00Z')).toBe(false)
    expect(within(hours, '2026-03-29T01:00:00Z')).toBe(false)
    expect(next(hours, '2026-03-28T12:00:00Z')).toBe('2026-04-05T00:00:00.000Z')
  })

  test('London: Sunday office hours open at 09:00 BST (08:00Z) after the change', () => {
    const hours = hoursIn('Europe/London', interval(SUN, '09:00', '17:00'))
    expect(changes(hours, '2026-03-28T20:00:00Z', 2)).toEqual(['2026-03-29T08:00:00.000Z', '2026-03-29T16:00:00.000Z'])
  })

  test('Sydney (October): an interval starting at 02:30 opens at 03:00 AEDT', () => {
    const hours = hoursIn('Australia/Sydney', interval(SUN, '02:30', '04:00'))
    expect(within(hours, '2026-10-03T15:59:00Z')).toBe(false)
    expect(within(hours, '2026-10-03T16:00:00Z')).toBe(true)
    expect(changes(hours, '2026-10-03T15:00:00Z', 2)).toEqual(['2026-10-03T16:00:00.000Z', '2026-10-03T17:00:00.000Z'])
  })

  test('Sydney (October): Monday 09:00 moves from 23:00Z to 22:00Z the day before', () => {
    const hours = weekdays('Australia/Sydney', '09:00', '17:00')
    expect(next(hours, '2026-09-27T12:00:00Z')).toBe('2026-09-27T23:00:00.000Z')
    expect(next(hours, '2026-10-04T12:00:00Z')).toBe('2026-10-04T22:00:00.000Z')
  })
})

describe('fall back: wall times in the repeated hour happen twice', () => {
  // London 2026-10-25: 02:00 BST → 01:00 GMT at 01:00Z. New York 2026-11-01: 02:00 EDT → 01:00 EST at 06:00Z.
  // Sydney 2026-04-05: 03:00 AEDT → 02:00 AEST at 2026-04-04T16:00Z.
  test('New York: an interval starting at 01:30 opens at the first 01:30, and again at the second', () => {
    const hours = hoursIn('America/New_York', interval(SUN, '01:30', '09:00'))
    expect(within(hours, '2026-11-01T05:45:00Z')).toBe(true)
    expect(within(hours, '2026-11-01T06:15:00Z')).toBe(false)
    expect(changes(hours, '2026-11-01T04:00:00Z', 4)).toEqual([
      '2026-11-01T05:30:00.000Z', // 01:30 EDT
      '2026-11-01T06:00:00.000Z', // clocks back to 01:00 EST
      '2026-11-01T06:30:00.000Z', // 01:30 EST
      '2026-11-01T14:00:00.000Z', // 09:00 EST
    ])
  })

  test('London: an interval ending at 01:30 closes at the first 01:30', () => {
    const hours = hoursIn('Europe/London', interval(SUN, '00:00', '01:30'))
    expect(within(hours, '2026-10-25T00:29:00Z')).toBe(true)
    expect(within(hours, '2026-10-25T00:30:00Z')).toBe(false)
    expect(changes(hours, '2026-10-24T23:00:00Z', 3)).toEqual([
      '2026-10-25T00:30:00.000Z', // 01:30 BST
      '2026-10-25T01:00:00.000Z', // clocks back to 01:00 GMT
      '2026-10-25T01:30:00.000Z', // 01:30 GMT
    ])
  })

  test('London: Sunday office hours open at 09:00 GMT (09:00Z) after the change', () => {
    const hours = hoursIn('Europe/London', interval(SUN, '09:00', '17:00'))
    expect(within(hours, '2026-10-25T08:30:00Z')).toBe(false)
    expect(next(hours, '2026-10-24T20:00:00Z')).toBe('2026-10-25T09:00:00.000Z')
  })

  test('Sydney (April): an interval starting at 02:30 opens at the first 02:30 (AEDT), and again at the second', () => {
    const hours = hoursIn('Australia/Sydney', interval(SUN, '02:30', '08:00'))
    expect(within(hours, '2026-04-04T15:45:00Z')).toBe(true)
    expect(within(hours, '2026-04-04T16:15:00Z')).toBe(false)
    expect(changes(hours, '2026-04-04T12:00:00Z', 4)).toEqual([
      '2026-04-04T15:30:00.000Z', // 02:30 AEDT
      '2026-04-04T16:00:00.000Z', // clocks back to 02:00 AEST
      '2026-04-04T16:30:00.000Z', // 02:30 AEST
      '2026-04-04T22:00:00.000Z', // 08:00 AEST
    ])
  })

  test('Sydney (April): 01:00–04:00 covers the repeated hour: four real hours, no change inside', () => {
    const hours = hoursIn('Australia/Sydney', interval(SUN, '01:00', '04:00'))
    expect(changes(hours, '2026-04-04T12:00:00Z', 2)).toEqual(['2026-04-04T14:00:00.000Z', '2026-04-04T18:00:00.000Z'])
  })
})

describe('nextHoursChange agrees with isWithinHours minute by minute across transition days', () => {
  const tricky = (zone: string) =>
    hoursIn(
      zone,
      interval(SAT, '22:00', '24:00'),
      interval(SUN, '00:00', '01:30'),
      interval(SUN, '02:30', '03:15'),
      interval(SUN, '09:00', '17:00'),
      interval(MON, '00:00', '00:30'),
    )
  const cases: Array<[string, string]> = [
    ['Europe/London', '2026-03-28T12:00:00Z'],
    ['Europe/London', '2026-10-24T12:00:00Z'],
    ['America/New_York', '2026-03-07T12:00:00Z'],
    ['America/New_York', '2026-10-31T12:00:00Z'],
    ['Australia/Sydney', '2026-04-03T12:00:00Z'],
    ['Australia/Sydney', '2026-10-02T12:00:00Z'],
  ]
  test.each(cases)('%s from %s', (zone, startIso) => {
    const hours = tricky(zone)
    const start = Date.parse(startIso)
    const flips: string[] = []
    let previous = isWithinHours(hours, new Date(start))
    for (let t = start + 60_000; t <= start + 2 * 86_400_000; t += 60_000) {
      const now = isWithinHours(hours, new Date(t))
      if (now !== previous) flips.push(new Date(t).toISOString())
      previous = now
    }
    expect(flips.length).toBeGreaterThanOrEqual(6)
    expect(changes(hours, startIso, flips.length)).toEqual(flips)
  })
})

describe('isKnownZone', () => {
  const cases: Array<[string, boolean]> = [
    ['Europe/London', true],
    ['America/New_York', true],
    ['Australia/Sydney', true],
    ['UTC', true],
    ['Etc/UTC', true],
    ['', false],
    ['UTC+2', false],
    ['+02:00', false],
    ['GMT+2', false],
    ['Europe/Londres', false],
  ]
  test.each(cases)('%j → %s', (zone, expected) => {
    expect(isKnownZone(zone)).toBe(expected)
  })

  test('the evaluators refuse an unknown zone rather than guess one', () => {
    const offsetNamed = hoursIn('UTC+2', interval(MON, '09:00', '17:00'))
    expect(() => isWithinHours(offsetNamed, new Date('2026-03-02T09:00:00Z'))).toThrow(RangeError)
  })
})

describe('describeLocal', () => {
  const cases: Array<[string, string, string]> = [
    ['Europe/London', '2026-10-25T00:30:00Z', 'Sunday 01:30 Europe/London (+01:00)'],
    ['Europe/London', '2026-10-25T01:30:00Z', 'Sunday 01:30 Europe/London (+00:00)'],
    ['America/New_York', '2026-03-08T07:00:00Z', 'Sunday 03:00 America/New_York (-04:00)'],
    ['Australia/Sydney', '2026-03-01T21:00:00Z', 'Monday 08:00 Australia/Sydney (+11:00)'],
    ['Asia/Kolkata', '2026-03-02T03:30:00Z', 'Monday 09:00 Asia/Kolkata (+05:30)'],
    ['UTC', '2026-03-07T23:59:59Z', 'Saturday 23:59 UTC (+00:00)'],
  ]
  test.each(cases)('%s at %s', (zone, iso, expected) => {
    expect(describeLocal(hoursIn(zone), new Date(iso))).toBe(expected)
  })
})
