import { appendEvent } from '../db/alert-groups.repo'
import type { Db } from '../db/connect'
import {
  findHeartbeatAlert,
  heartbeatHistory,
  heartbeatSetting,
  insertHeartbeatAlert,
  setHeartbeatAlertGroup,
  type HeartbeatAlert,
} from '../db/heartbeats.repo'
import { enqueueAlert, enqueueAlertOfGroup, placeOfAcceptedAlert } from '../db/ingestion.repo'
import { getIntegration } from '../db/integrations.repo'

// The I/O of the heartbeat workflow. An expired heartbeat is an alert like any other: it goes into the ingestion
// inbox, so the integration's routes, grouping and escalation apply. The "restored" alert joins the expired alert's
// group and resolves it by source, as OnCall's restored heartbeat alert does. Every alert is recorded once under
// its idempotency key (workflow id + expiry count): retries, crashes and replays never raise a second one.

/** An expiry no restore has ended yet. */
export interface OpenExpiry {
  readonly sequence: number
  readonly idempotencyKey: string
  /** Null when nothing was enqueued (the integration was deleted meanwhile). */
  readonly alertId: string | null
  /** The group the expired alert went to, once the ingestion processor grouped it. */
  readonly alertGroupId: string | null
  /** When it expired (ISO): a heartbeat after this instant restores it. */
  readonly expiredAt: string
}

/** What a heartbeat workflow carries from run to run, and reads back when it starts afresh. */
export interface HeartbeatState {
  /** How many times the integration's heartbeat expired, ever. */
  readonly expiries: number
  readonly open: OpenExpiry | null
}

export interface RaiseHeartbeatExpiredRequest {
  readonly organizationId: string
  readonly integrationId: string
  readonly sequence: number
  readonly idempotencyKey: string
  /** What the workflow believes: a newer heartbeat or another timeout in the database means no expiry. */
  readonly lastBeatAt: string
  readonly timeoutSeconds: number
}

export type RaiseHeartbeatExpiredResult =
  | { readonly status: 'raised'; readonly expiry: OpenExpiry }
  /** The database knows a newer heartbeat or another timeout the workflow has not heard of yet. */
  | { readonly status: 'news'; readonly lastBeatAt: string; readonly timeoutSeconds: number }
  /** The timeout is off or the integration deleted: the workflow ends. */
  | { readonly status: 'off' }

export interface RestoreHeartbeatRequest {
  readonly organizationId: string
  readonly integrationId: string
  readonly expiry: OpenExpiry
  readonly idempotencyKey: string
}

// Alertmanager-shaped integrations get Alertmanager's payload, the others OnCall's formatted-webhook payload.
const ALERTMANAGER_SHAPED = new Set(['alertmanager', 'grafana_alerting', 'grafana'])
// OnCall's fixed alert_uid per integration type, so its heartbeat alerts group as they do in OnCall.
const ALERT_UIDS: Readonly<Record<string, string>> = {
  webhook: '7973c835-ff3f-46e4-9444-06df127b6f8e',
  formatted_webhook: 'fbdad422-b27d-454a-8553-84d1517e0005',
  elastalert: '0eaf37c8-e1eb-4714-b79e-7c648b6a96fa',
  zabbix: '191eac7a-d7c1-43a0-8821-eef5afe41367',
}
const HEARTBEAT_ALERTNAME = 'OnCallHeartBeatMissing'

/** The integration type as OnCall names it in heartbeat texts (Python's str.capitalize). */
function verbal(type: string): string {
  return type.charAt(0).toUpperCase() + type.slice(1).toLowerCase()
}

/** OnCall's heartbeat titles and messages, with Tocsin as the waiting party. */
export function heartbeatTexts(type: string): { expired: { title: string; message: string }; restored: { title: string; message: string } } {
  const name = verbal(type)
  return {
    expired: {
      title: `${name} heartbeat is missing`,
      message:
        `Tocsin was waiting for a heartbeat from ${name} and one was not received. This can happen when ${name} has ` +
        `stopped or there are connectivity issues between Tocsin and ${name}.`,
    },
    restored: { title: `${name} heartbeat restored`, message: `Tocsin received a signal from ${name}. Heartbeat has been restored.` },
  }
}

