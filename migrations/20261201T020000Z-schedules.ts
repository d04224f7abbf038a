import type { Kysely } from 'kysely'

// Tables for on-call shifts, schedule layers and ical caches (schedules issue).

export async function up(_db: Kysely<any>): Promise<void> {}

export async function down(_db: Kysely<any>): Promise<void> {}
