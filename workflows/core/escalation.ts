import { windowOpensAt } from './time-window'
import { DEFAULT_WAIT_SECONDS, MAX_REPEATS_PER_STEP, unreachable } from './steps'
import type { ChainSnapshot, StepSnapshot } from './types'

// The escalation program: from (snapshot, state, now, alert times) decide which steps fire now, what they
// do, and when to wake up. Pure and deterministic; the workflow only carries the decision out.


/** Where a running escalation is. Carried across continue-as-new, so plain data only. */
export interface EscalationState {
  readonly snapshot: ChainSnapshot | null
  /** Index of the next step to run. */
  readonly nextIndex: number
  /** ISO instant the next step is due: deadlines chain from the (re)start, so lateness never accumulates. */
  readonly dueAt: string
  /** Times each repeat step (by index) has sent the chain back to the top. */
  readonly repeats: Readonly<Record<number, number>>
  /** Waiting at `nextIndex` (notify_if_num_alerts_in_window) until a new alert arrives. */
  readonly paused: boolean
  readonly finished: boolean
  /** Steps executed so far in this escalation: with the run's prefix, the idempotency key of each effect. */
  readonly executed: number
}

export type UserSource =
  | { readonly kind: 'users'; readonly userIds: readonly string[] }
  | { readonly kind: 'round_robin'; readonly policyId: string; readonly userIds: readonly string[] }
  | { readonly kind: 'schedule'; readonly scheduleId: string }
  | { readonly kind: 'next_shift'; readonly scheduleId: string }
  | { readonly kind: 'team'; readonly teamId: string }
  | { readonly kind: 'user_group'; readonly userGroupId: string }

/**
 * What a step asks the workflow to do; `stepKey` makes every effect idempotent per (escalation, step), `dueAt` is
 * the instant the step was due (what the lateness of its effect is measured against).
 */
export type Command = StepCommand & { readonly dueAt: string }

type StepCommand =
  | { readonly kind: 'notify'; readonly stepKey: string; readonly step: StepRef; readonly source: UserSource; readonly important: boolean }
  | { readonly kind: 'webhook'; readonly stepKey: string; readonly step: StepRef; readonly webhookId: string }
  | { readonly kind: 'notify_channel'; readonly stepKey: string; readonly step: StepRef }
  | { readonly kind: 'declare_incident'; readonly stepKey: string; readonly step: StepRef; readonly severity: string }
  | { readonly kind: 'resolve'; readonly stepKey: string; readonly step: StepRef }
  | { readonly kind: 'log'; readonly stepKey: string; readonly step: StepRef | null; readonly event: TimelineKind; readonly detail: Readonly<Record<string, unknown>> }

export interface StepRef {
  readonly index: number
  readonly policyId: string
  readonly type: StepSnapshot['type']
}

export type TimelineKind =
  | 'step_triggered'
  | 'step_skipped'
  | 'escalation_paused'
  | 'escalation_waiting'
  | 'escalation_repeated'
  | 'escalation_finished'

export interface Decision {
  readonly state: EscalationState
  readonly commands: readonly Command[]
  /** ISO instant to wake up at (a wait or a time window), or null: finished, or paused until an alert. */
  readonly wakeAt: string | null
}

/** A fresh escalation over `snapshot`, starting at `now`. */
export function startEscalation(snapshot: ChainSnapshot | null, now: Date): EscalationState {
  return {
    snapshot,
    nextIndex: 0,
    dueAt: now.toISOString(),
    repeats: {},
    paused: false,
    finished: snapshot === null,
    executed: 0,
  }
}

/**
 * A restart (un-ack, unsilence, end of a silence, unresolve) takes a fresh snapshot and starts from step 1,
 * except a paused escalation, which resumes at its paused step (OnCall's start_escalation_if_needed).
 */
export function restartEscalation(previous: EscalationState, freshSnapshot: ChainSnapshot | null, now: Date): EscalationState {
  if (previous.paused && !previous.finished) return { ...previous, dueAt: now.toISOString() }
  return { ...startEscalation(freshSnapshot, now), executed: previous.executed }
}

/** Alert arrival instants (ISO), oldest first; only the newest ones matter for any window. */
export type AlertTimes = readonly string[]

/** Counts alerts no older than `minutes` before the newest alert (OnCall anchors on the newest, not on now). */
export function alertsInWindow(alertTimes: AlertTimes, minutes: number): number {
  const newest = alertTimes[alertTimes.length - 1]
  if (newest === undefined) return 0
  const from = Date.parse(newest) - minutes * 60_000
  return alertTimes.filter((t) => Date.parse(t) >= from).length
}

