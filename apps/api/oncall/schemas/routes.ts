import { z } from 'zod'
import { drfBoolean, emptyAsNull, plainString } from './common'

const reference = plainString().max(20)

const messaging = {
  slack: z.object({ channel_id: plainString().max(100).nullable().optional(), enabled: drfBoolean.optional() }).optional(),
  telegram: z.object({ id: plainString().max(100).nullable().optional(), enabled: drfBoolean.optional() }).optional(),
}

// routing_type and routing_regex are checked by the handler, which answers in OnCall's non_field_errors.
export const createRouteSchema = z.object({
  integration_id: reference,
  escalation_chain_id: emptyAsNull(reference),
  routing_type: z.unknown().optional(),
  routing_regex: plainString(),
  position: z.int({ error: 'A valid integer is required.' }).optional(),
  manual_order: drfBoolean.optional(),
  ...messaging,
})
export type CreateRouteRequest = z.infer<typeof createRouteSchema>

export const updateRouteSchema = z.object({
  escalation_chain_id: emptyAsNull(reference).optional(),
  routing_type: z.unknown().optional(),
  routing_regex: plainString().optional(),
  position: z.int({ error: 'A valid integer is required.' }).optional(),
  manual_order: drfBoolean.optional(),
  ...messaging,
})
export type UpdateRouteRequest = z.infer<typeof updateRouteSchema>

export const listRoutesQuery = z.object({ integration_id: z.string().optional(), routing_regex: z.string().optional() })
