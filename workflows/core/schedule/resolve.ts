import { expandShift, type ShiftSpec } from './expand'

// OnCall's final schedule (its `final_events`): overrides beat every layer, a higher level beats a lower
// one, events of the same rank that overlap are all kept, and an event none of whose users can be paged is dropped
// before it reserves time, so the layer below shows through.

/** Where an event comes from: a web/calendar shift or an iCal calendar (primary or overrides). */
export type EventSource =
  | { readonly kind: 'shift'; readonly shiftId: string }
  | { readonly kind: 'ical'; readonly calendar: 'primary' | 'overrides'; readonly uid: string }

/** An event before resolution: users are ids (unknown ids are filtered against `validUsers`). */
export interface RawEvent {
  readonly start: number
  readonly end: number
  readonly users: readonly string[]
  readonly override: boolean
  readonly level: number
  readonly source: EventSource
}

export interface FinalEvent extends RawEvent {
  /** Why this event is on the final schedule, e.g. "override" or "layer 1". */
  readonly reason: string
}

export interface ScheduleInput {
  readonly shifts: readonly ShiftSpec[]
  /** Events that do not come from shifts (iCal calendars), already expanded for the window. */
  readonly extraEvents?: readonly RawEvent[]
  /** Users who can be on call (exist in the organization and may be notified), in a stable order. */
  readonly validUsers: ReadonlyMap<string, number>
}

/** Every event of the schedule's shifts and calendars overlapping [from, to), unresolved. */
export function rawEvents(input: ScheduleInput, from: number, to: number): RawEvent[] {
  const events: RawEvent[] = []
  for (const shift of input.shifts) {
    const override = shift.type === 'override'
    for (const e of expandShift(shift, from, to)) {
      events.push({
        start: e.start,
        end: e.end,
        users: e.users,
        override,
        level: shift.level,
        source: { kind: 'shift', shiftId: shift.id },
      })
    }
  }
  for (const e of input.extraEvents ?? []) if (e.end > from && e.start < to) events.push(e)
  return events
}

interface Interval {
  start: number
  end: number
}

/** [start, end) minus the sorted, disjoint `reserved` intervals. */
function subtract(start: number, end: number, reserved: readonly Interval[]): Interval[] {
  const pieces: Interval[] = []
  let cursor = start
  for (const r of reserved) {
    if (r.end <= cursor) continue
    if (r.start >= end) break
    if (r.start > cursor) pieces.push({ start: cursor, end: Math.min(r.start, end) })
    cursor = Math.max(cursor, r.end)
    if (cursor >= end) break
  }
  if (cursor < end) pieces.push({ start: cursor, end })
  return pieces
}

function merge(intervals: Interval[]): Interval[] {
  intervals.sort((a, b) => a.start - b.start)
  const merged: Interval[] = []
  for (const i of intervals) {
    const last = merged[merged.length - 1]
    if (last && i.start <= last.end) last.end = Math.max(last.end, i.end)
    else merged.push({ ...i })
  }
  return merged
}

/**
 * The final schedule over [from, to): events clipped to the window, sorted by start then rank, each with the users
 * that can be paged (in `validUsers` order) and the reason it won.
 */
export function finalEvents(input: ScheduleInput, from: number, to: number): FinalEvent[] {
  const ranked = new Map<string, { override: boolean; level: number; events: RawEvent[] }>()
  for (const raw of rawEvents(input, from, to)) {
    const users = [...new Set(raw.users)].filter((u) => input.validUsers.has(u))
    if (users.length === 0) continue
    users.sort((a, b) => (input.validUsers.get(a) as number) - (input.validUsers.get(b) as number))
    const key = `${raw.override ? 1 : 0}:${raw.level}`
    const rank = ranked.get(key) ?? { override: raw.override, level: raw.level, events: [] }
    rank.events.push({ ...raw, users, start: Math.max(raw.start, from), end: Math.min(raw.end, to) })
    ranked.set(key, rank)
  }
  const ranks = [...ranked.values()].sort((a, b) =>
    a.override !== b.override ? (a.override ? -1 : 1) : b.level - a.level,
  )
  let reserved: Interval[] = []
  const result: FinalEvent[] = []
  let rankOrder = 0
  const order = new Map<FinalEvent, number>()
  for (const rank of ranks) {
    const reason = rank.override
      ? rank.level > 0
        ? `override level ${rank.level}`
        : 'override'
      : `layer ${rank.level}`
    for (const event of rank.events) {
      for (const piece of subtract(event.start, event.end, reserved)) {
        const final = { ...event, ...piece, reason }
        result.push(final)
        order.set(final, rankOrder)
      }
    }
    reserved = merge([...reserved, ...rank.events.map((e) => ({ start: e.start, end: e.end }))])
    rankOrder++
  }
  return result.sort(
    (a, b) => a.start - b.start || (order.get(a) as number) - (order.get(b) as number) || a.end - b.end,
  )
}

// How far around an instant events are resolved to show their bounds (longer events show clipped bounds).
export const CONTEXT_MS = 7 * 86_400_000

export interface OnCallAt {
  /** Users on call at the instant, deduplicated, in `validUsers` order. */
  readonly userIds: string[]
  /** The final events covering the instant (why each user is on call). */
  readonly events: FinalEvent[]
}

/**
 * Who is on call at an instant: events with start ≤ at < end. (OnCall evaluates the empty interval [now, now] and
 * so leaves out an event that starts exactly now; Tocsin counts it, so a handover has no empty instant.)
 */
export function onCallAt(input: ScheduleInput, at: number): OnCallAt {
  // Resolved over a wider window so the events report their real bounds, not the instant's.
  const events = finalEvents(input, at - CONTEXT_MS, at + CONTEXT_MS).filter((e) => e.start <= at && at < e.end)
  return { userIds: unionUsers(input, events), events }
}

export function unionUsers(input: ScheduleInput, events: readonly FinalEvent[]): string[] {
  const users = new Set<string>()
  for (const e of events) for (const u of e.users) users.add(u)
  return [...users].sort((a, b) => (input.validUsers.get(a) as number) - (input.validUsers.get(b) as number))
}

/**
 * The next shift after `after`: the earliest final event starting strictly after it and before `until`, with every
 * event sharing that start, as OnCall's Slack shift notice picks the next shift. Null when there is none.
 */
export function nextShift(input: ScheduleInput, after: number, until: number): OnCallAt | null {
  const events = finalEvents(input, after, until).filter((e) => e.start > after)
  if (events.length === 0) return null
  const first = Math.min(...events.map((e) => e.start))
  const sharing = events.filter((e) => e.start === first)
  return { userIds: unionUsers(input, sharing), events: sharing }
}

/**
 * The most recently completed shift before `at` (looking back to `since`): the final events with the latest end
 * ≤ at (a shift still running at `at` is current, not previous). Null when there is none.
 */
export function previousShift(input: ScheduleInput, since: number, at: number): OnCallAt | null {
  // One millisecond past `at`, so a shift still running is seen ending after `at` rather than clipped to it.
  const events = finalEvents(input, since, at + 1).filter((e) => e.end <= at)
  if (events.length === 0) return null
  const last = Math.max(...events.map((e) => e.end))
  const sharing = events.filter((e) => e.end === last)
  return { userIds: unionUsers(input, sharing), events: sharing }
}
