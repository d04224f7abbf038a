import { z } from 'zod'
import { ESCALATION_STATUSES } from '../../../services/escalations'
import type { FilterSpec } from '../filters'
import { idString, requiredString, storableString } from './common'
import { paginationMetaSchema } from './pagination'

// /v2/escalations: incident.io's request payloads (EscalationsCreatePayloadV2, the respond and reassign payloads),
// its list filters, and the EscalationV2 object the answers carry. Whether exactly one of escalation_path_id and
// user_ids is given is the service's check, made after a replay: a used idempotency key answers whatever the body.

export const MAX_TITLE_LENGTH = 1000
export const MAX_DESCRIPTION_LENGTH = 10_000
const MAX_USERS = 100

const userIds = z
  .array(idString)
  .min(1, { message: 'must name at least one user' })
  .max(MAX_USERS, { message: `names at most ${MAX_USERS} users` })
  .meta({ description: 'Users to page directly, each at high urgency (a user named twice is paged once).' })

const title = requiredString(MAX_TITLE_LENGTH).meta({ description: 'Shown in every notification about the escalation.' })
const description = storableString(MAX_DESCRIPTION_LENGTH)

/** POST /v2/escalations. */
export const createEscalationSchema = z.object({
  idempotency_key: requiredString(255).meta({
    description: 'De-duplication key, unique in the organization forever: a used key answers with the escalation it created.',
  }),
  title,
  description: description.default('').meta({ description: 'Additional details; empty when absent.' }),
  escalation_path_id: idString.optional().meta({ description: 'The path to follow. Exactly one of escalation_path_id and user_ids.' }),
  user_ids: userIds.optional(),
  incident_id: idString.optional().meta({
    description: 'An incident.io incident to link; Tocsin keeps it for the incident filter and copies it on reassign.',
  }),
  priority: requiredString(64)
    .optional()
    .meta({ description: 'Tocsin extension: the priority name path conditions test (default P1); incident.io has no such input.' }),
})
export type CreateEscalationBody = z.output<typeof createEscalationSchema>

/** POST /v2/escalations/{id}/actions/respond. */
export const respondEscalationSchema = z
  .object({
    response: z.enum(['ack', 'nack', 'snooze'], { error: (i) => (i.input === undefined ? undefined : 'must be one of ack, nack, snooze') }),
    snooze_details: z
      .object({
        snooze_until: z.iso.datetime({ offset: true, message: 'must be an RFC 3339 date-time such as 2025-01-31T09:00:00Z' }),
        reason: storableString(1000).optional().meta({ description: 'Accepted and not stored: Tocsin keeps no snooze reasons.' }),
      })
      .optional()
      .meta({ description: 'Required with response snooze, and only then.' }),
  })
  .superRefine((body, ctx) => {
    if (body.response === 'snooze' && body.snooze_details === undefined) {
      ctx.addIssue({ code: 'custom', path: ['snooze_details'], message: 'is required to snooze', params: { code: 'is_required' } })
    }
    if (body.response !== 'snooze' && body.snooze_details !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['snooze_details'], message: `is only for response snooze, not ${body.response}` })
    }
  })
export type RespondEscalationBody = z.output<typeof respondEscalationSchema>

/** POST /v2/escalations/{id}/actions/cancel: no body, or an empty object. */
export const cancelEscalationSchema = z.strictObject({})

/** POST /v2/escalations/{id}/actions/reassign. */
export const reassignEscalationSchema = z.object({
  escalation_path_id: idString.optional().meta({ description: 'The path to follow. Exactly one of escalation_path_id and user_ids.' }),
  user_ids: userIds.optional(),
  title: title.optional().meta({ description: "Default: the original's title." }),
  description: description.optional().meta({ description: "Default: the original's description." }),
  resolve_original: z.boolean().default(true).meta({ description: 'Resolve the original escalation once the new one is created.' }),
})
export type ReassignEscalationBody = z.output<typeof reassignEscalationSchema>

