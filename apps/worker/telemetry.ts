import type { LogLevel as SdkLogLevel, LogMetadata, Logger as SdkLogger } from '@temporalio/common'
import type { ActivityInterceptorsFactory, TelemetryOptions } from '@temporalio/worker'
import type { Logger } from '../logger'

// How the worker's logs and the Temporal SDK's own metrics leave the process.
//
// Activity log lines go through Temporal's activity logger, which the SDK already tags with the workflow id, the
// activity type and the attempt; the interceptor below adds the alert group and the step, read from the activity's
// input. The SDK's runtime logger is routed to pino, so those lines, the SDK's own (worker state, failed
// activities) and the native core's are all JSON on one stream, at the configured level. This beats an
// AsyncLocalStorage logger of our own: nothing to thread through the activities, and the SDK's lines carry the
// same context as ours.

const pinoLevelOf: Record<SdkLogLevel, 'trace' | 'debug' | 'info' | 'warn' | 'error'> = {
  TRACE: 'trace',
  DEBUG: 'debug',
  INFO: 'info',
  WARN: 'warn',
  ERROR: 'error',
}

// Attributes of the SDK's that never belong in a log line: a task token completes the activity for whoever holds it.
const WITHHELD = ['taskToken']

/** The Temporal SDK's logger interface, writing to a pino logger. */
export function sdkLoggerOf(logger: Logger): SdkLogger {
  const write = (level: SdkLogLevel, message: string, meta?: LogMetadata) => {
    const fields: Record<string, unknown> = { ...meta }
    for (const key of WITHHELD) delete fields[key]
    logger[pinoLevelOf[level] ?? 'info'](fields, message)
  }
  return {
    log: write,
    trace: (message, meta) => write('TRACE', message, meta),
    debug: (message, meta) => write('DEBUG', message, meta),
    info: (message, meta) => write('INFO', message, meta),
    warn: (message, meta) => write('WARN', message, meta),
    error: (message, meta) => write('ERROR', message, meta),
  }
}

/** The alert group and step an activity works for, from its input (the shapes the workflow sends). */
export function activityLogContext(workflowId: string | undefined, args: readonly unknown[]): { alertGroupId?: string; step?: string } {
  const input = (args[0] ?? {}) as Record<string, unknown>
  const text = (value: unknown) => (typeof value === 'string' && value !== '' ? value : undefined)
  const group = input.group as Record<string, unknown> | undefined
  const fromWorkflowId = workflowId?.startsWith('alert-group-') ? workflowId.slice('alert-group-'.length) : undefined
  const alertGroupId = text(input.alertGroupId) ?? text(group?.id) ?? fromWorkflowId
  // A step's own activities get its due instant; its timeline entries carry the step in their detail.
  const due = (input.stepDue ?? {}) as { stepIndex?: unknown; stepType?: unknown }
  const detail = (input.detail ?? {}) as { step_index?: unknown; step_type?: unknown }
  const stepType = text(due.stepType) ?? text(detail.step_type)
  const stepIndex = due.stepType !== undefined ? due.stepIndex : detail.step_index
  const step =
    stepType !== undefined
      ? `${stepType}#${String(stepIndex)}`
      : (text(input.step) ??
        (text(input.action) ? `lifecycle:${text(input.action)}` : undefined) ??
        (text(input.triggerType) ? `webhook:${text(input.triggerType)}` : undefined) ??
        (text(input.kind) ? `timeline:${text(input.kind)}` : undefined) ??
        (group ? 'created' : undefined) ??
        ('routeId' in input ? 'restart' : undefined))
  return { ...(alertGroupId ? { alertGroupId } : {}), ...(step ? { step } : {}) }
}

/**
 * Adds the alert group and the step to every log line of an activity, and withholds its task token. The SDK logs
 * "Activity started" before any interceptor sees the input: that line has the alert group (from the workflow id)
 * but not the step.
 */
export const activityLogInterceptor: ActivityInterceptorsFactory = (ctx) => {
  const workflowId = ctx.info.workflowExecution?.workflowId
  let context = activityLogContext(workflowId, [])
  return {
    inbound: {
      execute: (input, next) => {
        context = activityLogContext(workflowId, input.args)
        return next(input)
      },
    },
    outbound: {
      getLogAttributes: (attributes, next) => {
        const { taskToken: _withheld, ...rest } = attributes
        return next({ ...rest, ...context })
      },
    },
  }
}

/**
 * The SDK runtime's telemetry: the native core's errors forwarded to the runtime logger (pino), and the SDK's own metrics (workflow task latencies, poller counts, slots, ...) on a Prometheus
 * endpoint of their own when `sdkMetricsAddress` (host:port) is set.
 */
export function sdkTelemetry(options: { sdkMetricsAddress: string | null }): TelemetryOptions {
  return {
    // The core retries a missing Temporal with a warning per attempt; the worker's own monitor says it once.
    logging: { filter: { core: 'ERROR', other: 'ERROR' }, forward: {} },
    ...(options.sdkMetricsAddress ? { metrics: { prometheus: { bindAddress: options.sdkMetricsAddress } } } : {}),
  }
}
