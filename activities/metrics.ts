import { asyncLocalStorage } from '@temporalio/activity'
import type { LogMetadata } from '@temporalio/common'

// What the activities tell operators: counters and lateness through a port the worker binds to its Prometheus
// registry (activities know no metrics library), and log lines through Temporal's activity logger, which carries
// the workflow, the alert group and the step (see the worker's activity interceptors).

/** How a page ended up: delivered now, found delivered by an earlier attempt, skipped, or not delivered (retried). */
export type PageOutcome = 'delivered' | 'already_delivered' | 'skipped' | 'failed' | 'refused'

/** The life of an escalation as counted: its start and every accepted lifecycle action. */
export type EscalationEvent = 'started' | 'acknowledged' | 'unacknowledged' | 'resolved' | 'unresolved' | 'silenced' | 'unsilenced'

export interface ActivityMetrics {
  escalationEvent(event: EscalationEvent): void
  pageSent(channel: string, outcome: PageOutcome): void
  /** One outgoing webhook call: `status` is the HTTP status code, `error` (no answer) or `refused` (outbound policy). */
  webhookCalled(trigger: string, status: string): void
  /** How long after its due instant a step's effect was carried out. */
  stepLateness(stepType: string, seconds: number): void
}

export const noActivityMetrics: ActivityMetrics = {
  escalationEvent: () => undefined,
  pageSent: () => undefined,
  webhookCalled: () => undefined,
  stepLateness: () => undefined,
}

/**
 * Which step of the escalation an activity works for, and when that step was due. Added to the inputs of the
 * step's activities after histories were recorded, so it is optional: direct pages and older runs have none.
 */
export interface StepDue {
  readonly dueAt: string
  readonly stepIndex: number
  readonly stepType: string
}

/** Records the lateness of a step whose effect is done now (never negative: two hosts' clocks may differ a little). */
export function observeLateness(metrics: ActivityMetrics, due: StepDue | undefined, now: Date): void {
  if (!due) return
  const dueMs = Date.parse(due.dueAt)
  if (Number.isNaN(dueMs)) return
  metrics.stepLateness(due.stepType, Math.max(0, (now.getTime() - dueMs) / 1000))
}

/**
 * The activity's logger when running as an activity (a no-op otherwise, e.g. when a test calls it directly).
 * Never pass URLs, headers or payloads: they can hold users' secrets.
 */
export function activityLog(): { info(message: string, meta?: LogMetadata): void; warn(message: string, meta?: LogMetadata): void } {
  const log = asyncLocalStorage.getStore()?.log
  return log ?? { info: () => undefined, warn: () => undefined }
}
