import { condition, continueAsNew, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow'
import type { HeartbeatState, OpenExpiry, RaiseHeartbeatExpiredResult } from '../activities/heartbeats'
import type { Activities } from '../activities'
import { heartbeatSignal, heartbeatStatusQuery, stopHeartbeatSignal } from './messages'

// One integration's heartbeat, as OnCall watches it: a durable timer runs from the last heartbeat for the timeout;
// each heartbeat restarts it. When it runs out, a "heartbeat is missing" alert goes into the ingestion inbox (so the
// integration's routes and escalation apply); the next heartbeat raises "heartbeat restored", which resolves that
// group. Every alert carries an idempotency key made of the workflow id and the expiry count, so retries, worker
// crashes and replays never raise one twice. The run ends when the timeout is turned off or the integration deleted.

const retry = { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds' } as const
// Database work only: an attempt lost with a crashed worker is retried soon.
const { loadHeartbeatState, raiseHeartbeatExpired, restoreHeartbeat } = proxyActivities<Activities>({ startToCloseTimeout: '10 seconds', retry })
// Waits for the ingestion processor to group the expired alert: retried often, and without end.
const { noteHeartbeatExpired } = proxyActivities<Activities>({
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '500 milliseconds', backoffCoefficient: 2, maximumInterval: '5 seconds' },
})

export interface HeartbeatWorkflowInput {
  readonly integrationId: string
  readonly organizationId: string
  /** The last heartbeat (ISO) and the timeout, as stored when the run started. */
  readonly lastBeatAt: string
  readonly timeoutSeconds: number
  /** What the previous run knew (continue-as-new); a fresh start reads it from the database. */
  readonly carried?: HeartbeatState
  /** Continue as new once the history has this many events (tests lower it); Temporal's suggestion applies too. */
  readonly historyLimit?: number
}

export async function heartbeatWorkflow(input: HeartbeatWorkflowInput): Promise<void> {
  const { integrationId, organizationId } = input
  const { workflowId } = workflowInfo()
  let lastBeatAt = Date.parse(input.lastBeatAt)
  let timeoutSeconds = input.timeoutSeconds
  let stopped = false
  let changes = 0

  setHandler(heartbeatSignal, (news) => {
    lastBeatAt = Math.max(lastBeatAt, Date.parse(news.at))
    timeoutSeconds = news.timeoutSeconds
    changes++
  })
  setHandler(stopHeartbeatSignal, () => {
    stopped = true
    changes++
  })

  // The status is answered once the run knows its history: until then a query fails, and the caller asks again.
  let state: HeartbeatState = input.carried ?? (await loadHeartbeatState({ organizationId, integrationId }))
  setHandler(heartbeatStatusQuery, () => ({
    integrationId,
    lastBeatAt: new Date(lastBeatAt).toISOString(),
    timeoutSeconds,
    expiries: state.expiries,
    expired: state.open !== null,
    expiresAt: state.open ? null : new Date(lastBeatAt + timeoutSeconds * 1000).toISOString(),
  }))
  const key = (kind: 'expired' | 'restored', sequence: number) => `${workflowId}:${kind}:${sequence}`

  while (!stopped) {
    const info = workflowInfo()
    if (info.continueAsNewSuggested || (input.historyLimit !== undefined && info.historyLength >= input.historyLimit)) {
      // Signal handlers only assign: nothing is left half-done, and every signal's effect is in what is carried.
      await continueAsNew<typeof heartbeatWorkflow>({ ...input, lastBeatAt: new Date(lastBeatAt).toISOString(), timeoutSeconds, carried: state })
    }
    const seen = changes

    const open: OpenExpiry | null = state.open
    if (open) {
      if (lastBeatAt > Date.parse(open.expiredAt)) {
        await restoreHeartbeat({ organizationId, integrationId, expiry: open, idempotencyKey: key('restored', open.sequence) })
        state = { ...state, open: null }
      } else {
        await condition(() => changes !== seen)
      }
      continue
    }

    const remainingMs = lastBeatAt + timeoutSeconds * 1000 - Date.now()
    if (remainingMs > 0) {
      await condition(() => changes !== seen, remainingMs)
      continue
    }

    const sequence: number = state.expiries + 1
    const knownBeat = new Date(lastBeatAt).toISOString()
    const raised: RaiseHeartbeatExpiredResult = await raiseHeartbeatExpired({
      organizationId,
      integrationId,
      sequence,
      idempotencyKey: key('expired', sequence),
      lastBeatAt: knownBeat,
      timeoutSeconds,
    })
    if (raised.status === 'off') break
    if (raised.status === 'news') {
      // A heartbeat or a setting the workflow has not been told of yet (Temporal was away when it came).
      lastBeatAt = Math.max(lastBeatAt, Date.parse(raised.lastBeatAt))
      timeoutSeconds = raised.timeoutSeconds
      continue
    }
    state = { expiries: raised.expiry.sequence, open: raised.expiry }
    const noted = await noteHeartbeatExpired({ organizationId, integrationId, expiry: raised.expiry, lastBeatAt: knownBeat, timeoutSeconds })
    state = { ...state, open: { ...raised.expiry, alertGroupId: noted.alertGroupId } }
  }
}
