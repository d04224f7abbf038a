import { Client, Connection, defaultGrpcRetryOptions, makeGrpcRetryInterceptor, WithStartWorkflowOperation, WorkflowUpdateFailedError, type ClientInterceptors } from '@temporalio/client'
import { ApplicationFailure, WorkflowNotFoundError } from '@temporalio/common'
import { temporal } from '@temporalio/proto'
import { randomUUID } from 'node:crypto'
import type { Refusal } from '../workflows/core/lifecycle'
import type { Actor, AddRespondersRequest, AlertGroupRecord } from '../workflows/core/types'
import type { ChainSnapshot } from '../workflows/oncall/steps'
import {
  ACTION_REFUSED,
  acknowledgeUpdate,
  addRespondersUpdate,
  alertGroupWorkflowId,
  escalationStatusQuery,
  resolveUpdate,
  unresolveUpdate,
  silenceUpdate,
  unacknowledgeUpdate,
  unpageUserUpdate,
  unsilenceUpdate,
  cancelUpdate,
  escalateNowUpdate,
  type AlertGroupWorkflowInput,
  type EscalationStatus,
} from '../workflows/messages'
import { AlertGroupIdKey, AlertGroupStateKey, EscalationChainIdKey, OrganizationIdKey, TeamIdKey } from '../workflows/search-attributes'

/** The actions a running escalation takes as updates; unresolve starts a new run instead (see reopen). */
export type EscalationAction = 'acknowledge' | 'unacknowledge' | 'resolve' | 'silence' | 'unsilence' | 'cancel' | 'escalate_now'

export type ActionOutcome =
  | { readonly kind: 'done' }
  | { readonly kind: 'refused'; readonly refusal: Refusal }
  /** The workflow is gone (it ends on resolve): the caller decides from the database what to answer. */
  | { readonly kind: 'closed' }


// A poller's lastAccessTime is when its (up to ~60 s) long poll began; older than this means no live worker.
const WORKER_SEEN_WITHIN_MS = 90_000

/** Tocsin's side of Temporal: starting escalations and acting on them. Used by the API and the ops script. */
export class Escalations {
  constructor(
    readonly client: Client,
    readonly taskQueue: string,
  ) {}

  /** `interceptors`: e.g. tracing, so that starts, signals and updates carry the caller's trace. */
  static connect(options: { address: string; namespace: string; taskQueue: string }, extra: { interceptors?: ClientInterceptors } = {}): Escalations {
    // Lazy, so the API comes up (and /health can say so) while Temporal is still starting or down.
    const connection = Connection.lazy({
      address: options.address,
      // gRPC's default reconnect backoff grows to two minutes: after a Temporal restart, reconnect within seconds.
      channelArgs: { 'grpc.max_reconnect_backoff_ms': 5000 },
      // A caller waiting on an unreachable Temporal gets its 503 in about a second, not after the default ~15 s of
      // retries; ingestion keeps its own backoff and starts the workflows once Temporal answers again.
      interceptors: [makeGrpcRetryInterceptor(defaultGrpcRetryOptions({ maxAttempts: FAIL_FAST_ATTEMPTS }))],
    })
    return new Escalations(new Client({ connection, namespace: options.namespace, ...(extra.interceptors ? { interceptors: extra.interceptors } : {}) }), options.taskQueue)
  }

  /** Starts the one workflow of a new alert group; starting it again (a retried request) is a no-op. */
  async start(input: AlertGroupWorkflowInput): Promise<void> {
    await this.client.workflow.start('alertGroupWorkflow', { ...this.startOptions(input), workflowIdConflictPolicy: 'USE_EXISTING' })
  }

  /**
   * Unresolve: the escalation of a resolved group has ended, so a new run starts it over with a fresh snapshot
   * and records the unresolve first. Refused (with OnCall's text) when a run is already going.
   */
  async reopen(
    group: AlertGroupRecord,
    escalation: ChainSnapshot | null,
    actor: Actor,
    stored: { resolvedAt: string; lifecycleVersion: number },
  ): Promise<ActionOutcome> {
    // Update-with-start: the caller learns the outcome at once, and a run already going refuses it itself.
    const start = new WithStartWorkflowOperation('alertGroupWorkflow', {
      ...this.startOptions({ alertGroup: group, createdBy: null, directPages: [], escalation, reopen: stored }),
      workflowIdConflictPolicy: 'USE_EXISTING',
    })
    return this.update(() =>
      this.client.workflow.executeUpdateWithStart(unresolveUpdate, {
        args: [{ actor }],
        updateId: `unresolve-${randomUUID()}`,
        startWorkflowOperation: start,
      }),
    )
  }

