import { activityInfo, ApplicationFailure } from '@temporalio/activity'
import type { UserSource } from '../workflows/core/escalation'
import type { ChannelTarget, PageTarget } from '../workflows/core/program'
import { stepPageOf } from '../workflows/core/step-page'
import type { DirectPage } from '../workflows/core/types'
import type { ChainSnapshot } from '../workflows/oncall/steps'
import { appendEvent, routeSnapshot } from '../db/alert-groups.repo'
import type { Db } from '../db/connect'
import { resolveRecipients as resolveStepRecipients, type Recipients } from '../db/recipients'
import { icalOptions } from '../db/schedule-ical'
import { recordWebhookResponse, webhooksFiringOn } from '../db/webhooks.repo'
import { isTruthy } from '../workflows/core/truthy'
import { PermanentDeliveryError } from './channels/port'
import type { SlackChannelPoster } from './channels/slack'
import { planPages, type NotificationPlan } from './paging'
import { activityLog, noActivityMetrics, observeLateness, type ActivityMetrics, type StepDue } from './metrics'
import { defaultOutboundFetch, OUTBOUND_REFUSED, OutboundRefusedError, type OutboundFetch } from './outbound'

// The engine's activities besides paging itself: resolving who a step pages, round-robin picks, webhooks,
// chat posts and incidents. Each one is idempotent under the key the workflow derives from its step.

export interface EngineDeps {
  readonly db: Db
  /** Renders a user's Jinja template against a context; must be bounded in time and size. */
  readonly renderTemplate: (template: string, context: Record<string, unknown>) => Promise<string>
  readonly chatWebhookUrl: string | null
  readonly httpTimeoutMs: number
  readonly now: () => Date
  /** How webhooks, the chat webhook and iCal calendars are called (default: public addresses only). */
  readonly outbound?: OutboundFetch
  readonly metrics?: ActivityMetrics
  /** notify_whole_channel posts through the Slack bot when set (TOCSIN_SLACK_BOT_TOKEN), else to the chat webhook. */
  readonly slack?: SlackChannelPoster | null
}

/** Non-retryable: a webhook that answered 4xx will not change its mind. */
export const WEBHOOK_REJECTED = 'WebhookRejected'

