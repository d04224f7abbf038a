import { describeLocal, isWithinHours } from './working-hours'
import { unreachable, type ChannelTarget, type Condition, type EscalationProgram, type NodeRef, type PageTarget, type UserSource } from './program'
import { windowOpensAt } from './time-window'

// The decision: from (program, state, now, alert times) decide which nodes fire now, what they do, and when to
// wake up. Pure and deterministic; the workflow only carries the decision out.

/** Where a running escalation is. Carried across continue-as-new, so plain data only. */
export interface EscalationState {
  readonly program: EscalationProgram | null
  /** Index of the next node to run. */
  readonly nextIndex: number
  /** ISO instant the next node is due: deadlines chain from the (re)start, so lateness never accumulates. */
  readonly dueAt: string
  /** Times each repeat node (by index) has sent the escalation back. */
  readonly repeats: Readonly<Record<number, number>>
  /** Waiting at `nextIndex` (pause_for_alerts) until a new alert arrives. */
  readonly paused: boolean
  readonly finished: boolean
  /** Nodes executed so far in this escalation: with the run's prefix, the idempotency key of each effect. */
  readonly executed: number
}

export type { UserSource }

/**
 * What a node asks the workflow to do; `stepKey` makes every effect idempotent per (escalation, node run), `dueAt`
 * is the instant the node was due (what the lateness of its effect is measured against).
 */
export type Command = StepCommand & { readonly dueAt: string }

type StepCommand =
  | { readonly kind: 'notify'; readonly stepKey: string; readonly step: NodeRef; readonly targets: readonly PageTarget[] }
  | { readonly kind: 'webhook'; readonly stepKey: string; readonly step: NodeRef; readonly webhookId: string }
  | { readonly kind: 'notify_channel'; readonly stepKey: string; readonly step: NodeRef; readonly channels: readonly ChannelTarget[] }
  | { readonly kind: 'declare_incident'; readonly stepKey: string; readonly step: NodeRef; readonly severity: string }
  | { readonly kind: 'resolve'; readonly stepKey: string; readonly step: NodeRef }
  /** The program ran out with nobody acknowledging, and it ends as expired. */
  | { readonly kind: 'expire'; readonly stepKey: string; readonly step: null }
  | { readonly kind: 'log'; readonly stepKey: string; readonly step: NodeRef | null; readonly event: TimelineKind; readonly detail: Readonly<Record<string, unknown>> }

export type CommandKind = Command['kind']

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

/** A fresh escalation over `program`, starting at `now`. */
export function startEscalation(program: EscalationProgram | null, now: Date): EscalationState {
  return {
    program,
    nextIndex: 0,
    dueAt: now.toISOString(),
    repeats: {},
    paused: false,
    finished: program === null,
    executed: 0,
  }
}

/**
 * A restart (un-ack, unsilence, end of a silence, unresolve) takes a fresh program and starts from its first node,
 * except a paused escalation, which resumes at its paused node (OnCall's start_escalation_if_needed).
 */
export function restartEscalation(previous: EscalationState, freshProgram: EscalationProgram | null, now: Date): EscalationState {
  if (previous.paused && !previous.finished) return { ...previous, dueAt: now.toISOString() }
  return { ...startEscalation(freshProgram, now), executed: previous.executed }
}

/** More nodes than any real chain or path runs at one instant (OnCall repeats a chain of steps five times). */
export const MAX_NODES_PER_DECISION = 10_000

/** Alert arrival instants (ISO), oldest first; only the newest ones matter for any window. */
export type AlertTimes = readonly string[]

/** Counts alerts no older than `minutes` before the newest alert (OnCall anchors on the newest, not on now). */
export function alertsInWindow(alertTimes: AlertTimes, minutes: number): number {
  const newest = alertTimes[alertTimes.length - 1]
  if (newest === undefined) return 0
  const from = Date.parse(newest) - minutes * 60_000
  return alertTimes.filter((t) => Date.parse(t) >= from).length
}

/** Whether `condition` holds at `at`, and in words why (what the dry run and the timeline show). */
export function judge(condition: Condition, at: Date, priority: string | null): { holds: boolean; why: string } {
  switch (condition.kind) {
    case 'within_hours': {
      const holds = isWithinHours(condition.hours, at)
      return { holds, why: `${describeLocal(condition.hours, at)} is ${holds ? 'inside' : 'outside'} working hours ${condition.label}` }
    }
    case 'priority_in': {
      const holds = priority !== null && condition.names.includes(priority)
      return { holds, why: `priority ${priority ?? '(none)'} is ${holds ? '' : 'not '}one of ${condition.names.join(', ')}` }
    }
    case 'not': {
      const inner = judge(condition.condition, at, priority)
      return { holds: !inner.holds, why: inner.why }
    }
    case 'all': {
      const judged = condition.conditions.map((c) => judge(c, at, priority))
      return { holds: judged.every((j) => j.holds), why: judged.map((j) => j.why).join('; ') }
    }
    default:
      return unreachable(condition)
  }
}

