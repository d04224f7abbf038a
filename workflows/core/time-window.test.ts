import { windowOpensAt } from './time-window'

const at = (iso: string) => new Date(iso)
const opens = (now: string, from: string, to: string) => windowOpensAt(at(now), from, to)?.toISOString() ?? 'inside'

// OnCall's notify_if_time_from_to windows (same day, across midnight, equal bounds), with explicit instants.
test.each([
  ['same-day window, before it', '2026-03-08T08:00:00.000Z', '09:00:00Z', '17:00:00Z', '2026-03-08T09:00:00.000Z'],
  ['same-day window, inside', '2026-03-08T12:00:00.000Z', '09:00:00Z', '17:00:00Z', 'inside'],
  ['same-day window, at from', '2026-03-08T09:00:00.000Z', '09:00:00Z', '17:00:00Z', 'inside'],
  ['same-day window, at to (half-open)', '2026-03-08T17:00:00.000Z', '09:00:00Z', '17:00:00Z', '2026-03-09T09:00:00.000Z'],
  ['across midnight, late evening', '2026-03-08T23:30:00.000Z', '22:00:00Z', '06:00:00Z', 'inside'],
  ['across midnight, just before to', '2026-03-08T05:59:59.000Z', '22:00:00Z', '06:00:00Z', 'inside'],
  ['across midnight, at to', '2026-03-08T06:00:00.000Z', '22:00:00Z', '06:00:00Z', '2026-03-08T22:00:00.000Z'],
  ['across midnight, noon', '2026-03-08T12:00:00.000Z', '22:00:00Z', '06:00:00Z', '2026-03-08T22:00:00.000Z'],
  ['from == to, before', '2026-03-08T09:00:00.000Z', '10:00:00Z', '10:00:00Z', '2026-03-08T10:00:00.000Z'],
  ['from == to, after', '2026-03-08T11:00:00.000Z', '10:00:00Z', '10:00:00Z', '2026-03-09T10:00:00.000Z'],
  ['from == to, exactly then', '2026-03-08T10:00:00.000Z', '10:00:00Z', '10:00:00Z', 'inside'],
  ['UTC has no DST: a US spring-forward day changes nothing', '2026-03-08T07:30:00.000Z', '08:00:00Z', '09:00:00Z', '2026-03-08T08:00:00.000Z'],
  ['year end rolls over', '2026-12-31T23:00:00.000Z', '09:00:00Z', '17:00:00Z', '2027-01-01T09:00:00.000Z'],
])('%s', (_name, now, from, to, expected) => {
  expect(opens(now, from, to)).toBe(expected)
})
