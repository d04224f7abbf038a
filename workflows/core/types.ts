// Plain data shared by the API, the workflow and the activities: the contract.

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
