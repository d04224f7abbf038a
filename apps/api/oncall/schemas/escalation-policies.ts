import { z } from 'zod'
import { STEP_TYPES, WAIT_BOUNDS, type StepField, type StepType } from '../../../../workflows/oncall/steps'
import { drfBoolean, plainString } from './common'

/** Every public step type Grafana IRM documents; OnCall OSS's older list is a subset. */
export const stepTypes = STEP_TYPES

/** OnCall's wire key of each step setting; the round-robin queue has a key of its own. */
const wireKeyOfField: Record<StepField, string> = {
  durationSeconds: 'duration',
  userIds: 'persons_to_notify',
  scheduleId: 'notify_on_call_from_schedule',
  teamId: 'team_to_notify',
  userGroupId: 'group_to_notify',
  webhookId: 'action_to_trigger',
  timeFrom: 'notify_if_time_from',
  timeTo: 'notify_if_time_to',
  numAlertsInWindow: 'num_alerts_in_window',
  numMinutesInWindow: 'num_minutes_in_window',
  severity: 'severity',
}

export function wireKeyOf(type: StepType, field: StepField): string {
  return field === 'userIds' && type === 'notify_person_next_each_time' ? 'persons_to_notify_next_each_time' : wireKeyOfField[field]
}


// DRF prints the DurationField bounds as Python timedeltas.
const durationSchema = z
  .number({ error: 'A valid number is required.' })
  .refine(Number.isFinite, { message: 'A valid number is required.' })
  .transform(Math.trunc)
  .refine((v) => v >= WAIT_BOUNDS.minSeconds, { message: 'Ensure this value is greater than or equal to 0:01:00.' })
  .refine((v) => v <= WAIT_BOUNDS.maxSeconds, { message: 'Ensure this value is less than or equal to 1 day, 0:00:00.' })

// DRF's FloatField also reads numeric strings.
const numericStringToNumber = (value: unknown) =>
  typeof value === 'string' && /^\s*-?\d+(\.\d+)?\s*$/.test(value) ? Number(value) : value

const utcTime = z
  .string({ error: 'Time has wrong format. Use one of these formats instead: hh:mm:ssZ.' })
  .regex(/^([01]\d|2[0-3]):[0-5]\d:[0-5]\dZ$/, { message: 'Time has wrong format. Use one of these formats instead: hh:mm:ssZ.' })

const reference = plainString().max(20)
const count = z.int({ error: 'A valid integer is required.' }).min(0).max(2147483647)

/**
 * Every writable field of a policy, all optional; which ones apply depends on `type`, and the service keeps only
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
