import { z } from 'zod'

export const listAlertsQuery = z.object({
  alert_group_id: z.string().optional(),
  id: z.string().optional(),
  search: z.string().optional(),
})