  private startOptions(input: AlertGroupWorkflowInput & { reopen?: { resolvedAt: string; lifecycleVersion: number } }) {
    const group = input.alertGroup
    const programId = input.program?.id ?? input.escalation?.chainId
    return {
      taskQueue: this.taskQueue,
      workflowId: group.workflowId,
      args: [input] as [AlertGroupWorkflowInput],
      workflowIdReusePolicy: 'ALLOW_DUPLICATE' as const,
      memo: { title: group.title, organizationId: group.organizationId },
      typedSearchAttributes: [
        { key: AlertGroupIdKey, value: group.id },
        { key: AlertGroupStateKey, value: 'firing' },
        { key: OrganizationIdKey, value: group.organizationId },
        ...(group.teamId ? [{ key: TeamIdKey, value: group.teamId }] : []),
        ...(programId ? [{ key: EscalationChainIdKey, value: programId }] : []),
      ],
    }
  }

  /** Where the escalation is (current step, next wake-up, counters); null when no run is going. */
  async status(alertGroupId: string): Promise<EscalationStatus | null> {
    try {
      return await this.handle(alertGroupId).query(escalationStatusQuery)
    } catch (err) {
      if (isWorkflowGone(err)) return null
      throw err
    }
  }

  /** Runs an action as a workflow update; a refusal comes back as a code and changes nothing. */
  act(alertGroupId: string, action: EscalationAction, actor: Actor, delaySeconds = -1): Promise<ActionOutcome> {
    const handle = this.handle(alertGroupId)
    const options = { updateId: `${action}-${randomUUID()}` }
    return this.update(() => {
      switch (action) {
        case 'acknowledge':
          return handle.executeUpdate(acknowledgeUpdate, { args: [{ actor }], ...options })
        case 'unacknowledge':
          return handle.executeUpdate(unacknowledgeUpdate, { args: [{ actor }], ...options })
        case 'resolve':
          return handle.executeUpdate(resolveUpdate, { args: [{ actor }], ...options })
        case 'silence':
          return handle.executeUpdate(silenceUpdate, { args: [{ actor, delaySeconds }], ...options })
        case 'unsilence':
          return handle.executeUpdate(unsilenceUpdate, { args: [{ actor }], ...options })
        case 'cancel':
          return handle.executeUpdate(cancelUpdate, { args: [{ actor }], ...options })
        case 'escalate_now':
          return handle.executeUpdate(escalateNowUpdate, { args: [{ actor }], ...options })
      }
    })
  }

  /** Pages more users on an open alert group. */
  addResponders(alertGroupId: string, request: AddRespondersRequest): Promise<ActionOutcome> {
    return this.update(() =>
      this.handle(alertGroupId).executeUpdate(addRespondersUpdate, { args: [request], updateId: `responders-${randomUUID()}` }),
    )
  }

  /** Stops one user's personal notifications on an alert group (OnCall's unpage); nobody else's. */
  unpage(alertGroupId: string, userId: string, actor: Actor): Promise<ActionOutcome> {
    return this.update(() =>
      this.handle(alertGroupId).executeUpdate(unpageUserUpdate, { args: [{ actor, userId }], updateId: `unpage-${randomUUID()}` }),
    )
  }

  private handle(alertGroupId: string) {
    return this.client.workflow.getHandle(alertGroupWorkflowId(alertGroupId))
  }

  private async update(run: () => Promise<void>): Promise<ActionOutcome> {
    try {
      await run()
      return { kind: 'done' }
    } catch (err) {
      if (err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure && err.cause.type === ACTION_REFUSED) {
        return { kind: 'refused', refusal: err.cause.details?.[0] as Refusal }
      }
      if (isWorkflowGone(err)) return { kind: 'closed' }
      throw err
    }
  }

  async temporalIsUp(): Promise<boolean> {
    try {
      await this.withHealthDeadline(() => this.client.workflowService.getSystemInfo({}))
      return true
    } catch {
      return false
    }
  }

  private withHealthDeadline<T>(call: () => Promise<T>): Promise<T> {
    return this.client.connection.withDeadline(Date.now() + HEALTH_DEADLINE_MS, call)
  }

  /** True when some worker polled the task queue recently. */
  async workerIsUp(): Promise<boolean> {
    try {
      const response = await this.withHealthDeadline(() =>
        this.client.workflowService.describeTaskQueue({
          namespace: this.client.options.namespace,
          taskQueue: { name: this.taskQueue },
          taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
        }),
      )
      const now = Date.now()
      return (response.pollers ?? []).some((poller) => {
        const seconds = Number(poller.lastAccessTime?.seconds ?? 0)
        return now - seconds * 1000 < WORKER_SEEN_WITHIN_MS
      })
    } catch {
      return false
    }
  }
}

const HEALTH_DEADLINE_MS = 2000
/** gRPC attempts of one client call while Temporal does not answer (about 0.6 s of backoff in all). */
const FAIL_FAST_ATTEMPTS = 4

/** True when a call found no running workflow: it never existed, or it has completed. */
export function isWorkflowGone(err: unknown): boolean {
  if (err instanceof WorkflowNotFoundError) return true
  const message = err instanceof Error ? `${err.message} ${String((err as { cause?: unknown }).cause ?? '')}` : ''
  return /workflow execution already completed/i.test(message)
}
