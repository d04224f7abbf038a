import { activityInfo } from '@temporalio/activity'
import type { Updateable } from 'kysely'
import { appendEvent } from '../db/alert-groups.repo'
import type { Db } from '../db/connect'
import type { NotificationsTable } from '../db/schema'
import { notificationRulesOf } from '../db/personal-notification-rules.repo'
import { findUsers } from '../db/users.repo'
import { webhooksFiringOn } from '../db/webhooks.repo'
import { notificationRuleTypes, planOf, type NotifyRuleType, type PlanStage } from '../workflows/core/personal-rules'
import { PermanentDeliveryError, type ActionLinks, type ChannelMessage, type ChannelTransports, type Transport } from './channels/port'
import { activityLog, observeLateness, type ActivityMetrics, type StepDue } from './metrics'
import type { Notifier } from './notifications'
import { OutboundRefusedError } from './outbound'

// Paging a user: the plan their personal rules make for one page, and each notification of it, sent once through
// the channel its rule names (or the catch-all notifier when that channel is not configured).

export interface PagingDeps {
  readonly db: Db
  /** Delivers rules whose channel is not configured (the log line, the outgoing webhook); null: they are skipped. */
  readonly notifier: Notifier | null
  readonly channels: ChannelTransports
  /** Signed links acting on the group as the paged user; absent: pages carry none. */
  readonly actionLinks?: (alertGroupId: string, userId: string) => ActionLinks
  readonly now: () => Date
  readonly metrics: ActivityMetrics
}

export interface NotifyUserRequest {
  readonly organizationId: string
  readonly alertGroupId: string
  readonly title: string | null
  readonly userId: string
  readonly important: boolean
  /** Which step asked for it, e.g. `direct-page`. */
  readonly step: string
  /** Derived from the workflow id, the step, the user and the rule: the same for every retry and replay. */
  readonly idempotencyKey: string
  /** The personal rule this notification carries out; absent in runs recorded before personal rules. */
  readonly rule?: { readonly position: number; readonly type: NotifyRuleType; readonly fallback: boolean }
  /** The escalation step that pages, and when it was due (none for direct pages and added responders). */
  readonly stepDue?: StepDue
}

/** Who a page went to, as the personal-notification webhooks report it. */
export interface NotifiedUser {
  readonly id: string
  readonly username: string
  readonly email: string
}

/**
 * `user` and `channel` were added later: results recorded in older histories lack them, so the workflow reads them
 * as optional.
 */
export type NotifyUserResult =
  | {
      readonly status: 'delivered' | 'already_delivered'
      readonly ledgerId: string
      readonly user?: NotifiedUser
      /** The channel the page went out on. */
      readonly channel?: string
      /** The webhooks that fire on a personal notification, looked up with the page: no lookup of the run's own. */
      readonly webhookIds?: string[]
    }
  | { readonly status: 'skipped'; readonly reason: string }
  /** The provider refused it for good (invalid number, a 4xx): not retried; the user's next rule still runs. */
  | { readonly status: 'failed'; readonly reason: string; readonly channel: string }

export interface NotificationPlan {
  readonly userId: string
  readonly stages: readonly PlanStage[]
}

/** The catch-all notifier seen as a transport: it takes any rule and any user. */
function catchAllTransport(notifier: Notifier): Transport {
  return {
    channel: notifier.channel,
    unreachable: () => null,
    async deliver(message) {
      await notifier.deliver(message)
      return {}
    },
  }
}

const describe = (stage: PlanStage) => (stage.kind === 'wait' ? `wait ${stage.seconds} s` : stage.type)

/** Who one page goes to, and where its plans' timeline entries go. */
export interface PlanRequest {
  readonly organizationId: string
  readonly alertGroupId: string
  readonly step: string
  readonly keyPrefix: string
  readonly users: ReadonlyArray<{ readonly userId: string; readonly important: boolean }>
}

/** Each user's plan for one page, each written to the timeline once; `executor` lets the entries join a transaction. */
export async function planPages(executor: Db, at: Date, request: PlanRequest): Promise<NotificationPlan[]> {
  const plans: NotificationPlan[] = []
  for (const user of request.users) {
    const stages = planOf(await notificationRulesOf(executor, request.organizationId, user.userId, user.important))
    await appendEvent(executor, request.organizationId, request.alertGroupId, {
      kind: 'notification_plan',
      at: at.toISOString(),
      actor: null,
      detail: {
        user_id: user.userId,
        step: request.step,
        important: user.important,
        plan: stages.map(describe),
        ...(stages[0]?.kind === 'notify' && stages[0].fallback ? { fallback: 'no rules in this list: one email' } : {}),
      },
      idempotencyKey: `${request.keyPrefix}:${user.userId}:plan`,
    })
    plans.push({ userId: user.userId, stages })
  }
  return plans
}

