import { z } from 'zod'
import { drfBoolean, emptyAsNull, ianaTimezone, plainString, text } from './common'

export const roleSchema = z.enum(['admin', 'editor', 'viewer', 'none'])

const slackSchema = z.object({ user_id: text(50), team_id: plainString().trim().max(50).nullable().optional() })

const userFields = {
  username: text(150),
  email: z.email().max(254),
  role: roleSchema,
  timezone: emptyAsNull(ianaTimezone),
  phone_number: emptyAsNull(z.string().regex(/^\+[1-9]\d{6,14}$/, { message: 'Enter a valid phone number in E.164 form (+15551234567).' })),
  slack: slackSchema.nullable(),
  teams: z.array(plainString().max(20)).max(500),
}

/** POST /api/v1/users/ (Tocsin extension: OnCall imports users from Grafana). */
export const createUserSchema = z.object({
  ...userFields,
  role: userFields.role.default('viewer'),
  timezone: userFields.timezone.default(null),
  phone_number: userFields.phone_number.default(null),
  slack: userFields.slack.default(null),
  teams: userFields.teams.default([]),
})

/** PUT/PATCH /api/v1/users/{id}/: every field optional, as OnCall's update serializers are. */
export const updateUserSchema = z.object(userFields).partial()

/**
 * `?extended=true` adds Tocsin's extension fields to OnCall's user object; without it every user response is
 * exactly OnCall's shape.
 */
const extended = drfBoolean
  .optional()
  .describe("Tocsin extension: true adds Tocsin's own user fields (phone_number) to OnCall's user object.")

/** The query of every user route but the list: only the shape of the answer. */
export const userShapeQuery = z.object({ extended })

// OnCall's numeric role filter values: 0 admin, 1 editor, 2 viewer, 3 none.
const ROLE_NUMBERS: readonly string[] = ['0', '1', '2', '3']

export const listUsersQuery = z.object({
  username: z.string().optional(),
  email: z.string().optional(),
  roles: z
    .union([z.string(), z.array(z.string())])
    .optional()
    .transform((value) => (value === undefined ? [] : Array.isArray(value) ? value : [value]))
    // django-filter's MultipleChoiceFilter: an unknown value is a 400, never an unfiltered list.
    .superRefine((values, ctx) => {
      const bad = values.find((value) => !ROLE_NUMBERS.includes(value))
      if (bad !== undefined) {
        ctx.addIssue({ code: 'custom', message: `Select a valid choice. ${bad} is not one of the available choices.` })
      }
    }),
  short: z.string().optional(),
  extended,
})

export type CreateUserRequest = z.infer<typeof createUserSchema>
export type UpdateUserRequest = z.infer<typeof updateUserSchema>