/** Runs every step that is due at `now`, in order, until a wait, a window, a pause or the end. */
export function decide(state: EscalationState, now: Date, alertTimes: AlertTimes, keyPrefix: string): Decision {
  const commands: Command[] = []
  const steps = state.snapshot?.steps ?? []
  let { nextIndex, executed } = state
  let due = Date.parse(state.dueAt)
  const emit = (command: StepCommand) => commands.push({ ...command, dueAt: new Date(due).toISOString() })
  const repeats: Record<number, number> = { ...state.repeats }
  let paused = false
  const nowMs = now.getTime()

  const finish = (): Decision => {
    emit({ kind: 'log', stepKey: `${keyPrefix}:finished`, step: null, event: 'escalation_finished', detail: {} })
    return { state: { ...state, nextIndex, dueAt: new Date(due).toISOString(), repeats, paused: false, finished: true, executed }, commands, wakeAt: null }
  }
  if (state.finished) return { state, commands, wakeAt: null }

  // Each pass through the loop executes one step; repeats are bounded, so this terminates.
  for (;;) {
    if (due > nowMs) {
      return { state: { ...state, nextIndex, dueAt: new Date(due).toISOString(), repeats, paused, executed }, commands, wakeAt: new Date(due).toISOString() }
    }
    const step = steps[nextIndex]
    if (!step) return finish()
    const ref: StepRef = { index: nextIndex, policyId: step.policyId, type: step.type }
    const stepKey = `${keyPrefix}:${executed}`
    const log = (event: TimelineKind, detail: Record<string, unknown> = {}) =>
      emit({ kind: 'log', stepKey, step: ref, event, detail })
    const skip = (reason: string) => log('step_skipped', { reason })
    executed += 1
    nextIndex += 1

    switch (step.type) {
      case 'wait': {
        const seconds = step.durationSeconds ?? DEFAULT_WAIT_SECONDS
        if (step.durationSeconds === null) skip('wait step is not configured: default delay is 5 minutes')
        else log('step_triggered', { duration: seconds })
        due += seconds * 1000
        break
      }
      case 'notify_persons':
        if (step.userIds.length === 0) skip('no users to notify')
        else emit({ kind: 'notify', stepKey, step: ref, source: { kind: 'users', userIds: step.userIds }, important: step.important })
        break
      case 'notify_person_next_each_time':
        if (step.userIds.length === 0) skip('the round-robin queue has no users')
        else {
          const source: UserSource = { kind: 'round_robin', policyId: step.policyId, userIds: step.userIds }
          emit({ kind: 'notify', stepKey, step: ref, source, important: step.important })
        }
        break
      case 'notify_on_call_from_schedule':
      case 'notify_next_on_call_from_schedule':
        if (step.scheduleId === null) skip('no schedule is configured')
        else {
          const kind = step.type === 'notify_on_call_from_schedule' ? 'schedule' : 'next_shift'
          emit({ kind: 'notify', stepKey, step: ref, source: { kind, scheduleId: step.scheduleId }, important: step.important })
        }
        break
      case 'notify_team_members':
        if (step.teamId === null) skip('no team is configured')
        else emit({ kind: 'notify', stepKey, step: ref, source: { kind: 'team', teamId: step.teamId }, important: step.important })
        break
      case 'notify_user_group':
        if (step.userGroupId === null) skip('no user group is configured')
        else {
          const source: UserSource = { kind: 'user_group', userGroupId: step.userGroupId }
          emit({ kind: 'notify', stepKey, step: ref, source, important: step.important })
        }
        break
      case 'trigger_webhook':
        if (step.webhookId === null) skip('no webhook is configured')
        else emit({ kind: 'webhook', stepKey, step: ref, webhookId: step.webhookId })
        break
      case 'notify_whole_channel':
        emit({ kind: 'notify_channel', stepKey, step: ref })
        break
      case 'declare_incident':
        emit({ kind: 'declare_incident', stepKey, step: ref, severity: step.severity ?? 'pending' })
        break
      case 'resolve':
        emit({ kind: 'resolve', stepKey, step: ref })
        return finish()
      case 'notify_if_time_from_to': {
        if (step.timeFrom === null || step.timeTo === null) {
          skip('the time window is not configured')
          break
        }
        // The window is judged at the later of the due time and now: a late wake-up never skips it.
        const judgedAt = new Date(Math.max(due, nowMs))
        const opens = windowOpensAt(judgedAt, step.timeFrom, step.timeTo)
        if (opens === null) log('step_triggered', { inside_window: true })
        else {
          log('escalation_waiting', { until: opens.toISOString(), from: step.timeFrom, to: step.timeTo })
          due = opens.getTime()
        }
        break
      }
      case 'notify_if_num_alerts_in_window': {
        if (step.numAlertsInWindow === null || step.numMinutesInWindow === null) {
          skip('the alert-count window is not configured')
          break
        }
        const count = alertsInWindow(alertTimes, step.numMinutesInWindow)
        if (count > step.numAlertsInWindow) {
          log('step_triggered', { alerts_in_window: count })
          break
        }
        // Paused on this very step: only a new alert (or a restart) re-evaluates it; no timer.
        if (!state.paused || state.nextIndex !== ref.index) {
          log('escalation_paused', { alerts_in_window: count, needed_more_than: step.numAlertsInWindow, minutes: step.numMinutesInWindow })
        }
        executed -= 1
        nextIndex = ref.index
        paused = true
        return { state: { ...state, nextIndex, dueAt: new Date(due).toISOString(), repeats, paused, executed }, commands, wakeAt: null }
      }
      case 'repeat_escalation': {
        const done = repeats[ref.index] ?? 0
        if (done < MAX_REPEATS_PER_STEP) {
          repeats[ref.index] = done + 1
          log('escalation_repeated', { repeat: done + 1, of: MAX_REPEATS_PER_STEP })
          nextIndex = 0
        }
        break
      }
      default:
        return unreachable(step.type)
    }
  }
}

/** The escalation after a new alert: a paused escalation becomes due at once; others are unaffected. */
export function onNewAlert(state: EscalationState, now: Date): EscalationState {
  return state.paused && !state.finished ? { ...state, dueAt: now.toISOString() } : state
}
