import { sql, type Kysely } from 'kysely'

// incident.io's escalations (/v2/escalations): each one is an alert group run by the engine, plus this row with the
// facts only the /v2 surface knows. The lifecycle (acked, resolved, cancelled...) stays on the alert group.

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('escalations')
    // Cursor pagination walks pk: ids are random-looking, pk is the creation order.
    .addColumn('pk', 'bigserial', (c) => c.primaryKey())
    .addColumn('id', 'text', (c) => c.notNull().unique())
    .addColumn('organization_id', 'text', (c) => c.notNull().references('organizations.id').onDelete('cascade'))
    // One escalation per alert group; deleting the group (OnCall's DELETE) deletes the escalation with it.
    .addColumn('alert_group_id', 'text', (c) => c.notNull().unique().references('alert_groups.id').onDelete('cascade'))
    // The caller's de-duplication key, kept forever; null only for an escalation a reassign created.
    .addColumn('idempotency_key', 'text')
    // No foreign key: paths are archived, never deleted, and an escalation keeps naming the path it ran.
    .addColumn('escalation_path_id', 'text')
    .addColumn('user_ids', sql`text[]`)
    .addColumn('title', 'text', (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('priority', 'text', (c) => c.notNull())
    // An incident.io incident id the caller linked; Tocsin keeps no incident by that id.
    .addColumn('incident_id', 'text')
    // Who created it, as shown then (incident.io's creator object).
    .addColumn('creator', 'jsonb', (c) => c.notNull())
    .addColumn('reassigned_from_id', 'text', (c) => c.references('escalations.id').onDelete('set null'))
    // Set once, by a conditional update: this is what makes a second reassign fail, even in parallel.
    .addColumn('reassigned_to_id', 'text', (c) => c.unique().references('escalations.id').onDelete('set null'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addCheckConstraint('escalations_one_target', sql`(escalation_path_id is null) <> (user_ids is null)`)
    .addCheckConstraint('escalations_keyed', sql`idempotency_key is not null or reassigned_from_id is not null`)
    .execute()
  // Replays and concurrent duplicates resolve on this index (INSERT ... ON CONFLICT DO NOTHING); it also serves
  // idempotency_key[is] and [starts_with] (text_pattern_ops for the prefix match).
  await db.schema
    .createIndex('escalations_org_idempotency_key_idx')
    .on('escalations')
    .columns(['organization_id', 'idempotency_key'])
    .unique()
    .execute()
  await db.schema
    .createIndex('escalations_org_idempotency_prefix_idx')
    .on('escalations')
    .expression(sql`organization_id, idempotency_key text_pattern_ops`)
    .execute()
  // GET /v2/escalations lists an organization's escalations newest first.
  await db.schema.createIndex('escalations_org_pk_idx').on('escalations').expression(sql`organization_id, pk desc`).execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('escalations').execute()
}
