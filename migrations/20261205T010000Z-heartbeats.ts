import { sql, type Kysely } from 'kysely'

// Integration heartbeats that raise alerts. The timeout is OnCall's setting (in seconds; null = off). The sync
// flag says the heartbeat workflow has not yet been told about the latest heartbeat or setting (Temporal was away,
// or the process died in between): a sweep tells it. `heartbeat_alerts` records each expired and restored alert
// once under its idempotency key, so a retried or replayed expiry never raises a second alert.

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('integrations')
    .addColumn('heartbeat_timeout_seconds', 'integer', (c) => c.check(sql`heartbeat_timeout_seconds > 0`))
    .addColumn('heartbeat_sync_due', 'boolean', (c) => c.notNull().defaultTo(false))
    .execute()
  await db.schema
    .createIndex('integrations_heartbeat_sync_due_idx')
    .on('integrations')
    .column('id')
    .where(sql<boolean>`heartbeat_sync_due`)
    .execute()

  await db.schema
    .createTable('heartbeat_alerts')
    .addColumn('idempotency_key', 'text', (c) => c.primaryKey())
    .addColumn('organization_id', 'text', (c) => c.notNull().references('organizations.id').onDelete('cascade'))
    .addColumn('integration_id', 'text', (c) => c.notNull().references('integrations.id').onDelete('cascade'))
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('expired', 'restored')`))
    // The expiry this alert belongs to: the n-th expiry of the integration and the restore that ended it share n.
    .addColumn('sequence', 'integer', (c) => c.notNull())
    // Null when nothing was enqueued (the integration was deleted meanwhile).
    .addColumn('alert_id', 'text')
    // The group the expired alert was grouped into, once known; the group a restore resolved.
    .addColumn('alert_group_id', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`clock_timestamp()`))
    .addUniqueConstraint('heartbeat_alerts_integration_kind_sequence_key', ['integration_id', 'kind', 'sequence'])
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('heartbeat_alerts').execute()
  await db.schema.dropIndex('integrations_heartbeat_sync_due_idx').execute()
  await db.schema.alterTable('integrations').dropColumn('heartbeat_timeout_seconds').dropColumn('heartbeat_sync_due').execute()
}
