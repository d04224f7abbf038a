import { ApplicationFailure } from '@temporalio/common'
import { type NativeConnection, Worker } from '@temporalio/worker'
import { createActivities } from '../../activities'
import type { Db } from '../../activities/db/connect'
import type { Notifier } from '../../activities/notifications'
import type { TemplateEngine } from '../ingest/templates'

export interface WorkerDeps {
  readonly connection: NativeConnection
  readonly namespace: string
  readonly taskQueue: string
  readonly db: Db
  readonly notifier: Notifier
  readonly shutdownGraceMs: number
  /** Renders users' Jinja templates (webhooks) in the sandbox, with its time and size limits. */
  readonly templates: TemplateEngine
  readonly chatWebhookUrl?: string | null
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
    }),
    shutdownGraceTime: deps.shutdownGraceMs,
  })
}
