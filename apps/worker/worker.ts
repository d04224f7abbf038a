import { type NativeConnection, Worker } from '@temporalio/worker'
import { createActivities } from '../../activities'
import type { Db } from '../../activities/db/connect'
import type { Notifier } from '../../activities/notifications'

export interface WorkerDeps {
  readonly connection: NativeConnection
  readonly namespace: string
  readonly taskQueue: string
  readonly db: Db
  readonly notifier: Notifier
  readonly shutdownGraceMs: number
}

/** The escalation worker: Tocsin's workflows plus the activities bound to their dependencies. */
export async function createEscalationWorker(deps: WorkerDeps): Promise<Worker> {
  return Worker.create({
    connection: deps.connection,
    namespace: deps.namespace,
    taskQueue: deps.taskQueue,
    workflowsPath: require.resolve('../../workflows'),
    activities: createActivities({ db: deps.db, notifier: deps.notifier }),
    shutdownGraceTime: deps.shutdownGraceMs,
  })
}
