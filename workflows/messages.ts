import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow'
import type { LifecycleState, PublicState } from './core/lifecycle'
import type { ActionRequest, AddRespondersRequest, NewAlert } from './core/types'

// @NOTE Message names are part of the contract with running workflows and ops scripts: never rename them.

/** Updates, not signals: the caller learns at once whether OnCall's rules refuse the action. */
export const acknowledgeUpdate = defineUpdate<void, [ActionRequest]>('acknowledge')
export const resolveUpdate = defineUpdate<void, [ActionRequest]>('resolve')
/** More users paged on an open alert group (POST /api/v1/escalation/ with alert_group_id). */
export const addRespondersUpdate = defineUpdate<void, [AddRespondersRequest]>('addResponders')

/** A signal, not an update: ingestion must not wait for (or depend on) a live worker to accept an alert. */
export const newAlertSignal = defineSignal<[NewAlert]>('newAlert')

export interface EscalationStatus {
  readonly alertGroupId: string
  readonly state: PublicState
  readonly lifecycle: LifecycleState
  readonly notificationsSent: number
  readonly pendingNotifications: number
  /** Alerts in the group, the first one included. */
  readonly alertsCount: number
}

export const escalationStatusQuery = defineQuery<EscalationStatus>('escalationStatus')

/** The failure type an update validator throws when OnCall's transition table refuses the action. */
export const ACTION_REFUSED = 'ActionRefused'

/** Every escalation of an alert group runs under this id; one alert group, one workflow. */
export function alertGroupWorkflowId(alertGroupId: string): string {
  return `alert-group-${alertGroupId}`
}
