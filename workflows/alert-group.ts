import {
  ApplicationFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  patched,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow'
import { AlertGroupRun, type AlertGroupWorkflowArgs } from './alert-group-run'
import { isNoOp, type LifecycleAction, type Refusal } from './core/lifecycle'
import type { ActionRequest, Actor, AddRespondersRequest } from './core/types'
import { bookkeeping, bookkeepingInOneCall, bookkeepingInTheWorkflowTask, loadRouteSnapshot, RunEffects } from './effects'
import {
  ACTION_REFUSED,
  acknowledgeUpdate,
  addRespondersUpdate,
  cancelUpdate,
  escalateNowUpdate,
  escalationStatusQuery,
  newAlertSignal,
  newAlertsSignal,
  resolveUpdate,
  silenceUpdate,
  unacknowledgeUpdate,
  unresolveUpdate,
  unpageUserUpdate,
  unsilenceUpdate,
} from './messages'
import { compileChain } from './oncall/compile'
import { AlertGroupStateKey, EscalationChainIdKey } from './search-attributes'

export type { AlertGroupWorkflowOptions, CarriedState } from './alert-group-run'

/** A refusal travels as a code in the failure's details; each API surface words it in its own dialect. */
const refuse = (refused: Refusal) =>
  ApplicationFailure.create({ type: ACTION_REFUSED, message: `${refused.action} refused: ${refused.code}`, details: [refused], nonRetryable: true })

/** One alert group's escalation, from creation until it is resolved. */
export async function alertGroupWorkflow(input: AlertGroupWorkflowArgs): Promise<void> {
  const run = new AlertGroupRun(input, workflowInfo().firstExecutionRunId, new Date())
  const effects = new RunEffects(run, (action, actor) => act(action, actor))

  /** Applies an allowed lifecycle action, keeps the search attribute current, and records it. */
  async function act(action: LifecycleAction, actor: Actor, delaySeconds?: number): Promise<void> {
    const applied = run.apply(action, actor, new Date().toISOString(), delaySeconds)
    upsertSearchAttributes([{ key: AlertGroupStateKey, value: applied.state }])
    await effects.recordAction(applied)
  }

  const validate = (action: LifecycleAction) => (_request: ActionRequest) => {
    const refused = run.refusalOf(action)
    if (refused !== null) throw refuse(refused)
  }
  setHandler(acknowledgeUpdate, ({ actor }) => act('acknowledge', actor), { validator: validate('acknowledge') })
  setHandler(unacknowledgeUpdate, ({ actor }) => act('unacknowledge', actor), { validator: validate('unacknowledge') })
  setHandler(resolveUpdate, ({ actor }) => act('resolve', actor), { validator: validate('resolve') })
  setHandler(silenceUpdate, ({ actor, delaySeconds }) => act('silence', actor, delaySeconds), {
    validator: ({ delaySeconds }) => {
      if (!Number.isInteger(delaySeconds) || delaySeconds < -1) throw refuse({ code: 'invalid_delay', action: 'silence' })
      validate('silence')({ actor: { kind: 'system' } })
    },
  })
  setHandler(unsilenceUpdate, ({ actor }) => act('unsilence', actor), { validator: validate('unsilence') })
  setHandler(unresolveUpdate, ({ actor }) => act('unresolve', actor), {
    validator: (_request: ActionRequest) => {
      const refused = run.unresolveRefusal()
      if (refused !== null) throw refuse(refused)
    },
  })
  setHandler(
    addRespondersUpdate,
    async ({ users }) => {
      const { step, keyPrefix } = run.nextResponders()
      effects.page(users, step, keyPrefix, undefined, true)
    },
    {
      validator: (_request: AddRespondersRequest) => {
        if (run.resolved) throw refuse({ code: 'resolved', action: 'add_responders' })
      },
    },
  )
  setHandler(
    cancelUpdate,
    async ({ actor }) => {
      if (!isNoOp(run.lifecycle, 'cancel')) await act('cancel', actor)
    },
    { validator: validate('cancel') },
  )
  setHandler(escalateNowUpdate, () => run.escalateNow(new Date()), {
    validator: (_request: ActionRequest) => {
      const refused = run.escalateNowRefusal()
      if (refused !== null) throw refuse(refused)
    },
  })
  setHandler(unpageUserUpdate, ({ actor, userId }) => {
    if (run.unpage(userId)) effects.unpaged(userId, actor)
  })
  // A new handler adds no command, so histories recorded before it replay unchanged; `newAlert` stays for signals
  // sent by processors of that time.
  setHandler(newAlertSignal, (alert) => run.addAlert(alert, new Date()))
  setHandler(newAlertsSignal, ({ alerts }) => {
    const now = new Date()
    for (const alert of alerts) run.addAlert(alert, now)
  })
  setHandler(escalationStatusQuery, () => run.status(effects.inFlight.size))

  const { alertGroup, carried } = input
  if (input.reopen) {
    await condition(() => !run.resolved)
  } else if (!carried && bookkeepingInOneCall()) {
    const directPage = { step: 'direct-page', keyPrefix: `${alertGroup.workflowId}:direct-page` }
    const announced = run.escalation.program !== null && effects.lifecycleWebhooksOn()
    const opened = await bookkeeping().openAlertGroup({
      group: alertGroup,
      createdBy: input.createdBy,
      directPage: { organizationId: alertGroup.organizationId, alertGroupId: alertGroup.id, ...directPage, users: input.directPages },
      webhooksOn: announced ? 'alert group created' : null,
    })
    effects.page(input.directPages, directPage.step, directPage.keyPrefix, undefined, true, opened.plans)
    if (run.escalation.program) upsertSearchAttributes([{ key: EscalationChainIdKey, value: run.escalation.program.id }])
    if (announced) effects.fireLifecycleWebhooks('alert group created', `${run.prefix}:created`, { webhookIds: opened.webhookIds })
  } else if (!carried) {
    const created = bookkeeping().recordAlertGroupCreated({ group: alertGroup, createdBy: input.createdBy })
    // The API commits the group's row only once this run has started; the record's insert waits for that commit, so
    // the page's writes that refer to the row come after it. As a local activity it costs no round trip.
    if (bookkeepingInTheWorkflowTask()) await created
    // @NOTE Runs recorded before this patch waited for the record (a round trip) before their first page. The API
    // has written the group already; the record only covers a lost commit, and writes that need the row retry.
    else if (patched('first-page-without-waiting-for-the-record')) effects.background(created)
    else await created
    effects.page(input.directPages, 'direct-page', `${alertGroup.workflowId}:direct-page`, undefined, true)
    if (run.escalation.program) {
      upsertSearchAttributes([{ key: EscalationChainIdKey, value: run.escalation.program.id }])
      if (effects.lifecycleWebhooksOn()) effects.fireLifecycleWebhooks('alert group created', `${run.prefix}:created`)
    }
  }

  while (!run.resolved) {
    // Between steps, with no page in flight: the moment to start a fresh history, carrying all state.
    const info = workflowInfo()
    if (effects.inFlight.size === 0 && (info.continueAsNewSuggested || (input.historyLimit !== undefined && info.historyLength >= input.historyLimit))) {
      await condition(allHandlersFinished)
      await continueAsNew<typeof alertGroupWorkflow>(run.continuation())
    }

    if (run.takeRestart()) {
      if (run.restartsFromRoute) {
        const fresh = compileChain(await loadRouteSnapshot({ organizationId: alertGroup.organizationId, routeId: alertGroup.routeId }))
        run.restartOn(fresh, new Date())
        if (fresh) upsertSearchAttributes([{ key: EscalationChainIdKey, value: fresh.id }])
      } else {
        run.restartOn(run.frozenProgram, new Date())
      }
      continue
    }
    run.nextWakeAt = null
    if (run.escalating) {
      const decision = run.decideNow(new Date())
      await effects.execute(decision.commands)
      run.nextWakeAt = decision.wakeAt
      if (run.resolved) break
    }

    // Sleep until the next step is due, a timed silence ends, or something happens.
    const silenceEnds = run.lifecycle.silencedUntil
    const deadline = run.wakeDeadline()
    const seen = run.changes
    if (deadline !== null) {
      const ms = deadline - Date.now()
      if (ms > 0) await condition(() => run.changes !== seen, ms)
    } else {
      await condition(() => run.changes !== seen)
    }
    // The end of a timed silence restarts the escalation from step 1 (OnCall's auto-unsilence).
    if (run.silenceRanOut(silenceEnds, new Date())) await act('unsilence', { kind: 'system' })
  }

  // Pages already handed to the notifier are finished, not abandoned, when the group resolves meanwhile.
  while (effects.inFlight.size > 0) await Promise.all(effects.inFlight)
  await condition(allHandlersFinished)
  // @NOTE The update that resolved the group starts its webhooks only once its record is written, which can be after
  // the wait above; before this patch the run ended under them and they were never called.
  if (patched('finish-effects-of-last-update')) {
    while (effects.inFlight.size > 0) await Promise.all(effects.inFlight)
  }
}
