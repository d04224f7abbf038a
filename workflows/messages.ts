import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow'
import type { LifecycleState, PublicState } from './core/lifecycle'
import type { EscalationProgram } from './core/program'
import type { ActionRequest, Actor, AddRespondersRequest, AlertGroupRecord, DirectPage, NewAlert, SilenceRequest } from './core/types'
import type { ChainSnapshot } from './oncall/steps'

// @NOTE Message names are part of the contract with running workflows and ops scripts: never rename them.

export interface AlertGroupWorkflowInput {
  readonly alertGroup: AlertGroupRecord
  /** Who created it (the paging user), or null for an alert from an integration. */
  readonly createdBy: Actor | null
  readonly directPages: readonly DirectPage[]
  /** The route's OnCall chain, frozen by the caller when the group is created; null or absent when nothing escalates. */
  readonly escalation?: ChainSnapshot | null
  /**
   * A program compiled by the caller (an incident.io path or a page to users). It is frozen for the whole
   * escalation: restarts run it again instead of reading the route's chain.
   */
  readonly program?: EscalationProgram | null
}

/** Updates, not signals: the caller learns at once whether OnCall's rules refuse the action. */
export const acknowledgeUpdate = defineUpdate<void, [ActionRequest]>('acknowledge')
export const resolveUpdate = defineUpdate<void, [ActionRequest]>('resolve')
export const unacknowledgeUpdate = defineUpdate<void, [ActionRequest]>('unacknowledge')
export const silenceUpdate = defineUpdate<void, [SilenceRequest]>('silence')
export const unsilenceUpdate = defineUpdate<void, [ActionRequest]>('unsilence')
/** Only a run started for it (update-with-start) accepts this: a resolved group's escalation has ended. */
export const unresolveUpdate = defineUpdate<void, [ActionRequest]>('unresolve')
/** More users paged on an open alert group (POST /api/v1/escalation/ with alert_group_id). */
export const addRespondersUpdate = defineUpdate<void, [AddRespondersRequest]>('addResponders')
/** Stop all paging for good (incident.io's cancel); cancelling a cancelled escalation changes nothing. */
export const cancelUpdate = defineUpdate<void, [ActionRequest]>('cancel')
/** Nack: whoever was paged can't take it, so the pending wait ends and the next node runs now. */
export const escalateNowUpdate = defineUpdate<void, [ActionRequest]>('escalateNow')

/** Stops one user's personal notifications on this group (OnCall's unpage); everyone else's go on. */
export const unpageUserUpdate = defineUpdate<void, [UnpageRequest]>('unpageUser')

export interface UnpageRequest extends ActionRequest {
  readonly userId: string
}

/** A signal, not an update: ingestion must not wait for (or depend on) a live worker to accept an alert. */
export const newAlertSignal = defineSignal<[NewAlert]>('newAlert')

/** Alerts that joined the group together: one history event and one workflow task for the lot, not one per alert. */
export interface NewAlerts {
  readonly alerts: readonly NewAlert[]
}

export const newAlertsSignal = defineSignal<[NewAlerts]>('newAlerts')

export interface EscalationStatus {
  readonly alertGroupId: string
  readonly state: PublicState
  readonly lifecycle: LifecycleState
  readonly notificationsSent: number
  readonly pendingNotifications: number
  /** Alerts in the group, the first one included. */
  readonly alertsCount: number
  readonly chainId: string | null
  /** The step that runs next (or is paused on), null when the escalation has ended. */
  readonly currentStep: { readonly index: number; readonly policyId: string; readonly type: string } | null
  /** When the workflow wakes up next for a step (ISO), null when it waits only for events. */
  readonly nextWakeAt: string | null
  readonly paused: boolean
  readonly finished: boolean
  readonly repeats: Readonly<Record<number, number>>
  readonly stepsExecuted: number
  readonly restarts: number
}

export const escalationStatusQuery = defineQuery<EscalationStatus>('escalationStatus')

/** The failure type an update validator throws when OnCall's transition table refuses the action. */
export const ACTION_REFUSED = 'ActionRefused'

/** Every escalation of an alert group runs under this id; one alert group, one workflow. */
export function alertGroupWorkflowId(alertGroupId: string): string {
  return `alert-group-${alertGroupId}`
}

/** A heartbeat was recorded (or the timeout changed): `at` is the last heartbeat's instant (ISO), as stored. */
export interface HeartbeatNews {
  readonly at: string
  readonly timeoutSeconds: number
}

/** Resets the heartbeat workflow's timer; also the signal of signal-with-start, so the first heartbeat starts it. */
export const heartbeatSignal = defineSignal<[HeartbeatNews]>('heartbeat')
/** The timeout was turned off or the integration deleted: the heartbeat workflow ends. */
export const stopHeartbeatSignal = defineSignal('stopHeartbeat')

export interface HeartbeatStatus {
  readonly integrationId: string
  readonly lastBeatAt: string
  readonly timeoutSeconds: number
  /** How many times the heartbeat expired, ever (the count every expiry's idempotency key carries). */
  readonly expiries: number
  /** True from an expiry until the heartbeat that restores it. */
  readonly expired: boolean
  /** When the heartbeat expires unless one arrives (ISO), null while expired. */
  readonly expiresAt: string | null
}

export const heartbeatStatusQuery = defineQuery<HeartbeatStatus>('heartbeatStatus')

/** One heartbeat workflow per integration with a heartbeat timeout. */
export function heartbeatWorkflowId(integrationId: string): string {
  return `heartbeat-${integrationId}`
}
