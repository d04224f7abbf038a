import { z } from 'zod'
import { drfBoolean, plainString } from './common'

/** Every public step type of the newest seed (001); 002's older list is a subset. */
export const stepTypes = [
  'wait',
  'notify_persons',
  'notify_person_next_each_time',
  'notify_on_call_from_schedule',
  'notify_next_on_call_from_schedule',
  'notify_user_group',
  'notify_team_members',
  'trigger_webhook',
  'resolve',
  'notify_whole_channel',
  'notify_if_time_from_to',
  'notify_if_num_alerts_in_window',
  'repeat_escalation',
  'declare_incident',
] as const
export type StepType = (typeof stepTypes)[number]

/** The types whose "important" twin OnCall exposes as `important` (plus the IRM schedule-lookahead step). */
export const importantTypes: ReadonlySet<StepType> = new Set([
  'notify_persons',
  'notify_person_next_each_time',
  'notify_on_call_from_schedule',
  'notify_next_on_call_from_schedule',
  'notify_team_members',
  'notify_user_group',
])

/** The type-specific response keys, in OnCall's order; every other key is absent from the response. */
export const fieldsOfType: Record<StepType, readonly string[]> = {
  wait: ['duration'],
  notify_persons: ['important', 'persons_to_notify'],
  notify_person_next_each_time: ['important', 'persons_to_notify_next_each_time'],
  notify_on_call_from_schedule: ['important', 'notify_on_call_from_schedule'],
  notify_next_on_call_from_schedule: ['important', 'notify_on_call_from_schedule'],
  notify_user_group: ['important', 'group_to_notify'],
  notify_team_members: ['important', 'team_to_notify'],
  trigger_webhook: ['action_to_trigger'],
  resolve: [],
  notify_whole_channel: [],
  notify_if_time_from_to: ['notify_if_time_from', 'notify_if_time_to'],
  notify_if_num_alerts_in_window: ['num_alerts_in_window', 'num_minutes_in_window'],
  repeat_escalation: [],
  declare_incident: ['severity'],
}

export const MIN_WAIT_SECONDS = 60
export const MAX_WAIT_SECONDS = 86400

// DRF prints the DurationField bounds as Python timedeltas.
const durationSchema = z
  .number({ error: 'A valid number is required.' })
  .refine(Number.isFinite, { message: 'A valid number is required.' })
  .transform(Math.trunc)
  .refine((v) => v >= MIN_WAIT_SECONDS, { message: 'Ensure this value is greater than or equal to 0:01:00.' })
  .refine((v) => v <= MAX_WAIT_SECONDS, { message: 'Ensure this value is less than or equal to 1 day, 0:00:00.' })

// DRF's FloatField also reads numeric strings.
const numericStringToNumber = (value: unknown) =>
  typeof value === 'string' && /^\s*-?\d+(\.\d+)?\s*$/.test(value) ? Number(value) : value

const utcTime = z
  .string({ error: 'Time has wrong format. Use one of these formats instead: hh:mm:ssZ.' })
  .regex(/^([01]\d|2[0-3]):[0-5]\d:[0-5]\dZ$/, { message: 'Time has wrong format. Use one of these formats instead: hh:mm:ssZ.' })

const reference = plainString().max(20)
const count = z.int({ error: 'A valid integer is required.' }).min(0).max(2147483647)

/**
 * Every writable field of a policy, all optional; which ones apply depends on `type`, and the handler keeps only
 * those. `type` itself is checked by the handler, because OnCall answers an unknown type with a top-level detail.
 */
export const policyFieldsSchema = z.object({
  escalation_chain_id: reference.optional(),
  type: z.unknown().optional(),
  position: z.int({ error: 'A valid integer is required.' }).optional(),
  manual_order: drfBoolean.optional(),
  important: drfBoolean.optional(),
  duration: z.preprocess(numericStringToNumber, durationSchema.nullable()).optional(),
  persons_to_notify: z.array(reference).max(1000).nullable().optional(),
  persons_to_notify_next_each_time: z.array(reference).max(1000).nullable().optional(),
  notify_on_call_from_schedule: reference.nullable().optional(),
  group_to_notify: reference.nullable().optional(),
  team_to_notify: reference.nullable().optional(),
  action_to_trigger: reference.nullable().optional(),
  notify_if_time_from: utcTime.nullable().optional(),
  notify_if_time_to: utcTime.nullable().optional(),
  num_alerts_in_window: count.nullable().optional(),
  num_minutes_in_window: count.nullable().optional(),
  severity: plainString().trim().min(1).max(100).optional(),
})

export type PolicyFieldsRequest = z.infer<typeof policyFieldsSchema>
