import { OutboundRefusedError } from '../workflows/core/outbound-policy'
import { IcalParseError, parseCalendar } from '../workflows/core/schedule/ical'
import type { Db } from './connect'
import { scheduleColumns, scheduleOf, type Schedule } from './schedules.repo'

// The iCal calendars of `ical` schedules (and `ical_url_overrides` of calendar schedules): fetched over HTTP(S) with a
// timeout and a size limit, refreshed when older than the refresh interval, and kept as the last good copy when a
// refresh fails, so a calendar host's outage does not empty the schedule. The URL is a user's: the download goes
// through the guarded outbound fetch the caller hands in, and a refused destination is recorded like any failure.

export interface IcalLimits {
  /** A copy older than this is refreshed before use. */
  readonly refreshIntervalMs: number
  readonly timeoutMs: number
  readonly maxBytes: number
}

/** How a calendar is downloaded: the guarded outbound fetch (it rejects with OutboundRefusedError). */
export type IcalFetch = (url: string, request: { readonly signal: AbortSignal }) => Promise<Response>

export interface IcalOptions extends IcalLimits {
  readonly fetch: IcalFetch
}

export const DEFAULT_ICAL_LIMITS: IcalLimits = {
  refreshIntervalMs: 10 * 60_000,
  timeoutMs: 5_000,
  maxBytes: 2 * 1024 * 1024,
}

export function icalOptions(fetch: IcalFetch, limits: Partial<IcalLimits> = {}): IcalOptions {
  return { ...DEFAULT_ICAL_LIMITS, ...limits, fetch }
}

/** For processes that must never download a calendar: every refresh fails and says so. */
export const NO_ICAL_DOWNLOADS: IcalOptions = icalOptions(async () => {
  throw new Error('calendar downloads are not configured in this process')
})

export type Calendar = 'primary' | 'overrides'

/** What a schedule's calendar reads as: the last good text (or none) and whether the latest refresh failed. */
export interface IcalCopy {
  readonly calendar: Calendar
  readonly url: string
  readonly content: string | null
  /** When the content was fetched (PostgreSQL UTC text), or null if it never was. */
  readonly fetchedAt: string | null
  /** The latest refresh failed: the content (if any) is an older copy. */
  readonly stale: boolean
  readonly error: string | null
}

export class IcalFetchError extends Error {
  override name = 'IcalFetchError'
}

/** Downloads a calendar and checks that it parses; throws IcalFetchError with the reason. */
export async function fetchIcal(url: string, options: IcalOptions): Promise<string> {
  let response: Response
  try {
    response = await options.fetch(url, { signal: AbortSignal.timeout(options.timeoutMs) })
  } catch (err) {
    if (err instanceof OutboundRefusedError) throw new IcalFetchError(`download refused: ${err.message}`)
    throw new IcalFetchError(`download failed: ${(err as Error).message}`)
  }
  if (!response.ok) {
    await response.body?.cancel()
    throw new IcalFetchError(`download failed: HTTP ${response.status}`)
  }
  const declared = Number(response.headers.get('content-length') ?? '0')
  if (declared > options.maxBytes) {
    await response.body?.cancel()
    throw new IcalFetchError(`download failed: larger than ${options.maxBytes} bytes`)
  }
  const chunks: Uint8Array[] = []
  let size = 0
  try {
    for await (const chunk of response.body ?? []) {
      size += (chunk as Uint8Array).byteLength
      if (size > options.maxBytes) throw new IcalFetchError(`download failed: larger than ${options.maxBytes} bytes`)
      chunks.push(chunk as Uint8Array)
    }
  } catch (err) {
    if (err instanceof IcalFetchError) throw err
    throw new IcalFetchError(`download failed: ${(err as Error).message}`)
  }
  const text = Buffer.concat(chunks).toString('utf8')
  try {
    parseCalendar(text)
  } catch (err) {
    if (err instanceof IcalParseError) throw new IcalFetchError(`parse failed: ${err.message}`)
    throw err
  }
  return text
}

const copyColumns = ['calendar', 'url', 'content', 'fetched_at', 'attempted_at', 'last_error'] as const

