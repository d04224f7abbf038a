import { activityInfo, ApplicationFailure } from '@temporalio/activity'
import { sql } from 'kysely'
import type { UserSource } from '../workflows/core/escalation'
import type { ChainSnapshot } from '../workflows/core/types'
import { appendEvent, routeSnapshot } from './db/alert-groups.repo'
import type { Db } from './db/connect'
import { nextShiftUsers, usersOnCallAt } from './db/oncall'
import { getUserGroup } from './db/user-groups.repo'
import { recordWebhookResponse } from './db/webhooks.repo'

// The engine's activities besides paging itself: resolving who a step pages, round-robin picks, webhooks,
// chat posts and incidents. Each one is idempotent under the key the workflow derives from its step.

export interface EngineDeps {
  readonly db: Db
  /** Renders a user's Jinja template against a context; must be bounded in time and size. */
  readonly renderTemplate: (template: string, context: Record<string, unknown>) => Promise<string>
  readonly chatWebhookUrl: string | null
  readonly httpTimeoutMs: number
  readonly now: () => Date
}

export interface Recipients {
  readonly userIds: readonly string[]
  /** Why nobody is paged, for the timeline. */
  readonly emptyReason?: string
  readonly detail?: Readonly<Record<string, unknown>>
}

/** Non-retryable: a webhook that answered 4xx will not change its mind. */
export const WEBHOOK_REJECTED = 'WebhookRejected'

