import { Router } from 'express'
import {
  createSchedule,
  deleteSchedule,
  getSchedule,
  listSchedules,
  updateSchedule,
  type ScheduleRow,
  type ScheduleUpdate,
} from '../../../activities/db/schedules.repo'
import { findShifts, setScheduleShifts, shiftIdsBySchedule } from '../../../activities/db/on-call-shifts.repo'
import {
  loadedFinalEvents,
  loadedOnCallAt,
  loadSchedule,
  reasonsOf,
  staleness,
} from '../../../activities/db/oncall'
import { requirePermission } from '../auth'
import type { ApiDeps } from '../deps'
import { ApiError, badRequest, notFound, parseOrThrow } from '../errors'
import { paginate } from '../pagination'
import { drfDateTime } from '../serializers'
import { queryString, resolveTeamId, teamIdFilter } from '../relations'
import { resource, type Handler } from '../router'
import {
  createScheduleSchemas,
  SCHEDULE_TYPES,
  updateScheduleSchemas,
  finalShiftsQuery,
  onCallAtQuery,
  type ScheduleRequest,
  type ScheduleTypeName,
} from '../schemas/schedules'

const SCHEDULES_PAGE_SIZE = 50

const DAY_MS = 86_400_000
const MAX_FINAL_SHIFTS_DAYS = 365

/** What a schedule response needs besides the row: who is on call now and its shifts. */
export interface ScheduleExtras {
  readonly onCallNow: string[]
  readonly shifts: string[]
}

/** Resolves on_call_now (through the same resolver as the engine) and the shift ids of each schedule. */
export async function scheduleExtras(deps: ApiDeps, schedules: readonly ScheduleRow[], now: number): Promise<Map<string, ScheduleExtras>> {
  const shiftIds = await shiftIdsBySchedule(
    deps.db,
    schedules.map((s) => s.id),
  )
  const extras = new Map<string, ScheduleExtras>()
  await Promise.all(
    schedules.map(async (schedule) => {
      const loaded = await loadSchedule(deps.db, schedule)
      extras.set(schedule.id, { onCallNow: loadedOnCallAt(loaded, now).userIds, shifts: shiftIds.get(schedule.id) ?? [] })
    }),
  )
  return extras
}

export function scheduleToWire(schedule: ScheduleRow, extras: ScheduleExtras = { onCallNow: [], shifts: [] }) {
  const base = { id: schedule.id, team_id: schedule.team_id, name: schedule.name, type: schedule.type }
  const onCallNow = extras.onCallNow
  const shifts = extras.shifts
  const slack = { channel_id: schedule.slack_channel_id, user_group_id: schedule.slack_user_group_id }
  switch (schedule.type) {
    case 'ical':
      return {
        ...base,
        ical_url_primary: schedule.ical_url_primary,
        ical_url_overrides: schedule.ical_url_overrides,
        on_call_now: onCallNow,
        slack,
      }
    case 'calendar':
      return {
        ...base,
        time_zone: schedule.time_zone,
        on_call_now: onCallNow,
        shifts,
        slack,
        ical_url_overrides: schedule.ical_url_overrides,
        enable_web_overrides: schedule.enable_web_overrides,
      }
    case 'web':
      return { ...base, time_zone: schedule.time_zone, on_call_now: onCallNow, shifts, slack }
  }
}

/** The polymorphic serializer's type dispatch, with its string (not list) error values. */
function typeOf(raw: unknown): ScheduleTypeName {
  // No body at all is empty data, as in DRF.
  const body = raw === undefined ? {} : raw
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    // Not an object at all: the schema reports it in DRF's words.
    parseOrThrow(createScheduleSchemas.web, body)
  }
  const type = (body as { type?: unknown }).type
  if (type === undefined) throw new ApiError(400, { type: 'This field is required' })
  if (typeof type !== 'string' || !(SCHEDULE_TYPES as readonly string[]).includes(type)) {
    throw new ApiError(400, { type: 'Invalid type' })
  }
  return type as ScheduleTypeName
}

