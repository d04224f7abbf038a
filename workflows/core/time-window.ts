import { DateTime } from 'luxon'

// notify_if_time_from_to: OnCall's window is a UTC time of day, half-open [from, to); from > to crosses
// midnight; from == to is a zero-length window (the step always waits for the next `from`).

function secondsOfDay(hhmmssZ: string): number {
  const match = /^(\d{2}):(\d{2}):(\d{2})Z$/.exec(hhmmssZ)
  if (!match) throw new Error(`not an HH:MM:SSZ time: ${hhmmssZ}`)
  return Number(match[1]) * 3600 + Number(match[2]) * 60 + Number(match[3])
}

/** Null when `now` is inside the window; otherwise the instant the window next opens. */
export function windowOpensAt(now: Date, from: string, to: string): Date | null {
  const day = DateTime.fromJSDate(now, { zone: 'utc' }).startOf('day')
  const nowSeconds = (now.getTime() - day.toMillis()) / 1000
  const f = secondsOfDay(from)
  const t = secondsOfDay(to)
  const inside = f < t ? nowSeconds >= f && nowSeconds < t : f > t ? nowSeconds >= f || nowSeconds < t : nowSeconds === f
  if (inside) return null
  const todayAtFrom = day.plus({ seconds: f })
  return (nowSeconds < f ? todayAtFrom : todayAtFrom.plus({ days: 1 })).toJSDate()
}