export function createPagingActivities({ db, notifier, channels, actionLinks, now, metrics }: PagingDeps) {
  const catchAll = notifier ? catchAllTransport(notifier) : null

  /** The transport for a rule, or why there is none. */
  function transportFor(type: NotifyRuleType | undefined): Transport | string {
    if (type === undefined) return catchAll ?? 'no notifier is configured'
    const channel = notificationRuleTypes[type].channel
    return channels[channel] ?? catchAll ?? `channel not configured: ${channel}`
  }

  /** A timeline entry about one notification, once per suffix; `executor` lets it commit with a ledger write. */
  async function timeline(
    request: NotifyUserRequest,
    kind: string,
    suffix: string,
    detail: Record<string, unknown>,
    at = now().toISOString(),
    executor: Db = db,
  ) {
    await appendEvent(executor, request.organizationId, request.alertGroupId, {
      kind,
      at,
      actor: null,
      detail: { user_id: request.userId, step: request.step, ...ruleDetail(request), ...detail },
      idempotencyKey: `${request.idempotencyKey}:${suffix}`,
    })
  }

  async function skip(request: NotifyUserRequest, reason: string): Promise<NotifyUserResult> {
    await timeline(request, 'notification_skipped', 'skipped', { reason })
    // Labelled by the rule's channel, as delivered pages are by theirs.
    metrics.pageSent(request.rule ? notificationRuleTypes[request.rule.type].channel : (notifier?.channel ?? 'none'), 'skipped')
    activityLog().info('page skipped', { userId: request.userId, reason })
    return { status: 'skipped', reason }
  }

  return {
    /**
     * The stages each user's page runs: their rules of the asked list, or the email fallback. Each plan is written to
     * the timeline once, so the timeline says what will happen to every paged user.
     */
    async loadNotificationPlans(request: PlanRequest): Promise<NotificationPlan[]> {
      return planPages(db, now(), request)
    },

    /**
     * Sends one notification once: the ledger row (unique per key) records it and its outcome. A transient failure
     * throws (Temporal retries with backoff); a permanent one is recorded and returned, not retried.
     */
    async notifyUser(request: NotifyUserRequest): Promise<NotifyUserResult> {
      const { organizationId, alertGroupId, idempotencyKey } = request
      const [user] = await findUsers(db, organizationId, [request.userId])
      if (!user) return skip(request, 'user no longer exists')
      const transport = transportFor(request.rule?.type)
      if (typeof transport === 'string') return skip(request, transport)
      const message: Omit<ChannelMessage, 'ledgerId'> = {
        idempotencyKey,
        alertGroupId,
        title: request.title,
        important: request.important,
        ruleType: request.rule?.type ?? 'notify_by_email',
        user: { id: user.id, username: user.username, email: user.email, phoneNumber: user.phoneNumber, slackUserId: user.slack?.userId ?? null },
        links: actionLinks ? actionLinks(alertGroupId, user.id) : null,
      }
      const unreachable = transport.unreachable(message.user)
      if (unreachable !== null) return skip(request, unreachable)

      const fresh = await db
        .insertInto('notifications')
        .values({
          organization_id: organizationId,
          alert_group_id: alertGroupId,
          user_id: user.id,
          step: request.step,
          important: request.important,
          channel: transport.channel,
          idempotency_key: idempotencyKey,
          rule_position: request.rule?.position ?? null,
          rule_type: request.rule?.type ?? null,
        })
        .onConflict((oc) => oc.column('idempotency_key').doNothing())
        .returning(['id', 'delivered_at', 'channel', 'status', 'error'])
        .executeTakeFirst()
      // A retry finds the row of an earlier attempt: what it recorded decides what happens now.
      const ledger =
        fresh ??
        (await db
          .selectFrom('notifications')
          .select(['id', 'delivered_at', 'channel', 'status', 'error'])
          .where('organization_id', '=', organizationId)
          .where('idempotency_key', '=', idempotencyKey)
          .executeTakeFirstOrThrow())
      const notified = { id: user.id, username: user.username, email: user.email }
      const webhooks = () => webhooksFiringOn(db, organizationId, 'personal notification')
      if (ledger.delivered_at !== null) {
        metrics.pageSent(ledger.channel, 'already_delivered')
        return { status: 'already_delivered', ledgerId: ledger.id, user: notified, channel: ledger.channel, webhookIds: await webhooks() }
      }
      if (ledger.status === 'failed') return { status: 'failed', reason: ledger.error ?? 'failed', channel: ledger.channel }
      /** Writes this notification's outcome to its ledger row. */
      const settle = (values: Updateable<NotificationsTable>, executor: Db = db) =>
        executor.updateTable('notifications').set(values).where('organization_id', '=', organizationId).where('id', '=', ledger.id)
      // A provider that kept failing stops being retried once the group is resolved (OnCall's perform_notification
      // refuses a resolved group), so the run can finish; a first attempt always goes out.
      const group =
        activityInfo().attempt > 1
          ? await db
              .selectFrom('alert_groups')
              .select('resolved_at')
              .where('organization_id', '=', organizationId)
              .where('id', '=', alertGroupId)
              .executeTakeFirst()
          : undefined
      if (group?.resolved_at) {
        const reason = 'the alert group is resolved'
        await settle({ status: 'skipped', error: reason }).execute()
        return skip(request, reason)
      }

      let providerId: string | undefined
      try {
        providerId = (await transport.deliver({ ...message, ledgerId: ledger.id })).providerId
      } catch (err) {
        const reason = err instanceof Error ? err.message : String(err)
        if (err instanceof PermanentDeliveryError) {
          await db.transaction().execute(async (trx) => {
            await settle({ status: 'failed', error: reason, attempts: activityInfo().attempt }, trx).execute()
            await timeline(request, 'notification_failed', 'failed', { channel: transport.channel, ledger_id: ledger.id, reason }, undefined, trx)
          })
          metrics.pageSent(transport.channel, 'failed')
          activityLog().warn('page refused by the provider; not retrying', { userId: user.id, channel: transport.channel, reason })
          return { status: 'failed', reason, channel: transport.channel }
        }
        const refused = err instanceof OutboundRefusedError
        await settle({ status: 'retrying', error: reason, attempts: activityInfo().attempt }).execute()
        // The first failed attempt says so in the timeline; the ledger keeps the latest error and the attempt count.
        // A refused notifier is the operator's to fix (TOCSIN_OUTBOUND_ALLOW): the page keeps retrying meanwhile.
        await timeline(request, refused ? 'notification_failed' : 'notification_retrying', refused ? 'refused' : 'retrying', {
          channel: transport.channel,
          ledger_id: ledger.id,
          reason: refused ? `refused: ${reason}` : reason,
        })
        metrics.pageSent(transport.channel, refused ? 'refused' : 'failed')
        activityLog().warn(refused ? 'page refused by the outbound policy; retrying' : 'page not delivered; retrying', {
          userId: user.id,
          channel: transport.channel,
          reason,
        })
        throw err
      }
      // The delivery record and its timeline entry commit together: a crash between the two cannot lose the entry.
      const deliveredAt = now().toISOString()
      // The webhook lookup runs beside the commit; awaited together, a failure of either fails the attempt and neither
      // is left unhandled.
      const [webhookIds] = await Promise.all([
        webhooks(),
        db.transaction().execute(async (trx) => {
          await settle({ delivered_at: deliveredAt, status: 'sent', error: null, provider_id: providerId ?? null, attempts: activityInfo().attempt }, trx)
            .where('delivered_at', 'is', null)
            .execute()
          const detail = { username: user.username, important: request.important, ledger_id: ledger.id, channel: transport.channel }
          await timeline(request, 'user_notified', 'notified', detail, deliveredAt, trx)
        }),
      ])
      metrics.pageSent(transport.channel, 'delivered')
      observeLateness(metrics, request.stepDue, new Date(deliveredAt))
      activityLog().info('page delivered', { userId: user.id, channel: transport.channel })
      return { status: 'delivered', ledgerId: ledger.id, user: notified, channel: transport.channel, webhookIds }
    },
  }
}

function ruleDetail(request: NotifyUserRequest): Record<string, unknown> {
  return request.rule ? { rule_position: request.rule.position, rule_type: request.rule.type, ...(request.rule.fallback ? { fallback: true } : {}) } : {}
}