/** GET /v2/escalations: incident.io's filters. */
export const escalationFilterSpec = {
  status: { kind: 'value', operators: ['one_of', 'not_in'], values: ESCALATION_STATUSES },
  escalation_path: { kind: 'value', operators: ['one_of', 'not_in'], description: 'Escalation path ids; direct escalations have none.' },
  alert: { kind: 'value', operators: ['one_of', 'not_in'], description: "Alert ids: the alerts of the escalation's alert group (related_alerts)." },
  incident: { kind: 'value', operators: ['one_of', 'not_in'], description: 'Incident ids given as incident_id when the escalation was created.' },
  created_at: { kind: 'time', operators: ['gte', 'lte', 'date_range'] },
  updated_at: { kind: 'time', operators: ['gte', 'lte', 'date_range'] },
  idempotency_key: { kind: 'value', operators: ['is', 'starts_with'] },
} as const satisfies FilterSpec

const userV2Schema = z.object({
  id: z.string(),
  name: z.string(),
  email: z.string().optional(),
  role: z.enum(['viewer', 'responder', 'administrator', 'owner', 'unset']),
  slack_user_id: z.string().optional(),
}).meta({ id: 'UserV2' })

const chatChannelSchema = z.object({
  slack_team_id: z.string().optional(),
  slack_channel_id: z.string().optional(),
  microsoft_teams_team_id: z.string().optional(),
  microsoft_teams_channel_id: z.string().optional(),
}).meta({ id: 'ChatChannelSlimV2' })

const escalationEventSchema = z.object({
  id: z.string(),
  event: z.enum(['entered_grace_period', 'triggered', 'notified_users', 'notified_channels', 'acked', 'cancelled', 'resolved', 'expired']),
  occurred_at: z.iso.datetime(),
  urgency: z.enum(['high', 'low']).optional(),
  users: z.array(userV2Schema).optional(),
  channels: z.array(chatChannelSchema).optional(),
}).meta({ id: 'EscalationEventV2' })

const alertSlimSchema = z.object({
  id: z.string(),
  alert_source_id: z.string(),
  title: z.string(),
  description: z.string().optional(),
  status: z.enum(['firing', 'resolved']),
  deduplication_key: z.string(),
  created_at: z.iso.datetime(),
  updated_at: z.iso.datetime(),
  resolved_at: z.iso.datetime().optional(),
  source_url: z.string().optional(),
  alert_group_ids: z.array(z.string()).optional().meta({ description: 'The Tocsin (OnCall) alert group the alert is in.' }),
}).meta({ id: 'AlertSlimV2' })

const incidentSlimSchema = z.object({
  id: z.string(),
  external_id: z.int(),
  name: z.string(),
  reference: z.string(),
  status_category: z.enum(['triage', 'declined', 'merged', 'canceled', 'active', 'post-incident', 'closed', 'paused']),
  visibility: z.enum(['public', 'private']),
  summary: z.string().optional(),
}).meta({ id: 'IncidentSlimV2' })

/** incident.io's EscalationV2, as Tocsin answers it. */
export const escalationV2Schema = z.object({
  id: z.string(),
  title: z.string(),
  description: z.string(),
  status: z.enum(ESCALATION_STATUSES),
  escalation_path_id: z.string().optional().meta({ description: 'Absent for an escalation to users.' }),
  priority: z.object({ name: z.string() }),
  creator: z.object({ user: userV2Schema.optional() }).meta({ description: "The API key's user." }),
  events: z.array(escalationEventSchema),
  related_alerts: z.array(alertSlimSchema).meta({ description: "The alerts of the escalation's alert group." }),
  related_incidents: z.array(incidentSlimSchema).meta({ description: 'Always empty: Tocsin keeps no incident.io incidents.' }),
  created_at: z.iso.datetime(),
  updated_at: z.iso.datetime(),
}).meta({ id: 'EscalationV2' })

export const escalationResponseSchema = z.object({ escalation: escalationV2Schema })
export const escalationListResponseSchema = z.object({ escalations: z.array(escalationV2Schema), pagination_meta: paginationMetaSchema })
