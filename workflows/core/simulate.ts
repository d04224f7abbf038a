import { decide, onNewAlert, startEscalation, type AlertTimes, type Command } from './escalation'
import type { EscalationProgram } from './program'

// The escalation as the workflow would run it: the same decide(), woken at each instant it asks for, at each alert
// arrival while paused, and stopped by an acknowledgement. Previews (who is on call through a chain) and dry runs
// read this instead of interpreting nodes again.

export interface SimulatedDecision {
  /** ISO instant the workflow would decide at. */
  readonly at: string
  readonly commands: readonly Command[]
  /** When the next decision would come, or null: the escalation ended or pauses until a new alert. */
  readonly wakeAt: string | null
  readonly paused: boolean
  readonly finished: boolean
}

export interface SimulationOptions {
  /** Alert arrival instants (ISO, oldest first); defaults to one alert at the start. */
  readonly alertTimes?: AlertTimes
  /** Somebody acknowledges at this instant: nothing is decided from then on. */
  readonly acknowledgedAt?: Date
  /** Stop before deciding past this instant. */
  readonly until?: Date
  /** A bound on decisions, on top of the program's own bounded repeats. */
  readonly maxDecisions?: number
}

/** Decides forward from `start` over `program`, one entry per decision the workflow would make. */
export function simulate(program: EscalationProgram | null, start: Date, options: SimulationOptions = {}): SimulatedDecision[] {
  const arrivals = [...(options.alertTimes ?? [start.toISOString()])].sort((a, b) => Date.parse(a) - Date.parse(b))
  const maxDecisions = options.maxDecisions ?? 1000
  const stopAt = Math.min(options.until?.getTime() ?? Infinity, options.acknowledgedAt?.getTime() ?? Infinity)
  const decisions: SimulatedDecision[] = []
  let state = startEscalation(program, start)
  let now = start
  while (!state.finished && decisions.length < maxDecisions) {
    // An acknowledgement at the very instant of a decision wins: the workflow applies updates before timers fire.
    if (now.getTime() > stopAt || (options.acknowledgedAt !== undefined && now.getTime() >= options.acknowledgedAt.getTime())) break
    const seen = arrivals.filter((t) => Date.parse(t) <= now.getTime())
    const decision = decide(state, now, seen.length > 0 ? seen : [start.toISOString()], 'simulation')
    state = decision.state
    decisions.push({ at: now.toISOString(), commands: decision.commands, wakeAt: decision.wakeAt, paused: state.paused, finished: state.finished })
    if (decision.wakeAt !== null) {
      now = new Date(decision.wakeAt)
      continue
    }
    // Paused until a new alert: the next arrival wakes it; none left means it waits for ever.
    const next = state.paused ? arrivals.find((t) => Date.parse(t) > now.getTime()) : undefined
    if (next === undefined) break
    now = new Date(next)
    state = onNewAlert(state, now)
  }
  return decisions
}
