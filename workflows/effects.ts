import { condition, patched, proxyActivities, proxyLocalActivities } from '@temporalio/workflow'
import type { Activities, NotifyUserResult } from '../activities'
import type { NotificationPlan } from '../activities/paging'
import type { StepDue } from '../activities/metrics'
import type { AlertGroupRun, AppliedAction } from './alert-group-run'
import type { Command } from './core/escalation'
import { refusal } from './core/lifecycle'
import { publicState } from './core/lifecycle'
import type { PlanStage } from './core/personal-rules'
import { stepPageOf } from './core/step-page'
import type { Actor, DirectPage } from './core/types'

// Everything a run does to the world, through activities only: paging users, lifecycle webhooks, and the effect of
// each command kind of the step program (one entry per kind in `effects`, so a new kind fails to compile here).

const retry = { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds' } as const

const bookkeepingOptions = { startToCloseTimeout: '10 seconds', retry } as const
const queuedBookkeeping = proxyActivities<Activities>(bookkeepingOptions)
// Short idempotent reads and writes (timeline, plans, recipients, records) run inside the workflow task that asks for
// them: no trip through the task queue and no extra workflow task, so a page goes out one round trip after its decision.
const localBookkeeping = proxyLocalActivities<Activities>(bookkeepingOptions)

// An update handler's work stays on the task queue (the action's record, the lookup of the webhooks it fires), and
// so does the restart an update causes: a local activity that an update's completion waits on, beside another one
// in the same task, replays out of order.
export const { recordAlertGroupAction, loadRouteSnapshot, lifecycleWebhooks } = queuedBookkeeping

/**
 * The activities of the page path's bookkeeping: local since the patch below.
 * @NOTE Histories recorded before it scheduled them on the task queue, each with a workflow task of its own.
 */
export function bookkeeping(): Pick<
  Activities,
  'recordAlertGroupCreated' | 'openAlertGroup' | 'resolveRecipients' | 'planStepPage' | 'recordTimeline' | 'loadNotificationPlans' | 'lifecycleWebhooks'
> {
  return bookkeepingInTheWorkflowTask() ? localBookkeeping : queuedBookkeeping
}

export function bookkeepingInTheWorkflowTask(): boolean {
  return patched('bookkeeping-in-the-workflow-task')
}

/**
 * Since this patch the first task's bookkeeping (the group's record, the direct page's plans) and a notify step's
 * (recipients, its timeline entry, the plans) are one local activity each: one activation and one commit, not three.
 * @NOTE Histories recorded before it ran them as separate local activities, one after another.
 */
export function bookkeepingInOneCall(): boolean {
  return bookkeepingInTheWorkflowTask() && patched('bookkeeping-in-one-call')
}

// @NOTE No attempt limit: a page must not be lost to a flaky notifier. The ledger key makes retries safe.
const { notifyUser, postToChannel, declareIncident } = proxyActivities<Activities>({
  startToCloseTimeout: '15 seconds',
  retry,
})

// Webhooks retry transient failures with backoff, a bounded number of times; a 4xx answer is final.
const { callWebhook } = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 6, nonRetryableErrorTypes: ['WebhookRejected'] },
})

/** What an activity itself failed with, rather than the wrapper the workflow receives ("activity error"). */
function failureReason(err: unknown): string {
  let cause = err
  while (cause instanceof Error && cause.cause instanceof Error) cause = cause.cause
  return cause instanceof Error ? cause.message : String(cause)
}

type Effect<K extends Command['kind']> = (command: Extract<Command, { kind: K }>, at: string) => Promise<void>
export type Effects = { readonly [K in Command['kind']]: Effect<K> }

/** The run's outgoing work: effects in flight are tracked so the run never ends or continues as new under them. */
export class RunEffects {
  readonly inFlight = new Set<Promise<void>>()

  constructor(
    private readonly run: AlertGroupRun,
    /** Applies an action decided by the engine itself (the `resolve` node, expiry) exactly as an update would. */
    private readonly act: (action: 'resolve' | 'expire', actor: { kind: 'system' }) => Promise<void>,
  ) {}

  private get org() {
    return this.run.alertGroup.organizationId
  }

  /** Runs `work` without waiting for it; the run waits for all of it before it ends. */
  background(work: Promise<unknown>): void {
    const tracked: Promise<void> = work.then(
      () => void this.inFlight.delete(tracked),
      () => void this.inFlight.delete(tracked),
    )
    this.inFlight.add(tracked)
  }

  /** @NOTE Histories recorded before lifecycle webhooks existed must replay without these commands. */
  lifecycleWebhooksOn(): boolean {
    return patched('lifecycle-webhooks')
  }

