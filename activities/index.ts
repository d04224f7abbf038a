import type { LifecycleAction, LifecycleState } from '../workflows/core/lifecycle'
import type { Actor, AlertGroupRecord } from '../workflows/core/types'
import { createEngineActivities, type EngineDeps } from './engine'
import { createHeartbeatActivities } from './heartbeats'
import { appendEvent, insertAlertGroup, writeLifecycle } from '../db/alert-groups.repo'
import type { Db } from '../db/connect'
import { findUsers } from '../db/users.repo'
import { activityLog, noActivityMetrics, observeLateness, type ActivityMetrics, type EscalationEvent, type StepDue } from './metrics'
import type { Notifier } from './notifications'
import { OutboundRefusedError, type OutboundFetch } from './outbound'

export interface ActivityDeps {
  readonly db: Db
  readonly notifier: Notifier
  readonly now?: () => Date
  readonly renderTemplate: EngineDeps['renderTemplate']
  readonly chatWebhookUrl?: string | null
  readonly httpTimeoutMs?: number
  /** How webhooks, the chat webhook and iCal calendars are called (default: public addresses only). */
  readonly outbound?: OutboundFetch
  /** Where pages, webhook calls, lifecycle events and step lateness are counted (default: nowhere). */
  readonly metrics?: ActivityMetrics
}

export interface NotifyUserRequest {
  readonly organizationId: string
  readonly alertGroupId: string
  readonly title: string | null
  readonly userId: string
  readonly important: boolean
  /** Which step asked for it, e.g. `direct-page`. */
  readonly step: string
  /** Derived from the workflow id and the step: the same for every retry and replay of this notification. */
  readonly idempotencyKey: string
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
      /** The notifier channel the page went out on. */
      readonly channel?: string
    }
  | { readonly status: 'skipped'; readonly reason: string }

export interface RecordActionRequest {
  readonly organizationId: string
  readonly alertGroupId: string
  readonly action: LifecycleAction
  readonly actor: Actor
  readonly at: string
  /** The state after the action, and how many actions led to it. */
  readonly lifecycle: LifecycleState
  readonly version: number
  readonly delaySeconds: number | null
  readonly idempotencyKey: string
}

const timelineKindOf: Record<LifecycleAction, string> = {
  acknowledge: 'acknowledged',
  unacknowledge: 'unacknowledged',
  resolve: 'resolved',
  unresolve: 'unresolved',
  silence: 'silenced',
  unsilence: 'unsilenced',
  cancel: 'cancelled',
  expire: 'expired',
}