/** Fetches one calendar now and records the outcome; a failure keeps the previous content. */
export async function refreshIcalCopy(
  db: Db,
  schedule: Pick<Schedule, 'id' | 'organizationId'>,
  calendar: Calendar,
  url: string,
  options: IcalOptions,
): Promise<void> {
  let content: string | null = null
  let error: string | null = null
  try {
    content = await fetchIcal(url, options)
  } catch (err) {
    error = err instanceof IcalFetchError ? err.message : `download failed: ${String(err)}`
  }
  const base = { schedule_id: schedule.id, organization_id: schedule.organizationId, calendar, url }
  await db
    .insertInto('schedule_ical_copies')
    .values({
      ...base,
      content,
      fetched_at: content === null ? null : new Date().toISOString(),
      attempted_at: new Date().toISOString(),
      last_error: error,
    })
    .onConflict((oc) =>
      oc.columns(['schedule_id', 'calendar']).doUpdateSet((eb) =>
        content === null
          ? {
              attempted_at: new Date().toISOString(),
              last_error: error,
              // A copy of another URL is no copy of this one.
              content: eb
                .case()
                .when('schedule_ical_copies.url', '=', url)
                .then(eb.ref('schedule_ical_copies.content'))
                .else(null)
                .end(),
              fetched_at: eb
                .case()
                .when('schedule_ical_copies.url', '=', url)
                .then(eb.ref('schedule_ical_copies.fetched_at'))
                .else(null)
                .end(),
              url,
            }
          : {
              content,
              url,
              fetched_at: new Date().toISOString(),
              attempted_at: new Date().toISOString(),
              last_error: null,
            },
      ),
    )
    .execute()
}

/** PostgreSQL's UTC text (`2024-08-15 18:05:36.801215+00`, sessions run in UTC) as epoch ms. */
function pgInstant(text: string): number {
  const parsed = Date.parse(text.replace(' ', 'T').replace(/\+00(:?00)?$/, 'Z'))
  // Unreadable means due: refreshing too often beats never refreshing.
  return Number.isNaN(parsed) ? 0 : parsed
}

function calendarsOf(schedule: Schedule): Array<[Calendar, string]> {
  const calendars: Array<[Calendar, string]> = []
  if (schedule.type === 'ical' && schedule.icalUrlPrimary) calendars.push(['primary', schedule.icalUrlPrimary])
  if (schedule.type !== 'web' && schedule.icalUrlOverrides) calendars.push(['overrides', schedule.icalUrlOverrides])
  return calendars
}

/**
 * The schedule's calendars, each refreshed first when it was never fetched, its URL changed, or its latest attempt
 * is older than the refresh interval (a failed attempt is not retried before the interval either).
 */
export async function icalCopies(
  db: Db,
  schedule: Schedule,
  options: IcalOptions,
): Promise<IcalCopy[]> {
  return (await refreshAndRead(db, schedule, options)).copies
}

async function refreshAndRead(
  db: Db,
  schedule: Schedule,
  options: IcalOptions,
): Promise<{ copies: IcalCopy[]; refreshed: number }> {
  const calendars = calendarsOf(schedule)
  if (calendars.length === 0) return { copies: [], refreshed: 0 }
  const load = () =>
    db
      .selectFrom('schedule_ical_copies')
      .select([...copyColumns, 'attempted_at'])
      .where('organization_id', '=', schedule.organizationId)
      .where('schedule_id', '=', schedule.id)
      .execute()
  let rows = await load()
  const due = calendars.filter(([calendar, url]) => {
    const row = rows.find((r) => r.calendar === calendar)
    return !row || row.url !== url || pgInstant(row.attempted_at) + options.refreshIntervalMs <= Date.now()
  })
  if (due.length > 0) {
    await Promise.all(due.map(([calendar, url]) => refreshIcalCopy(db, schedule, calendar, url, options)))
    rows = await load()
  }
  const copies = calendars.map(([calendar, url]) => {
    const row = rows.find((r) => r.calendar === calendar && r.url === url)
    return {
      calendar,
      url,
      content: row?.content ?? null,
      fetchedAt: row?.fetched_at ?? null,
      stale: row ? row.last_error !== null : true,
      error: row?.last_error ?? null,
    }
  })
  return { copies, refreshed: due.length }
}

/** Refreshes every calendar whose copy is due, across organizations (for a periodic job); returns how many it fetched. */
export async function refreshDueIcalCopies(db: Db, options: IcalOptions): Promise<number> {
  const rows = await db
    .selectFrom('schedules')
    .select(scheduleColumns)
    .where((eb) => eb.or([eb('type', '=', 'ical'), eb('ical_url_overrides', 'is not', null)]))
    .execute()
  let refreshed = 0
  for (const row of rows) refreshed += (await refreshAndRead(db, scheduleOf(row), options)).refreshed
  return refreshed
}
