import type { Kysely } from 'kysely'

// The step that declared an alert group's incident: a retried declaration from the same step (after its insert
// committed) must still report "declared", while a later step finds it already declared by another.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('incidents').addColumn('step_key', 'text').execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('incidents').dropColumn('step_key').execute()
}
