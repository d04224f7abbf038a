import { decide, startEscalation, type AlertTimes, type Command } from './escalation'
import type { ChainSnapshot } from './types'

// The escalation as the workflow would run it if nobody acknowledged: the same decide(), woken at each instant it
// asks for. Previews (who is on call through a chain) and dry runs read this instead of interpreting steps again.

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
  /** Stop before deciding past this instant. */
  readonly until?: Date
  /** A bound on decisions, on top of the chain's own bounded repeats. */
  readonly maxDecisions?: number
}

/** Decides forward from `start` over `snapshot`, one entry per decision the workflow would make. */
export function simulate(snapshot: ChainSnapshot | null, start: Date, options: SimulationOptions = {}): SimulatedDecision[] {
  const alertTimes = options.alertTimes ?? [start.toISOString()]
  const maxDecisions = options.maxDecisions ?? 1000
  const decisions: SimulatedDecision[] = []
  let state = startEscalation(snapshot, start)
  let now = start
  while (!state.finished && decisions.length < maxDecisions) {
    if (options.until !== undefined && now.getTime() > options.until.getTime()) break
    const decision = decide(state, now, alertTimes, 'simulation')
    state = decision.state
    decisions.push({ at: now.toISOString(), commands: decision.commands, wakeAt: decision.wakeAt, paused: state.paused, finished: state.finished })
    if (decision.wakeAt === null) break
    now = new Date(decision.wakeAt)
  }
  return decisions
}