/** The payload of a heartbeat alert, shaped as the integration's own alerts are. */
export function heartbeatPayload(type: string, kind: 'expired' | 'restored'): Record<string, unknown> {
  const { title, message } = heartbeatTexts(type)[kind]
  const firing = kind === 'expired'
  if (ALERTMANAGER_SHAPED.has(type)) {
    const labels = { alertname: HEARTBEAT_ALERTNAME }
    return {
      alerts: [
        {
          endsAt: '',
          labels,
          status: firing ? 'firing' : 'resolved',
          startsAt: '',
          annotations: { title, description: message },
          fingerprint: 'fingerprint',
          generatorURL: '',
        },
      ],
      status: firing ? 'firing' : 'resolved',
      version: '4',
      groupKey: `{}:{alertname="${HEARTBEAT_ALERTNAME}"}`,
      receiver: '',
      numFiring: firing ? 1 : 0,
      externalURL: '',
      groupLabels: labels,
      numResolved: firing ? 0 : 1,
      commonLabels: labels,
      truncatedAlerts: 0,
      commonAnnotations: {},
    }
  }
  return {
    alert_uid: ALERT_UIDS[type] ?? ALERT_UIDS.webhook,
    title,
    image_url: null,
    state: firing ? 'alerting' : 'ok',
    link_to_upstream_details: null,
    message,
    is_amixr_heartbeat: true,
    is_amixr_heartbeat_restored: !firing,
  }
}

function openExpiryOf(alert: HeartbeatAlert): OpenExpiry {
  return {
    sequence: alert.sequence,
    idempotencyKey: alert.idempotencyKey,
    alertId: alert.alertId,
    alertGroupId: alert.alertGroupId,
    expiredAt: alert.createdAt,
  }
}

/** Where the expired alert was grouped: waits (by failing, so the activity retries) while it is still queued. */
async function groupOfExpiry(db: Db, expiry: OpenExpiry): Promise<{ alertGroupId: string } | null> {
  if (expiry.alertId === null) return null
  const place = await placeOfAcceptedAlert(db, expiry.alertId)
  if (place === 'queued') throw new Error(`heartbeat alert ${expiry.alertId} is not grouped yet`)
  return place ?? null
}

