import { sql, type Kysely } from 'kysely'

// Each user's two ordered lists of personal notification rules (default and important), and what the ledger records
// of each notification: which rule sent it, on which channel, and how the delivery went.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('personal_notification_rules')
    .addColumn('pk', 'bigserial', (c) => c.primaryKey())
    .addColumn('id', 'text', (c) => c.notNull().unique())
    .addColumn('organization_id', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('important', 'boolean', (c) => c.notNull())
    .addColumn('position', 'integer', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('duration_seconds', 'integer')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute()
  await db.schema
    .createIndex('personal_notification_rules_user')
    .on('personal_notification_rules')
    .columns(['organization_id', 'user_id', 'important', 'position'])
    .execute()

  await db.schema
    .alterTable('notifications')
    .addColumn('rule_position', 'integer')
    .addColumn('rule_type', 'text')
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('pending'))
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('error', 'text')
    .addColumn('provider_id', 'text')
    .execute()
  await sql`update notifications set status = 'sent' where delivered_at is not null`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('personal_notification_rules').execute()
  await db.schema
    .alterTable('notifications')
    .dropColumn('rule_position')
    .dropColumn('rule_type')
    .dropColumn('status')
    .dropColumn('attempts')
    .dropColumn('error')
    .dropColumn('provider_id')
    .execute()
}
