import { z } from 'zod'
import { DRY_RUN_DAYS, MAX_ALERT_TIMES } from '../../../services/dry-run'

// POST /escalation_chains/{id}/simulate/ (Tocsin extension): a dry run of the chain. Instants are ISO 8601 with an
// offset, in DRF's datetime wording; the rules between them (alerts not before start, until within 30 days) are the
// service's, checked after the parse.

const instantFormat = {
  message: 'Datetime has wrong format. Use one of these formats instead: YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z].',
}

const instant = z
  .string(instantFormat)
  .regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})$/, instantFormat)
  .refine((value) => !Number.isNaN(Date.parse(value)) && Math.abs(Date.parse(value)) < 8.64e15, instantFormat)
  .transform((value) => new Date(value))

export const simulateChainBody = z.object({
  start: instant.optional().describe('When the escalation starts; now when omitted'),
  alert_times: z
    .array(instant)
    .max(MAX_ALERT_TIMES)
    .optional()
    .describe(`When alerts arrive (any order, none before start, at most ${MAX_ALERT_TIMES}); one alert at start when omitted`),
  acknowledged_at: instant.optional().describe('Somebody acknowledges at this instant: nothing runs from then on'),
  until: instant
    .optional()
    .describe(`Nothing after this instant is shown; start + ${DRY_RUN_DAYS.default} days when omitted, at most ${DRY_RUN_DAYS.max} days after start`),
})

export type SimulateChainBody = z.output<typeof simulateChainBody>
