import { sql, type Kysely } from 'kysely'

// Foundation schema. Public ids (`O…`, `U…`, `T…`, `I…`, …) are OnCall-style text keys; every row carries
// organization_id so that every query can be scoped to the caller's organization.

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('organizations')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute()

  await db.schema
    .createTable('teams')
    // pk is the creation order OnCall lists by, and doubles as the numeric grafana_id.
    .addColumn('pk', 'bigserial', (c) => c.primaryKey())
    .addColumn('id', 'text', (c) => c.notNull().unique())
    .addColumn('organization_id', 'text', (c) => c.notNull().references('organizations.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('email', 'text')
    .addColumn('avatar_url', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint('teams_org_name_key', ['organization_id', 'name'])
    .execute()

  await db.schema
    .createTable('users')
    .addColumn('pk', 'bigserial', (c) => c.primaryKey())
    .addColumn('id', 'text', (c) => c.notNull().unique())
    .addColumn('organization_id', 'text', (c) => c.notNull().references('organizations.id').onDelete('cascade'))
    .addColumn('username', 'text', (c) => c.notNull())
    .addColumn('email', 'text', (c) => c.notNull())
    .addColumn('role', 'text', (c) => c.notNull().check(sql`role in ('admin', 'editor', 'viewer', 'none')`))
    .addColumn('timezone', 'text')
    .addColumn('phone_number', 'text')
    .addColumn('slack_user_id', 'text')
    .addColumn('slack_team_id', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint('users_org_username_key', ['organization_id', 'username'])
    .execute()
  // Case-insensitive username/email filters of GET /users.
  await db.schema.createIndex('users_org_email_idx').on('users').expression(sql`organization_id, lower(email)`).execute()

  await db.schema
    .createTable('team_members')
    .addColumn('team_id', 'text', (c) => c.notNull().references('teams.id').onDelete('cascade'))
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addPrimaryKeyConstraint('team_members_pkey', ['team_id', 'user_id'])
    .execute()
  await db.schema.createIndex('team_members_user_idx').on('team_members').column('user_id').execute()

  await db.schema
    .createTable('api_tokens')
    .addColumn('pk', 'bigserial', (c) => c.primaryKey())
    .addColumn('organization_id', 'text', (c) => c.notNull().references('organizations.id').onDelete('cascade'))
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    // Looked up by the first 8 characters, then the SHA-512 of the whole token is compared (as OnCall does):
    // the token itself is never stored.
    .addColumn('token_prefix', 'text', (c) => c.notNull())
    .addColumn('token_hash', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('revoked_at', 'timestamptz')
    .execute()
  await db.schema.createIndex('api_tokens_prefix_idx').on('api_tokens').column('token_prefix').execute()

  await db.schema
    .createTable('integrations')
    .addColumn('pk', 'bigserial', (c) => c.primaryKey())
    .addColumn('id', 'text', (c) => c.notNull().unique())
    .addColumn('organization_id', 'text', (c) => c.notNull().references('organizations.id').onDelete('cascade'))
    .addColumn('team_id', 'text', (c) => c.references('teams.id').onDelete('cascade'))
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute()
  // One direct-paging integration per (organization, team), including "no team": concurrent first pages race here.
  await db.schema
    .createIndex('integrations_one_direct_paging_idx')
    .on('integrations')
    .expression(sql`organization_id, coalesce(team_id, '')`)
    .unique()
    .where(sql.ref('type'), '=', 'direct_paging')
    .execute()

  await db.schema
    .createTable('routes')
    .addColumn('pk', 'bigserial', (c) => c.primaryKey())
    .addColumn('id', 'text', (c) => c.notNull().unique())
    .addColumn('organization_id', 'text', (c) => c.notNull().references('organizations.id').onDelete('cascade'))
    .addColumn('integration_id', 'text', (c) => c.notNull().references('integrations.id').onDelete('cascade'))
    .addColumn('is_default', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('position', 'integer', (c) => c.notNull().defaultTo(0))
    // Escalation chains arrive with the configuration API; a null chain means nothing escalates.
    .addColumn('escalation_chain_id', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute()
  await db.schema
    .createIndex('routes_one_default_idx')
    .on('routes')
    .column('integration_id')
    .unique()
    .where(sql.ref('is_default'), '=', true)
    .execute()

  await db.schema
    .createTable('alert_groups')
    .addColumn('pk', 'bigserial', (c) => c.primaryKey())
    .addColumn('id', 'text', (c) => c.notNull().unique())
    .addColumn('organization_id', 'text', (c) => c.notNull().references('organizations.id').onDelete('cascade'))
    .addColumn('integration_id', 'text', (c) => c.notNull().references('integrations.id'))
    .addColumn('route_id', 'text', (c) => c.references('routes.id').onDelete('set null'))
    .addColumn('team_id', 'text', (c) => c.references('teams.id').onDelete('set null'))
    .addColumn('title', 'text')
    .addColumn('message', 'text')
    .addColumn('source_url', 'text')
    .addColumn('workflow_id', 'text', (c) => c.notNull().unique())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('acknowledged_at', 'timestamptz')
    .addColumn('acknowledged_by', 'text')
    .addColumn('resolved_at', 'timestamptz')
    .addColumn('resolved_by', 'text')
    .addColumn('silenced_at', 'timestamptz')
    .execute()
  // GET /alert_groups lists newest first within an organization.
  await db.schema
    .createIndex('alert_groups_org_created_idx')
    .on('alert_groups')
    .expression(sql`organization_id, created_at desc`)
    .execute()

  await db.schema
    .createTable('alerts')
    .addColumn('pk', 'bigserial', (c) => c.primaryKey())
    .addColumn('id', 'text', (c) => c.notNull().unique())
    .addColumn('organization_id', 'text', (c) => c.notNull().references('organizations.id').onDelete('cascade'))
    .addColumn('alert_group_id', 'text', (c) => c.notNull().references('alert_groups.id').onDelete('cascade'))
    .addColumn('payload', 'jsonb', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute()
  await db.schema.createIndex('alerts_group_idx').on('alerts').columns(['alert_group_id', 'pk']).execute()

  // The notification ledger: one row per (alert group, user, step). The idempotency key is derived from the
  // workflow id and the step, so a retried or replayed activity finds its row instead of paging again.
  await db.schema
    .createTable('notifications')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('organization_id', 'text', (c) => c.notNull().references('organizations.id').onDelete('cascade'))
    .addColumn('alert_group_id', 'text', (c) => c.notNull().references('alert_groups.id').onDelete('cascade'))
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('step', 'text', (c) => c.notNull())
    .addColumn('important', 'boolean', (c) => c.notNull())
    .addColumn('channel', 'text', (c) => c.notNull())
    .addColumn('idempotency_key', 'text', (c) => c.notNull().unique())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    // Null until the notifier accepted it; a retry after a crash delivers again with the same key.
    .addColumn('delivered_at', 'timestamptz')
    .execute()
  await db.schema.createIndex('notifications_group_idx').on('notifications').columns(['alert_group_id', 'id']).execute()

  // The timeline: what happened to an alert group, in order. Keyed like the ledger so replays add nothing.
  await db.schema
    .createTable('alert_group_events')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('organization_id', 'text', (c) => c.notNull().references('organizations.id').onDelete('cascade'))
    .addColumn('alert_group_id', 'text', (c) => c.notNull().references('alert_groups.id').onDelete('cascade'))
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('at', 'timestamptz', (c) => c.notNull())
    .addColumn('actor', 'jsonb')
    .addColumn('detail', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('idempotency_key', 'text', (c) => c.notNull().unique())
    .execute()
  await db.schema
    .createIndex('alert_group_events_group_idx')
    .on('alert_group_events')
    .columns(['alert_group_id', 'at', 'id'])
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of [
    'alert_group_events',
    'notifications',
    'alerts',
    'alert_groups',
    'routes',
    'integrations',
    'api_tokens',
    'team_members',
    'users',
    'teams',
    'organizations',
  ]) {
    await db.schema.dropTable(table).execute()
  }
}
