import { z } from 'zod'
import { emptyAsNull, ianaTimezone, plainString } from './common'

// POST/PUT/PATCH /api/v1/on_call_shifts/. Fields whose bad values OnCall answers with a top-level
// `detail` (type, frequency, interval, week_start, by_*, dates) are checked by the router in OnCall's order; this
// schema holds what DRF reports as field errors.

export const SHIFT_TYPES = ['single_event', 'recurrent_event', 'rolling_users', 'override'] as const
export const FREQUENCIES = ['hourly', 'daily', 'weekly', 'monthly'] as const
export const WEEKDAY_CODES = ['MO', 'TU', 'WE', 'TH', 'FR', 'SA', 'SU'] as const

const userId = plainString().max(100)
// A year and a day: longer shifts are refused rather than expanded.
export const MAX_DURATION_SECONDS = 366 * 86400

export const shiftFieldsSchema = z.object({
  name: plainString().trim().max(200).nullable().optional(),
  team_id: emptyAsNull(plainString().max(100)).optional(),
  type: z.enum(SHIFT_TYPES).optional(),
  time_zone: ianaTimezone.nullable().optional(),
  level: z.number().int().min(0).max(1000).optional(),
  start: z.string().optional(),
  rotation_start: z.string().optional(),
  until: z.string().nullable().optional(),
  duration: z.union([z.number(), z.string()]).optional(),
  frequency: z.enum(FREQUENCIES).nullable().optional(),
  interval: z.number().nullable().optional(),
  week_start: z.enum(WEEKDAY_CODES).optional(),
  by_day: z.array(z.enum(WEEKDAY_CODES)).max(7).nullable().optional(),
  by_month: z.array(z.number().int().min(1).max(12)).max(12).nullable().optional(),
  by_monthday: z.array(z.number().int().min(-31).max(31)).max(62).nullable().optional(),
  users: z.array(userId).max(1000).nullable().optional(),
  rolling_users: z.array(z.array(userId).max(1000)).max(1000).nullable().optional(),
  start_rotation_from_user_index: z.number().int().min(0).max(1_000_000).nullable().optional(),
  source: z.number().int().optional(),
})

export type ShiftFieldsInput = z.output<typeof shiftFieldsSchema>
