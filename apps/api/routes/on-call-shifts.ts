import { Router } from 'express'
import { existingIds } from '../../../activities/db/escalation-policies.repo'
import {
  createShift,
  deleteShift,
  getShift,
  listShifts,
  updateShift,
  type ShiftFields,
  type ShiftRow,
} from '../../../activities/db/on-call-shifts.repo'
import { getSchedule } from '../../../activities/db/schedules.repo'
import { parseNaive } from '../../../workflows/core/schedule/time'
import { requirePermission } from '../auth'
import type { ApiDeps } from '../deps'
import { ApiError, badRequest, notFound, parseOrThrow } from '../errors'
import { paginate } from '../pagination'
import { queryString, resolveTeamId, teamIdFilter } from '../relations'
import { resource, type Handler } from '../router'
import {
  FREQUENCIES,
  MAX_DURATION_SECONDS,
  SHIFT_TYPES,
  WEEKDAY_CODES,
  shiftFieldsSchema,
  type ShiftFieldsInput,
} from '../schemas/on-call-shifts'

const SHIFTS_PAGE_SIZE = 50
// OnCall's source values: web 0, api 1, terraform 3; anything else is api.
const SOURCE_WEB = 0
const SOURCE_API = 1
const SOURCE_TERRAFORM = 3
const WEB_OVERRIDE_LEVEL = 99

const RECURRENCE_KEYS = ['frequency', 'interval', 'until', 'by_day', 'by_month', 'by_monthday', 'week_start'] as const
const HIDDEN_BY_TYPE: Record<ShiftRow['type'], readonly string[]> = {
  single_event: [...RECURRENCE_KEYS, 'rolling_users', 'start_rotation_from_user_index'],
  recurrent_event: ['rolling_users', 'start_rotation_from_user_index'],
  rolling_users: ['users'],
  override: ['level', ...RECURRENCE_KEYS, 'rolling_users', 'start_rotation_from_user_index'],
}

