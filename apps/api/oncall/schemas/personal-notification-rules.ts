import { z } from 'zod'
import { WAIT_DURATIONS_SECONDS } from '../../../../workflows/core/personal-rules'
import { drfBoolean, plainString } from './common'

// OnCall stores a wait's duration as a Python timedelta chosen from a list: it reads a number of seconds (or a
// "H:MM:SS" string) as a timedelta and compares the timedelta's text with the choices', so its refusals quote
// that text ("0:02:00" is not a valid choice.).

// Python's timedelta bound: anything larger overflows.
const MAX_TIMEDELTA_DAYS = 999_999_999

/** `str(timedelta(seconds=value))`, or undefined where Python would overflow. */
export function timedeltaText(seconds: number): string | undefined {
  if (!Number.isFinite(seconds)) return undefined
  // Exact integer arithmetic in microseconds: JSON numbers can be far beyond 2^53 microseconds.
  const whole = Math.trunc(seconds)
  const micros = BigInt(whole) * 1_000_000n + BigInt(Math.round((seconds - whole) * 1e6))
  const microsPerDay = 86_400_000_000n
  let days = micros / microsPerDay
  if (micros % microsPerDay < 0n) days -= 1n
  if (days > BigInt(MAX_TIMEDELTA_DAYS) || days < -BigInt(MAX_TIMEDELTA_DAYS)) return undefined
  const rest = micros - days * microsPerDay
  const fraction = Number(rest % 1_000_000n)
  const clockSeconds = Number(rest / 1_000_000n)
  const two = (n: number) => String(n).padStart(2, '0')
  const clock = `${Math.floor(clockSeconds / 3600)}:${two(Math.floor(clockSeconds / 60) % 60)}:${two(clockSeconds % 60)}`
  const dayPart = days === 0n ? '' : `${days} day${days === 1n || days === -1n ? '' : 's'}, `
  return `${dayPart}${clock}${fraction === 0 ? '' : `.${String(fraction).padStart(6, '0')}`}`
}

// time.strptime(value, "%H:%M:%S"): one or two digits each, hours to 23, minutes to 59, seconds to 61.
const CLOCK = /^(2[0-3]|[01][0-9]|[0-9]):([0-5][0-9]|[0-9]):(6[01]|[0-5][0-9]|[0-9])$/

/**
 * The text OnCall compares with the allowed durations: a clock string as sent, a number (a boolean counts as one,
 * as in Python) as its timedelta. Undefined for anything else: OnCall's "Invalid duration format".
 */
export function durationText(raw: unknown): string | undefined {
  if (typeof raw === 'string') return CLOCK.test(raw) ? raw : undefined
  if (typeof raw === 'boolean') return timedeltaText(Number(raw))
  if (typeof raw === 'number') return timedeltaText(raw)
  return undefined
}

const secondsOfText = new Map<string, number>(WAIT_DURATIONS_SECONDS.map((seconds) => [timedeltaText(seconds) as string, seconds]))

/** A duration the route has already found well-formed (see `durationText`): one of the choices, as seconds. */
const durationSchema = z
  .preprocess(
    (raw) => durationText(raw) ?? raw,
    z.string().superRefine((text, ctx) => {
      // DRF's ChoiceField quotes the text it compared, not the number sent.
      if (!secondsOfText.has(text)) ctx.addIssue({ code: 'custom', message: `"${text}" is not a valid choice.` })
    }),
  )
  .transform((text) => secondsOfText.get(text) as number)

// DRF's CharField: numbers are read as their text, surrounding spaces trimmed, blank refused.
const charField = z.preprocess((raw) => (typeof raw === 'number' ? String(raw) : raw), plainString().trim().min(1))

const position = z.int({ error: 'A valid integer is required.' })

/**
 * The fields of an update, all optional. `type` is checked against the rule types by the handler (OnCall answers
 * `{"type": "Invalid type"}`, a bare string); `user_id` and `important` are read-only and ignored.
 */
export const ruleChangeSchema = z.object({
  position: position.optional(),
  manual_order: drfBoolean.optional(),
  type: charField.optional(),
  duration: durationSchema.optional(),
})

/**
 * The fields of a create. `user_id` is required (any value names a user or none: OnCall answers
 * `{"detail": "User does not exist"}`, checked by the handler before the other fields' errors); a missing `type` is
 * OnCall's `{"type": "Type is required"}`, after the field errors.
 */
export const newRuleSchema = ruleChangeSchema.extend({
  user_id: z.preprocess((raw) => (raw === null || raw === undefined || typeof raw === 'string' ? raw : JSON.stringify(raw)), plainString().trim().min(1)),
  important: drfBoolean.optional(),
})

export type NewRuleRequest = z.infer<typeof newRuleSchema>
export type RuleChangeRequest = z.infer<typeof ruleChangeSchema>

/** The `important` filter: exactly `true` or `false` (anything else is OnCall's `Important is not bool`). */
export const importantFilter = z.enum(['true', 'false']).optional()

/** The list's filters (which OnCall's detail routes apply too): a user of the organization, one of the lists. */
export const listRulesQuery = z.object({ user_id: z.string().optional(), important: importantFilter })
