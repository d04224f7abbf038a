import { z } from 'zod'

/** incident.io's `pagination_meta` of a list answer: no `after` on the last page. */
export const paginationMetaSchema = z.object({
  after: z.string().optional().meta({ description: 'Pass as `after` for the next page; absent on the last page.' }),
  page_size: z.int(),
})
