import { z } from 'zod'
import { plainString, text } from './common'

const chainFields = {
  name: text(100),
  // "" and "null" mean no team; any other id must be a team of the organization (checked by the service).
  team_id: plainString().max(20).nullable().optional(),
}

/** POST and PUT /api/v1/escalation_chains/: OnCall's single serializer requires `name` on both. */
export const writeEscalationChainSchema = z.object(chainFields)
/** PATCH: partial. */
export const patchEscalationChainSchema = z.object(chainFields).partial()

export type WriteEscalationChainRequest = z.infer<typeof writeEscalationChainSchema>
