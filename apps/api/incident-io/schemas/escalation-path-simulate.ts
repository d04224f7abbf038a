import { z } from 'zod'
import { DRY_RUN_ACTIONS, DRY_RUN_DAYS, DRY_RUN_STATUSES, MAX_ALERT_TIMES } from '../../../services/dry-run'
import { DEFAULT_PRIORITY } from '../../../../workflows/incident-io/path'
import { requiredString } from './common'

// POST /v2/escalation_paths/{id}/actions/simulate (Tocsin extension): a dry run of the path. The rules between the
// instants (alerts not before start, until within 30 days) are the service's, checked after the parse.

const instant = z.iso
  .datetime({ offset: true, message: 'must be an RFC 3339 date-time such as 2025-01-31T09:00:00Z' })
  .transform((value) => new Date(value))

export const simulatePathSchema = z.object({
  start: instant.optional().meta({ description: 'When the escalation starts; now when omitted.' }),
  alert_times: z
    .array(instant)
    .max(MAX_ALERT_TIMES, { message: `must name at most ${MAX_ALERT_TIMES} instants` })
    .optional()
    .meta({ description: `When alerts arrive (any order, none before start, at most ${MAX_ALERT_TIMES}); one alert at start when omitted.` }),
  acknowledged_at: instant.optional().meta({ description: 'Somebody acknowledges at this instant: nothing runs from then on.' }),
  until: instant.optional().meta({
    description: `Nothing after this instant is shown; start + ${DRY_RUN_DAYS.default} days when omitted, at most ${DRY_RUN_DAYS.max} days after start.`,
  }),
  priority: requiredString(64)
    .optional()
    .meta({ description: `The escalation's priority name, which priority conditions test; ${DEFAULT_PRIORITY} when omitted.` }),
})
export type SimulatePathBody = z.output<typeof simulatePathSchema>

const entrySchema = z.object({
  at: z.iso.datetime().meta({ description: 'When the engine would decide this (and resolve whom a page reaches).' }),
  due_at: z.iso.datetime().meta({ description: 'When the node was due.' }),
  step_index: z.int().nullable().meta({ description: "The node's position in the engine's program (the tree laid out flat); null at the end." }),
  node_id: z.string().nullable(),
  type: z.string().nullable().meta({ description: "The node's type (level, notify_channel, delay, repeat, if_else); null at the end." }),
  action: z.enum(DRY_RUN_ACTIONS),
  users: z.array(z.object({ id: z.string(), name: z.string(), important: z.boolean().meta({ description: 'Paged at high urgency.' }) })),
  branch: z.enum(['then', 'else']).optional(),
  why: z.string(),
})

export const simulatePathResponseSchema = z.object({
  escalation_path_id: z.string(),
  priority: z.string(),
  start: z.iso.datetime(),
  until: z.iso.datetime(),
  entries: z.array(entrySchema),
  outcome: z.object({
    status: z.enum(DRY_RUN_STATUSES),
    at: z.iso.datetime(),
    why: z.string(),
  }),
})
