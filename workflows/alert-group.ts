import {
  ApplicationFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  patched,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow'
import type { Activities } from '../activities'
import {
  decide,
  onNewAlert,
  restartEscalation,
  startEscalation,
  type Command,
  type EscalationState,
} from './core/escalation'
import { applyAction, initialLifecycle, publicState, refusal, type LifecycleAction, type LifecycleState } from './core/lifecycle'
import type { ActionRequest, Actor, AddRespondersRequest, AlertGroupWorkflowInput, DirectPage } from './core/types'
import {
  ACTION_REFUSED,
  acknowledgeUpdate,
  unresolveUpdate,
  addRespondersUpdate,
  escalationStatusQuery,
  newAlertSignal,
  resolveUpdate,
  silenceUpdate,
  unacknowledgeUpdate,
  unsilenceUpdate,
  type EscalationStatus,
} from './messages'
import { AlertGroupStateKey, EscalationChainIdKey } from './search-attributes'

const retry = { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds' } as const

const { recordAlertGroupCreated, recordAlertGroupAction, resolveRecipients, loadRouteSnapshot, recordTimeline } =
  proxyActivities<Activities>({ startToCloseTimeout: '10 seconds', retry })

// @NOTE No attempt limit: a page must not be lost to a flaky notifier. The ledger key makes retries safe.
const { notifyUser, postToChannel, declareIncident, lifecycleWebhooks } = proxyActivities<Activities>({
  startToCloseTimeout: '15 seconds',
  retry,
})

// Webhooks retry transient failures with backoff, a bounded number of times; a 4xx answer is final.
const { callWebhook } = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 6, nonRetryableErrorTypes: ['WebhookRejected'] },
})

const RECENT_ALERTS = 1000

/** What survives continue-as-new: everything the run knows that the input does not. */
export interface CarriedState {
  readonly prefix: string
  readonly lifecycle: LifecycleState
  readonly escalation: EscalationState
  readonly actionCount: number
  readonly pageCount: number
  readonly notificationsSent: number
  readonly alertsCount: number
  readonly alertTimes: readonly string[]
  readonly recentAlertIds: readonly string[]
  readonly restarts: number
}

export interface AlertGroupWorkflowOptions {
  /** State from the previous run of this escalation (continue-as-new). */
  readonly carried?: CarriedState
  /**
   * A new run for a resolved group, started together with its `unresolve` update: it begins resolved, as the
   * group is, and escalates from step 1 once the update unresolves it. The version continues the stored one.
   */
  readonly reopen?: { readonly resolvedAt: string; readonly lifecycleVersion: number }
  /** Continue as new once the history has this many events (tests lower it); Temporal's suggestion applies too. */
  readonly historyLimit?: number
}

const refuse = (message: string) => ApplicationFailure.create({ type: ACTION_REFUSED, message, nonRetryable: true })