/** Runs every node that is due at `now`, in order, until a wait, a window, a pause or the end. */
export function decide(state: EscalationState, now: Date, alertTimes: AlertTimes, keyPrefix: string): Decision {
  const commands: Command[] = []
  const program = state.program
  const nodes = program?.nodes ?? []
  let { nextIndex, executed } = state
  let due = Date.parse(state.dueAt)
  const emit = (command: StepCommand) => commands.push({ ...command, dueAt: new Date(due).toISOString() })
  const repeats: Record<number, number> = { ...state.repeats }
  let paused = false
  const nowMs = now.getTime()

  const finish = (): Decision => {
    emit({ kind: 'log', stepKey: `${keyPrefix}:finished`, step: null, event: 'escalation_finished', detail: {} })
    if (program?.whenExhausted === 'expire') emit({ kind: 'expire', stepKey: `${keyPrefix}:expired`, step: null })
    return { state: { ...state, nextIndex, dueAt: new Date(due).toISOString(), repeats, paused: false, finished: true, executed }, commands, wakeAt: null }
  }
  if (state.finished) return { state, commands, wakeAt: null }

  // Each pass through the loop executes one node; jumps and branches go forward and repeats are bounded, so this
  // terminates. Nested repeats that wait for nothing could still multiply into millions of nodes in one decision:
  // past MAX_NODES_PER_DECISION the escalation stops, as a loop that never waits has nothing left to offer.
  let budget = MAX_NODES_PER_DECISION
  for (;;) {
    if (--budget < 0) {
      emit({ kind: 'log', stepKey: `${keyPrefix}:${executed}`, step: null, event: 'step_skipped', detail: { reason: `${MAX_NODES_PER_DECISION} nodes ran without waiting: the escalation stops here` } })
      return finish()
    }
    if (due > nowMs) {
      return { state: { ...state, nextIndex, dueAt: new Date(due).toISOString(), repeats, paused, executed }, commands, wakeAt: new Date(due).toISOString() }
    }
    const node = nodes[nextIndex]
    if (!node) return finish()
    const ref = node.ref
    const stepKey = `${keyPrefix}:${executed}`
    const log = (event: TimelineKind, detail: Record<string, unknown> = {}) =>
      emit({ kind: 'log', stepKey, step: ref, event, detail })
    const skip = (reason: string) => log('step_skipped', { reason })
    executed += 1
    nextIndex += 1

    switch (node.kind) {
      case 'wait':
        if (node.unconfigured !== undefined) skip(node.unconfigured)
        else log('step_triggered', { duration: node.seconds })
        due += node.seconds * 1000
        break
      case 'page':
        emit({ kind: 'notify', stepKey, step: ref, targets: node.targets })
        break
      case 'webhook':
        emit({ kind: 'webhook', stepKey, step: ref, webhookId: node.webhookId })
        break
      case 'notify_channel':
        emit({ kind: 'notify_channel', stepKey, step: ref, channels: node.channels })
        break
      case 'declare_incident':
        emit({ kind: 'declare_incident', stepKey, step: ref, severity: node.severity })
        break
      case 'resolve':
        emit({ kind: 'resolve', stepKey, step: ref })
        return finish()
      case 'skip':
        skip(node.reason)
        break
      case 'hold':
        // Finished without running out: nothing more is decided, and nothing expires.
        log('escalation_waiting', { until: 'acknowledged' })
        return { state: { ...state, nextIndex, dueAt: new Date(due).toISOString(), repeats, paused: false, finished: true, executed }, commands, wakeAt: null }
      case 'wait_for_window': {
        // The window is judged at the later of the due time and now: a late wake-up never skips it.
        const judgedAt = new Date(Math.max(due, nowMs))
        const opens = windowOpensAt(judgedAt, node.from, node.to)
        if (opens === null) log('step_triggered', { inside_window: true })
        else {
          log('escalation_waiting', { until: opens.toISOString(), from: node.from, to: node.to })
          due = opens.getTime()
        }
        break
      }
      case 'pause_for_alerts': {
        const count = alertsInWindow(alertTimes, node.minutes)
        if (count > node.count) {
          log('step_triggered', { alerts_in_window: count })
          break
        }
        // Paused on this very node: only a new alert (or a restart) re-evaluates it; no timer.
        if (!state.paused || state.nextIndex !== ref.index) {
          log('escalation_paused', { alerts_in_window: count, needed_more_than: node.count, minutes: node.minutes })
        }
        executed -= 1
        nextIndex = ref.index
        paused = true
        return { state: { ...state, nextIndex, dueAt: new Date(due).toISOString(), repeats, paused, executed }, commands, wakeAt: null }
      }
      case 'repeat': {
        const done = repeats[ref.index] ?? 0
        if (done < node.times) {
          repeats[ref.index] = done + 1
          log('escalation_repeated', { repeat: done + 1, of: node.times })
          nextIndex = node.to
        }
        break
      }
      case 'branch': {
        // Judged, like a window, at the later of the due time and now.
        const { holds, why } = judge(node.condition, new Date(Math.max(due, nowMs)), program?.priority ?? null)
        log('step_triggered', { branch: holds ? 'then' : 'else', reason: why })
        if (!holds) nextIndex = node.elseTo
        break
      }
      case 'jump':
        executed -= 1
        nextIndex = node.to
        break
      default:
        return unreachable(node)
    }
  }
}

/** The escalation after a new alert: a paused escalation becomes due at once; others are unaffected. */
export function onNewAlert(state: EscalationState, now: Date): EscalationState {
  return state.paused && !state.finished ? { ...state, dueAt: now.toISOString() } : state
}

/**
 * Nack (someone can't take it): the pending wait ends now, so the next node runs at once. Nothing changes when
 * the escalation is not waiting on a timer.
 */
export function escalateNow(state: EscalationState, now: Date): EscalationState {
  if (state.finished || state.paused || Date.parse(state.dueAt) <= now.getTime()) return state
  return { ...state, dueAt: now.toISOString() }
}