export function createEngineActivities(deps: EngineDeps) {
  const { db } = deps

  async function existingUsers(organizationId: string, ids: readonly string[]): Promise<string[]> {
    if (ids.length === 0) return []
    const rows = await db.selectFrom('users').select('id').where('organization_id', '=', organizationId).where('id', 'in', ids).execute()
    const found = new Set(rows.map((r) => r.id))
    return [...new Set(ids)].filter((id) => found.has(id))
  }

  /** One pick per key, in a transaction with the pointer move, so a retry never skips a person. */
  async function roundRobinPick(organizationId: string, policyId: string, snapshotUserIds: readonly string[], key: string) {
    return db.transaction().execute(async (trx) => {
      const earlier = await trx.selectFrom('round_robin_picks').select('user_id').where('idempotency_key', '=', key).executeTakeFirst()
      if (earlier) return earlier.user_id
      const moved = await trx
        .updateTable('escalation_policies')
        .set({ round_robin_index: sql<number>`(round_robin_index + 1) % cardinality(users)` })
        .where('organization_id', '=', organizationId)
        .where('id', '=', policyId)
        .where(sql<boolean>`cardinality(users) > 0`)
        .returning(['round_robin_index', 'users'])
        .executeTakeFirst()
      // @NOTE The queue lives on the policy row (shared by all groups, moved by advance_round_robin too); a
      // deleted policy falls back to the snapshot's first user, as OnCall's null pointer does.
      const picked = moved
        ? (moved.users[(moved.round_robin_index + moved.users.length - 1) % moved.users.length] as string)
        : (await existingUsers(organizationId, snapshotUserIds))[0]
      if (picked === undefined) return null
      await trx.insertInto('round_robin_picks').values({ idempotency_key: key, organization_id: organizationId, policy_id: policyId, user_id: picked }).execute()
      return picked
    })
  }

  return {
    /** Who a step pages, read live: users still existing, the team's members, the group's members, the schedule. */
    async resolveRecipients(request: { organizationId: string; source: UserSource; stepKey: string }): Promise<Recipients> {
      const { organizationId, source } = request
      switch (source.kind) {
        case 'users': {
          const userIds = await existingUsers(organizationId, source.userIds)
          return userIds.length ? { userIds } : { userIds, emptyReason: 'none of the step\'s users exist any more' }
        }
        case 'round_robin': {
          const userId = await roundRobinPick(organizationId, source.policyId, source.userIds, `${request.stepKey}:round-robin`)
          return userId ? { userIds: [userId] } : { userIds: [], emptyReason: 'the round-robin queue has no users' }
        }
        case 'team': {
          const team = await db.selectFrom('teams').select('name').where('organization_id', '=', organizationId).where('id', '=', source.teamId).executeTakeFirst()
          if (!team) return { userIds: [], emptyReason: 'the team no longer exists' }
          const rows = await db
            .selectFrom('team_members')
            .innerJoin('users', 'users.id', 'team_members.user_id')
            .select('users.id')
            .where('team_members.team_id', '=', source.teamId)
            .orderBy('users.pk')
            .execute()
          const userIds = rows.map((r) => r.id)
          return userIds.length ? { userIds, detail: { team: team.name } } : { userIds, emptyReason: `team ${team.name} has no members` }
        }
        case 'user_group': {
          const group = await getUserGroup(db, organizationId, source.userGroupId)
          if (!group) return { userIds: [], emptyReason: 'the user group no longer exists' }
          const userIds = group.members
          return userIds.length ? { userIds, detail: { user_group: group.handle } } : { userIds, emptyReason: `user group @${group.handle} is empty` }
        }
        case 'schedule':
        case 'next_shift': {
          const found =
            source.kind === 'schedule'
              ? await usersOnCallAt(db, organizationId, source.scheduleId, deps.now())
              : await nextShiftUsers(db, organizationId, source.scheduleId, deps.now())
          if (found === null) return { userIds: [], emptyReason: 'the schedule no longer exists' }
          if (found.userIds.length === 0) {
            const reason = source.kind === 'schedule' ? 'nobody is on call in the schedule now' : 'no shift starts in the schedule within 14 days'
            return { userIds: [], emptyReason: reason, detail: found.detail }
          }
          return { userIds: found.userIds, detail: found.detail }
        }
      }
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
    }): Promise<void> {
      await appendEvent(db, request.organizationId, request.alertGroupId, {
        kind: request.kind,
        at: request.at ?? deps.now().toISOString(),
        actor: null,
        detail: request.detail,
        idempotencyKey: request.idempotencyKey,
      })
    },

    /**
     * Calls an outgoing webhook with its rendered templates and an Idempotency-Key header, and records each
     * attempt's response. 5xx and network errors throw (Temporal retries with backoff); 4xx does not retry.
     */
    async callWebhook(request: {
      organizationId: string
      alertGroupId: string
      webhookId: string
      triggerType: string
      idempotencyKey: string
      event: Record<string, unknown>
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
        const verdict = (await deps.renderTemplate(webhook.trigger_template, context)).trim().toLowerCase()
        if (!['1', 'true', 'ok'].includes(verdict)) return { status: 'skipped', reason: 'the trigger template did not match' }
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
      try {
        const response = await fetch(url, {
          method: webhook.http_method,
          headers,
          body: webhook.http_method === 'GET' ? undefined : body,
          signal: AbortSignal.timeout(deps.httpTimeoutMs),
        })
        statusCode = response.status
        content = (await response.text()).slice(0, 10_000)
      } catch (err) {
        content = `request failed: ${err instanceof Error ? err.message : String(err)}`
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
      if (statusCode === null || statusCode >= 500) throw new Error(`webhook ${webhook.id} failed: ${statusCode ?? content}`)
      if (statusCode >= 400) {
        throw ApplicationFailure.create({ type: WEBHOOK_REJECTED, message: `webhook ${webhook.id} answered ${statusCode}`, nonRetryable: true })
      }
      return { status: 'sent', statusCode }
    },

    /** The webhooks of the organization that fire for a lifecycle event (and "status change"). */
    async lifecycleWebhooks(request: { organizationId: string; alertGroupId: string; triggerType: string }): Promise<string[]> {
      const statusChanges = ['acknowledge', 'resolve', 'silence', 'unsilence', 'unresolve', 'unacknowledge']
      const types = statusChanges.includes(request.triggerType) ? [request.triggerType, 'status change'] : [request.triggerType]
      const rows = await db
        .selectFrom('webhooks')
        .select('id')
        .where('organization_id', '=', request.organizationId)
        .where('deleted_at', 'is', null)
        .where('is_webhook_enabled', '=', true)
        .where('trigger_type', 'in', types)
        .orderBy('pk')
        .execute()
      return rows.map((r) => r.id)
    },

    /** notify_whole_channel: posts to the configured chat webhook once per key. */
    async postToChannel(request: { organizationId: string; alertGroupId: string; text: string; idempotencyKey: string }) {
      if (!deps.chatWebhookUrl) return { status: 'skipped' as const, reason: 'no chat webhook is configured (TOCSIN_CHAT_WEBHOOK_URL)' }
      await db
        .insertInto('chat_posts')
        .values({ idempotency_key: request.idempotencyKey, organization_id: request.organizationId, alert_group_id: request.alertGroupId, text: request.text })
        .onConflict((oc) => oc.column('idempotency_key').doNothing())
        .execute()
      const post = await db.selectFrom('chat_posts').select('delivered_at').where('idempotency_key', '=', request.idempotencyKey).executeTakeFirstOrThrow()
      if (post.delivered_at !== null) return { status: 'posted' as const }
      const response = await fetch(deps.chatWebhookUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': request.idempotencyKey },
        body: JSON.stringify({ text: request.text, alert_group_id: request.alertGroupId }),
        signal: AbortSignal.timeout(deps.httpTimeoutMs),
      })
      await response.body?.cancel()
      if (!response.ok) throw new Error(`chat webhook answered ${response.status}`)
      await db.updateTable('chat_posts').set({ delivered_at: deps.now().toISOString() }).where('idempotency_key', '=', request.idempotencyKey).execute()
      return { status: 'posted' as const }
    },

    /** declare_incident: at most one incident per alert group, whatever the retries and repeats. */
    async declareIncident(request: { organizationId: string; alertGroupId: string; severity: string; policyId: string }) {
      const inserted = await db
        .insertInto('incidents')
        .values({ organization_id: request.organizationId, alert_group_id: request.alertGroupId, severity: request.severity, policy_id: request.policyId })
        .onConflict((oc) => oc.column('alert_group_id').doNothing())
        .returning('pk')
        .executeTakeFirst()
      return { declared: inserted !== undefined }
    },
  }
}

export type EngineActivities = ReturnType<typeof createEngineActivities>
