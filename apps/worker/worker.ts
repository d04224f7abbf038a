import { ApplicationFailure } from '@temporalio/common'
import { type NativeConnection, Worker } from '@temporalio/worker'
import { createActivities } from '../../activities'
import type { Db } from '../../db/connect'
import type { Notifier } from '../../activities/notifications'
import type { ChannelTransports } from '../../activities/channels/port'
import type { SlackChannelPoster } from '../../activities/channels/slack'
import { actionLinksFor } from '../action-links'
import type { OutboundFetch } from '../../activities/outbound'
import type { ActivityMetrics } from '../../activities/metrics'
import type { TemplateEngine } from '../ingest/templates'
import type { WorkerTracing } from '../tracing'
import { activityLogInterceptor } from './telemetry'

export interface WorkerDeps {
  readonly connection: NativeConnection
  readonly namespace: string
  readonly taskQueue: string
  readonly db: Db
  /** Delivers rules whose channel is not configured; null: such rules are skipped. */
  readonly notifier: Notifier | null
  /** The transports of the configured channels (email, SMS, voice, Slack). */
  readonly channels?: ChannelTransports
  /** Posts notify_whole_channel steps with Slack's chat.postMessage; null: through the chat webhook. */
  readonly slack?: SlackChannelPoster | null
  /** Signs the action links every page carries; absent: pages carry none. */
  readonly links?: { readonly secret: string; readonly publicUrl: string; readonly ttlSeconds: number }
  readonly shutdownGraceMs: number
  /** Workflows kept in memory between tasks; null or absent: the SDK's default, from the heap size. */
  readonly maxCachedWorkflows?: number | null
  /** Renders users' Jinja templates (webhooks) in the sandbox, with its time and size limits. */
  readonly templates: TemplateEngine
  readonly chatWebhookUrl?: string | null
  /** The guarded fetch for user-supplied URLs, with the operator's allow list (default: public addresses only). */
  readonly outbound?: OutboundFetch
  /** Where the activities count pages, webhook calls, lifecycle events and step lateness (default: nowhere). */
  readonly metrics?: ActivityMetrics
  /** Traces workflows and activities (default: off). */
  readonly tracing?: WorkerTracing
}

/** The escalation worker: Tocsin's workflows plus the activities bound to their dependencies. */
export async function createEscalationWorker(deps: WorkerDeps): Promise<Worker> {
  const renderTemplate = async (template: string, context: Record<string, unknown>) => {
    const result = await deps.templates.render(template, context)
    // A template that fails to render fails the same way on every retry.
    if (!result.ok) throw ApplicationFailure.create({ type: 'TemplateError', message: result.error, nonRetryable: true })
    return result.value
  }
  return Worker.create({
    connection: deps.connection,
    namespace: deps.namespace,
    taskQueue: deps.taskQueue,
    workflowsPath: require.resolve('../../workflows'),
    activities: createActivities({
      db: deps.db,
      notifier: deps.notifier,
      renderTemplate,
      chatWebhookUrl: deps.chatWebhookUrl ?? null,
      ...(deps.outbound ? { outbound: deps.outbound } : {}),
      ...(deps.metrics ? { metrics: deps.metrics } : {}),
      ...(deps.channels ? { channels: deps.channels } : {}),
      ...(deps.slack ? { slack: deps.slack } : {}),
      ...(deps.links ? { actionLinks: actionLinksFor({ ...deps.links, now: () => new Date() }) } : {}),
    }),
    // Every activity log line names its alert group and step; with tracing, its span joins the workflow's trace.
    interceptors: {
      activity: [activityLogInterceptor, ...(deps.tracing?.activityInterceptors ?? [])],
      workflowModules: deps.tracing?.workflowModules ?? [],
    },
    ...(deps.tracing ? { sinks: deps.tracing.sinks } : {}),
    shutdownGraceTime: deps.shutdownGraceMs,
    ...(deps.maxCachedWorkflows != null ? { maxCachedWorkflows: deps.maxCachedWorkflows } : {}),
  })
}
