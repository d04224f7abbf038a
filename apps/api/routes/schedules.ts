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
import { requirePermission } from '../auth'
import type { ApiDeps } from '../deps'
import { ApiError, badRequest, notFound, parseOrThrow } from '../errors'
import { paginate } from '../pagination'
import { queryString, resolveTeamId, teamIdFilter } from '../relations'
import { resource, type Handler } from '../router'
import {
  createScheduleSchemas,
  SCHEDULE_TYPES,
  updateScheduleSchemas,
  type ScheduleRequest,
  type ScheduleTypeName,
} from '../schemas/schedules'

const SCHEDULES_PAGE_SIZE = 50

export function scheduleToWire(schedule: ScheduleRow) {
  const base = { id: schedule.id, team_id: schedule.team_id, name: schedule.name, type: schedule.type }
  // @TODO on_call_now comes from the schedule resolver (later issue); until then nobody is on call.
  const onCallNow: string[] = []
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
        shifts: [],
        slack,
        ical_url_overrides: schedule.ical_url_overrides,
        enable_web_overrides: schedule.enable_web_overrides,
      }
    case 'web':
      return { ...base, time_zone: schedule.time_zone, on_call_now: onCallNow, shifts: [], slack }
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
  // Stored as given; fetching and parsing the calendar belongs to the resolver (later issue).
  if (body.ical_url_primary !== undefined) fields.ical_url_primary = body.ical_url_primary
  if (body.ical_url_overrides !== undefined) fields.ical_url_overrides = body.ical_url_overrides
  if (body.enable_web_overrides !== undefined) fields.enable_web_overrides = body.enable_web_overrides
  return fields
}

export function schedulesRouter(deps: ApiDeps): Router {
  const router = Router()

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
          (page) => listSchedules(deps.db, organizationId, { name, teamId }, page),
          scheduleToWire,
        ),
      )
    },
    POST: async (req, res) => {
      // Editor is OnCall's schedules-writer role, the same rank that acts on alert groups.
      const { organizationId } = requirePermission(req, 'write_alert_groups')
      const type = typeOf(req.body)
      const body: ScheduleRequest = parseOrThrow(createScheduleSchemas[type], req.body)
      const fields = await toFields(deps, organizationId, body)
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
      res.status(201).json(scheduleToWire(schedule))
    },
  })

  const update: Handler = async (req, res) => {
    const { organizationId } = requirePermission(req, 'write_alert_groups')
    const existing = await getSchedule(deps.db, organizationId, String(req.params.id))
    if (!existing) throw notFound()
    const body: ScheduleRequest = parseOrThrow(updateScheduleSchemas[existing.type], req.body)
    const fields = await toFields(deps, organizationId, body)
    // OnCall refuses only after the fields validated, so a bad time zone still reads as a field error.
    if (existing.type === 'web') throw badRequest('Web schedule update is not enabled through API')
    const schedule = await updateSchedule(deps.db, organizationId, existing.id, fields)
    if (!schedule) throw notFound()
    res.json(scheduleToWire(schedule))
  }

  resource(router, '/schedules/:id', {
    GET: async (req, res) => {
      const { organizationId } = requirePermission(req, 'read')
      const schedule = await getSchedule(deps.db, organizationId, String(req.params.id))
      if (!schedule) throw notFound()
      res.json(scheduleToWire(schedule))
    },
    PUT: update,
    PATCH: update,
    DELETE: async (req, res) => {
      const { organizationId } = requirePermission(req, 'write_alert_groups')
      if (!(await deleteSchedule(deps.db, organizationId, String(req.params.id)))) throw notFound()
      res.status(204).end()
    },
  })

  return router
}
