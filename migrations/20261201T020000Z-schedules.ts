import { sql, type Kysely } from 'kysely'

// Tables for on-call shifts, schedule layers and ical caches (schedules issue).

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('on_call_shifts')
    .addColumn('pk', 'bigserial', (c) => c.primaryKey())
    .addColumn('id', 'text', (c) => c.notNull().unique())
    .addColumn('organization_id', 'text', (c) => c.notNull().references('organizations.id').onDelete('cascade'))
    .addColumn('team_id', 'text', (c) => c.references('teams.id').onDelete('set null'))
    .addColumn('name', 'text')
    .addColumn('type', 'text', (c) =>
      c.notNull().check(sql`type in ('single_event', 'recurrent_event', 'rolling_users', 'override')`),
    )
    // Null means UTC, as OnCall renders a shift without a zone.
    .addColumn('time_zone', 'text')
    // The layer; web overrides get 99, as OnCall's web UI gives them.
    .addColumn('level', 'integer', (c) => c.notNull().defaultTo(0))
    // Wall-clock times in the shift's zone, exactly as OnCall's API writes them (`YYYY-MM-DDTHH:MM:SS`).
    .addColumn('start', 'text', (c) => c.notNull())
    .addColumn('rotation_start', 'text', (c) => c.notNull())
    .addColumn('until', 'text')
    .addColumn('duration', 'integer', (c) => c.notNull().check(sql`duration > 0`))
    .addColumn('frequency', 'text', (c) => c.check(sql`frequency in ('hourly', 'daily', 'weekly', 'monthly')`))
    .addColumn('interval', 'integer', (c) => c.check(sql`interval > 0`))
    .addColumn('week_start', 'text', (c) => c.notNull().defaultTo('SU'))
    .addColumn('by_day', sql`text[]`)
    .addColumn('by_month', sql`integer[]`)
    .addColumn('by_monthday', sql`integer[]`)
    // Unknown users are dropped on write; users deleted later are filtered when the schedule is resolved.
    .addColumn('users', sql`text[]`, (c) => c.notNull().defaultTo(sql`'{}'`))
    .addColumn('rolling_users', 'jsonb')
    .addColumn('start_rotation_from_user_index', 'integer')
    .addColumn('source', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute()
  await db.schema
    .createIndex('on_call_shifts_org_idx')
    .on('on_call_shifts')
    .columns(['organization_id', 'pk'])
    .execute()

  // A schedule's shifts (OnCall: the calendar schedule's many-to-many, and the web schedule's rotations).
  await db.schema
    .createTable('schedule_shifts')
    .addColumn('pk', 'bigserial', (c) => c.primaryKey())
    .addColumn('schedule_id', 'text', (c) => c.notNull().references('schedules.id').onDelete('cascade'))
    .addColumn('shift_id', 'text', (c) => c.notNull().references('on_call_shifts.id').onDelete('cascade'))
    .addUniqueConstraint('schedule_shifts_schedule_shift_key', ['schedule_id', 'shift_id'])
    .execute()
  await db.schema.createIndex('schedule_shifts_shift_idx').on('schedule_shifts').column('shift_id').execute()

  // The last good copy of each iCal calendar of a schedule, and how the latest refresh went.
  await db.schema
    .createTable('schedule_ical_copies')
    .addColumn('schedule_id', 'text', (c) => c.notNull().references('schedules.id').onDelete('cascade'))
    .addColumn('organization_id', 'text', (c) => c.notNull().references('organizations.id').onDelete('cascade'))
    .addColumn('calendar', 'text', (c) => c.notNull().check(sql`calendar in ('primary', 'overrides')`))
    .addColumn('url', 'text', (c) => c.notNull())
    .addColumn('content', 'text')
    .addColumn('fetched_at', 'timestamptz')
    .addColumn('attempted_at', 'timestamptz', (c) => c.notNull())
    .addColumn('last_error', 'text')
    .addPrimaryKeyConstraint('schedule_ical_copies_pkey', ['schedule_id', 'calendar'])
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('schedule_ical_copies').execute()
  await db.schema.dropTable('schedule_shifts').execute()
  await db.schema.dropTable('on_call_shifts').execute()
}