async function toFields(deps: ApiDeps, organizationId: string, body: ScheduleRequest): Promise<ScheduleUpdate> {
  if (body.slack?.channel_id != null || body.slack?.user_group_id != null) {
    throw badRequest("Slack isn't connected to this workspace")
  }
  const fields: ScheduleUpdate = {}
  const team = await resolveTeamId(deps.db, organizationId, body.team_id)
  if (team !== undefined) fields.team_id = team
  if (body.name !== undefined) fields.name = body.name
  if (body.time_zone !== undefined) fields.time_zone = body.time_zone
  // Stored as given; the calendar is fetched when the schedule is first resolved, and refreshed after that.
  if (body.ical_url_primary !== undefined) fields.ical_url_primary = body.ical_url_primary
  if (body.ical_url_overrides !== undefined) fields.ical_url_overrides = body.ical_url_overrides
  if (body.enable_web_overrides !== undefined) fields.enable_web_overrides = body.enable_web_overrides
  return fields
}

/** The `shifts` list: the organization's shift ids (others dropped); calendar schedules refuse overrides. */
async function resolveShifts(
  deps: ApiDeps,
  organizationId: string,
  type: ScheduleTypeName,
  raw: string[] | null | undefined,
): Promise<string[] | undefined> {
  if (raw === undefined || type === 'ical') return undefined
  const shifts = await findShifts(deps.db, organizationId, raw ?? [])
  if (type === 'calendar' && shifts.some((s) => s.type === 'override')) {
    throw badRequest('Shifts of type override are not supported in this schedule')
  }
  return shifts.map((s) => s.id)
}

/** DRF's datetime rendering of an instant: `Z`, microseconds only when non-zero. */
function drfInstant(ms: number): string {
  const iso = new Date(ms).toISOString()
  return iso.endsWith('.000Z') ? `${iso.slice(0, 19)}Z` : `${iso.slice(0, 23)}000Z`
}

