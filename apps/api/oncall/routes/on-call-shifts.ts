import { Router } from 'express'
import {
  createShift,
  deleteShift,
  getShift,
  listShifts,
  updateShift,
  type OnCallShift,
  type ShiftInput,
  type ShiftOutcome,
  type ShiftProblem,
} from '../../../services/on-call-shifts'
import { unreachable } from '../../../../workflows/oncall/steps'
import { parseNaive } from '../../../../workflows/core/schedule/time'
import { requirePermission } from '../auth'
import type { ApiDeps } from '../../deps'
import { ApiError, badRequest, parseOrThrow } from '../errors'
import { paginate } from '../pagination'
import { queryString, resolveTeamId, teamIdFilter } from '../relations'
import { resource, type Handler } from '../router'
import { FREQUENCIES, MAX_DURATION_SECONDS, SHIFT_TYPES, WEEKDAY_CODES, shiftFieldsSchema } from '../schemas/on-call-shifts'

const SHIFTS_PAGE_SIZE = 50

const RECURRENCE_KEYS = ['frequency', 'interval', 'until', 'by_day', 'by_month', 'by_monthday', 'week_start'] as const
const HIDDEN_BY_TYPE: Record<OnCallShift['type'], readonly string[]> = {
  single_event: [...RECURRENCE_KEYS, 'rolling_users', 'start_rotation_from_user_index'],
  recurrent_event: ['rolling_users', 'start_rotation_from_user_index'],
  rolling_users: ['users'],
  override: ['level', ...RECURRENCE_KEYS, 'rolling_users', 'start_rotation_from_user_index'],
}

/** OnCall's shape: keys that do not apply to the type are absent (not null); week_start only for weekly. */
export function shiftToWire(shift: OnCallShift) {
  const all: Record<string, unknown> = {
    id: shift.id,
    team_id: shift.teamId,
    schedule: shift.scheduleId,
    name: shift.name,
    type: shift.type,
    time_zone: shift.timeZone,
    level: shift.level,
    start: shift.start,
    rotation_start: shift.rotationStart,
    duration: shift.duration,
    frequency: shift.frequency,
    interval: shift.interval,
    until: shift.until,
    week_start: shift.weekStart,
    by_day: shift.byDay,
    by_month: shift.byMonth,
    by_monthday: shift.byMonthday,
    users: shift.users,
    rolling_users: shift.rollingUsers,
    start_rotation_from_user_index: shift.startRotationFromUserIndex,
  }
  for (const key of HIDDEN_BY_TYPE[shift.type]) delete all[key]
  if (shift.frequency !== 'weekly') delete all.week_start
  return all
}

const DATE_FORMAT_ERROR = 'Invalid datetime format, should be "yyyy-mm-dd\'T\'hh:mm:ss"'

// Django's parse_duration for "[DD] [[HH:]MM:]ss[.uuuuuu]"; the API writes integers, Terraform may send strings.
const DJANGO_DURATION = /^(?:(\d+) (?:days?, )?)?(?:(?:(\d+):)?(\d+):)?(\d+)(?:\.\d{1,6})?$/

function durationSeconds(raw: unknown): number {
  let seconds: number | undefined
  if (typeof raw === 'number' && Number.isInteger(raw)) seconds = raw
  else if (typeof raw === 'string') {
    const match = DJANGO_DURATION.exec(raw.trim())
    if (match) {
      const [, d, h, m, s] = match
      seconds = Number(d ?? 0) * 86400 + Number(h ?? 0) * 3600 + Number(m ?? 0) * 60 + Number(s)
    }
  }
  if (seconds === undefined) {
    throw new ApiError(400, {
      duration: ['Duration has wrong format. Use one of these formats instead: [DD] [HH:[MM:]]ss[.uuuuuu].'],
    })
  }
  if (seconds < 1) throw new ApiError(400, { duration: ['Ensure this value is greater than or equal to 1.'] })
  if (seconds > MAX_DURATION_SECONDS) {
    throw new ApiError(400, { duration: [`Ensure this value is less than or equal to ${MAX_DURATION_SECONDS}.`] })
  }
  return seconds
}

/**
 * The checks OnCall answers with a top-level `detail` before any field error, in its order: date formats, then the
 * fields whose parsers raise (type, frequency, week_start, by_day, by_month, by_monthday, interval).
 */
function detailChecks(body: Record<string, unknown>): void {
  for (const key of ['start', 'rotation_start', 'until'] as const) {
    const value = body[key]
    if (value === undefined || value === null) continue
    if (typeof value !== 'string' || parseNaive(value) === null) throw badRequest(DATE_FORMAT_ERROR)
  }
  if (body.type !== undefined && !(SHIFT_TYPES as readonly unknown[]).includes(body.type)) {
    throw badRequest('Invalid shift type')
  }
  if (
    body.frequency !== undefined &&
    body.frequency !== null &&
    !(FREQUENCIES as readonly unknown[]).includes(body.frequency)
  ) {
    throw badRequest('Invalid frequency type')
  }
  if (body.week_start !== undefined && !(WEEKDAY_CODES as readonly unknown[]).includes(body.week_start)) {
    throw badRequest(
      "Invalid day format for week start field. Should be one of the following: 'MO', 'TU', 'WE', 'TH', 'FR', 'SA', 'SU'",
    )
  }
  const list = (key: string) => (Array.isArray(body[key]) ? (body[key] as unknown[]) : [])
  if (list('by_day').some((d) => !(WEEKDAY_CODES as readonly unknown[]).includes(d))) {
    throw badRequest("Invalid day value in by_day field. Valid values: 'MO', 'TU', 'WE', 'TH', 'FR', 'SA', 'SU'")
  }
  if (list('by_month').some((m) => !Number.isInteger(m) || (m as number) < 1 || (m as number) > 12)) {
    throw badRequest('Invalid month value in by_month field. Valid values: from 1 to 12')
  }
  if (list('by_monthday').some((d) => !Number.isInteger(d) || (d as number) < -31 || (d as number) > 31 || d === 0)) {
    throw badRequest('Invalid monthday value in by_monthday field. Valid values: from 1 to 31 and from -31 to -1')
  }
  const interval = body.interval
  if (
    interval !== undefined &&
    interval !== null &&
    (!Number.isInteger(interval) || (interval as number) <= 0 || (interval as number) > 1000)
  ) {
    throw badRequest('Invalid value for interval')
  }
}

