import { Router } from 'express'
import { NO_ICAL_DOWNLOADS } from '../../../../db/schedule-ical'
import {
  createSchedule,
  deleteSchedule,
  describeSchedules,
  finalShifts,
  getSchedule,
  listSchedules,
  onCallAt,
  updateSchedule,
  type ScheduleInput,
  type ScheduleOutcome,
  type ScheduleView,
  type Schedule,
} from '../../../services/schedules'
import { ServiceError } from '../../../services/errors'
import { unreachable } from '../../../../workflows/oncall/steps'
import { requirePermission } from '../auth'
import type { ApiDeps } from '../../deps'
import { ApiError, badRequest, fieldError, nonFieldError, parseOrThrow } from '../errors'
import { paginate } from '../pagination'
import { drfDateTime } from '../serializers'
import { queryString, teamIdFilter } from '../relations'
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

export function scheduleToWire({ schedule, onCallNow, shiftIds: shifts }: ScheduleView) {
  const base = { id: schedule.id, team_id: schedule.teamId, name: schedule.name, type: schedule.type }
  const slack = { channel_id: schedule.slackChannelId, user_group_id: schedule.slackUserGroupId }
  switch (schedule.type) {
    case 'ical':
      return {
        ...base,
        ical_url_primary: schedule.icalUrlPrimary,
        ical_url_overrides: schedule.icalUrlOverrides,
        on_call_now: onCallNow,
        slack,
      }
    case 'calendar':
      return {
        ...base,
        time_zone: schedule.timeZone,
        on_call_now: onCallNow,
        shifts,
        slack,
        ical_url_overrides: schedule.icalUrlOverrides,
        enable_web_overrides: schedule.enableWebOverrides,
      }
    case 'web':
      return { ...base, time_zone: schedule.timeZone, on_call_now: onCallNow, shifts, slack }
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

/** The parsed body as the service's input; "" and "null" mean no team (the Go client sends ""). */
function scheduleInput(body: ScheduleRequest): ScheduleInput {
  return {
    teamId: body.team_id === undefined ? undefined : body.team_id === null || body.team_id === 'null' ? null : body.team_id,
    name: body.name,
    timeZone: body.time_zone,
    icalUrlPrimary: body.ical_url_primary,
    icalUrlOverrides: body.ical_url_overrides,
    enableWebOverrides: body.enable_web_overrides,
    slackChannelId: body.slack?.channel_id,
    slackUserGroupId: body.slack?.user_group_id,
    shifts: body.shifts,
  }
}

/** The saved schedule, or the refusal in OnCall's words. */
function savedSchedule(outcome: ScheduleOutcome): Schedule {
  if (outcome.kind === 'saved') return outcome.schedule
  switch (outcome.problem.kind) {
    case 'slack_not_connected':
      throw badRequest("Slack isn't connected to this workspace")
    case 'override_shifts_in_calendar':
      throw badRequest('Shifts of type override are not supported in this schedule')
    case 'web_schedule_update':
      throw badRequest('Web schedule update is not enabled through API')
    default:
      return unreachable(outcome.problem)
  }
}

function inOnCallWords(err: unknown): never {
  if (err instanceof ServiceError && err.code === 'invalid_reference' && err.details.field === 'teamId') {
    throw fieldError('team_id', 'Object does not exist')
  }
  throw err
}

/** DRF's datetime rendering of an instant: `Z`, microseconds only when non-zero. */
function drfInstant(ms: number): string {
  const iso = new Date(ms).toISOString()
  return iso.endsWith('.000Z') ? `${iso.slice(0, 19)}Z` : `${iso.slice(0, 23)}000Z`
}

export function schedulesRouter(deps: ApiDeps): Router {
  const router = Router()
  const ical = deps.ical ?? NO_ICAL_DOWNLOADS

  const wire = async (schedules: Schedule[]) => (await describeSchedules(deps.db, schedules, Date.now(), ical)).map(scheduleToWire)

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
      const outcome = await createSchedule(deps.db, organizationId, type, body.name as string, scheduleInput(body)).catch(inOnCallWords)
      res.status(201).json((await wire([savedSchedule(outcome)]))[0])
    },
  })

  const update: Handler = async (req, res) => {
    const { organizationId } = requirePermission(req, 'write_alert_groups')
    const existing = await getSchedule(deps.db, organizationId, String(req.params.id))
    const body: ScheduleRequest = parseOrThrow(updateScheduleSchemas[existing.type], req.body)
    const outcome = await updateSchedule(deps.db, existing, scheduleInput(body)).catch(inOnCallWords)
    res.json((await wire([savedSchedule(outcome)]))[0])
  }

  resource(router, '/schedules/:id', {
    GET: async (req, res) => {
      const { organizationId } = requirePermission(req, 'read')
      res.json((await wire([await getSchedule(deps.db, organizationId, String(req.params.id))]))[0])
    },
    PUT: update,
    PATCH: update,
    DELETE: async (req, res) => {
      const { organizationId } = requirePermission(req, 'write_alert_groups')
      await deleteSchedule(deps.db, organizationId, String(req.params.id))
      res.status(204).end()
    },
  })

  resource(router, '/schedules/:id/final_shifts', {
    GET: async (req, res) => {
      const { organizationId } = requirePermission(req, 'read')
      const schedule = await getSchedule(deps.db, organizationId, String(req.params.id))
      const query = parseOrThrow(finalShiftsQuery, {
        ...(queryString(req.query.start_date) !== undefined ? { start_date: queryString(req.query.start_date) } : {}),
        ...(queryString(req.query.end_date) !== undefined ? { end_date: queryString(req.query.end_date) } : {}),
      })
      // A date is its midnight, UTC.
      const instant = (value: string) => Date.parse(value.length === 10 ? `${value}T00:00Z` : `${value}Z`)
      const outcome = await finalShifts(deps.db, schedule, { start: instant(query.start_date), end: instant(query.end_date) }, ical)
      if (outcome.kind === 'invalid') {
        throw nonFieldError(
          outcome.problem === 'start_after_end'
            ? 'start_date must be less than or equal to end_date'
            : 'The difference between start_date and end_date must be less than one year (365 days)',
        )
      }
      const results = outcome.shifts.map((shift) => ({
        user_pk: shift.userId,
        user_email: shift.userEmail,
        user_username: shift.username,
        shift_start: drfInstant(shift.start),
        shift_end: drfInstant(shift.end),
      }))
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
      const query = parseOrThrow(onCallAtQuery, queryString(req.query.at) !== undefined ? { at: queryString(req.query.at) } : {})
      const at = query.at === undefined ? Date.now() : Date.parse(query.at)
      const found = await onCallAt(deps.db, schedule, at, ical)
      res.json({
        schedule_id: schedule.id,
        at: drfInstant(at),
        users: found.userIds,
        reasons: found.reasons.map((r) => ({
          reason: r.reason,
          override: r.override,
          level: r.level,
          shift_id: r.shiftId,
          ical_calendar: r.icalCalendar,
          shift_start: drfInstant(Date.parse(r.start)),
          shift_end: drfInstant(Date.parse(r.end)),
          users: r.userIds,
        })),
        stale_ical_copy: found.stale,
        ical_copy_fetched_at: found.staleCopyFetchedAt === null ? null : drfDateTime(found.staleCopyFetchedAt),
        ical_errors: found.icalErrors,
      })
    },
  })

  return router
}
