import { z } from 'zod'
import { drfBoolean, emptyAsNull, plainString, text } from './common'

const reference = plainString().max(20)

/** OnCall's heartbeat timeouts in seconds (IntegrationHeartBeat.TIMEOUT_CHOICES): 1, 2, 3, 5, 10, 15, 30 min, 1, 12, 24 h. */
export const HEARTBEAT_TIMEOUT_CHOICES = [60, 120, 180, 300, 600, 900, 1800, 3600, 43200, 86400] as const

/**
 * Tocsin extension: OnCall sets the heartbeat timeout through its internal API only. One of OnCall's choices (a
 * number, or its digits as a string, as DRF's ChoiceField accepts), or null to stop awaiting heartbeats.
 */
const heartbeatTimeoutSeconds = z
  .preprocess((value) => (typeof value === 'string' && /^[1-9]\d{0,5}$/.test(value) ? Number(value) : value), z.literal(HEARTBEAT_TIMEOUT_CHOICES).nullable())
  .describe(
    'Tocsin extension: seconds without a heartbeat after which an alert "heartbeat is missing" is raised; ' +
      `one of ${HEARTBEAT_TIMEOUT_CHOICES.join(', ')}, or null (off). Read back with ?extended=true.`,
  )

// `type` and `templates` are checked by the handler: OnCall answers those with top-level details.
const integrationFields = {
  name: text(150),
  description_short: plainString().max(250).nullable(),
  team_id: emptyAsNull(plainString().max(100)),
  templates: z.unknown(),
  heartbeat_timeout_seconds: heartbeatTimeoutSeconds,
  default_route: z
    .object({
      escalation_chain_id: emptyAsNull(reference),
      slack: z.object({ channel_id: plainString().max(100).nullable().optional(), enabled: drfBoolean.optional() }).optional(),
      telegram: z.object({ id: plainString().max(100).nullable().optional(), enabled: drfBoolean.optional() }).optional(),
    })
    .partial(),
}

export const createIntegrationSchema = z.object({ type: z.unknown(), ...integrationFields }).partial()
export const updateIntegrationSchema = z.object(integrationFields).partial()
export type UpdateIntegrationRequest = z.infer<typeof updateIntegrationSchema>

export const maintenanceStartSchema = z.object({ mode: z.unknown(), duration: z.unknown() }).partial()

/** `?extended=true` adds Tocsin's extension fields (heartbeat_timeout_seconds) to OnCall's integration object. */
const extended = drfBoolean
  .optional()
  .describe("Tocsin extension: true adds Tocsin's own integration fields (heartbeat_timeout_seconds) to OnCall's integration object.")

/** The query of every integration route but the list: only the shape of the answer. */
export const integrationShapeQuery = z.object({ extended })

export const listIntegrationsQuery = z.object({ name: z.string().optional(), team_id: z.string().optional(), extended })
