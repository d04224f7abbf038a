import { IANAZone } from 'luxon'

// Wall-clock arithmetic for the schedule resolver. A "local" value is a wall-clock time written as if it were UTC
// milliseconds (2024-03-10T02:30 local → Date.UTC(2024, 2, 10, 2, 30)): adding whole days to it is exact calendar
// arithmetic whatever the zone does, and only the final conversion to an instant looks at the zone's offsets.

export const SECOND = 1000
export const MINUTE = 60 * SECOND
export const HOUR = 60 * MINUTE
export const DAY = 24 * HOUR
// No zone's offset leaves [-12h, +14h]; used to widen windows when moving between local and instant time.
export const MAX_OFFSET = 14 * HOUR

const NAIVE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})$/

/** `YYYY-MM-DDTHH:MM:SS` (OnCall's shift format, no zone) as a local value, or null when malformed or impossible. */
export function parseNaive(text: string): number | null {
  const match = NAIVE.exec(text)
  if (!match) return null
  const [y, mo, d, h, mi, s] = match.slice(1).map(Number) as [number, number, number, number, number, number]
  if (mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo - 1) || h > 23 || mi > 59 || s > 59 || y < 1) return null
  return Date.UTC(y, mo - 1, d, h, mi, s)
}

/** A local value back in OnCall's shift format. */
export function formatNaive(local: number): string {
  return new Date(local).toISOString().slice(0, 19)
}

export function daysInMonth(year: number, monthIndex: number): number {
  return new Date(Date.UTC(year, monthIndex + 1, 0)).getUTCDate()
}

const zones = new Map<string, IANAZone>()
function zoneOf(name: string): IANAZone {
  let zone = zones.get(name)
  if (!zone) {
    zone = IANAZone.create(name)
    if (!zone.isValid) throw new RangeError(`invalid time zone ${name}`)
    zones.set(name, zone)
  }
  return zone
}

export function isValidZone(name: string): boolean {
  return IANAZone.isValidZone(name)
}

// Offsets memoized per zone and quarter hour: luxon asks Intl, which dominates resolution time. A bucket is cached
// only when both its ends agree (no transition inside; zones never change twice within 15 minutes).
const BUCKET = 15 * MINUTE
const MAX_CACHED = 200_000
const offsets = new Map<string, number>()

/** The zone's UTC offset at an instant, in milliseconds. */
export function offsetAt(zone: string, instant: number): number {
  const bucket = Math.floor(instant / BUCKET)
  const key = `${zone}|${bucket}`
  const cached = offsets.get(key)
  if (cached !== undefined) return cached
  const tz = zoneOf(zone)
  const offset = tz.offset(instant) * MINUTE
  if (tz.offset(bucket * BUCKET) * MINUTE === offset && tz.offset((bucket + 1) * BUCKET - 1) * MINUTE === offset) {
    if (offsets.size >= MAX_CACHED) offsets.clear()
    offsets.set(key, offset)
  }
  return offset
}

/** The wall-clock time an instant shows in a zone, as a local value. */
export function instantToLocal(zone: string, instant: number): number {
  return instant + offsetAt(zone, instant)
}

/**
 * The instant a wall-clock time denotes in a zone. The two DST cases are decided here, not left to luxon (whose
 * guess for a repeated hour differs between zones: America/New_York 01:30 on fall-back day comes out in standard
 * time, Australia/Lord_Howe 01:45 in daylight time):
 * - a wall time inside a skipped hour (spring forward) does not exist: it is read with the offset before the jump,
 *   i.e. moved forward by the gap (02:30 in New York on 2024-03-10 → 03:30 EDT; 02:15 on Lord Howe → 02:45);
 * - a wall time inside a repeated hour (fall back) exists twice: the earlier instant wins (the first 01:30).
 */
export function localToInstant(zone: string, local: number): number {
  if (zone === 'UTC') return local
  const before = offsetAt(zone, local - MAX_OFFSET)
  const after = offsetAt(zone, local + MAX_OFFSET)
  const candidates: number[] = []
  for (const offset of before === after ? [before] : [before, after]) {
    const instant = local - offset
    if (offsetAt(zone, instant) === offset) candidates.push(instant)
  }
  if (candidates.length === 0) return local - before
  return Math.min(...candidates)
}

export const WEEKDAYS = ['MO', 'TU', 'WE', 'TH', 'FR', 'SA', 'SU'] as const
export type Weekday = (typeof WEEKDAYS)[number]

/** Index in WEEKDAYS (Monday 0) of a local value's day. */
export function weekdayOf(local: number): number {
  return (new Date(local).getUTCDay() + 6) % 7
}

/** Local midnight of a local value's day. */
export function dayStart(local: number): number {
  return Math.floor(local / DAY) * DAY
}
