import { sql, type Kysely } from 'kysely'

// How a resolved escalation ended when it was not simply resolved: 'cancelled' (incident.io's cancel) or
// 'expired' (its program ran out with nobody acknowledging). Null for open groups and plain resolves.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('alert_groups')
    .addColumn('resolution', 'text', (c) => c.check(sql`resolution in ('cancelled', 'expired')`))
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('alert_groups').dropColumn('resolution').execute()
}
