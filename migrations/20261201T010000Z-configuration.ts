import { sql, type Kysely } from 'kysely'

// The OnCall configuration resources: escalation chains and policies, and what policies point to
// (schedules, user groups, outgoing webhooks).

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('escalation_chains')
    .addColumn('pk', 'bigserial', (c) => c.primaryKey())
    .addColumn('id', 'text', (c) => c.notNull().unique())
    .addColumn('organization_id', 'text', (c) => c.notNull().references('organizations.id').onDelete('cascade'))
    .addColumn('team_id', 'text', (c) => c.references('teams.id').onDelete('set null'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    // OnCall: unique_together (organization, name).
    .addUniqueConstraint('escalation_chains_org_name_key', ['organization_id', 'name'])
    .execute()

  // Routes that used a deleted chain keep routing, with nothing to escalate (OnCall: on_delete=SET_NULL).
  await db.schema
    .alterTable('routes')
    .addForeignKeyConstraint('routes_escalation_chain_fkey', ['escalation_chain_id'], 'escalation_chains', ['id'])
    .onDelete('set null')
    .execute()

  await db.schema
    .createTable('schedules')
    .addColumn('pk', 'bigserial', (c) => c.primaryKey())
    .addColumn('id', 'text', (c) => c.notNull().unique())
    .addColumn('organization_id', 'text', (c) => c.notNull().references('organizations.id').onDelete('cascade'))
    .addColumn('team_id', 'text', (c) => c.references('teams.id').onDelete('set null'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull().check(sql`type in ('web', 'calendar', 'ical')`))
    .addColumn('time_zone', 'text')
    .addColumn('ical_url_primary', 'text')
    .addColumn('ical_url_overrides', 'text')
    .addColumn('enable_web_overrides', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('slack_channel_id', 'text')
    .addColumn('slack_user_group_id', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute()

  // OnCall's user groups are imported from Slack; Tocsin keeps its own, with members.
  await db.schema
    .createTable('user_groups')
    .addColumn('pk', 'bigserial', (c) => c.primaryKey())
    .addColumn('id', 'text', (c) => c.notNull().unique())
    .addColumn('organization_id', 'text', (c) => c.notNull().references('organizations.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('handle', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint('user_groups_org_handle_key', ['organization_id', 'handle'])
    .execute()
  await db.schema
    .createTable('user_group_members')
    .addColumn('user_group_id', 'text', (c) => c.notNull().references('user_groups.id').onDelete('cascade'))
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addPrimaryKeyConstraint('user_group_members_pkey', ['user_group_id', 'user_id'])
    .execute()

  await db.schema
    .createTable('webhooks')
    .addColumn('pk', 'bigserial', (c) => c.primaryKey())
    .addColumn('id', 'text', (c) => c.notNull().unique())
    .addColumn('organization_id', 'text', (c) => c.notNull().references('organizations.id').onDelete('cascade'))
    .addColumn('team_id', 'text', (c) => c.references('teams.id').onDelete('set null'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('is_webhook_enabled', 'boolean', (c) => c.notNull().defaultTo(true))
    .addColumn('url', 'text', (c) => c.notNull())
    .addColumn('http_method', 'text', (c) => c.notNull())
    .addColumn('trigger_type', 'text', (c) => c.notNull())
    .addColumn('data', 'text')
    .addColumn('headers', 'text')
    .addColumn('trigger_template', 'text')
    .addColumn('username', 'text')
    .addColumn('password', 'text')
    .addColumn('authorization_header', 'text')
    .addColumn('forward_all', 'boolean', (c) => c.notNull().defaultTo(true))
    .addColumn('integration_filter', sql`text[]`)
    .addColumn('preset', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    // Soft delete, as OnCall: a deleted webhook is gone from the API but its responses stay explainable.
    .addColumn('deleted_at', 'timestamptz')
    .execute()
  // Names are unique among live webhooks, so a deleted webhook's name can be reused.
  await db.schema
    .createIndex('webhooks_org_name_live_idx')
    .on('webhooks')
    .columns(['organization_id', 'name'])
    .unique()
    .where(sql.ref('deleted_at'), 'is', null)
    .execute()

  await db.schema
    .createTable('webhook_responses')
    .addColumn('pk', 'bigserial', (c) => c.primaryKey())
    .addColumn('organization_id', 'text', (c) => c.notNull().references('organizations.id').onDelete('cascade'))
    .addColumn('webhook_id', 'text', (c) => c.notNull().references('webhooks.id').onDelete('cascade'))
    .addColumn('timestamp', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('url', 'text')
    .addColumn('request_trigger', 'text')
    .addColumn('request_headers', 'text')
    .addColumn('request_data', 'text')
    .addColumn('status_code', 'integer')
    .addColumn('content', 'text')
    .addColumn('event_data', 'text')
    // Exactly-once per escalation step: the engine writes each attempt's response under a derived key.
    .addColumn('idempotency_key', 'text', (c) => c.unique())
    .execute()
  await db.schema.createIndex('webhook_responses_webhook_idx').on('webhook_responses').columns(['webhook_id', 'pk']).execute()

  await db.schema
    .createTable('escalation_policies')
    .addColumn('pk', 'bigserial', (c) => c.primaryKey())
    .addColumn('id', 'text', (c) => c.notNull().unique())
    .addColumn('organization_id', 'text', (c) => c.notNull().references('organizations.id').onDelete('cascade'))
    .addColumn('escalation_chain_id', 'text', (c) => c.notNull().references('escalation_chains.id').onDelete('cascade'))
    // OnCall's order: not renumbered on delete (gaps stay), swapped under manual_order.
    .addColumn('position', 'integer', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    // The public API's "important twin" of the five user-notifying types, as a flag.
    .addColumn('important', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('duration', 'integer')
    // persons_to_notify and persons_to_notify_next_each_time share this list, as in OnCall.
    .addColumn('users', sql`text[]`, (c) => c.notNull().defaultTo(sql`'{}'`))
    .addColumn('schedule_id', 'text', (c) => c.references('schedules.id').onDelete('set null'))
    .addColumn('team_to_notify', 'text', (c) => c.references('teams.id').onDelete('set null'))
    .addColumn('group_to_notify', 'text', (c) => c.references('user_groups.id').onDelete('set null'))
    .addColumn('action_to_trigger', 'text', (c) => c.references('webhooks.id').onDelete('set null'))
    .addColumn('notify_if_time_from', 'text')
    .addColumn('notify_if_time_to', 'text')
    .addColumn('num_alerts_in_window', 'integer')
    .addColumn('num_minutes_in_window', 'integer')
    .addColumn('severity', 'text')
    // Round-robin pointer of notify_person_next_each_time: index into users of the next person to page.
    .addColumn('round_robin_index', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute()
  await db.schema
    .createIndex('escalation_policies_chain_position_idx')
    .on('escalation_policies')
    .columns(['escalation_chain_id', 'position'])
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('escalation_policies').execute()
  await db.schema.dropTable('webhook_responses').execute()
  await db.schema.dropTable('webhooks').execute()
  await db.schema.dropTable('user_group_members').execute()
  await db.schema.dropTable('user_groups').execute()
  await db.schema.dropTable('schedules').execute()
  await db.schema.alterTable('routes').dropConstraint('routes_escalation_chain_fkey').execute()
  await db.schema.dropTable('escalation_chains').execute()
}
