import { sql, type Kysely } from 'kysely'

// What the escalation engine's activities record, each row keyed so that a retried or replayed step
// changes nothing.

export async function up(db: Kysely<any>): Promise<void> {
  // The workflow writes its whole lifecycle state after each action; the version keeps a late activity
  // retry from overwriting a newer state. silenced_until is when a timed silence ends (null: forever).
  await db.schema
    .alterTable('alert_groups')
    .addColumn('silenced_until', 'timestamptz')
    .addColumn('lifecycle_version', 'integer', (c) => c.notNull().defaultTo(0))
    .execute()

  // One round-robin pick per (escalation, step): a retry returns the same person instead of skipping one.
  await db.schema
    .createTable('round_robin_picks')
    .addColumn('idempotency_key', 'text', (c) => c.primaryKey())
    .addColumn('organization_id', 'text', (c) => c.notNull().references('organizations.id').onDelete('cascade'))
    .addColumn('policy_id', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute()

  // declare_incident: at most one incident per alert group.
  await db.schema
    .createTable('incidents')
    .addColumn('pk', 'bigserial', (c) => c.primaryKey())
    .addColumn('organization_id', 'text', (c) => c.notNull().references('organizations.id').onDelete('cascade'))
    .addColumn('alert_group_id', 'text', (c) => c.notNull().unique().references('alert_groups.id').onDelete('cascade'))
    .addColumn('severity', 'text', (c) => c.notNull())
    .addColumn('policy_id', 'text')
    .addColumn('declared_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute()

  // Outgoing chat posts (notify_whole_channel), once per key.
  await db.schema
    .createTable('chat_posts')
    .addColumn('idempotency_key', 'text', (c) => c.primaryKey())
    .addColumn('organization_id', 'text', (c) => c.notNull().references('organizations.id').onDelete('cascade'))
    .addColumn('alert_group_id', 'text', (c) => c.notNull().references('alert_groups.id').onDelete('cascade'))
    .addColumn('text', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('delivered_at', 'timestamptz')
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('chat_posts').execute()
  await db.schema.dropTable('incidents').execute()
  await db.schema.dropTable('round_robin_picks').execute()
  await db.schema.alterTable('alert_groups').dropColumn('silenced_until').dropColumn('lifecycle_version').execute()
}
