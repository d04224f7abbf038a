import type { LifecycleAction, LifecycleState } from '../workflows/core/lifecycle'
import type { Actor, AlertGroupRecord } from '../workflows/core/types'
import { createEngineActivities, type EngineDeps } from './engine'
import { createHeartbeatActivities } from './heartbeats'
import { appendEvent, insertAlertGroup, writeLifecycle } from '../db/alert-groups.repo'
import type { Db } from '../db/connect'
import { webhooksFiringOn } from '../db/webhooks.repo'
import type { ActionLinks, ChannelTransports } from './channels/port'
import type { SlackChannelPoster } from './channels/slack'
import { activityLog, noActivityMetrics, type ActivityMetrics, type EscalationEvent } from './metrics'
import type { Notifier } from './notifications'
import type { OutboundFetch } from './outbound'
import { createPagingActivities, planPages, type NotificationPlan, type PlanRequest } from './paging'

export interface ActivityDeps {
  readonly db: Db
  /** Delivers rules whose channel is not configured (the log line, the outgoing webhook); null: they are skipped. */
  readonly notifier: Notifier | null
  /** The channels personal rules send on (email, SMS, voice, Slack); each absent when not configured. */
  readonly channels?: ChannelTransports
  /** Posts notify_whole_channel steps to Slack; absent: through the chat webhook. */
  readonly slack?: SlackChannelPoster | null
  /** Signed links acting on the group as the paged user; absent: pages carry none. */
  readonly actionLinks?: (alertGroupId: string, userId: string) => ActionLinks
  readonly now?: () => Date
  readonly renderTemplate: EngineDeps['renderTemplate']
  readonly chatWebhookUrl?: string | null
  readonly httpTimeoutMs?: number
  /** How webhooks, the chat webhook and iCal calendars are called (default: public addresses only). */
  readonly outbound?: OutboundFetch
  /** Where pages, webhook calls, lifecycle events and step lateness are counted (default: nowhere). */
  readonly metrics?: ActivityMetrics
}

export type { NotifiedUser, NotifyUserRequest, NotifyUserResult } from './paging'

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

/** The group's row and first alert (each once), and its "created" entry. */
async function recordCreated(executor: Db, group: AlertGroupRecord, createdBy: Actor | null): Promise<void> {
  await insertAlertGroup(executor, group)
  await appendEvent(executor, group.organizationId, group.id, {
    kind: 'created',
    at: group.createdAt,
    actor: createdBy,
    detail: { title: group.title },
    idempotencyKey: `${group.workflowId}:created`,
  })
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
  channels = {},
  actionLinks,
  slack = null,
}: ActivityDeps) {
  return {
    /** Makes sure the alert group exists (the API wrote it first; this covers a lost commit) and logs "created". */
    async recordAlertGroupCreated({ group, createdBy }: { group: AlertGroupRecord; createdBy: Actor | null }): Promise<void> {
      await recordCreated(db, group, createdBy)
      metrics.escalationEvent('started')
      activityLog().info('escalation started')
    },

    /**
     * The first task's whole bookkeeping in one transaction: the group's record (as above), the plans of its direct
     * page, and the webhooks that fire on `webhooksOn`. The record's insert waits for the API's commit of the row,
     * so the page's writes come after it.
     */
    async openAlertGroup(request: {
      group: AlertGroupRecord
      createdBy: Actor | null
      directPage: PlanRequest
      webhooksOn: string | null
    }): Promise<{ plans: NotificationPlan[]; webhookIds: string[] }> {
      const { group } = request
      const opened = await db.transaction().execute(async (trx) => {
        await recordCreated(trx, group, request.createdBy)
        return {
          plans: request.directPage.users.length > 0 ? await planPages(trx, now(), request.directPage) : [],
          webhookIds: request.webhooksOn === null ? [] : await webhooksFiringOn(trx, group.organizationId, request.webhooksOn),
        }
      })
      metrics.escalationEvent('started')
      activityLog().info('escalation started')
      return opened
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

    ...createPagingActivities({ db, notifier, channels, now, metrics, ...(actionLinks ? { actionLinks } : {}) }),
    ...createEngineActivities({ db, renderTemplate, chatWebhookUrl, httpTimeoutMs, now, metrics, slack, ...(outbound ? { outbound } : {}) }),
    ...createHeartbeatActivities({ db, now }),
  }
}

export type Activities = ReturnType<typeof createActivities>
