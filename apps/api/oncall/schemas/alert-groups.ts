import { z } from 'zod'

const stateMessage = 'Must be one of the following: new, acknowledged, resolved, silenced'

/** Query of GET /api/v1/alert_groups/; OnCall's texts for the two filters that can be refused. */
export const listAlertGroupsQuery = z.object({
  id: z.string().optional(),
  route_id: z.string().optional(),
  integration_id: z.string().optional(),
  team_id: z.string().optional(),
  state: z.string().optional(),
  started_at: z.string().optional(),
})

export const alertGroupStates = ['new', 'acknowledged', 'resolved', 'silenced'] as const
export type AlertGroupStateParam = (typeof alertGroupStates)[number]

export function parseStateFilter(raw: string | undefined): AlertGroupStateParam | undefined | { error: string } {
  if (raw === undefined) return undefined
  const lowered = raw.toLowerCase()
  return (alertGroupStates as readonly string[]).includes(lowered) ? (lowered as AlertGroupStateParam) : { error: stateMessage }
}

/** `YYYY-MM-DDTHH:MM:SS_YYYY-MM-DDTHH:MM:SS`, naive and read as UTC; null when malformed or reversed. */
export function parseStartedAt(raw: string): { from: string; to: string } | null {
  const match = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})_(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})$/.exec(raw)
  if (!match) return null
  const from = new Date(`${match[1]}Z`)
  const to = new Date(`${match[2]}Z`)
  if (Number.isNaN(from.getTime()) || Number.isNaN(to.getTime()) || from > to) return null
  return { from: from.toISOString(), to: to.toISOString() }
}

/**
 * POST /api/v1/alert_groups/{id}/silence/: `delay` in seconds, -1 (or 0) for ever. OnCall reads it with Python's
 * int(), so a string of digits counts too.
 */
export const silenceBody = z.object({
  delay: z.union([
    z.int().min(-1),
    z
      .string()
      .regex(/^-?\d+$/)
      .transform(Number)
      .pipe(z.int().min(-1)),
  ]),
})

/**
 * The silence delay, or OnCall's reason for refusing it: a missing delay (or a body that is not an object) is
 * `missing`, anything else the schema refuses is `invalid`.
 */
export function parseSilenceDelay(raw: unknown): number | 'missing' | 'invalid' {
  const body = raw ?? {}
  if (typeof body !== 'object' || (body as { delay?: unknown }).delay === undefined) return 'missing'
  const parsed = silenceBody.safeParse(body)
  return parsed.success ? parsed.data.delay : 'invalid'
}