/** Reads a create or update body in OnCall's order: top-level `detail` checks, field errors, team, duration. */
async function shiftInput(deps: ApiDeps, organizationId: string, raw: unknown): Promise<ShiftInput> {
  const input = raw === undefined ? {} : raw
  if (input !== null && typeof input === 'object' && !Array.isArray(input)) detailChecks(input as Record<string, unknown>)
  const body = parseOrThrow(shiftFieldsSchema, input)
  const teamId = await resolveTeamId(deps.db, organizationId, body.team_id)
  return {
    teamId,
    name: body.name,
    type: body.type,
    timeZone: body.time_zone,
    level: body.level,
    start: body.start,
    rotationStart: body.rotation_start,
    until: body.until,
    duration: body.duration === undefined ? undefined : durationSeconds(body.duration),
    frequency: body.frequency,
    interval: body.interval,
    weekStart: body.week_start,
    byDay: body.by_day,
    byMonth: body.by_month,
    byMonthday: body.by_monthday,
    users: body.users,
    rollingUsers: body.rolling_users,
    startRotationFromUserIndex: body.start_rotation_from_user_index,
    source: body.source,
  }
}

/** A refused shift in OnCall's words. */
function shiftError(problem: ShiftProblem): ApiError {
  switch (problem.kind) {
    case 'required':
      return new ApiError(400, { [problem.field]: ['This field is required.'] })
    case 'frequency_required':
      return badRequest("Field 'frequency' is required for this on-call shift type")
    case 'week_start_required':
      return badRequest("Field 'week_start' is required for frequency type 'weekly'")
    case 'interval_not_positive':
      return badRequest("Field 'interval' must be a positive integer")
    case 'rotation_index_required':
      return badRequest("Field 'start_rotation_from_user_index' is required for this on-call shift type")
    case 'daily_month_days':
      return badRequest("Day limits are temporarily disabled for on-call shifts with type 'rolling_users' and frequency 'daily'")
    case 'interval_above_days':
      return badRequest('Interval must be less than or equal to the number of selected days')
    case 'until_before_start':
      return badRequest("Field 'until' must be later than 'start'")
    case 'unknown_rolling_users': {
      const errors: Record<string, string[]> = {}
      for (const [index, ids] of problem.unknown) errors[String(index)] = [`User does not exist {${ids.map((id) => `'${id}'`).join(', ')}}`]
      return new ApiError(400, { rolling_users: errors })
    }
    default:
      return unreachable(problem)
  }
}

function savedShift(outcome: ShiftOutcome): OnCallShift {
  if (outcome.kind === 'invalid') throw shiftError(outcome.problem)
  return outcome.shift
}

export function onCallShiftsRouter(deps: ApiDeps): Router {
  const router = Router()

  resource(router, '/on_call_shifts', {
    GET: async (req, res) => {
      const { organizationId } = requirePermission(req, 'read')
      const filter = {
        name: queryString(req.query.name),
        teamId: await teamIdFilter(deps.db, organizationId, queryString(req.query.team_id)),
        scheduleId: queryString(req.query.schedule_id),
      }
      res.json(
        await paginate(
          req,
          deps.publicUrl,
          SHIFTS_PAGE_SIZE,
          (page) => listShifts(deps.db, organizationId, filter, page),
          shiftToWire,
        ),
      )
    },
    POST: async (req, res) => {
      const { organizationId } = requirePermission(req, 'write_alert_groups')
      const input = await shiftInput(deps, organizationId, req.body)
      res.status(201).json(shiftToWire(savedShift(await createShift(deps.db, organizationId, input))))
    },
  })

  const update: Handler = async (req, res) => {
    const { organizationId } = requirePermission(req, 'write_alert_groups')
    const existing = await getShift(deps.db, organizationId, String(req.params.id))
    const input = await shiftInput(deps, organizationId, req.body)
    res.json(shiftToWire(savedShift(await updateShift(deps.db, existing, input))))
  }

  resource(router, '/on_call_shifts/:id', {
    GET: async (req, res) => {
      const { organizationId } = requirePermission(req, 'read')
      res.json(shiftToWire(await getShift(deps.db, organizationId, String(req.params.id))))
    },
    PUT: update,
    PATCH: update,
    DELETE: async (req, res) => {
      const { organizationId } = requirePermission(req, 'write_alert_groups')
      await deleteShift(deps.db, organizationId, String(req.params.id))
      res.status(204).end()
    },
  })

  return router
}
