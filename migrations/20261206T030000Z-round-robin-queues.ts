import { sql, type Kysely } from 'kysely'

// Round-robin queues that live outside an OnCall policy row (an incident.io path's level): how many picks the
// queue has made, so the next escalation pages the next person.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('round_robin_queues')
    .addColumn('organization_id', 'text', (c) => c.notNull())
    .addColumn('queue_key', 'text', (c) => c.notNull())
    .addColumn('picks', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('round_robin_queues_pkey', ['organization_id', 'queue_key'])
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('round_robin_queues').execute()
}