export function createEngineActivities(deps: EngineDeps) {
  const { db } = deps
  const outbound = deps.outbound ?? defaultOutboundFetch()
  const metrics = deps.metrics ?? noActivityMetrics
  const ical = icalOptions(outbound)
  /** Who a step's target reaches, read live; a round-robin target moves its queue once per step key. */
  const reach = (organizationId: string, source: UserSource, stepKey: string) =>
    resolveStepRecipients(db, organizationId, source, { now: deps.now(), roundRobin: { mode: 'pick', key: `${stepKey}:round-robin` }, ical })

  return {
    /** Who a step pages, read live; a round-robin step moves its queue once per step key. */
    async resolveRecipients(request: { organizationId: string; source: UserSource; stepKey: string; stepDue?: StepDue }): Promise<Recipients> {
      const { userIds, emptyReason, detail } = await reach(request.organizationId, request.source, request.stepKey)
      return { userIds, ...(emptyReason !== undefined ? { emptyReason } : {}), ...(detail !== undefined ? { detail } : {}) }
    },

    /**
     * A notify step's whole bookkeeping in one call: who each target pages (a user reached twice is paged once,
     * important if either target is), the step's timeline entry, and each paged user's plan.
     */
    async planStepPage(request: {
      organizationId: string
      alertGroupId: string
      stepKey: string
      /** The page's step name (`policy:<id>`), as the plans and notifications record it. */
      step: string
      targets: readonly PageTarget[]
      /** The step's fields for its timeline entry (index, policy id, type). */
      stepInfo: Record<string, unknown>
      /** When the workflow decided the step (ISO). */
      at: string
    }): Promise<{ pages: DirectPage[]; plans: NotificationPlan[] }> {
      const resolved = await Promise.all(request.targets.map((target) => reach(request.organizationId, target.source, request.stepKey)))
      const { pages, entry } = stepPageOf(request.targets, resolved, request.stepInfo)
      const plans = await db.transaction().execute(async (trx) => {
        await appendEvent(trx, request.organizationId, request.alertGroupId, {
          kind: entry.kind,
          at: request.at,
          actor: null,
          detail: entry.detail,
          idempotencyKey: request.stepKey,
        })
        return planPages(trx, deps.now(), { organizationId: request.organizationId, alertGroupId: request.alertGroupId, step: request.step, keyPrefix: request.stepKey, users: pages })
      })
      return { pages, plans }
    },

    /** The route's current chain, frozen for a restart (un-ack, unsilence, end of silence, unresolve). */
    async loadRouteSnapshot(request: { organizationId: string; routeId: string | null }): Promise<ChainSnapshot | null> {
      return routeSnapshot(db, request.organizationId, request.routeId)
    },

    /** Appends a timeline entry once per key. */
    async recordTimeline(request: {
      organizationId: string
      alertGroupId: string
      kind: string
      detail: Record<string, unknown>
      idempotencyKey: string
      /** When the workflow decided it (ISO); defaults to now. */
      at?: string
      /** Set when the entry is the step's whole effect (a wait, a window, a repeat...): its lateness is measured. */
      stepDue?: StepDue
    }): Promise<void> {
      await appendEvent(db, request.organizationId, request.alertGroupId, {
        kind: request.kind,
        at: request.at ?? deps.now().toISOString(),
        actor: null,
        detail: request.detail,
        idempotencyKey: request.idempotencyKey,
      })
      observeLateness(metrics, request.stepDue, deps.now())
    },

    /**
     * Calls an outgoing webhook with its rendered templates and an Idempotency-Key header, and records each
     * attempt's response. 5xx and network errors throw (Temporal retries with backoff); 4xx and a destination the
     * outbound policy refuses do not retry.
     */
    async callWebhook(request: {
      organizationId: string
      alertGroupId: string
      webhookId: string
      triggerType: string
      idempotencyKey: string
      event: Record<string, unknown>
      /** The escalation step that calls it (none for lifecycle webhooks). */
      stepDue?: StepDue
    }): Promise<{ status: 'sent' | 'skipped'; statusCode?: number; reason?: string }> {
      const { organizationId, alertGroupId } = request
      const webhook = await db
        .selectFrom('webhooks')
        .selectAll()
        .where('organization_id', '=', organizationId)
        .where('id', '=', request.webhookId)
        .where('deleted_at', 'is', null)
        .executeTakeFirst()
      if (!webhook) return { status: 'skipped', reason: 'the webhook no longer exists' }
      if (!webhook.is_webhook_enabled) return { status: 'skipped', reason: 'the webhook is disabled' }
      const group = await db
        .selectFrom('alert_groups')
        .select(['id', 'title', 'integration_id', 'route_id', 'team_id', 'created_at', 'acknowledged_at', 'resolved_at', 'silenced_at'])
        .where('organization_id', '=', organizationId)
        .where('id', '=', alertGroupId)
        .executeTakeFirstOrThrow()
      if (webhook.integration_filter && !webhook.integration_filter.includes(group.integration_id)) {
        return { status: 'skipped', reason: 'the alert group is not from an integration the webhook filters on' }
      }
      const lastAlert = await db.selectFrom('alerts').select('payload').where('alert_group_id', '=', alertGroupId).orderBy('pk', 'desc').executeTakeFirst()
      const context = {
        event: { ...request.event, type: request.triggerType, time: deps.now().toISOString() },
        alert_group: group,
        alert_group_id: alertGroupId,
        alert_payload: lastAlert?.payload ?? {},
        webhook: { id: webhook.id, name: webhook.name },
      }
      if (webhook.trigger_template) {
        if (!isTruthy(await deps.renderTemplate(webhook.trigger_template, context))) return { status: 'skipped', reason: 'the trigger template did not match' }
      }
      const url = await deps.renderTemplate(webhook.url, context)
      const headers: Record<string, string> = { 'content-type': 'application/json', 'idempotency-key': request.idempotencyKey }
      if (webhook.headers) {
        const rendered = await deps.renderTemplate(webhook.headers, context)
        try {
          for (const [name, value] of Object.entries(JSON.parse(rendered) as Record<string, unknown>)) headers[name.toLowerCase()] = String(value)
        } catch {
          return { status: 'skipped', reason: 'the headers template did not render to a JSON object' }
        }
      }
      if (webhook.authorization_header) headers.authorization = webhook.authorization_header
      else if (webhook.username || webhook.password) {
        headers.authorization = `Basic ${Buffer.from(`${webhook.username ?? ''}:${webhook.password ?? ''}`).toString('base64')}`
      }
      const body = webhook.forward_all ? JSON.stringify(context) : webhook.data ? await deps.renderTemplate(webhook.data, context) : undefined
      const attempt = activityInfo().attempt
      let statusCode: number | null = null
      let content: string
      let refused: string | null = null
      try {
        const response = await outbound(url, {
          method: webhook.http_method,
          headers,
          body: webhook.http_method === 'GET' ? undefined : body,
          signal: AbortSignal.timeout(deps.httpTimeoutMs),
        })
        statusCode = response.status
        content = (await response.text()).slice(0, 10_000)
      } catch (err) {
        if (err instanceof OutboundRefusedError) refused = `refused: ${err.message}`
        content = refused ?? `request failed: ${err instanceof Error ? err.message : String(err)}`
      }
      const redacted = { ...headers, ...(headers.authorization ? { authorization: '****************' } : {}) }
      await recordWebhookResponse(db, organizationId, webhook.id, {
        url,
        request_trigger: request.triggerType,
        request_headers: JSON.stringify(redacted),
        request_data: body ?? null,
        status_code: statusCode,
        content,
        event_data: JSON.stringify(context.event),
        idempotencyKey: `${request.idempotencyKey}:attempt-${attempt}`,
      })
      const answer = refused !== null ? 'refused' : statusCode === null ? 'error' : String(statusCode)
      metrics.webhookCalled(request.triggerType, answer)
      const log = activityLog()
      if (statusCode !== null && statusCode < 400) log.info('webhook called', { webhookId: webhook.id, trigger: request.triggerType, statusCode })
      else log.warn('webhook call failed', { webhookId: webhook.id, trigger: request.triggerType, answer, ...(refused ? { reason: refused } : {}) })
      // A step's effect is done once the call is final: answered below 500, or refused for good.
      if (refused !== null || (statusCode !== null && statusCode < 500)) observeLateness(metrics, request.stepDue, deps.now())
      if (refused !== null) throw ApplicationFailure.create({ type: OUTBOUND_REFUSED, message: refused, nonRetryable: true })
      if (statusCode === null || statusCode >= 500) throw new Error(`webhook ${webhook.id} failed: ${statusCode ?? content}`)
      if (statusCode >= 400) {
        throw ApplicationFailure.create({ type: WEBHOOK_REJECTED, message: `webhook ${webhook.id} answered ${statusCode}`, nonRetryable: true })
      }
      return { status: 'sent', statusCode }
    },

    /** The webhooks of the organization that fire for a lifecycle event (and "status change"). */
    async lifecycleWebhooks(request: { organizationId: string; alertGroupId: string; triggerType: string }): Promise<string[]> {
      return webhooksFiringOn(db, request.organizationId, request.triggerType)
    },

    /**
     * notify_whole_channel, once per key. With Slack configured it posts through the bot to the Slack channels the step
     * names (or TOCSIN_SLACK_DEFAULT_CHANNEL when it names none), each channel once per key; otherwise to the chat
     * webhook, with the channels a path names in the body.
     */
    async postToChannel(request: {
      organizationId: string
      alertGroupId: string
      text: string
      idempotencyKey: string
      channels?: readonly ChannelTarget[]
      stepDue?: StepDue
    }): Promise<
      | { status: 'skipped'; reason: string }
      | { status: 'posted'; posts?: Array<{ channel: string; ts?: string }>; refused?: Array<{ channel: string; reason: string }> }
    > {
      const { slack } = deps
      if (!slack && !deps.chatWebhookUrl) {
        return { status: 'skipped', reason: 'no chat channel is configured (TOCSIN_SLACK_BOT_TOKEN or TOCSIN_CHAT_WEBHOOK_URL)' }
      }
      const named = request.channels ?? []
      const slackChannels = [...new Set(named.length > 0 ? named.filter((c) => c.kind === 'slack').map((c) => c.id) : slack?.defaultChannel ? [slack.defaultChannel] : [])]
      if (slack && slackChannels.length === 0) {
        const reason = named.length > 0 ? 'the step names no Slack channel (Microsoft Teams channels are not supported)' : 'the step names no channel and TOCSIN_SLACK_DEFAULT_CHANNEL is not set'
        return { status: 'skipped', reason }
      }
      /** Whether the post under `key` went out already; records it as due otherwise. */
      const alreadyPosted = async (key: string) => {
        await db
          .insertInto('chat_posts')
          .values({ idempotency_key: key, organization_id: request.organizationId, alert_group_id: request.alertGroupId, text: request.text })
          .onConflict((oc) => oc.column('idempotency_key').doNothing())
          .execute()
        const post = await db
          .selectFrom('chat_posts')
          .select('delivered_at')
          .where('organization_id', '=', request.organizationId)
          .where('idempotency_key', '=', key)
          .executeTakeFirstOrThrow()
        return post.delivered_at !== null
      }
      const markPosted = (key: string) =>
        db
          .updateTable('chat_posts')
          .set({ delivered_at: deps.now().toISOString() })
          .where('organization_id', '=', request.organizationId)
          .where('idempotency_key', '=', key)
          .execute()
      if (await alreadyPosted(request.idempotencyKey)) return { status: 'posted' }

      if (slack) {
        // A row per channel too: a retry after one channel failed does not post twice to those that took it.
        const posts: Array<{ channel: string; ts?: string }> = []
        const refused: Array<{ channel: string; reason: string }> = []
        for (const channel of slackChannels) {
          const key = `${request.idempotencyKey}:slack:${channel}`
          if (await alreadyPosted(key)) {
            posts.push({ channel })
            continue
          }
          try {
            const { ts } = await slack.post(channel, request.text)
            await markPosted(key)
            posts.push({ channel, ts })
          } catch (err) {
            // A channel Slack refuses for good (or the policy refuses) is reported; the others still get the post.
            if (err instanceof PermanentDeliveryError) refused.push({ channel, reason: err.message })
            else if (err instanceof OutboundRefusedError) refused.push({ channel, reason: `refused: ${err.message}` })
            else throw err
          }
        }
        if (posts.length === 0) return { status: 'skipped', reason: refused.map((r) => `${r.channel}: ${r.reason}`).join('; ') }
        await markPosted(request.idempotencyKey)
        observeLateness(metrics, request.stepDue, deps.now())
        activityLog().info('posted to Slack', { channels: posts.map((p) => p.channel).join(',') })
        return { status: 'posted', posts, ...(refused.length > 0 ? { refused } : {}) }
      }

      let response: Response
      try {
        response = await outbound(deps.chatWebhookUrl as string, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'idempotency-key': request.idempotencyKey },
          body: JSON.stringify({ text: request.text, alert_group_id: request.alertGroupId, ...(request.channels ? { channels: request.channels } : {}) }),
          signal: AbortSignal.timeout(deps.httpTimeoutMs),
        })
      } catch (err) {
        // The step reports the refusal; retrying cannot change the policy.
        if (err instanceof OutboundRefusedError) return { status: 'skipped', reason: `refused: ${err.message}` }
        throw err
      }
      await response.body?.cancel()
      if (!response.ok) throw new Error(`chat webhook answered ${response.status}`)
      await markPosted(request.idempotencyKey)
      observeLateness(metrics, request.stepDue, deps.now())
      activityLog().info('posted to the chat channel')
      return { status: 'posted' }
    },

    /** declare_incident: at most one incident per alert group; the step that declared it reports so on every retry. */
    async declareIncident(request: {
      organizationId: string
      alertGroupId: string
      severity: string
      policyId: string
      idempotencyKey: string
      stepDue?: StepDue
    }) {
      await db
        .insertInto('incidents')
        .values({
          organization_id: request.organizationId,
          alert_group_id: request.alertGroupId,
          severity: request.severity,
          policy_id: request.policyId,
          step_key: request.idempotencyKey,
        })
        .onConflict((oc) => oc.column('alert_group_id').doNothing())
        .execute()
      const incident = await db
        .selectFrom('incidents')
        .select('step_key')
        .where('organization_id', '=', request.organizationId)
        .where('alert_group_id', '=', request.alertGroupId)
        .executeTakeFirstOrThrow()
      observeLateness(metrics, request.stepDue, deps.now())
      return { declared: incident.step_key === request.idempotencyKey }
    },
  }
}
