import { sql } from 'kysely'
import type { Db } from './connect'

// Heartbeats of integrations: the last one received, OnCall's timeout, whether the heartbeat workflow still has to
// hear of them, and the alerts raised when a heartbeat expired or came back (each once under its key).

/** What the heartbeat workflow of an integration should know, as stored. */
export interface HeartbeatSetting {
  readonly integrationId: string
  readonly organizationId: string
  readonly type: string
  /** The last heartbeat (ISO), null before the first. */
  readonly lastBeatAt: string | null
  readonly timeoutSeconds: number | null
  /** False once the integration is deleted. */
  readonly live: boolean
  /** The stored instant, exactly as PostgreSQL wrote it: what clearing the sync flag compares against. */
  readonly storedLastBeatAt: string | null
}

/** PostgreSQL's UTC text (`2026-12-10 12:00:00.123456+00`) as ISO 8601, milliseconds kept. */
export function pgInstantToIso(pgText: string): string {
  return new Date(pgText.replace(' ', 'T').replace(/\+00(:00)?$/, 'Z')).toISOString()
}

type SettingRow = {
  id: string
  organization_id: string
  type: string
  heartbeat_last_at: string | null
  heartbeat_timeout_seconds: number | null
  deleted_at: string | null
}

function settingOf(row: SettingRow): HeartbeatSetting {
  return {
    integrationId: row.id,
    organizationId: row.organization_id,
    type: row.type,
    lastBeatAt: row.heartbeat_last_at === null ? null : pgInstantToIso(row.heartbeat_last_at),
    timeoutSeconds: row.heartbeat_timeout_seconds,
    live: row.deleted_at === null,
    storedLastBeatAt: row.heartbeat_last_at,
  }
}

const settingColumns = ['id', 'organization_id', 'type', 'heartbeat_last_at', 'heartbeat_timeout_seconds', 'deleted_at'] as const

/**
 * Records a heartbeat now. With a timeout set, the workflow has to hear of it: the flag stays up until it has.
 * The instant is taken once the row is locked, so it is later than any expiry committed before it.
 */
export async function recordHeartbeat(db: Db, organizationId: string, id: string): Promise<HeartbeatSetting | undefined> {
  const row = await db
    .updateTable('integrations')
    .set({ heartbeat_last_at: sql<string>`clock_timestamp()`, heartbeat_sync_due: sql<boolean>`heartbeat_timeout_seconds is not null` })
    .where('organization_id', '=', organizationId)
    .where('id', '=', id)
    .returning(settingColumns)
    .executeTakeFirst()
  return row && settingOf(row)
}

/** The heartbeat state of an integration, deleted or not (the raising activity locks it with `forUpdate`). */
export async function heartbeatSetting(
  db: Db,
  organizationId: string,
  integrationId: string,
  options: { forUpdate?: boolean } = {},
): Promise<HeartbeatSetting | undefined> {
  let query = db.selectFrom('integrations').select(settingColumns).where('organization_id', '=', organizationId).where('id', '=', integrationId)
  if (options.forUpdate) query = query.forUpdate()
  const row = await query.executeTakeFirst()
  return row && settingOf(row)
}

/** Integrations whose heartbeat workflow has yet to hear of a heartbeat or a setting (all organizations). */
export async function dueHeartbeatSyncs(db: Db, limit: number): Promise<HeartbeatSetting[]> {
  const rows = await db.selectFrom('integrations').select(settingColumns).where('heartbeat_sync_due', '=', true).limit(limit).execute()
  return rows.map(settingOf)
}

/** The workflow has heard of `setting`: lowers the flag unless a newer heartbeat or setting came meanwhile. */
export async function clearHeartbeatSyncDue(db: Db, setting: HeartbeatSetting): Promise<void> {
  await db
    .updateTable('integrations')
    .set({ heartbeat_sync_due: false })
    .where('organization_id', '=', setting.organizationId)
    .where('id', '=', setting.integrationId)
    .where(sql<boolean>`heartbeat_last_at is not distinct from ${setting.storedLastBeatAt}::timestamptz`)
    .where(sql<boolean>`heartbeat_timeout_seconds is not distinct from ${setting.timeoutSeconds}::integer`)
    .where(setting.live ? sql<boolean>`deleted_at is null` : sql<boolean>`deleted_at is not null`)
    .execute()
}

/** One alert raised for a heartbeat, as recorded under its idempotency key. */
export interface HeartbeatAlert {
  readonly idempotencyKey: string
  readonly kind: 'expired' | 'restored'
  readonly sequence: number
  readonly alertId: string | null
  readonly alertGroupId: string | null
  /** ISO. */
  readonly createdAt: string
}

const alertColumns = ['idempotency_key', 'kind', 'sequence', 'alert_id', 'alert_group_id', 'created_at'] as const

function heartbeatAlertOf(row: {
  idempotency_key: string
  kind: 'expired' | 'restored'
  sequence: number
  alert_id: string | null
  alert_group_id: string | null
  created_at: string
}): HeartbeatAlert {
  return {
    idempotencyKey: row.idempotency_key,
    kind: row.kind,
    sequence: row.sequence,
    alertId: row.alert_id,
    alertGroupId: row.alert_group_id,
    createdAt: pgInstantToIso(row.created_at),
  }
}

export async function findHeartbeatAlert(db: Db, idempotencyKey: string): Promise<HeartbeatAlert | undefined> {
  const row = await db.selectFrom('heartbeat_alerts').select(alertColumns).where('idempotency_key', '=', idempotencyKey).executeTakeFirst()
  return row && heartbeatAlertOf(row)
}

/** Records an alert under its key; undefined when the key was recorded already (nothing else may then be written). */
export async function insertHeartbeatAlert(
  db: Db,
  alert: {
    idempotencyKey: string
    organizationId: string
    integrationId: string
    kind: 'expired' | 'restored'
    sequence: number
    alertId: string | null
    alertGroupId: string | null
  },
): Promise<HeartbeatAlert | undefined> {
  const row = await db
    .insertInto('heartbeat_alerts')
    .values({
      idempotency_key: alert.idempotencyKey,
      organization_id: alert.organizationId,
      integration_id: alert.integrationId,
      kind: alert.kind,
      sequence: alert.sequence,
      alert_id: alert.alertId,
      alert_group_id: alert.alertGroupId,
    })
    .onConflict((oc) => oc.doNothing())
    .returning(alertColumns)
    .executeTakeFirst()
  return row && heartbeatAlertOf(row)
}

export async function setHeartbeatAlertGroup(db: Db, idempotencyKey: string, alertGroupId: string): Promise<void> {
  await db.updateTable('heartbeat_alerts').set({ alert_group_id: alertGroupId }).where('idempotency_key', '=', idempotencyKey).execute()
}

/** How many times the integration's heartbeat expired, and the last expiry if no restore ended it yet. */
export async function heartbeatHistory(db: Db, organizationId: string, integrationId: string): Promise<{ expiries: number; open: HeartbeatAlert | null }> {
  const rows = await db
    .selectFrom('heartbeat_alerts')
    .select(alertColumns)
    .where('organization_id', '=', organizationId)
    .where('integration_id', '=', integrationId)
    .orderBy('sequence', 'desc')
    .orderBy('kind', 'desc')
    .limit(2)
    .execute()
  const [latest] = rows.map(heartbeatAlertOf)
  if (!latest) return { expiries: 0, open: null }
  return { expiries: latest.sequence, open: latest.kind === 'expired' ? latest : null }
}
