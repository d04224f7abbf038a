import type { Db } from '../../db/connect'
import { clearHeartbeatSyncDue, dueHeartbeatSyncs, heartbeatSetting, type HeartbeatSetting } from '../../db/heartbeats.repo'
import type { HeartbeatWorkflowInput } from '../../workflows/heartbeat'
import { heartbeatSignal, heartbeatWorkflowId, stopHeartbeatSignal } from '../../workflows/messages'
import { isWorkflowGone, type Escalations } from '../escalations'

// Tocsin's side of the heartbeat workflows: the database says what each integration's heartbeat is (the last one,
// the timeout, deleted or not) and this tells the integration's workflow, which starts with the first heartbeat.
// What could not be told (Temporal away, a crash in between) stays flagged in the database, and a sweep retries it.

// A heartbeat's answer must not wait long on an unreachable Temporal: the sweep catches up later.
const CALL_DEADLINE_MS = 2000
const SWEEP_BATCH = 100

/** Starts, resets or ends the integration's heartbeat workflow to match `setting`, then lowers its sync flag. */
export async function syncHeartbeatWorkflow(db: Db, escalations: Escalations, setting: HeartbeatSetting): Promise<void> {
  const { client, taskQueue } = escalations
  const workflowId = heartbeatWorkflowId(setting.integrationId)
  await client.connection.withDeadline(Date.now() + CALL_DEADLINE_MS, async () => {
    if (setting.live && setting.timeoutSeconds !== null && setting.lastBeatAt !== null) {
      const input: HeartbeatWorkflowInput = {
        integrationId: setting.integrationId,
        organizationId: setting.organizationId,
        lastBeatAt: setting.lastBeatAt,
        timeoutSeconds: setting.timeoutSeconds,
      }
      await client.workflow.signalWithStart('heartbeatWorkflow', {
        taskQueue,
        workflowId,
        args: [input],
        signal: heartbeatSignal,
        signalArgs: [{ at: setting.lastBeatAt, timeoutSeconds: setting.timeoutSeconds }],
        workflowIdReusePolicy: 'ALLOW_DUPLICATE',
      })
      return
    }
    try {
      await client.workflow.getHandle(workflowId).signal(stopHeartbeatSignal)
    } catch (err) {
      if (!isWorkflowGone(err)) throw err
    }
  })
  await clearHeartbeatSyncDue(db, setting)
}

/** After a change of the timeout or a deletion: tells the workflow now, or leaves it to the sweep. */
export async function syncHeartbeatOf(db: Db, escalations: Escalations, organizationId: string, integrationId: string): Promise<void> {
  const setting = await heartbeatSetting(db, organizationId, integrationId)
  if (setting) await syncHeartbeatWorkflow(db, escalations, setting)
}

/** Tells the workflows what they missed; stops at the first failure (Temporal is likely away) and throws it. */
export async function syncDueHeartbeats(db: Db, escalations: Escalations): Promise<number> {
  const due = await dueHeartbeatSyncs(db, SWEEP_BATCH)
  for (const setting of due) await syncHeartbeatWorkflow(db, escalations, setting)
  return due.length
}