export function createHeartbeatActivities({ db, now }: { db: Db; now: () => Date }) {
  return {
    /** What a heartbeat workflow starting afresh must know: the expiry count and an expiry still open. */
    async loadHeartbeatState({ organizationId, integrationId }: { organizationId: string; integrationId: string }): Promise<HeartbeatState> {
      const { expiries, open } = await heartbeatHistory(db, organizationId, integrationId)
      return { expiries, open: open && openExpiryOf(open) }
    },

    /** Enqueues the "expired" alert once, unless the database says the heartbeat is in fact alive or off. */
    async raiseHeartbeatExpired(request: RaiseHeartbeatExpiredRequest): Promise<RaiseHeartbeatExpiredResult> {
      return db.transaction().execute(async (trx) => {
        // Locked: a heartbeat recorded concurrently waits, and its instant is then later than this expiry.
        const setting = await heartbeatSetting(trx, request.organizationId, request.integrationId, { forUpdate: true })
        const done = await findHeartbeatAlert(trx, request.idempotencyKey)
        if (done) return { status: 'raised', expiry: openExpiryOf(done) }
        if (!setting || !setting.live || setting.timeoutSeconds === null || setting.lastBeatAt === null) return { status: 'off' }
        if (Date.parse(setting.lastBeatAt) > Date.parse(request.lastBeatAt) || setting.timeoutSeconds !== request.timeoutSeconds) {
          return { status: 'news', lastBeatAt: setting.lastBeatAt, timeoutSeconds: setting.timeoutSeconds }
        }
        const recorded = await insertHeartbeatAlert(trx, {
          idempotencyKey: request.idempotencyKey,
          organizationId: request.organizationId,
          integrationId: request.integrationId,
          kind: 'expired',
          sequence: request.sequence,
          alertId: null,
          alertGroupId: null,
        })
        if (!recorded) throw new Error(`heartbeat expiry ${request.idempotencyKey} recorded concurrently`)
        const alertId = await enqueueAlert(trx, { id: request.integrationId, organizationId: request.organizationId }, heartbeatPayload(setting.type, 'expired'))
        await trx.updateTable('heartbeat_alerts').set({ alert_id: alertId }).where('idempotency_key', '=', request.idempotencyKey).execute()
        return { status: 'raised', expiry: { ...openExpiryOf(recorded), alertId } }
      })
    },

    /**
     * Once the ingestion processor has grouped the expired alert, says so in that group's timeline. Fails (and is
     * retried) while the alert is still queued; null when it was dropped (the integration was deleted).
     */
    async noteHeartbeatExpired({
      organizationId,
      integrationId,
      expiry,
      lastBeatAt,
      timeoutSeconds,
    }: {
      organizationId: string
      integrationId: string
      expiry: OpenExpiry
      lastBeatAt: string
      timeoutSeconds: number
    }): Promise<{ alertGroupId: string | null }> {
      const group = await groupOfExpiry(db, expiry)
      if (!group) return { alertGroupId: null }
      await db.transaction().execute(async (trx) => {
        await setHeartbeatAlertGroup(trx, expiry.idempotencyKey, group.alertGroupId)
        await appendEvent(trx, organizationId, group.alertGroupId, {
          kind: 'heartbeat_expired',
          at: expiry.expiredAt,
          actor: null,
          detail: { integration_id: integrationId, alert_id: expiry.alertId, last_heartbeat_at: lastBeatAt, timeout_seconds: timeoutSeconds },
          idempotencyKey: `${expiry.idempotencyKey}:timeline`,
        })
      })
      return { alertGroupId: group.alertGroupId }
    },

    /**
     * The heartbeat is back: the "restored" alert joins the expired alert's group and resolves it by source (unless
     * the integration does not allow source-based resolving, or the group is the maintenance group), once.
     */
    async restoreHeartbeat({ organizationId, integrationId, expiry, idempotencyKey }: RestoreHeartbeatRequest): Promise<{ alertGroupId: string | null }> {
      const done = await findHeartbeatAlert(db, idempotencyKey)
      if (done) return { alertGroupId: done.alertGroupId }
      const groupId = expiry.alertGroupId ?? (await groupOfExpiry(db, expiry))?.alertGroupId ?? null
      const integration = await getIntegration(db, organizationId, integrationId)
      return db.transaction().execute(async (trx) => {
        const recorded = await insertHeartbeatAlert(trx, {
          idempotencyKey,
          organizationId,
          integrationId,
          kind: 'restored',
          sequence: expiry.sequence,
          alertId: null,
          alertGroupId: groupId,
        })
        if (!recorded) return { alertGroupId: (await findHeartbeatAlert(trx, idempotencyKey))?.alertGroupId ?? null }
        // A deleted integration's alerts are dropped, as the ingestion processor drops them.
        if (groupId === null || !integration) return { alertGroupId: groupId }
        const group = await trx
          .selectFrom('alert_groups')
          .select('is_maintenance')
          .where('organization_id', '=', organizationId)
          .where('id', '=', groupId)
          .executeTakeFirstOrThrow()
        // The maintenance group ends with the maintenance, never by a source's resolve signal.
        const alertId = await enqueueAlertOfGroup(trx, integration, groupId, heartbeatPayload(integration.type, 'restored'), {
          resolve: integration.allowSourceBasedResolving && !group.is_maintenance,
        })
        await trx.updateTable('heartbeat_alerts').set({ alert_id: alertId }).where('idempotency_key', '=', idempotencyKey).execute()
        await appendEvent(trx, organizationId, groupId, {
          kind: 'heartbeat_restored',
          at: now().toISOString(),
          actor: null,
          detail: { integration_id: integrationId, alert_id: alertId },
          idempotencyKey: `${idempotencyKey}:timeline`,
        })
        return { alertGroupId: groupId }
      })
    },
  }
}

export type HeartbeatActivities = ReturnType<typeof createHeartbeatActivities>
