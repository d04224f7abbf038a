import { sql, type Kysely } from 'kysely'

// Integrations, routes and alert ingestion. Alerts are accepted into `ingest_inbox` (durable before the 200) and
// moved into alert groups by the ingestion processor; the partial unique index on open groups is what makes
// concurrent processors agree on exactly one open group per (integration, route, distinction).

export async function up(db: Kysely<any>): Promise<void> {
  // The default covers rows written without one (the code always sets 25 characters like OnCall's).
  await db.schema
    .alterTable('integrations')
    .addColumn('token', 'text', (c) => c.notNull().defaultTo(sql`substr(md5(random()::text) || md5(random()::text), 1, 25)`))
    .addColumn('description_short', 'text')
    .addColumn('templates', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('allow_source_based_resolving', 'boolean', (c) => c.notNull().defaultTo(true))
    .addColumn('maintenance_mode', 'text', (c) => c.check(sql`maintenance_mode in ('maintenance', 'debug')`))
    .addColumn('maintenance_started_at', 'timestamptz')
    .addColumn('maintenance_end_at', 'timestamptz')
    .addColumn('maintenance_group_id', 'text')
    .addColumn('heartbeat_last_at', 'timestamptz')
    // Soft delete, as OnCall: alert groups keep their integration; its token answers 403.
    .addColumn('deleted_at', 'timestamptz')
    .execute()
  await db.schema.createIndex('integrations_token_idx').on('integrations').column('token').unique().execute()
  await db.schema
    .createIndex('integrations_org_team_name_idx')
    .on('integrations')
    .expression(sql`organization_id, coalesce(team_id, ''), name`)
    .unique()
    .where(sql<boolean>`deleted_at is null and type <> 'direct_paging'`)
    .execute()

  await db.schema
    .alterTable('routes')
    .addColumn('routing_type', 'text', (c) => c.notNull().defaultTo('regex').check(sql`routing_type in ('regex', 'jinja2')`))
    .addColumn('routing_regex', 'text')
    .addColumn('slack_channel_id', 'text')
    .addColumn('slack_enabled', 'boolean', (c) => c.notNull().defaultTo(true))
    .addColumn('telegram_id', 'text')
    .addColumn('telegram_enabled', 'boolean', (c) => c.notNull().defaultTo(false))
    .execute()

  await db.schema
    .alterTable('alert_groups')
    // MD5 of the rendered grouping key; null for groups that never group (direct paging, maintenance).
    .addColumn('distinction', 'text')
    .addColumn('is_maintenance', 'boolean', (c) => c.notNull().defaultTo(false))
    // OnCall's is_open_for_grouping: resolving closes it for good; unresolve does not reopen it.
    .addColumn('open_for_grouping', 'boolean', (c) => c.notNull().defaultTo(true))
    .execute()
  // Kept by the database itself, so every path that resolves a group (API, payload, escalation step, ops) closes it.
  await sql`create function alert_groups_close_grouping() returns trigger language plpgsql as $$
    begin
      if new.resolved_at is not null then new.open_for_grouping := false; end if;
      return new;
    end $$`.execute(db)
  await sql`create trigger alert_groups_close_grouping before insert or update of resolved_at on alert_groups
    for each row execute function alert_groups_close_grouping()`.execute(db)
  await db.schema
    .createIndex('alert_groups_one_open_idx')
    .on('alert_groups')
    .expression(sql`integration_id, coalesce(route_id, ''), distinction`)
    .unique()
    .where(sql<boolean>`distinction is not null and open_for_grouping`)
    .execute()
  await db.schema
    .createIndex('alert_groups_closed_key_idx')
    .on('alert_groups')
    .columns(['integration_id', 'distinction', 'resolved_at'])
    .where(sql<boolean>`distinction is not null and not open_for_grouping`)
    .execute()

  await db.schema
    .createTable('ingest_inbox')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('organization_id', 'text', (c) => c.notNull().references('organizations.id').onDelete('cascade'))
    .addColumn('integration_id', 'text', (c) => c.notNull().references('integrations.id').onDelete('cascade'))
    // Chosen at acceptance, so every retry of the processing writes and signals the same alert.
    .addColumn('alert_id', 'text', (c) => c.notNull().unique())
    .addColumn('candidate_group_id', 'text', (c) => c.notNull())
    .addColumn('payload', 'jsonb', (c) => c.notNull())
    .addColumn('received_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    // pending: not grouped yet; action: grouped, a resolve/acknowledge signal still to apply.
    .addColumn('state', 'text', (c) => c.notNull().defaultTo('pending').check(sql`state in ('pending', 'action')`))
    .addColumn('alert_group_id', 'text')
    .addColumn('pending_action', 'text')
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('last_error', 'text')
    .execute()
  await db.schema.createIndex('ingest_inbox_integration_idx').on('ingest_inbox').columns(['integration_id', 'id']).execute()

  await db.schema
    .createTable('ingest_rate_counters')
    .addColumn('scope', 'text', (c) => c.notNull())
    .addColumn('window_start', 'timestamptz', (c) => c.notNull())
    .addColumn('count', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('ingest_rate_counters_pkey', ['scope', 'window_start'])
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('ingest_rate_counters').execute()
  await db.schema.dropTable('ingest_inbox').execute()
  await db.schema.dropIndex('alert_groups_closed_key_idx').execute()
  await db.schema.dropIndex('alert_groups_one_open_idx').execute()
  await sql`drop trigger alert_groups_close_grouping on alert_groups`.execute(db)
  await sql`drop function alert_groups_close_grouping()`.execute(db)
  await db.schema.alterTable('alert_groups').dropColumn('distinction').dropColumn('is_maintenance').dropColumn('open_for_grouping').execute()
  await db.schema
    .alterTable('routes')
    .dropColumn('routing_type')
    .dropColumn('routing_regex')
    .dropColumn('slack_channel_id')
    .dropColumn('slack_enabled')
    .dropColumn('telegram_id')
    .dropColumn('telegram_enabled')
    .execute()
  await db.schema.dropIndex('integrations_org_team_name_idx').execute()
  await db.schema.dropIndex('integrations_token_idx').execute()
  await db.schema
    .alterTable('integrations')
    .dropColumn('token')
    .dropColumn('description_short')
    .dropColumn('templates')
    .dropColumn('allow_source_based_resolving')
    .dropColumn('maintenance_mode')
    .dropColumn('maintenance_started_at')
    .dropColumn('maintenance_end_at')
    .dropColumn('maintenance_group_id')
    .dropColumn('heartbeat_last_at')
    .dropColumn('deleted_at')
    .execute()
}
