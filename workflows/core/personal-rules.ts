import type { LifecycleState } from './lifecycle'

// A user's personal notification rules (OnCall's user notification policies): what each rule type is, the plan a
// page runs for one user, and when that user's chain must stop. Pure: the workflow and the API both use it.

/** Where a notification rule sends; `null` for a wait. Declared once, read by the API schema and the engine. */
export const notificationRuleTypes = {
  wait: { channel: null },
  notify_by_slack: { channel: 'slack' },
  notify_by_sms: { channel: 'sms' },
  notify_by_phone_call: { channel: 'voice' },
  notify_by_telegram: { channel: 'telegram' },
  notify_by_email: { channel: 'email' },
  notify_by_mobile_app: { channel: 'mobile_app' },
  notify_by_mobile_app_critical: { channel: 'mobile_app' },
  notify_by_msteams: { channel: 'msteams' },
  notify_by_webhook: { channel: 'webhook' },
} as const satisfies Record<string, { readonly channel: string | null }>

export type NotificationRuleType = keyof typeof notificationRuleTypes
export type NotifyRuleType = Exclude<NotificationRuleType, 'wait'>
export type ChannelKind = NonNullable<(typeof notificationRuleTypes)[NotificationRuleType]['channel']>

export const NOTIFICATION_RULE_TYPES = Object.keys(notificationRuleTypes) as NotificationRuleType[]

/** OnCall's allowed wait durations, in seconds; a wait created without one waits 5 minutes. */
export const WAIT_DURATIONS_SECONDS = [60, 300, 900, 1800, 3600] as const
export const DEFAULT_WAIT_SECONDS = 300

/** One stored rule, as the engine reads it. */
export interface NotificationRule {
  readonly position: number
  readonly type: NotificationRuleType
  /** Seconds, for a wait only. */
  readonly durationSeconds: number | null
}

/** One stage of a user's chain: a durable wait, or one notification (an idempotent effect keyed by its position). */
export type PlanStage =
  | { readonly kind: 'wait'; readonly position: number; readonly seconds: number }
  | { readonly kind: 'notify'; readonly position: number; readonly type: NotifyRuleType; readonly fallback: boolean }

/**
 * The stages a page runs for one user, from their rules in order. An empty list falls back to one email, as OnCall
 * does; the important list never falls back to the default one.
 */
export function planOf(rules: readonly NotificationRule[]): PlanStage[] {
  if (rules.length === 0) return [{ kind: 'notify', position: 0, type: 'notify_by_email', fallback: true }]
  return [...rules]
    .sort((a, b) => a.position - b.position)
    .map((rule) =>
      rule.type === 'wait'
        ? { kind: 'wait', position: rule.position, seconds: rule.durationSeconds ?? DEFAULT_WAIT_SECONDS }
        : { kind: 'notify', position: rule.position, type: rule.type, fallback: false },
    )
}

/** How a user came to be paged: an escalation step, or a direct page (which outlives someone else's ack). */
export interface PersonalChain {
  readonly userId: string
  readonly direct: boolean
  /** ISO instant the chain started. */
  readonly startedAt: string
}

/** Why a user's chain stops before its next rule. */
export type ChainStop = 'resolved' | 'acknowledged' | 'silenced'

/**
 * Why a user's chain may not run its next rule, or null; checked before every rule. Nothing runs once the group is
 * resolved; an escalation's page stops at an acknowledgement or a silence; a direct page goes on until the paged
 * user themself acknowledges after being paged (OnCall's notify_even_acknowledged and notify_anyway).
 */
export function chainStop(lifecycle: LifecycleState, chain: PersonalChain): ChainStop | null {
  if (lifecycle.resolvedAt !== null) return 'resolved'
  if (!chain.direct) {
    if (lifecycle.acknowledgedAt !== null) return 'acknowledged'
    return lifecycle.silencedAt !== null ? 'silenced' : null
  }
  const by = lifecycle.acknowledgedBy
  const ackedByThem = lifecycle.acknowledgedAt !== null && by?.kind === 'user' && by.userId === chain.userId
  return ackedByThem && Date.parse(lifecycle.acknowledgedAt as string) >= Date.parse(chain.startedAt) ? 'acknowledged' : null
}
