// incident.io's escalation path, as Tocsin stores it and compiles it: the validated request body of
// POST/PUT /v2/escalation_paths (snake_case, as on the wire). Plain data; the API's zod schemas produce exactly
// these types, and compile.ts turns a path into the engine's program.

/** A weekday interval in the path's working hours: `HH:MM` local times in the set's zone, start before end. */
export interface WeekdayInterval {
  readonly weekday: 'monday' | 'tuesday' | 'wednesday' | 'thursday' | 'friday' | 'saturday' | 'sunday'
  readonly start_time: string
  readonly end_time: string
}

/** A named weekly interval set in an IANA zone (incident.io's WeekdayIntervalConfig). */
export interface WorkingHours {
  readonly id: string
  readonly name: string
  readonly timezone: string
  readonly weekday_intervals: readonly WeekdayInterval[]
}

export type TargetType = 'user' | 'schedule' | 'slack_channel' | 'msteams_channel'

export interface PathTarget {
  readonly id: string
  readonly type: TargetType
  readonly urgency: 'high' | 'low'
  /** Schedule targets: who of the schedule is paged; "" and absent mean `currently_on_call`. */
  readonly schedule_mode?: 'currently_on_call' | 'next_on_call' | ''
}

/** A value in a condition's bindings: a literal, as incident.io's engine binds it. */
export interface BindingValue {
  readonly literal?: string
  readonly reference?: string
}

export interface ParamBinding {
  readonly value?: BindingValue
  readonly array_value?: readonly BindingValue[]
}

/**
 * An if_else condition, as incident.io's request payload writes it. Tocsin understands two subjects:
 * `escalation.working_hours["<working hours id>"]` with `is_active` / `is_not_active` (no bindings), and
 * `escalation.priority` with `one_of` / `not_in` (an array of priority names) or `is` / `is_not` (one name).
 */
export interface PathCondition {
  readonly subject: string
  readonly operation: string
  readonly param_bindings: readonly ParamBinding[]
}

export interface LevelNode {
  readonly targets: readonly PathTarget[]
  /** Seconds to wait for an acknowledgement before the next node, counted from when the level fired. */
  readonly time_to_ack_seconds?: number
  /** `first` and `all` behave alike in Tocsin: any acknowledgement stops the whole escalation. */
  readonly ack_mode?: 'all' | 'first'
  /** Round robin: page one of the level's users per escalation, rotating across escalations of this path. */
  readonly round_robin_config?: { readonly enabled: boolean }
}

export interface NotifyChannelNode {
  readonly targets: readonly PathTarget[]
  readonly time_to_ack_seconds?: number
}

export interface DelayNode {
  readonly delay_seconds: number
}

export interface RepeatNode {
  /** How many times to go back to `to_node` (1..100). */
  readonly repeat_times: number
  /** The id of a node before this one (on this node's branch or an enclosing one). */
  readonly to_node: string
}

export interface IfElseNode {
  /** All must hold for `then_path`. */
  readonly conditions: readonly PathCondition[]
  readonly then_path: readonly PathNode[]
  readonly else_path: readonly PathNode[]
}

export type PathNode =
  | { readonly id: string; readonly type: 'level'; readonly level: LevelNode }
  | { readonly id: string; readonly type: 'notify_channel'; readonly notify_channel: NotifyChannelNode }
  | { readonly id: string; readonly type: 'delay'; readonly delay: DelayNode }
  | { readonly id: string; readonly type: 'repeat'; readonly repeat: RepeatNode }
  | { readonly id: string; readonly type: 'if_else'; readonly if_else: IfElseNode }

export type PathNodeType = PathNode['type']

/** A stored escalation path, as the engine needs it. */
export interface EscalationPathDefinition {
  readonly id: string
  readonly name: string
  readonly path: readonly PathNode[]
  readonly working_hours: readonly WorkingHours[]
}

/** What a condition means once understood; `null` from `conditionMeaning` when Tocsin does not understand it. */
export type ConditionMeaning =
  | { readonly kind: 'working_hours'; readonly workingHoursId: string; readonly active: boolean }
  | { readonly kind: 'priority'; readonly names: readonly string[]; readonly negated: boolean }

const WORKING_HOURS_SUBJECT = /^escalation\.working_hours\["([^"\\]+)"\]$/

function literals(bindings: readonly ParamBinding[]): string[] | null {
  const values: string[] = []
  for (const binding of bindings) {
    for (const v of [...(binding.value ? [binding.value] : []), ...(binding.array_value ?? [])]) {
      if (typeof v.literal !== 'string') return null
      values.push(v.literal)
    }
  }
  return values
}

/**
 * Reads a condition, or explains why it cannot be read. Used by the API to validate paths (the reason becomes a
 * 422) and by the compiler, so a stored path always compiles.
 */
export function conditionMeaning(condition: PathCondition): ConditionMeaning | { readonly problem: string } {
  const hours = WORKING_HOURS_SUBJECT.exec(condition.subject)
  if (hours) {
    if (condition.operation !== 'is_active' && condition.operation !== 'is_not_active') {
      return { problem: `working hours conditions take the operation is_active or is_not_active, not ${condition.operation}` }
    }
    if (condition.param_bindings.length > 0) return { problem: 'working hours conditions take no param_bindings' }
    return { kind: 'working_hours', workingHoursId: hours[1] as string, active: condition.operation === 'is_active' }
  }
  if (condition.subject === 'escalation.priority') {
    const names = literals(condition.param_bindings)
    if (names === null || names.length === 0) return { problem: 'priority conditions need literal priority names in param_bindings' }
    switch (condition.operation) {
      case 'one_of':
      case 'is':
        return { kind: 'priority', names, negated: false }
      case 'not_in':
      case 'is_not':
        return { kind: 'priority', names, negated: true }
      default:
        return { problem: `priority conditions take the operation one_of, not_in, is or is_not, not ${condition.operation}` }
    }
  }
  return { problem: `unknown condition subject ${condition.subject}: use escalation.working_hours["<id>"] or escalation.priority` }
}

/** The priority a path escalation gets when the request names none (incident.io uses the account's default). */
export const DEFAULT_PRIORITY = 'P1'

/** incident.io's bound on how deeply if_else nodes nest (its Terraform provider's limit). */
export const MAX_IF_ELSE_DEPTH = 4
/** Bounds of a repeat node's count. */
export const REPEAT_TIMES_BOUNDS = { min: 1, max: 100 } as const