/** One alert group's escalation, from creation until it is resolved. */
export async function alertGroupWorkflow(input: AlertGroupWorkflowInput & AlertGroupWorkflowOptions): Promise<void> {
  const { alertGroup, directPages, carried } = input
  const org = alertGroup.organizationId
  const prefix = carried?.prefix ?? `${alertGroup.workflowId}:${workflowInfo().firstExecutionRunId}`
  let lifecycle: LifecycleState =
    carried?.lifecycle ?? (input.reopen ? { ...initialLifecycle, resolvedAt: input.reopen.resolvedAt, resolvedBy: { kind: 'system' } } : initialLifecycle)
  // Deadlines count from when the alert group was created, so a slow first workflow task delays nothing after it.
  const createdAt = Math.min(Date.parse(alertGroup.createdAt), Date.now())
  let escalation: EscalationState = carried?.escalation ?? startEscalation(input.escalation ?? null, new Date(createdAt))
  let actionCount = carried?.actionCount ?? input.reopen?.lifecycleVersion ?? 0
  let pageCount = carried?.pageCount ?? 0
  let notificationsSent = carried?.notificationsSent ?? 0
  let alertsCount = carried?.alertsCount ?? 1
  const alertTimes: string[] = [...(carried?.alertTimes ?? [alertGroup.createdAt])]
  const recentAlertIds = new Set<string>(carried?.recentAlertIds ?? [alertGroup.firstAlert.id])
  let restarts = carried?.restarts ?? 0
  let restartPending = false
  let changes = 0
  let nextWakeAt: string | null = null
  const inFlight = new Set<Promise<void>>()
  const background = (work: Promise<unknown>) => {
    const tracked: Promise<void> = work.then(
      () => void inFlight.delete(tracked),
      () => void inFlight.delete(tracked),
    )
    inFlight.add(tracked)
  }
  // @NOTE Histories recorded before lifecycle webhooks existed must replay without these commands.
  const lifecycleWebhooksOn = () => patched('lifecycle-webhooks')

  const fireLifecycleWebhooks = (triggerType: string, key: string) => {
    background(
      lifecycleWebhooks({ organizationId: org, alertGroupId: alertGroup.id, triggerType }).then((webhookIds) =>
        Promise.all(
          webhookIds.map((webhookId) =>
            callWebhook({
              organizationId: org,
              alertGroupId: alertGroup.id,
              webhookId,
              triggerType,
              idempotencyKey: `${key}:${webhookId}`,
              event: { alert_group_state: publicState(lifecycle) },
            }),
          ),
        ),
      ),
    )
  }

  const page = (users: readonly DirectPage[], step: string, keyPrefix: string) => {
    for (const user of users) {
      background(
        notifyUser({
          organizationId: org,
          alertGroupId: alertGroup.id,
          title: alertGroup.title,
          userId: user.userId,
          important: user.important,
          step,
          idempotencyKey: `${keyPrefix}:${user.userId}`,
        }).then(() => {
          notificationsSent += 1
          // @NOTE A patch of its own: histories recorded with lifecycle webhooks but before these must replay.
          if (patched('personal-notification-webhooks')) {
            fireLifecycleWebhooks('personal notification', `${keyPrefix}:${user.userId}:personal`)
          }
        }),
      )
    }
  }

  /** Applies an allowed lifecycle action: state first (so a concurrent duplicate is refused), then the record. */
  const act = async (action: LifecycleAction, actor: Actor, delaySeconds?: number) => {
    const at = new Date().toISOString()
    lifecycle = applyAction(lifecycle, { action, actor, at, delaySeconds })
    actionCount += 1
    changes += 1
    const key = `${prefix}:action:${actionCount}`
    upsertSearchAttributes([{ key: AlertGroupStateKey, value: publicState(lifecycle) }])
    if (action === 'unacknowledge' || action === 'unsilence') restartPending = true
    if (action === 'unresolve') escalation = startEscalation(escalation.snapshot, new Date(at))
    await recordAlertGroupAction({
      organizationId: org,
      alertGroupId: alertGroup.id,
      action,
      actor,
      at,
      lifecycle,
      version: actionCount,
      delaySeconds: delaySeconds ?? null,
      idempotencyKey: key,
    })
    if (lifecycleWebhooksOn()) fireLifecycleWebhooks(action, key)
  }

  const validate = (action: LifecycleAction) => (_request: ActionRequest) => {
    const reason = refusal(lifecycle, action, { maintenance: alertGroup.isMaintenance === true })
    if (reason !== null) throw refuse(reason)
  }
  setHandler(acknowledgeUpdate, ({ actor }) => act('acknowledge', actor), { validator: validate('acknowledge') })
  setHandler(unacknowledgeUpdate, ({ actor }) => act('unacknowledge', actor), { validator: validate('unacknowledge') })
  setHandler(resolveUpdate, ({ actor }) => act('resolve', actor), { validator: validate('resolve') })
  setHandler(silenceUpdate, ({ actor, delaySeconds }) => act('silence', actor, delaySeconds), {
    validator: ({ delaySeconds }) => {
      if (!Number.isInteger(delaySeconds) || delaySeconds < -1) throw refuse('invalid delay value')
      validate('silence')({ actor: { kind: 'system' } })
    },
  })
  setHandler(unsilenceUpdate, ({ actor }) => act('unsilence', actor), { validator: validate('unsilence') })
  let reopenPending = input.reopen !== undefined
  setHandler(
    unresolveUpdate,
    ({ actor }) => {
      reopenPending = false
      return act('unresolve', actor)
    },
    {
      validator: (_request: ActionRequest) => {
        if (!reopenPending) {
          throw refuse(lifecycle.resolvedAt === null ? "Can't unresolve an unresolved alert group" : 'The escalation is still finishing; retry shortly')
        }
      },
    },
  )
  setHandler(
    addRespondersUpdate,
    async ({ users }) => {
      pageCount += 1
      page(users, `responders-${pageCount}`, `${prefix}:responders-${pageCount}`)
    },
    {
      validator: (_request: AddRespondersRequest) => {
        if (lifecycle.resolvedAt !== null) throw refuse('Cannot add responders for a resolved alert group')
      },
    },
  )
  setHandler(newAlertSignal, ({ alertId, receivedAt }) => {
    // Signals can be redelivered by the ingestion side; count each alert once.
    if (recentAlertIds.has(alertId)) return
    recentAlertIds.add(alertId)
    if (recentAlertIds.size > RECENT_ALERTS) recentAlertIds.delete(recentAlertIds.values().next().value as string)
    alertsCount += 1
    alertTimes.push(receivedAt)
    if (alertTimes.length > RECENT_ALERTS) alertTimes.shift()
    escalation = onNewAlert(escalation, new Date())
    changes += 1
  })
  setHandler(escalationStatusQuery, (): EscalationStatus => {
    const step = escalation.snapshot?.steps[escalation.nextIndex]
    return {
      alertGroupId: alertGroup.id,
      state: publicState(lifecycle),
      lifecycle,
      notificationsSent,
      pendingNotifications: inFlight.size,
      alertsCount,
      chainId: escalation.snapshot?.chainId ?? null,
      currentStep: step && !escalation.finished ? { index: escalation.nextIndex, policyId: step.policyId, type: step.type } : null,
      nextWakeAt,
      paused: escalation.paused,
      finished: escalation.finished,
      repeats: escalation.repeats,
      stepsExecuted: escalation.executed,
      restarts,
    }
  })

  /**
   * Carries out one decision's commands. Since the patch below, every effect but `resolve` runs in the background,
   * so the next timer is set in the same workflow task as the decision and no step waits on another's I/O.
   */
  const execute = async (commands: readonly Command[]) => {
    const inBackground = patched('background-step-effects')
    const decidedAt = Date.now()
    for (const [index, command] of commands.entries()) {
      // Timeline entries carry the decision's time (1 ms apart, in order), not the time their activity ran.
      const at = new Date(decidedAt + index).toISOString()
      if (inBackground && command.kind !== 'resolve') background(run(command, at))
      else await run(command, at)
    }
  }

  const run = async (command: Command, at: string) => {
    {
      const step = command.step
      const stepInfo = step ? { step_index: step.index, policy_id: step.policyId, step_type: step.type } : {}
      switch (command.kind) {
        case 'log':
          await recordTimeline({
            organizationId: org,
            alertGroupId: alertGroup.id,
            kind: command.event,
            detail: { ...stepInfo, ...command.detail },
            idempotencyKey: command.stepKey + (command.event === 'escalation_paused' ? ':paused' : ''),
            at,
          })
          break
        case 'notify': {
          const recipients = await resolveRecipients({ organizationId: org, source: command.source, stepKey: command.stepKey })
          await recordTimeline({
            organizationId: org,
            alertGroupId: alertGroup.id,
            kind: recipients.userIds.length ? 'step_triggered' : 'step_skipped',
            detail: { ...stepInfo, user_ids: recipients.userIds, ...(recipients.detail ?? {}), ...(recipients.emptyReason ? { reason: recipients.emptyReason } : {}) },
            idempotencyKey: command.stepKey,
            at,
          })
          page(
            recipients.userIds.map((userId) => ({ userId, important: command.important })),
            `policy:${command.step.policyId}`,
            command.stepKey,
          )
          break
        }
        case 'webhook':
          background(
            callWebhook({
              organizationId: org,
              alertGroupId: alertGroup.id,
              webhookId: command.webhookId,
              triggerType: 'escalation',
              idempotencyKey: command.stepKey,
              event: stepInfo,
            }).then(
              (result) =>
                recordTimeline({
                  organizationId: org,
                  alertGroupId: alertGroup.id,
                  kind: result.status === 'sent' ? 'webhook_triggered' : 'step_skipped',
                  detail: { ...stepInfo, webhook_id: command.webhookId, ...result },
                  idempotencyKey: command.stepKey,
                }),
              (err: unknown) =>
                recordTimeline({
                  organizationId: org,
                  alertGroupId: alertGroup.id,
                  kind: 'step_failed',
                  detail: { ...stepInfo, webhook_id: command.webhookId, reason: String((err as Error)?.message ?? err) },
                  idempotencyKey: command.stepKey,
                }),
            ),
          )
          break
        case 'notify_channel': {
          const posted = await postToChannel({
            organizationId: org,
            alertGroupId: alertGroup.id,
            text: `Alert group ${alertGroup.id}: ${alertGroup.title ?? 'untitled'} needs attention`,
            idempotencyKey: command.stepKey,
          })
          await recordTimeline({
            organizationId: org,
            alertGroupId: alertGroup.id,
            kind: posted.status === 'posted' ? 'channel_notified' : 'step_skipped',
            detail: { ...stepInfo, ...posted },
            idempotencyKey: command.stepKey,
          })
          break
        }
        case 'declare_incident': {
          const { declared } = await declareIncident({ organizationId: org, alertGroupId: alertGroup.id, severity: command.severity, policyId: command.step.policyId })
          await recordTimeline({
            organizationId: org,
            alertGroupId: alertGroup.id,
            kind: declared ? 'incident_declared' : 'step_skipped',
            detail: { ...stepInfo, severity: command.severity, ...(declared ? {} : { reason: 'an incident is already declared for this alert group' }) },
            idempotencyKey: command.stepKey,
          })
          break
        }
        case 'resolve':
          if (lifecycle.resolvedAt === null) await act('resolve', { kind: 'system' })
          break
      }
    }
  }

  if (input.reopen) {
    await condition(() => lifecycle.resolvedAt === null)
  } else if (!carried) {
    await recordAlertGroupCreated({ group: alertGroup, createdBy: input.createdBy })
    page(directPages, 'direct-page', `${alertGroup.workflowId}:direct-page`)
    if (escalation.snapshot) {
      upsertSearchAttributes([{ key: EscalationChainIdKey, value: escalation.snapshot.chainId }])
      if (lifecycleWebhooksOn()) fireLifecycleWebhooks('alert group created', `${prefix}:created`)
    }
  }

  while (lifecycle.resolvedAt === null) {
    // Between steps, with no page in flight: the moment to start a fresh history, carrying all state.
    const info = workflowInfo()
    if (inFlight.size === 0 && (info.continueAsNewSuggested || (input.historyLimit !== undefined && info.historyLength >= input.historyLimit))) {
      await condition(allHandlersFinished)
      await continueAsNew<typeof alertGroupWorkflow>({
        alertGroup,
        createdBy: input.createdBy,
        directPages: [],
        escalation: escalation.snapshot,
        historyLimit: input.historyLimit,
        carried: {
          prefix,
          lifecycle,
          escalation,
          actionCount,
          pageCount,
          notificationsSent,
          alertsCount,
          alertTimes,
          recentAlertIds: [...recentAlertIds],
          restarts,
        },
      })
    }

    if (restartPending) {
      restartPending = false
      restarts += 1
      const fresh = await loadRouteSnapshot({ organizationId: org, routeId: alertGroup.routeId })
      escalation = restartEscalation(escalation, fresh, new Date())
      if (fresh) upsertSearchAttributes([{ key: EscalationChainIdKey, value: fresh.chainId }])
      continue
    }
    const silenced = lifecycle.silencedAt !== null
    nextWakeAt = null
    if (lifecycle.acknowledgedAt === null && !silenced && !escalation.finished) {
      const decision = decide(escalation, new Date(), alertTimes, prefix)
      escalation = decision.state
      await execute(decision.commands)
      nextWakeAt = decision.wakeAt
      if (lifecycle.resolvedAt !== null) break
    }

    // Sleep until the next step is due, a timed silence ends, or something happens.
    const silenceEnds = lifecycle.silencedUntil
    const deadlines = [nextWakeAt, silenceEnds].filter((d): d is string => d !== null).map(Date.parse)
    const seen = changes
    if (deadlines.length > 0) {
      const ms = Math.min(...deadlines) - Date.now()
      if (ms > 0) await condition(() => changes !== seen, ms)
    } else {
      await condition(() => changes !== seen)
    }
    // The end of a timed silence restarts the escalation from step 1 (OnCall's auto-unsilence).
    if (lifecycle.silencedAt !== null && lifecycle.silencedUntil === silenceEnds && silenceEnds !== null && Date.now() >= Date.parse(silenceEnds)) {
      await act('unsilence', { kind: 'system' })
    }
  }

  // Pages already handed to the notifier are finished, not abandoned, when the group resolves meanwhile.
  while (inFlight.size > 0) await Promise.all(inFlight)
  await condition(allHandlersFinished)
}
