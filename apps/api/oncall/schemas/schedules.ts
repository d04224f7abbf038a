import { z } from 'zod'
import { drfBoolean, emptyAsNull, httpUrl, ianaTimezone, plainString, text } from './common'

export const SCHEDULE_TYPES = ['ical', 'calendar', 'web'] as const
export type ScheduleTypeName = (typeof SCHEDULE_TYPES)[number]

// Slack is never connected in Tocsin: any id here is refused by the router, as OnCall refuses it without Slack.
const slackSchema = z.object({
  channel_id: plainString().max(100).nullable().optional(),
  user_group_id: plainString().max(100).nullable().optional(),
})

const common = {
  name: text(200),
  team_id: emptyAsNull(plainString().max(100)).optional(),
  slack: slackSchema.optional(),
}
const icalUrlOverrides = emptyAsNull(httpUrl)
// On-call shift ids; unknown ids are dropped, as OnCall's UsersFilteredByOrganizationField-like field does.
const shifts = z.array(plainString().max(100)).max(1000).nullable().optional()

const typeFields = {
  ical: { ...common, ical_url_primary: httpUrl, ical_url_overrides: icalUrlOverrides },
  calendar: {
    ...common,
    time_zone: ianaTimezone,
    ical_url_overrides: icalUrlOverrides,
    enable_web_overrides: drfBoolean,
    shifts,
  },
  web: { ...common, time_zone: ianaTimezone, shifts },
}

/** POST /api/v1/schedules/, one schema per type (OnCall's polymorphic serializer); keys of other types are ignored. */
export const createScheduleSchemas = {
  ical: z.object({ ...typeFields.ical, ical_url_overrides: icalUrlOverrides.default(null) }),
  calendar: z.object({
    ...typeFields.calendar,
    ical_url_overrides: icalUrlOverrides.default(null),
    enable_web_overrides: drfBoolean.default(false),
  }),
  web: z.object(typeFields.web),
} as const

/**
 * PUT/PATCH /api/v1/schedules/{id}/: the stored type picks the schema; every field optional and without defaults
 * (a default here would reset an omitted field).
 */
export const updateScheduleSchemas = {
  ical: z.object(typeFields.ical).partial(),
  calendar: z.object(typeFields.calendar).partial(),
  web: z.object(typeFields.web).partial(),
} as const

/** What any of the schemas yields, for the router to map onto columns. */
export interface ScheduleRequest {
  name?: string
  team_id?: string | null
  slack?: { channel_id?: string | null; user_group_id?: string | null }
  time_zone?: string
  ical_url_primary?: string
  ical_url_overrides?: string | null
  enable_web_overrides?: boolean
  shifts?: string[] | null
}

const DATE_OR_DATETIME = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2})?$/
const dateFormat = {
  message: 'Datetime has wrong format. Use one of these formats instead: YYYY-MM-DDThh:mm, YYYY-MM-DD.',
}
const finalShiftsDate = z
  .string(dateFormat)
  .regex(DATE_OR_DATETIME, dateFormat)
  .refine((value) => {
    const parsed = Date.parse(value.length === 10 ? `${value}T00:00Z` : `${value}Z`)
    // Date.parse rolls 2021-02-30 over; the round trip refuses impossible dates.
    return !Number.isNaN(parsed) && new Date(parsed).toISOString().startsWith(value)
  }, dateFormat)

/**
 * GET /schedules/{id}/final_shifts/: both bounds, UTC, a date or a date with hours and minutes. As in OnCall, the
 * shifts returned are those of the whole days between them, from 00:00 of start_date's day: end_date's day is not.
 */
export const finalShiftsQuery = z.object({
  start_date: finalShiftsDate.describe("The first day covered, from 00:00 UTC (a time of day is ignored)."),
  end_date: finalShiftsDate.describe(
    'Covers the whole days between start_date and end_date (floor of the difference); the end_date day itself is not covered.',
  ),
})

const instantFormat = {
  message: 'Datetime has wrong format. Use one of these formats instead: YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z].',
}
/** GET /schedules/{id}/oncall/?at= (Tocsin extension): an ISO instant with its offset; omitted means now. */
export const onCallAtQuery = z.object({
  at: z
    .string(instantFormat)
    .regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})$/, instantFormat)
    .refine((value) => !Number.isNaN(Date.parse(value)) && Math.abs(Date.parse(value)) < 8.64e15, instantFormat)
    .optional(),
})