/** OnCall's shape: keys that do not apply to the type are absent (not null); week_start only for weekly. */
export function shiftToWire(shift: ShiftRow) {
  const all: Record<string, unknown> = {
    id: shift.id,
    team_id: shift.team_id,
    schedule: shift.schedule,
    name: shift.name,
    type: shift.type,
    time_zone: shift.time_zone,
    level: shift.level,
    start: shift.start,
    rotation_start: shift.rotation_start,
    duration: shift.duration,
    frequency: shift.frequency,
    interval: shift.interval,
    until: shift.until,
    week_start: shift.week_start,
    by_day: shift.by_day,
    by_month: shift.by_month,
    by_monthday: shift.by_monthday,
    users: shift.users,
    rolling_users: shift.rolling_users,
    start_rotation_from_user_index: shift.start_rotation_from_user_index,
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

/** `rolling_users` must name existing users: `{"rolling_users": {"<index>": ["User does not exist {'<id>'}"]}}`. */
async function checkRollingUsers(deps: ApiDeps, organizationId: string, groups: string[][]): Promise<string[][]> {
  const known = new Set(await existingIds(deps.db, 'users', organizationId, groups.flat()))
  const errors: Record<string, string[]> = {}
  groups.forEach((group, index) => {
    const missing = group.filter((id) => !known.has(id))
    if (missing.length > 0)
      errors[String(index)] = [`User does not exist {${missing.map((id) => `'${id}'`).join(', ')}}`]
  })
  if (Object.keys(errors).length > 0) throw new ApiError(400, { rolling_users: errors })
  return groups.map((group) => [...new Set(group)])
}

type Merged = Omit<ShiftFields, 'rotation_start' | 'duration' | 'type'> & {
  type: ShiftFields['type'] | undefined
  rotation_start: string | null
  duration: number | null
}

function validateCombination(
  merged: Merged,
  body: ShiftFieldsInput,
  creating: boolean,
  frequencyChanged: boolean,
): void {
  const type = merged.type
  if (creating && type === undefined) throw new ApiError(400, { type: ['This field is required.'] })
  if (creating && !merged.start) throw new ApiError(400, { start: ['This field is required.'] })
  if (creating && merged.duration === null) throw new ApiError(400, { duration: ['This field is required.'] })
  const recurring = type === 'recurrent_event' || type === 'rolling_users'
  if (recurring && (creating || frequencyChanged)) {
    if (merged.frequency === null) throw badRequest("Field 'frequency' is required for this on-call shift type")
    if (merged.frequency === 'weekly' && body.week_start === undefined && (creating || frequencyChanged)) {
      throw badRequest("Field 'week_start' is required for frequency type 'weekly'")
    }
  }
  if (recurring && body.interval === null && 'interval' in body)
    throw badRequest("Field 'interval' must be a positive integer")
  if (type === 'rolling_users' && merged.start_rotation_from_user_index === null) {
    throw badRequest("Field 'start_rotation_from_user_index' is required for this on-call shift type")
  }
  if (type === 'rolling_users' && merged.frequency === 'daily') {
    if (merged.by_monthday && merged.by_monthday.length > 0) {
      throw badRequest(
        "Day limits are temporarily disabled for on-call shifts with type 'rolling_users' and frequency 'daily'",
      )
    }
    if (merged.by_day && merged.by_day.length > 0 && (merged.interval ?? 1) > merged.by_day.length) {
      throw badRequest('Interval must be less than or equal to the number of selected days')
    }
  }
  if (
    merged.until !== null &&
    merged.start &&
    (parseNaive(merged.until) as number) < (parseNaive(merged.start) as number)
  ) {
    throw badRequest("Field 'until' must be later than 'start'")
  }
}

/** Validates a create (no `existing`) or an update against the stored shift; returns the columns to write. */
async function toFields(
  deps: ApiDeps,
  organizationId: string,
  raw: unknown,
  existing: ShiftRow | undefined,
): Promise<ShiftFields> {
  const input = raw === undefined ? {} : raw
  if (input !== null && typeof input === 'object' && !Array.isArray(input))
    detailChecks(input as Record<string, unknown>)
  const body = parseOrThrow(shiftFieldsSchema, input)
  const creating = existing === undefined
  const teamId = await resolveTeamId(deps.db, organizationId, body.team_id)
  const duration = body.duration !== undefined ? durationSeconds(body.duration) : (existing?.duration ?? null)
  const emptyAsNullList = <T>(list: T[] | null | undefined, previous: T[] | null): T[] | null =>
    list === undefined ? previous : list === null || list.length === 0 ? null : list
  const type = body.type ?? existing?.type
  const frequency = body.frequency !== undefined ? body.frequency : (existing?.frequency ?? null)
  const users =
    body.users !== undefined
      ? await existingIds(deps.db, 'users', organizationId, body.users ?? [])
      : (existing?.users ?? [])
  const rollingUsers =
    body.rolling_users !== undefined
      ? emptyAsNullList(await checkRollingUsers(deps, organizationId, body.rolling_users ?? []), null)
      : (existing?.rolling_users ?? null)
  const source =
    body.source === SOURCE_WEB || body.source === SOURCE_TERRAFORM ? body.source : (existing?.source ?? SOURCE_API)
  const merged: Merged = {
    team_id: teamId !== undefined ? teamId : (existing?.team_id ?? null),
    name: body.name !== undefined ? body.name : (existing?.name ?? null),
    type,
    time_zone: body.time_zone !== undefined ? body.time_zone : (existing?.time_zone ?? null),
    level: body.level ?? existing?.level ?? 0,
    start: body.start ?? existing?.start ?? '',
    rotation_start:
      body.rotation_start ?? (body.start !== undefined && creating ? body.start : (existing?.rotation_start ?? null)),
    until: body.until !== undefined ? body.until : (existing?.until ?? null),
    duration,
    frequency,
    interval: body.interval !== undefined && body.interval !== null ? body.interval : (existing?.interval ?? null),
    week_start: body.week_start ?? existing?.week_start ?? 'SU',
    by_day: emptyAsNullList(body.by_day, existing?.by_day ?? null),
    by_month: emptyAsNullList(body.by_month, existing?.by_month ?? null),
    by_monthday: emptyAsNullList(body.by_monthday, existing?.by_monthday ?? null),
    users,
    rolling_users: rollingUsers,
    start_rotation_from_user_index:
      body.start_rotation_from_user_index !== undefined
        ? body.start_rotation_from_user_index
        : (existing?.start_rotation_from_user_index ?? null),
    source,
  }
  validateCombination(merged, body, creating, frequency !== (existing?.frequency ?? null))
  const fields = { ...merged, type: merged.type as ShiftFields['type'], duration: merged.duration as number }
  // An omitted interval with a frequency is 1 (OnCall's test); no frequency, no interval.
  fields.interval = fields.frequency === null ? null : (fields.interval ?? 1)
  const resolved: ShiftFields = { ...fields, rotation_start: merged.rotation_start ?? merged.start }
  // OnCall clears what the type does not use.
  if (resolved.type === 'single_event' || resolved.type === 'override') {
    Object.assign(resolved, { frequency: null, interval: null, by_day: null, by_month: null, by_monthday: null })
    Object.assign(resolved, { rolling_users: null, start_rotation_from_user_index: null })
    if (resolved.type === 'override') Object.assign(resolved, { until: null, level: 0 })
  }
  if (resolved.type === 'recurrent_event')
    Object.assign(resolved, { rolling_users: null, start_rotation_from_user_index: null })
  if (resolved.type === 'rolling_users') resolved.users = []
  // A web override (source 0): priority 99, rotation from its start, rolling users from users (OnCall's web UI).
  if (resolved.type === 'override' && resolved.source === SOURCE_WEB) {
    resolved.level = WEB_OVERRIDE_LEVEL
    resolved.rotation_start = resolved.start
    resolved.rolling_users = resolved.users.length > 0 ? resolved.users.map((u) => [u]) : null
  }
  return resolved
}

export function onCallShiftsRouter(deps: ApiDeps): Router {
  const router = Router()

  resource(router, '/on_call_shifts', {
    GET: async (req, res) => {
      const { organizationId } = requirePermission(req, 'read')
      const scheduleId = queryString(req.query.schedule_id)
      const filter = {
        name: queryString(req.query.name),
        teamId: await teamIdFilter(deps.db, organizationId, queryString(req.query.team_id)),
        scheduleId,
      }
      // An unknown (or another organization's) schedule filters to nothing, never to everything.
      if (scheduleId !== undefined && !(await getSchedule(deps.db, organizationId, scheduleId))) filter.scheduleId = ''
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
      const fields = await toFields(deps, organizationId, req.body, undefined)
      res.status(201).json(shiftToWire(await createShift(deps.db, organizationId, fields)))
    },
  })

  const update: Handler = async (req, res) => {
    const { organizationId } = requirePermission(req, 'write_alert_groups')
    const existing = await getShift(deps.db, organizationId, String(req.params.id))
    if (!existing) throw notFound()
    const fields = await toFields(deps, organizationId, req.body, existing)
    const shift = await updateShift(deps.db, organizationId, existing.id, fields)
    if (!shift) throw notFound()
    res.json(shiftToWire(shift))
  }

  resource(router, '/on_call_shifts/:id', {
    GET: async (req, res) => {
      const { organizationId } = requirePermission(req, 'read')
      const shift = await getShift(deps.db, organizationId, String(req.params.id))
      if (!shift) throw notFound()
      res.json(shiftToWire(shift))
    },
    PUT: update,
    PATCH: update,
    DELETE: async (req, res) => {
      const { organizationId } = requirePermission(req, 'write_alert_groups')
      if (!(await deleteShift(deps.db, organizationId, String(req.params.id)))) throw notFound()
      res.status(204).end()
    },
  })

  return router
}
