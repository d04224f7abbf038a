import { z } from 'zod'
import { drfBoolean, emptyAsNull, plainString, text } from './common'

const reference = plainString().max(20)

// `type` and `templates` are checked by the handler: OnCall answers those with top-level details.
const integrationFields = {
  name: text(150),
  description_short: plainString().max(250).nullable(),
  team_id: emptyAsNull(plainString().max(100)),
  templates: z.unknown(),
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

export const listIntegrationsQuery = z.object({ name: z.string().optional(), team_id: z.string().optional() })