  /**
   * Calls every webhook of the organization that fires on `triggerType`, reporting the state as it was then (or
   * `state`), plus `details` of the event (who a personal notification went to). `webhookIds`: the webhooks, when an
   * activity of the run looked them up already. `fromUpdate`: fired by an update handler, whose lookup stays on the
   * task queue (see `lifecycleWebhooks`); any other lookup is bookkeeping of the run.
   */
  fireLifecycleWebhooks(
    triggerType: string,
    key: string,
    options: {
      readonly state?: ReturnType<typeof publicState>
      readonly details?: Readonly<Record<string, unknown>>
      readonly fromUpdate?: boolean
      readonly webhookIds?: readonly string[]
    } = {},
  ): void {
    const { state = publicState(this.run.lifecycle), details = {}, fromUpdate = false } = options
    const alertGroupId = this.run.alertGroup.id
    const call = (webhookIds: readonly string[]) =>
      Promise.all(
        webhookIds.map((webhookId) =>
          callWebhook({
            organizationId: this.org,
            alertGroupId,
            webhookId,
            triggerType,
            idempotencyKey: `${key}:${webhookId}`,
            event: { alert_group_state: state, ...details },
          }),
        ),
      )
    if (options.webhookIds) {
      if (options.webhookIds.length > 0) this.background(call(options.webhookIds))
      return
    }
    const lookup = fromUpdate ? lifecycleWebhooks : bookkeeping().lifecycleWebhooks
    this.background(lookup({ organizationId: this.org, alertGroupId, triggerType }).then(call))
  }

  /**
   * Pages each user by running their personal notification rules (default or important) as durable stages.
   * `stepDue`: the escalation step that pages and when it was due (direct pages and added responders have none).
   * `direct`: a direct page, whose chains outlive someone else's acknowledgement.
   * `plans`: the users' plans, in their order, when the caller's bookkeeping loaded them already.
   */
  page(users: readonly DirectPage[], step: string, keyPrefix: string, stepDue?: StepDue, direct = false, plans?: readonly NotificationPlan[]): void {
    // @NOTE Histories recorded before personal rules page each user with one notification and no plan.
    if (!patched('personal-notification-rules')) return this.pageOnce(users, step, keyPrefix, stepDue)
    const at = new Date().toISOString()
    // Generations are taken now, in order, so a later page of the same user always replaces this one.
    const chains = users.map((user) => ({ user, generation: this.run.startChain(user.userId, direct, at) }))
    if (chains.length === 0) return
    const runChains = (loaded: readonly NotificationPlan[]) => {
      for (const [index, chain] of chains.entries()) {
        this.background(this.runChain(chain.user, chain.generation, loaded[index]?.stages ?? [], step, keyPrefix, stepDue))
      }
    }
    if (plans) return runChains(plans)
    this.background(
      bookkeeping().loadNotificationPlans({
        organizationId: this.org,
        alertGroupId: this.run.alertGroup.id,
        step,
        keyPrefix,
        users: users.map((user) => ({ userId: user.userId, important: user.important })),
      }).then(runChains),
    )
  }

  /**
   * One user's chain: before every rule it checks that nothing stopped it (ack, resolve, silence, unpage, a newer
   * page of the same user); a wait is a durable timer cut short by any of those; each notification runs in the
   * background, so a channel that keeps failing never holds up the next rule.
   */
  private async runChain(user: DirectPage, generation: number, stages: readonly PlanStage[], step: string, keyPrefix: string, stepDue?: StepDue) {
    const userKey = `${keyPrefix}:${user.userId}`
    const stopped = () => this.run.chainStopReason(user.userId, generation)
    for (const [index, stage] of stages.entries()) {
      // A page runs its first rule whatever happened since it was decided (the group was firing then, and OnCall's
      // fresh trigger runs rule 1 at once); every later rule first checks that nothing stopped the chain.
      const reason = index === 0 ? null : stopped()
      if (reason !== null) {
        // A newer page restarts the chain and says so itself; any other stop is worth a line in the timeline.
        if (reason !== 'superseded') this.chainTimeline('notification_chain_stopped', `${userKey}:stopped`, { user_id: user.userId, step, next_position: stage.position, reason })
        return
      }
      if (stage.kind === 'wait') {
        this.chainTimeline('notification_waiting', `${userKey}:rule-${stage.position}`, {
          user_id: user.userId,
          step,
          position: stage.position,
          seconds: stage.seconds,
        })
        await condition(() => stopped() !== null, stage.seconds * 1000)
        continue
      }
      const key = `${userKey}:rule-${stage.position}`
      this.background(
        notifyUser({
          organizationId: this.org,
          alertGroupId: this.run.alertGroup.id,
          title: this.run.alertGroup.title,
          userId: user.userId,
          important: user.important,
          step,
          idempotencyKey: key,
          rule: { position: stage.position, type: stage.type, fallback: stage.fallback },
          // The step's lateness is measured by its first notification.
          ...(stepDue && index === 0 ? { stepDue } : {}),
        }).then((result) => this.notified(result, key)),
      )
    }
  }

