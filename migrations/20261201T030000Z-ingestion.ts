import type { Kysely } from 'kysely'

// Tables for integrations, routes and alert ingestion (ingestion issue).

export async function up(_db: Kysely<any>): Promise<void> {}

export async function down(_db: Kysely<any>): Promise<void> {}
