// Plain data shared by the API, the workflow and the activities. No imports: this is the contract.

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
}

/** A user paged directly (POST /api/v1/escalation/), with the personal-rule set to use. */
export interface DirectPage {
  readonly userId: string
  readonly important: boolean
}

export interface AlertGroupWorkflowInput {
  readonly alertGroup: AlertGroupRecord
  /** Who created it (the paging user), or null for an alert from an integration. */
  readonly createdBy: Actor | null
  readonly directPages: readonly DirectPage[]
}

export interface AddRespondersRequest {
  readonly actor: Actor
  readonly users: readonly DirectPage[]
}

/** What an acknowledge/resolve/… update carries. */
export interface ActionRequest {
  readonly actor: Actor
}
