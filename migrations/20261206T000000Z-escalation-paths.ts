import { sql, type Kysely } from 'kysely'

// incident.io's escalation paths (the /v2 dialect). The node tree and the working hours are stored as the API
// validated them (jsonb): the engine compiles a path when an escalation starts, and nothing queries inside it.
// Delete archives (incident.io's semantics): the row stays for escalations that ran on it, the API forgets it.

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('escalation_paths')
    .addColumn('pk', 'bigserial', (c) => c.primaryKey())
    .addColumn('id', 'text', (c) => c.notNull().unique())
    .addColumn('organization_id', 'text', (c) => c.notNull().references('organizations.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('path', 'jsonb', (c) => c.notNull())
    .addColumn('working_hours', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('archived_at', 'timestamptz')
    .execute()
  // The list: an organization's live paths, newest first, paged by a cursor on pk.
  await db.schema
    .createIndex('escalation_paths_org_live_idx')
    .on('escalation_paths')
    .columns(['organization_id', 'pk'])
    .where(sql.ref('archived_at'), 'is', null)
    .execute()

  // incident.io's team_ids, in order; a deleted team leaves the paths it owned.
  await db.schema
    .createTable('escalation_path_teams')
    .addColumn('escalation_path_id', 'text', (c) => c.notNull().references('escalation_paths.id').onDelete('cascade'))
    .addColumn('team_id', 'text', (c) => c.notNull().references('teams.id').onDelete('cascade'))
    .addColumn('position', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('escalation_path_teams_pkey', ['escalation_path_id', 'team_id'])
    .execute()
  // Deleting a team finds its rows by this index, not by a scan.
  await db.schema.createIndex('escalation_path_teams_team_idx').on('escalation_path_teams').column('team_id').execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('escalation_path_teams').execute()
  await db.schema.dropTable('escalation_paths').execute()
}
