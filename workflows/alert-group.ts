import {
  ApplicationFailure,
  allHandlersFinished,
  condition,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
} from '@temporalio/workflow'
import type { Activities } from '../activities'
import { applyAction, initialLifecycle, publicState, refusal, type LifecycleAction, type LifecycleState } from './core/lifecycle'
import type { ActionRequest, AddRespondersRequest, AlertGroupWorkflowInput, DirectPage } from './core/types'
import {
  ACTION_REFUSED,
  acknowledgeUpdate,
  addRespondersUpdate,
  escalationStatusQuery,
  newAlertSignal,
  resolveUpdate,
} from './messages'
import { AlertGroupStateKey } from './search-attributes'

const { recordAlertGroupCreated, recordAlertGroupAction } = proxyActivities<Activities>({
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds' },
})

// @NOTE No attempt limit: a page must not be lost to a flaky notifier. The ledger key makes retries safe.
const { notifyUser } = proxyActivities<Activities>({
  startToCloseTimeout: '15 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds' },
})

type RecordedAction = Extract<LifecycleAction, 'acknowledge' | 'resolve'>

const RECENT_ALERT_IDS = 1000

const refuse = (message: string) => ApplicationFailure.create({ type: ACTION_REFUSED, message, nonRetryable: true })

/** One alert group's escalation, from creation until it is resolved. */
export async function alertGroupWorkflow(input: AlertGroupWorkflowInput): Promise<void> {
  const { alertGroup, directPages } = input
  let lifecycle: LifecycleState = initialLifecycle
  let actionCount = 0
  let pageCount = 0
  let notificationsSent = 0
  let alertsCount = 1
  const seenAlerts = new Set<string>([alertGroup.firstAlert.id])
  const inFlight = new Set<Promise<void>>()

  const page = (users: readonly DirectPage[], step: string) => {
    for (const user of users) {
      const sent: Promise<void> = notifyUser({
        organizationId: alertGroup.organizationId,
        alertGroupId: alertGroup.id,
        title: alertGroup.title,
        userId: user.userId,
        important: user.important,
        step,
        idempotencyKey: `${alertGroup.workflowId}:${step}:${user.userId}`,
      }).then(() => {
        notificationsSent += 1
        inFlight.delete(sent)
      })
      inFlight.add(sent)
    }
  }

  const act = (action: RecordedAction) => async (request: ActionRequest) => {
    // State changes before the first await, so a concurrent duplicate is refused by its validator.
    const at = new Date().toISOString()
    lifecycle = applyAction(lifecycle, { action, actor: request.actor, at })
    actionCount += 1
    upsertSearchAttributes([{ key: AlertGroupStateKey, value: publicState(lifecycle) }])
    await recordAlertGroupAction({
      organizationId: alertGroup.organizationId,
      alertGroupId: alertGroup.id,
      action,
      actor: request.actor,
      at,
      idempotencyKey: `${alertGroup.workflowId}:action:${actionCount}`,
    })
  }
  const validate = (action: LifecycleAction) => (_request: ActionRequest) => {
    const reason = refusal(lifecycle, action)
    if (reason !== null) throw refuse(reason)
  }
  setHandler(acknowledgeUpdate, act('acknowledge'), { validator: validate('acknowledge') })
  setHandler(resolveUpdate, act('resolve'), { validator: validate('resolve') })
  setHandler(
    addRespondersUpdate,
    async ({ users }) => {
      pageCount += 1
      page(users, `responders-${pageCount}`)
    },
    {
      validator: (_request: AddRespondersRequest) => {
        if (lifecycle.resolvedAt !== null) throw refuse('Cannot add responders for a resolved alert group')
      },
    },
  )
  setHandler(newAlertSignal, ({ alertId }) => {
    // Signals are delivered at least once from the ingestion side; count each alert once.
    if (seenAlerts.has(alertId)) return
    seenAlerts.add(alertId)
    // A redelivery comes right after the original, so remembering the latest ids is enough.
    if (seenAlerts.size > RECENT_ALERT_IDS) seenAlerts.delete(seenAlerts.values().next().value as string)
    alertsCount += 1
  })
  setHandler(escalationStatusQuery, () => ({
    alertGroupId: alertGroup.id,
    state: publicState(lifecycle),
    lifecycle,
    notificationsSent,
    pendingNotifications: inFlight.size,
    alertsCount,
  }))

  await recordAlertGroupCreated({ group: alertGroup, createdBy: input.createdBy })
  page(directPages, 'direct-page')

  await condition(() => lifecycle.resolvedAt !== null)
  // Pages already handed to the notifier are finished, not abandoned, when the group resolves meanwhile.
  await Promise.all(inFlight)
  await condition(allHandlersFinished)
}
