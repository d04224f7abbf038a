import type { Actor } from './types'

/** The alert-group facts OnCall's transition table is defined on. Instants are ISO strings. */
export interface LifecycleState {
  readonly acknowledgedAt: string | null
  readonly acknowledgedBy: Actor | null
  readonly resolvedAt: string | null
  readonly resolvedBy: Actor | null
  readonly silencedAt: string | null
  /** ISO instant when a timed silence ends; null for none or for "forever". */
  readonly silencedUntil: string | null
  /**
   * How a resolved escalation ended when it was not simply resolved: cancelled (incident.io's cancel) or expired
   * (the program ran out with nobody acknowledging). Absent in states recorded before it existed.
   */
  readonly resolution?: Resolution | null
}

export type Resolution = 'cancelled' | 'expired'

export type LifecycleAction = 'acknowledge' | 'unacknowledge' | 'resolve' | 'unresolve' | 'silence' | 'unsilence' | 'cancel' | 'expire'

export type PublicState = 'firing' | 'acknowledged' | 'resolved' | 'silenced'

export const initialLifecycle: LifecycleState = Object.freeze({
  acknowledgedAt: null,
  acknowledgedBy: null,
  resolvedAt: null,
  resolvedBy: null,
  silencedAt: null,
  silencedUntil: null,
  resolution: null,
})

/** OnCall's precedence: resolved > acknowledged > silenced > firing. */
export function publicState(state: LifecycleState): PublicState {
  if (state.resolvedAt !== null) return 'resolved'
  if (state.acknowledgedAt !== null) return 'acknowledged'
  if (state.silencedAt !== null) return 'silenced'
  return 'firing'
}

/**
 * Why an action is refused, as a closed set of codes about the group's state; each surface words them in its own
 * dialect. `action` is the refused action, which the wording names.
 */
export type RefusalCode =
  | 'acknowledged'
  | 'not_acknowledged'
  | 'resolved'
  | 'not_resolved'
  | 'not_silenced'
  | 'maintenance'
  | 'invalid_delay'
  /** Unresolve reached a run that is still ending: the caller may retry. */
  | 'still_finishing'
  /** The escalation ran out with nobody acknowledging; it is over. */
  | 'expired'
  /** The escalation was cancelled; it is over. */
  | 'cancelled'

export type RefusedAction = LifecycleAction | 'add_responders' | 'escalate_now'

export interface Refusal {
  readonly code: RefusalCode
  readonly action: RefusedAction
}

/**
 * Why OnCall's transition table refuses `action` in `state` (checked in its order), or null when allowed.
 * A maintenance group can be resolved (ending the maintenance) but not acknowledged or un-acted on.
 * Attached groups do not exist in Tocsin, so their refusals cannot arise.
 */
export function refusal(state: LifecycleState, action: LifecycleAction, group: { maintenance?: boolean } = {}): Refusal | null {
  const code = refusalCode(state, action, group.maintenance === true)
  return code === null ? null : { code, action }
}

function refusalCode(state: LifecycleState, action: LifecycleAction, maintenance: boolean): RefusalCode | null {
  const acked = state.acknowledgedAt !== null
  const resolved = state.resolvedAt !== null
  const silenced = state.silencedAt !== null
  const expired = state.resolution === 'expired'
  switch (action) {
    case 'acknowledge':
      if (acked) return 'acknowledged'
      if (expired) return 'expired'
      if (resolved) return 'resolved'
      if (maintenance) return 'maintenance'
      return null
    case 'unacknowledge':
      if (!acked) return 'not_acknowledged'
      if (resolved) return 'resolved'
      if (maintenance) return 'maintenance'
      return null
    case 'resolve':
      if (resolved) return 'resolved'
      return null
    case 'unresolve':
      if (!resolved) return 'not_resolved'
      if (maintenance) return 'maintenance'
      return null
    case 'silence':
      if (resolved) return 'resolved'
      if (acked) return 'acknowledged'
      return null
    case 'unsilence':
      if (!silenced) return 'not_silenced'
      if (resolved) return 'resolved'
      if (acked) return 'acknowledged'
      return null
    // Cancelling a cancelled escalation is allowed and changes nothing (see `isNoOp`).
    case 'cancel':
      if (expired) return 'expired'
      if (resolved && state.resolution !== 'cancelled') return 'resolved'
      return null
    case 'expire':
      if (resolved) return 'resolved'
      if (acked) return 'acknowledged'
      return null
  }
}

/** An allowed action that leaves the state as it is (cancelling a cancelled escalation): nothing is recorded. */
export function isNoOp(state: LifecycleState, action: LifecycleAction): boolean {
  return action === 'cancel' && state.resolution === 'cancelled'
}

/** Why a nack cannot move the escalation on: it is acknowledged or over. */
export function escalateNowRefusal(state: LifecycleState): Refusal | null {
  if (state.resolution === 'expired') return { code: 'expired', action: 'escalate_now' }
  if (state.resolvedAt !== null) return { code: 'resolved', action: 'escalate_now' }
  if (state.acknowledgedAt !== null) return { code: 'acknowledged', action: 'escalate_now' }
  return null
}

export interface AppliedAction {
  readonly action: LifecycleAction
  readonly actor: Actor
  /** ISO instant. */
  readonly at: string
  /** For silence: seconds, with -1 (and 0) meaning forever. */
  readonly delaySeconds?: number
}

/** The state after an allowed action, with OnCall's side effects (unresolve unacks, unack unsilences). */
export function applyAction(state: LifecycleState, applied: AppliedAction): LifecycleState {
  const { action, actor, at } = applied
  switch (action) {
    case 'acknowledge':
      return { ...state, acknowledgedAt: at, acknowledgedBy: actor, silencedAt: null, silencedUntil: null }
    case 'unacknowledge':
      return { ...state, acknowledgedAt: null, acknowledgedBy: null, silencedAt: null, silencedUntil: null }
    case 'resolve':
      return { ...state, resolvedAt: at, resolvedBy: actor }
    case 'unresolve':
      return { ...initialLifecycle }
    case 'silence': {
      const delay = applied.delaySeconds ?? -1
      const until = delay > 0 ? new Date(Date.parse(at) + delay * 1000).toISOString() : null
      return { ...state, silencedAt: at, silencedUntil: until }
    }
    case 'unsilence':
      return { ...state, silencedAt: null, silencedUntil: null }
    case 'cancel':
      return { ...state, resolvedAt: at, resolvedBy: actor, resolution: 'cancelled' }
    case 'expire':
      return { ...state, resolvedAt: at, resolvedBy: actor, resolution: 'expired' }
  }
}