export function schedulesRouter(deps: ApiDeps): Router {
  const router = Router()

  const wire = async (schedules: ScheduleRow[]) => {
    const extras = await scheduleExtras(deps, schedules, Date.now())
    return schedules.map((s) => scheduleToWire(s, extras.get(s.id)))
  }
  const wireOne = async (schedule: ScheduleRow) => (await wire([schedule]))[0]

  resource(router, '/schedules', {
    GET: async (req, res) => {
      const { organizationId } = requirePermission(req, 'read')
      const name = queryString(req.query.name)
      const teamId = await teamIdFilter(deps.db, organizationId, queryString(req.query.team_id))
      res.json(
        await paginate(
          req,
          deps.publicUrl,
          SCHEDULES_PAGE_SIZE,
          async (page) => {
            const { rows, count } = await listSchedules(deps.db, organizationId, { name, teamId }, page)
            return { rows: await wire(rows), count }
          },
          (row) => row,
        ),
      )
    },
    POST: async (req, res) => {
      // Editor is OnCall's schedules-writer role, the same rank that acts on alert groups.
      const { organizationId } = requirePermission(req, 'write_alert_groups')
      const type = typeOf(req.body)
      const body: ScheduleRequest = parseOrThrow(createScheduleSchemas[type], req.body)
      const fields = await toFields(deps, organizationId, body)
      const shifts = await resolveShifts(deps, organizationId, type, body.shifts)
      const schedule = await createSchedule(deps.db, organizationId, {
        team_id: null,
        time_zone: null,
        ical_url_primary: null,
        ical_url_overrides: null,
        enable_web_overrides: false,
        ...fields,
        name: body.name as string,
        type,
      })
      if (shifts) await setScheduleShifts(deps.db, schedule.id, shifts)
      res.status(201).json(await wireOne(schedule))
    },
  })

  const update: Handler = async (req, res) => {
    const { organizationId } = requirePermission(req, 'write_alert_groups')
    const existing = await getSchedule(deps.db, organizationId, String(req.params.id))
    if (!existing) throw notFound()
    const body: ScheduleRequest = parseOrThrow(updateScheduleSchemas[existing.type], req.body)
    const fields = await toFields(deps, organizationId, body)
    const shifts = await resolveShifts(deps, organizationId, existing.type, body.shifts)
    // OnCall refuses only after the fields validated, so a bad time zone still reads as a field error.
    if (existing.type === 'web') throw badRequest('Web schedule update is not enabled through API')
    const schedule = await updateSchedule(deps.db, organizationId, existing.id, fields)
    if (!schedule) throw notFound()
    if (shifts) await setScheduleShifts(deps.db, schedule.id, shifts)
    res.json(await wireOne(schedule))
  }

  resource(router, '/schedules/:id', {
    GET: async (req, res) => {
      const { organizationId } = requirePermission(req, 'read')
      const schedule = await getSchedule(deps.db, organizationId, String(req.params.id))
      if (!schedule) throw notFound()
      res.json(await wireOne(schedule))
    },
    PUT: update,
    PATCH: update,
    DELETE: async (req, res) => {
      const { organizationId } = requirePermission(req, 'write_alert_groups')
      if (!(await deleteSchedule(deps.db, organizationId, String(req.params.id)))) throw notFound()
      res.status(204).end()
    },
  })

  resource(router, '/schedules/:id/final_shifts', {
    GET: async (req, res) => {
      const { organizationId } = requirePermission(req, 'read')
      const schedule = await getSchedule(deps.db, organizationId, String(req.params.id))
      if (!schedule) throw notFound()
      const query = parseOrThrow(finalShiftsQuery, {
        ...(queryString(req.query.start_date) !== undefined ? { start_date: queryString(req.query.start_date) } : {}),
        ...(queryString(req.query.end_date) !== undefined ? { end_date: queryString(req.query.end_date) } : {}),
      })
      const bound = (value: string, end: boolean) =>
        value.length === 10 ? Date.parse(`${value}T00:00Z`) + (end ? DAY_MS : 0) : Date.parse(`${value}Z`)
      const from = bound(query.start_date, false)
      const to = bound(query.end_date, true)
      if (Date.parse(query.start_date.length === 10 ? `${query.start_date}T00:00Z` : `${query.start_date}Z`) >
        Date.parse(query.end_date.length === 10 ? `${query.end_date}T00:00Z` : `${query.end_date}Z`)) {
        throw new ApiError(400, { non_field_errors: ['start_date must be less than or equal to end_date'] })
      }
      if (to - from > MAX_FINAL_SHIFTS_DAYS * DAY_MS + (query.end_date.length === 10 ? DAY_MS : 0)) {
        throw new ApiError(400, {
          non_field_errors: ['The difference between start_date and end_date must be less than one year (365 days)'],
        })
      }
      const loaded = await loadSchedule(deps.db, schedule)
      const users = await deps.db
        .selectFrom('users')
        .select(['id', 'email', 'username'])
        .where('organization_id', '=', organizationId)
        .execute()
      const byId = new Map(users.map((u) => [u.id, u]))
      const results = loadedFinalEvents(loaded, from, to).flatMap((event) =>
        event.users.map((userId) => ({
          user_pk: userId,
          user_email: byId.get(userId)?.email ?? null,
          user_username: byId.get(userId)?.username ?? null,
          shift_start: drfInstant(event.start),
          shift_end: drfInstant(event.end),
        })),
      )
      // OnCall's fixed envelope: one page however many rows.
      res.json({
        count: results.length,
        next: null,
        previous: null,
        results,
        page_size: SCHEDULES_PAGE_SIZE,
        current_page_number: 1,
        total_pages: 1,
      })
    },
  })

  resource(router, '/schedules/:id/oncall', {
    GET: async (req, res) => {
      const { organizationId } = requirePermission(req, 'read')
      const schedule = await getSchedule(deps.db, organizationId, String(req.params.id))
      if (!schedule) throw notFound()
      const query = parseOrThrow(onCallAtQuery, queryString(req.query.at) !== undefined ? { at: queryString(req.query.at) } : {})
      const at = query.at === undefined ? Date.now() : Date.parse(query.at)
      const loaded = await loadSchedule(deps.db, schedule)
      const found = loadedOnCallAt(loaded, at)
      const { stale, staleCopyFetchedAt, icalErrors } = staleness(loaded)
      res.json({
        schedule_id: schedule.id,
        at: drfInstant(at),
        users: found.userIds,
        reasons: reasonsOf(found.events).map((r) => ({
          reason: r.reason,
          override: r.override,
          level: r.level,
          shift_id: r.shiftId,
          ical_calendar: r.icalCalendar,
          shift_start: drfInstant(Date.parse(r.start)),
          shift_end: drfInstant(Date.parse(r.end)),
          users: r.userIds,
        })),
        stale_ical_copy: stale,
        ical_copy_fetched_at: stale && staleCopyFetchedAt ? drfDateTime(staleCopyFetchedAt) : null,
        ical_errors: icalErrors,
      })
    },
  })

  return router
}