  /** Records that a user was unpaged; their chain stops before its next rule. */
  unpaged(userId: string, actor: Actor): void {
    this.chainTimeline('user_unpaged', `${this.run.prefix}:unpage:${userId}:${this.run.changes}`, { user_id: userId, actor })
  }

  private chainTimeline(kind: string, idempotencyKey: string, detail: Record<string, unknown>): void {
    this.background(
      bookkeeping().recordTimeline({ organizationId: this.org, alertGroupId: this.run.alertGroup.id, kind, detail, idempotencyKey, at: new Date().toISOString() }),
    )
  }

  /** A delivered notification counts and fires the personal-notification webhooks, naming the user and channel. */
  private notified(result: NotifyUserResult, key: string): void {
    if (result.status !== 'delivered' && result.status !== 'already_delivered') return
    this.run.notificationsSent += 1
    const details = { ...(result.user ? { user: result.user } : {}), ...(result.channel ? { channel: result.channel } : {}) }
    // Runs recorded before the page's result named the webhooks look them up; so does a run whose workflow code
    // predates the patch while a newer worker ran the page (a rolling upgrade), so its history replays either way.
    const named = result.webhookIds && bookkeepingInOneCall() ? { webhookIds: result.webhookIds } : {}
    this.fireLifecycleWebhooks('personal notification', `${key}:personal`, { details, ...named })
  }

  /** Pages each user once (per key), as runs recorded before personal rules did. */
  private pageOnce(users: readonly DirectPage[], step: string, keyPrefix: string, stepDue?: StepDue): void {
    const { alertGroup } = this.run
    for (const user of users) {
      this.background(
        notifyUser({
          organizationId: this.org,
          alertGroupId: alertGroup.id,
          title: alertGroup.title,
          userId: user.userId,
          important: user.important,
          step,
          idempotencyKey: `${keyPrefix}:${user.userId}`,
          ...(stepDue ? { stepDue } : {}),
        }).then((result) => {
          // @NOTE Before this patch a skipped page (user deleted) counted as sent and fired the webhooks.
          if (result.status === 'skipped' && patched('skipped-pages-not-sent')) return
          this.run.notificationsSent += 1
          // @NOTE A patch of its own: histories recorded with lifecycle webhooks but before these must replay.
          if (patched('personal-notification-webhooks')) {
            // Results recorded before the activity reported the user and channel lack them.
            const details =
              result.status === 'delivered' || result.status === 'already_delivered'
                ? { ...(result.user ? { user: result.user } : {}), ...(result.channel ? { channel: result.channel } : {}) }
                : {}
            this.fireLifecycleWebhooks('personal notification', `${keyPrefix}:${user.userId}:personal`, { details })
          }
        }),
      )
    }
  }

  /** Records an applied action, then announces it to the lifecycle webhooks with the state it produced. */
  async recordAction(applied: AppliedAction): Promise<void> {
    await recordAlertGroupAction({
      organizationId: this.org,
      alertGroupId: this.run.alertGroup.id,
      action: applied.action,
      actor: applied.actor,
      at: applied.at,
      lifecycle: applied.lifecycle,
      version: applied.version,
      delaySeconds: applied.delaySeconds,
      idempotencyKey: applied.idempotencyKey,
    })
    if (this.lifecycleWebhooksOn()) this.fireLifecycleWebhooks(applied.action, applied.idempotencyKey, { state: applied.state, fromUpdate: true })
  }

  /**
   * Carries out one decision's commands. Since the patch below, every effect but `resolve` runs in the background,
   * so the next timer is set in the same workflow task as the decision and no step waits on another's I/O.
   */
  async execute(commands: readonly Command[]): Promise<void> {
    const inBackground = patched('background-step-effects')
    const decidedAt = Date.now()
    for (const [index, command] of commands.entries()) {
      // Timeline entries carry the decision's time (1 ms apart, in order), not the time their activity ran.
      const at = new Date(decidedAt + index).toISOString()
      const effect = this.effects[command.kind] as (command: Command, at: string) => Promise<void>
      if (inBackground && command.kind !== 'resolve' && command.kind !== 'expire') this.background(effect(command, at))
      else await effect(command, at)
    }
  }

  private timeline(command: Command, at: string, kind: string, detail: Record<string, unknown>): Promise<void> {
    return bookkeeping().recordTimeline({ organizationId: this.org, alertGroupId: this.run.alertGroup.id, kind, detail, idempotencyKey: command.stepKey, at })
  }

