import type { LifecycleAction, LifecycleState } from '../workflows/core/lifecycle'
import type { Actor, AlertGroupRecord } from '../workflows/core/types'
import { createEngineActivities, type EngineDeps } from './engine'
import { appendEvent, insertAlertGroup, writeLifecycle } from './db/alert-groups.repo'
import type { Db } from './db/connect'
import { findUsers } from './db/users.repo'
import type { Notifier } from './notifications'

export interface ActivityDeps {
  readonly db: Db
  readonly notifier: Notifier
  readonly now?: () => Date
  readonly renderTemplate: EngineDeps['renderTemplate']
  readonly chatWebhookUrl?: string | null
  readonly httpTimeoutMs?: number
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
}

export type NotifyUserResult =
  | { readonly status: 'delivered' | 'already_delivered'; readonly ledgerId: string }
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
}

/** The only I/O the workflows can reach. Every write is idempotent under its key. */
export function createActivities({
  db,
  notifier,
  now = () => new Date(),
  renderTemplate,
  chatWebhookUrl = null,
  httpTimeoutMs = 10_000,
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
        .select(['id', 'delivered_at'])
        .where('idempotency_key', '=', idempotencyKey)
        .executeTakeFirstOrThrow()
      if (ledger.delivered_at !== null) return { status: 'already_delivered', ledgerId: ledger.id }

      await notifier.deliver({
        idempotencyKey,
        ledgerId: ledger.id,
        alertGroupId,
        title: request.title,
        important: request.important,
        user: { id: user.id, username: user.username, email: user.email, phoneNumber: user.phone_number },
      })
      const deliveredAt = now().toISOString()
      await db
        .updateTable('notifications')
        .set({ delivered_at: deliveredAt })
        .where('id', '=', ledger.id)
        .where('delivered_at', 'is', null)
        .execute()
      await appendEvent(db, organizationId, alertGroupId, {
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
      return { status: 'delivered', ledgerId: ledger.id }
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
    },

    ...createEngineActivities({ db, renderTemplate, chatWebhookUrl, httpTimeoutMs, now }),
  }
}

export type Activities = ReturnType<typeof createActivities>
