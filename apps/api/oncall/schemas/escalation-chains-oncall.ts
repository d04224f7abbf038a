import { z } from 'zod'

export const DEFAULT_CHAIN_DAYS = 7
export const MAX_CHAIN_DAYS = 30

/**
 * `?days=` of GET /escalation_chains/{id}/previous_oncall/ and next_oncall/: how far to look back or ahead, with
 * DRF's integer texts ("A valid integer is required.", "Ensure this value is less than or equal to 30.").
 */
export const chainDaysQuery = z.object({
  days: z
    .string()
    .trim()
    .regex(/^-?\d{1,6}$/, { message: 'A valid integer is required.' })
    .transform(Number)
    .pipe(z.int().min(1).max(MAX_CHAIN_DAYS))
    .default(DEFAULT_CHAIN_DAYS)
    .describe(`Days, from 1 to ${MAX_CHAIN_DAYS}; ${DEFAULT_CHAIN_DAYS} when omitted`),
})