  /** The step a command comes from and when it was due: activities log it and measure their lateness against it. */
  private stepDue(command: Command): { stepDue?: StepDue } {
    return command.step ? { stepDue: { dueAt: command.dueAt, stepIndex: command.step.index, stepType: command.step.type } } : {}
  }

  private stepInfo(command: Command): Record<string, unknown> {
    const step = command.step
    // `policy_id` is OnCall's name for the step; for an incident.io path it holds the node's id.
    return step ? { step_index: step.index, policy_id: step.id, step_type: step.type } : {}
  }

  /** The effect of each command kind of the step program. */
  private readonly effects: Effects = {
    log: async (command, at) => {
      await bookkeeping().recordTimeline({
        organizationId: this.org,
        alertGroupId: this.run.alertGroup.id,
        kind: command.event,
        detail: { ...this.stepInfo(command), ...command.detail },
        idempotencyKey: command.stepKey + (command.event === 'escalation_paused' ? ':paused' : ''),
        at,
        ...this.stepDue(command),
      })
    },
    notify: async (command, at) => {
      const step = `policy:${command.step.id}`
      const { stepDue } = this.stepDue(command)
      if (bookkeepingInOneCall()) {
        const { pages, plans } = await bookkeeping().planStepPage({
          organizationId: this.org,
          alertGroupId: this.run.alertGroup.id,
          stepKey: command.stepKey,
          step,
          targets: command.targets,
          stepInfo: this.stepInfo(command),
          at,
        })
        return this.page(pages, step, command.stepKey, stepDue, false, plans)
      }
      // Since the bookkeeping patch the targets resolve together and the page does not wait for its timeline entry.
      const quick = bookkeepingInTheWorkflowTask()
      const resolve = (target: (typeof command.targets)[number]) =>
        bookkeeping().resolveRecipients({ organizationId: this.org, source: target.source, stepKey: command.stepKey, ...this.stepDue(command) })
      const resolved: Array<Awaited<ReturnType<typeof resolve>>> = []
      if (quick) resolved.push(...(await Promise.all(command.targets.map(resolve))))
      else for (const target of command.targets) resolved.push(await resolve(target))
      const { pages, entry } = stepPageOf(command.targets, resolved, this.stepInfo(command))
      const written = this.timeline(command, at, entry.kind, entry.detail)
      if (quick) this.background(written)
      else await written
      this.page(pages, step, command.stepKey, stepDue)
    },
    webhook: async (command, at) => {
      const stepInfo = this.stepInfo(command)
      this.background(
        callWebhook({
          organizationId: this.org,
          alertGroupId: this.run.alertGroup.id,
          webhookId: command.webhookId,
          triggerType: 'escalation',
          idempotencyKey: command.stepKey,
          event: stepInfo,
          ...this.stepDue(command),
        }).then(
          (result) =>
            this.timeline(command, at, result.status === 'sent' ? 'webhook_triggered' : 'step_skipped', {
              ...stepInfo,
              webhook_id: command.webhookId,
              ...result,
            }),
          (err: unknown) =>
            this.timeline(command, at, 'step_failed', {
              ...stepInfo,
              webhook_id: command.webhookId,
              reason: failureReason(err),
            }),
        ),
      )
    },
    notify_channel: async (command, at) => {
      const { alertGroup } = this.run
      const posted = await postToChannel({
        organizationId: this.org,
        alertGroupId: alertGroup.id,
        text: `Alert group ${alertGroup.id}: ${alertGroup.title ?? 'untitled'} needs attention`,
        idempotencyKey: command.stepKey,
        ...(command.channels.length > 0 ? { channels: command.channels } : {}),
        ...this.stepDue(command),
      })
      await this.timeline(command, at, posted.status === 'posted' ? 'channel_notified' : 'step_skipped', {
        ...this.stepInfo(command),
        ...(command.channels.length > 0 ? { channels: command.channels } : {}),
        ...posted,
      })
    },
    declare_incident: async (command, at) => {
      const { declared } = await declareIncident({
        organizationId: this.org,
        alertGroupId: this.run.alertGroup.id,
        severity: command.severity,
        policyId: command.step.id,
        idempotencyKey: command.stepKey,
        ...this.stepDue(command),
      })
      await this.timeline(command, at, declared ? 'incident_declared' : 'step_skipped', {
        ...this.stepInfo(command),
        severity: command.severity,
        ...(declared ? {} : { reason: 'an incident is already declared for this alert group' }),
      })
    },
    resolve: async () => {
      if (!this.run.resolved) await this.act('resolve', { kind: 'system' })
    },
    expire: async () => {
      if (refusal(this.run.lifecycle, 'expire') === null) await this.act('expire', { kind: 'system' })
    },
  }
}
