import { unreachable } from '../core/program'

// The registry of OnCall's escalation step types: every type is declared here once, with the settings it uses and
// its domain rules. compile.ts turns each type into the engine's program nodes with an exhaustive switch, so a type
// added here and not compiled there fails to compile.

/** A step's settings as the engine reads them, frozen in the snapshot when an escalation (re)starts. */
export interface StepSettings {
  readonly important: boolean
  /** wait: seconds (the API enforces `WAIT_BOUNDS`; tests may use less). */
  readonly durationSeconds: number | null
  /** notify_persons and the round-robin queue, in order. */
  readonly userIds: readonly string[]
  readonly scheduleId: string | null
  readonly teamId: string | null
  readonly userGroupId: string | null
  readonly webhookId: string | null
  /** notify_if_time_from_to, `HH:MM:SSZ` (UTC). */
  readonly timeFrom: string | null
  readonly timeTo: string | null
  readonly numAlertsInWindow: number | null
  readonly numMinutesInWindow: number | null
  readonly severity: string | null
}

/** The settings a type can use besides `important`, which `hasImportantVariant` governs. */
export type StepField = Exclude<keyof StepSettings, 'important'>

export interface StepDefinition {
  /** The settings this type reads; a type change keeps these and clears every other. */
  readonly fields: readonly StepField[]
  /** The type has an "important" twin (OnCall's `_important` types): pages use the user's important rules. */
  readonly hasImportantVariant: boolean
}

/** Wait durations the configuration accepts (OnCall's DurationField bounds). */
export const WAIT_BOUNDS = { minSeconds: 60, maxSeconds: 86_400 } as const
/** How often one repeat step may send the chain back to the top (OnCall's limit). */
export const MAX_REPEATS_PER_STEP = 5
/** The delay of a wait step with no duration configured (OnCall's default). */
export const DEFAULT_WAIT_SECONDS = 300
/** notify_next_on_call_from_schedule looks this far ahead for the next shift (Grafana IRM's window). */
export const NEXT_SHIFT_LOOKAHEAD_DAYS = 14

const notify = (field: StepField): StepDefinition => ({ fields: [field], hasImportantVariant: true })

/** OnCall's public step types (plus Grafana IRM's schedule lookahead), in OnCall's order. */
export const stepRegistry = {
  wait: { fields: ['durationSeconds'], hasImportantVariant: false },
  notify_persons: notify('userIds'),
  notify_person_next_each_time: notify('userIds'),
  notify_on_call_from_schedule: notify('scheduleId'),
  notify_next_on_call_from_schedule: notify('scheduleId'),
  notify_user_group: notify('userGroupId'),
  notify_team_members: notify('teamId'),
  trigger_webhook: { fields: ['webhookId'], hasImportantVariant: false },
  resolve: { fields: [], hasImportantVariant: false },
  notify_whole_channel: { fields: [], hasImportantVariant: false },
  notify_if_time_from_to: { fields: ['timeFrom', 'timeTo'], hasImportantVariant: false },
  notify_if_num_alerts_in_window: { fields: ['numAlertsInWindow', 'numMinutesInWindow'], hasImportantVariant: false },
  repeat_escalation: { fields: [], hasImportantVariant: false },
  declare_incident: { fields: ['severity'], hasImportantVariant: false },
} as const satisfies Record<string, StepDefinition>

export type StepType = keyof typeof stepRegistry

/** Every step type, in the registry's order. */
export const STEP_TYPES = Object.keys(stepRegistry) as [StepType, ...StepType[]]

export function isStepType(value: string): value is StepType {
  return Object.prototype.hasOwnProperty.call(stepRegistry, value)
}

/** The settings of a type with nothing configured. */
export function emptySettings(): StepSettings {
  return {
    important: false,
    durationSeconds: null,
    userIds: [],
    scheduleId: null,
    teamId: null,
    userGroupId: null,
    webhookId: null,
    timeFrom: null,
    timeTo: null,
    numAlertsInWindow: null,
    numMinutesInWindow: null,
    severity: null,
  }
}

/**
 * The settings after a step changes from `from` to `to`: fields both types use survive (a user list moves between
 * the two user-list types), every other is cleared, and importance survives only where both have the variant.
 */
export function settingsAfterTypeChange(settings: StepSettings, from: StepType, to: StepType): StepSettings {
  const kept = new Set<StepField>(stepRegistry[to].fields.filter((f) => (stepRegistry[from].fields as readonly StepField[]).includes(f)))
  const cleared = emptySettings()
  const next: Record<string, unknown> = { ...cleared }
  for (const field of kept) next[field] = settings[field]
  next.important = stepRegistry[from].hasImportantVariant && stepRegistry[to].hasImportantVariant ? settings.important : false
  return next as unknown as StepSettings
}

/** Keeps only the settings `type` uses: the rest are cleared, and importance only where the type has the variant. */
export function settingsOfType(type: StepType, settings: StepSettings): StepSettings {
  const next: Record<string, unknown> = { ...emptySettings() }
  for (const field of stepRegistry[type].fields) next[field] = settings[field]
  next.important = stepRegistry[type].hasImportantVariant ? settings.important : false
  return next as unknown as StepSettings
}

export { unreachable }

/** One policy as frozen when the escalation (re)starts; what it points to is read live when the step runs. */
export interface StepSnapshot extends StepSettings {
  readonly policyId: string
  readonly type: StepType
}

/** An escalation chain as frozen at (re)start, as OnCall snapshots it. */
export interface ChainSnapshot {
  readonly chainId: string
  readonly chainName: string
  readonly steps: readonly StepSnapshot[]
}