/** The only I/O the workflows can reach. Every write is idempotent under its key. */
export function createActivities({
  db,
  notifier,
  now = () => new Date(),
  renderTemplate,
  chatWebhookUrl = null,
  httpTimeoutMs = 10_000,
  outbound,
  metrics = noActivityMetrics,
}: ActivityDeps) {
  return {
    /** Makes sure the alert group exists (the API wrote it first; this covers a lost commit) and logs "created". */
    async recordAlertGroupCreated({ group, createdBy }: { group: AlertGroupRecord; createdBy: Actor | null }): Promise<void> {
      await insertAlertGroup(db, group)
      await appendEvent(db, group.organizationId, group.id, {
        kind: 'created',
        at: group.createdAt,
        actor: createdBy,
        detail: { title: group.title },
        idempotencyKey: `${group.workflowId}:created`,
      })
      metrics.escalationEvent('started')
      activityLog().info('escalation started')
    },

    /** Records the page in the ledger once, then delivers it unless an earlier attempt already did. */
    async notifyUser(request: NotifyUserRequest): Promise<NotifyUserResult> {
      const { organizationId, alertGroupId, idempotencyKey } = request
      const [user] = await findUsers(db, organizationId, [request.userId])
      if (!user) {
        const reason = 'user no longer exists'
        await appendEvent(db, organizationId, alertGroupId, {
          kind: 'notification_skipped',
          at: now().toISOString(),
          actor: null,
          detail: { user_id: request.userId, step: request.step, reason },
          idempotencyKey: `${idempotencyKey}:skipped`,
        })
        metrics.pageSent(notifier.channel, 'skipped')
        activityLog().info('page skipped', { userId: request.userId, reason })
        return { status: 'skipped', reason }
      }
      await db
        .insertInto('notifications')
        .values({
          organization_id: organizationId,
          alert_group_id: alertGroupId,
          user_id: user.id,
          step: request.step,
          important: request.important,
          channel: notifier.channel,
          idempotency_key: idempotencyKey,
        })
        .onConflict((oc) => oc.column('idempotency_key').doNothing())
        .execute()
      const ledger = await db
        .selectFrom('notifications')
        .select(['id', 'delivered_at', 'channel'])
        .where('idempotency_key', '=', idempotencyKey)
        .executeTakeFirstOrThrow()
      const notified = { id: user.id, username: user.username, email: user.email }
      if (ledger.delivered_at !== null) {
        metrics.pageSent(ledger.channel, 'already_delivered')
        return { status: 'already_delivered', ledgerId: ledger.id, user: notified, channel: ledger.channel }
      }

      try {
        await notifier.deliver({
          idempotencyKey,
          ledgerId: ledger.id,
          alertGroupId,
          title: request.title,
          important: request.important,
          user: { id: user.id, username: user.username, email: user.email, phoneNumber: user.phoneNumber },
        })
      } catch (err) {
        const refused = err instanceof OutboundRefusedError
        metrics.pageSent(notifier.channel, refused ? 'refused' : 'failed')
        activityLog().warn(refused ? 'page refused by the outbound policy; retrying' : 'page not delivered; retrying', {
          userId: user.id,
          channel: notifier.channel,
          reason: err instanceof Error ? err.message : String(err),
        })
        // A refused notifier is the operator's to fix (TOCSIN_OUTBOUND_ALLOW): the timeline says so once, and the
        // page keeps retrying rather than being dropped, so it goes out once the notifier is reachable.
        if (err instanceof OutboundRefusedError) {
          await appendEvent(db, organizationId, alertGroupId, {
            kind: 'notification_failed',
            at: now().toISOString(),
            actor: null,
            detail: { user_id: user.id, step: request.step, channel: notifier.channel, reason: `refused: ${err.message}` },
            idempotencyKey: `${idempotencyKey}:refused`,
          })
        }
        throw err
      }
      // The delivery record and its timeline entry commit together: a crash between the two cannot lose the entry.
      const deliveredAt = now().toISOString()
      await db.transaction().execute(async (trx) => {
        await trx
          .updateTable('notifications')
          .set({ delivered_at: deliveredAt })
          .where('id', '=', ledger.id)
          .where('delivered_at', 'is', null)
          .execute()
        await appendEvent(trx, organizationId, alertGroupId, {
          kind: 'user_notified',
          at: deliveredAt,
          actor: null,
          detail: {
            user_id: user.id,
            username: user.username,
            important: request.important,
            step: request.step,
            ledger_id: ledger.id,
            channel: notifier.channel,
          },
          idempotencyKey: `${idempotencyKey}:notified`,
        })
      })
      metrics.pageSent(notifier.channel, 'delivered')
      observeLateness(metrics, request.stepDue, new Date(deliveredAt))
      activityLog().info('page delivered', { userId: user.id, channel: notifier.channel })
      return { status: 'delivered', ledgerId: ledger.id, user: notified, channel: notifier.channel }
    },

    /** Writes an accepted action to the alert group row and the timeline. */
    async recordAlertGroupAction(request: RecordActionRequest): Promise<void> {
      await db.transaction().execute(async (trx) => {
        await writeLifecycle(trx, request.organizationId, request.alertGroupId, request.lifecycle, request.version)
        await appendEvent(trx, request.organizationId, request.alertGroupId, {
          kind: timelineKindOf[request.action],
          at: request.at,
          actor: request.actor,
          detail: request.action === 'silence' ? { delay: request.delaySeconds, until: request.lifecycle.silencedUntil } : {},
          idempotencyKey: request.idempotencyKey,
        })
      })
      metrics.escalationEvent(timelineKindOf[request.action] as EscalationEvent)
      activityLog().info(`alert group ${timelineKindOf[request.action]}`, { action: request.action, actor: request.actor.kind })
    },

    ...createEngineActivities({ db, renderTemplate, chatWebhookUrl, httpTimeoutMs, now, metrics, ...(outbound ? { outbound } : {}) }),
    ...createHeartbeatActivities({ db, now }),
  }
}

export type Activities = ReturnType<typeof createActivities>
