import ICAL from 'ical.js'
import type { RawEvent } from './resolve'
import { isValidZone, localToInstant } from './time'

// iCal calendars (OnCall's `ical` schedules and `ical_url_overrides`), read the way OnCall's `ical_utils` reads them:
// cancelled events are ignored, `[L<n>]` at the start of SUMMARY is the layer, and users are
// named in SUMMARY, DESCRIPTION and ATTENDEE by username or email.

export class IcalParseError extends Error {
  override name = 'IcalParseError'
}

/** Checks that the text is an iCalendar with a VCALENDAR at its root; throws IcalParseError otherwise. */
export function parseCalendar(text: string): ICAL.Component {
  let parsed: unknown
  try {
    parsed = ICAL.parse(text)
  } catch (err) {
    throw new IcalParseError(`not an iCalendar: ${(err as Error).message}`)
  }
  // A file with several calendars parses to a list; the first is the calendar, as OnCall reads it.
  const jcal = Array.isArray(parsed) && Array.isArray(parsed[0]) ? parsed[0] : parsed
  const root = new ICAL.Component(jcal as unknown[])
  if (root.name !== 'vcalendar') throw new IcalParseError('not an iCalendar: no VCALENDAR')
  return root
}

const LEVEL = /^\s*\[L(-?\d+)\]\s*/i
// Hostile calendars (a secondly RRULE since 1970) stay bounded.
const MAX_STEPS_PER_EVENT = 50_000

/** The candidate user names of an event: words of SUMMARY and DESCRIPTION (level prefix stripped) and ATTENDEE. */
function namesOf(vevent: ICAL.Component): string[] {
  const names: string[] = []
  for (const prop of ['summary', 'description']) {
    const value = vevent.getFirstPropertyValue(prop)
    if (typeof value === 'string') names.push(...value.replace(LEVEL, '').split(/[\s,;]+/))
  }
  const attendee = vevent.getFirstPropertyValue('attendee')
  if (typeof attendee === 'string') names.push(attendee.replace(/^mailto:/i, ''))
  return names.map((n) => n.trim()).filter((n) => n.length > 0)
}

function levelOf(vevent: ICAL.Component): number {
  const summary = vevent.getFirstPropertyValue('summary')
  const match = typeof summary === 'string' ? LEVEL.exec(summary) : null
  // OnCall: a level below 1 counts as 0.
  return match ? Math.max(0, Number(match[1])) : 0
}

/**
 * An iCal time as an instant. A TZID naming an IANA zone is read with the same DST rule as shifts (time.ts); a
 * TZID defined only by the file's VTIMEZONE uses that definition; floating times and all-day dates are UTC.
 */
function toInstant(time: ICAL.Time, tzid: string | null, zones: Map<string, ICAL.Timezone>): number {
  const local = Date.UTC(time.year, time.month - 1, time.day, time.hour, time.minute, time.second)
  if (time.isDate) return local
  if (time.zone?.tzid === 'UTC' || time.zone === ICAL.Timezone.utcTimezone) return local
  if (tzid && isValidZone(tzid)) return localToInstant(tzid, local)
  const defined = tzid ? zones.get(tzid) : undefined
  if (defined) return local - defined.utcOffset(time) * 1000
  return local
}

export interface IcalEvent {
  readonly start: number
  readonly end: number
  readonly level: number
  readonly names: readonly string[]
  readonly uid: string
}

/** The calendar's events overlapping [from, to), recurrences expanded, RECURRENCE-ID exceptions applied. */
export function icalEvents(text: string, from: number, to: number): IcalEvent[] {
  const root = parseCalendar(text)
  const zones = new Map<string, ICAL.Timezone>()
  for (const vtz of root.getAllSubcomponents('vtimezone')) {
    const tz = new ICAL.Timezone(vtz)
    if (tz.tzid) zones.set(tz.tzid, tz)
  }
  const masters = new Map<string, ICAL.Event>()
  const exceptions: ICAL.Component[] = []
  let anonymous = 0
  for (const vevent of root.getAllSubcomponents('vevent')) {
    if (vevent.hasProperty('recurrence-id')) exceptions.push(vevent)
    else {
      const uid = String(vevent.getFirstPropertyValue('uid') ?? `anonymous-${anonymous++}`)
      masters.set(uid, new ICAL.Event(vevent))
    }
  }
  for (const vevent of exceptions) {
    const master = masters.get(String(vevent.getFirstPropertyValue('uid')))
    if (master) master.relateException(vevent)
  }

  const events: IcalEvent[] = []
  for (const [uid, event] of masters) {
    if (!event.startDate) continue
    const dtstart = event.component.getFirstProperty('dtstart')
    const tzid = (dtstart?.getParameter('tzid') as string | undefined) ?? null
    const emit = (details: { startDate: ICAL.Time; endDate: ICAL.Time; item: ICAL.Event }) => {
      const item = details.item.component
      if (String(item.getFirstPropertyValue('status') ?? '').toUpperCase() === 'CANCELLED') return
      const itemTzid = (item.getFirstProperty('dtstart')?.getParameter('tzid') as string | undefined) ?? tzid
      const start = toInstant(details.startDate, itemTzid, zones)
      let end = toInstant(details.endDate, itemTzid, zones)
      if (end <= start) end = start + (details.startDate.isDate ? 86_400_000 : 1000)
      if (end <= from || start >= to) return
      events.push({ start, end, level: levelOf(item), names: namesOf(item), uid })
    }
    if (!event.isRecurring()) {
      emit({ startDate: event.startDate, endDate: event.endDate, item: event })
      continue
    }
    const iterator = event.iterator()
    for (let step = 0; step < MAX_STEPS_PER_EVENT; step++) {
      const next = iterator.next()
      if (!next) break
      const details = event.getOccurrenceDetails(next)
      // Exceptions may move an occurrence; the widened bound keeps moved-later occurrences in view.
      if (toInstant(next, tzid, zones) >= to + 86_400_000 * 2) break
      emit(details)
    }
  }
  return events.sort((a, b) => a.start - b.start)
}

/** iCal events as resolver input, users matched through `userIdFor` (username, or email case-insensitively). */
export function icalRawEvents(
  events: readonly IcalEvent[],
  calendar: 'primary' | 'overrides',
  userIdFor: (name: string) => string | undefined,
): RawEvent[] {
  return events.map((e) => ({
    start: e.start,
    end: e.end,
    users: [...new Set(e.names.map(userIdFor).filter((u): u is string => u !== undefined))],
    override: calendar === 'overrides',
    level: e.level,
    source: { kind: 'ical', calendar, uid: e.uid },
  }))
}
