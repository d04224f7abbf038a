import { z } from 'zod'
import { drfBoolean, emptyAsNull, httpUrl } from './common'

/** POST /api/v1/escalation/: OnCall's direct paging. */
export const directPagingSchema = z.object({
  users: z
    .array(z.object({ id: z.string().max(20), important: drfBoolean }))
    .max(100)
    .default([]),
  team: emptyAsNull(z.string().max(20)).optional(),
  important_team_escalation: drfBoolean.default(false),
  alert_group_id: emptyAsNull(z.string().max(20)).optional(),
  // OnCall: title is not nullable, message and source_url are.
  title: z.string().max(1500).optional(),
  message: z.string().max(20000).nullable().optional(),
  source_url: httpUrl.nullable().optional(),
})

export type DirectPagingRequest = z.infer<typeof directPagingSchema>
