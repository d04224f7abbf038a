// Plain data shared by the API, the workflow and the activities: the contract.
import type { StepSettings, StepType } from './steps'

export type { StepType } from './steps'

/** Who did something to an alert group. */
export type Actor =
  | { readonly kind: 'user'; readonly userId: string; readonly username: string }
  | { readonly kind: 'ops'; readonly name: string }
  | { readonly kind: 'system' }

/** The alert group as the workflow records it when it starts (idempotently, in case the API's write was lost). */
export interface AlertGroupRecord {
  readonly id: string
  readonly organizationId: string
  readonly integrationId: string
  readonly routeId: string | null
  readonly teamId: string | null
  readonly title: string | null
  readonly message: string | null
  readonly sourceUrl: string | null
  readonly workflowId: string
  /** ISO instant. */
  readonly createdAt: string
  readonly firstAlert: { readonly id: string; readonly payload: unknown }
  /** The integration's maintenance group: collects alerts during maintenance, is resolved when it ends. */
  readonly isMaintenance?: boolean
}

/** A user paged directly (POST /api/v1/escalation/), with the personal-rule set to use. */
export interface DirectPage {
  readonly userId: string
  readonly important: boolean
}

/** One policy as frozen when the escalation (re)starts; what it points to is read live when the step runs. */
export interface StepSnapshot extends StepSettings {
  readonly policyId: string
  readonly type: StepType
}

/** An escalation chain as frozen at (re)start, as OnCall snapshots it. */
export interface ChainSnapshot {
  readonly chainId: string
  readonly chainName: string
  readonly steps: readonly StepSnapshot[]
}

export interface AlertGroupWorkflowInput {
  readonly alertGroup: AlertGroupRecord
  /** Who created it (the paging user), or null for an alert from an integration. */
  readonly createdBy: Actor | null
  readonly directPages: readonly DirectPage[]
  /** The route's chain, frozen by the caller when the group is created; null or absent when nothing escalates. */
  readonly escalation?: ChainSnapshot | null
}

/** Another alert grouped into a running alert group (signal). */
export interface NewAlert {
  readonly alertId: string
  /** ISO instant the alert was accepted. */
  readonly receivedAt: string
}

export interface AddRespondersRequest {
  readonly actor: Actor
  readonly users: readonly DirectPage[]
}

/** What an acknowledge/resolve/… update carries. */
export interface ActionRequest {
  readonly actor: Actor
}

/** Silence for `delaySeconds`; -1 (and 0) mean forever, as in OnCall. */
export interface SilenceRequest extends ActionRequest {
  readonly delaySeconds: number
}
