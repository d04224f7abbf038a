import { Kysely, Migrator, PostgresDialect, sql } from 'kysely'
import { Client, Pool, types } from 'pg'
import { migrationProvider } from '../../migrations'
import type { Database } from './schema'

export type Db = Kysely<Database>

const TIMESTAMPTZ_OID = 1184
const INT8_OID = 20

// @NOTE Timestamps stay text so that microseconds survive (see schema.ts); bigserial ids stay text too.
const typeParsers = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === TIMESTAMPTZ_OID || oid === INT8_OID) return (value: string) => value
    return types.getTypeParser(oid, format)
  },
}

/** Opens a pooled connection whose sessions run in UTC. */
export function createDb(url: string, options: { max?: number } = {}): Db {
  const pool = new Pool({
    connectionString: url,
    max: options.max ?? 10,
    options: '-c TimeZone=UTC',
    types: typeParsers as never,
  })
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) })
}

/** Creates the database named in `url` when it does not exist yet (connecting to the `postgres` database). */
export async function ensureDatabase(url: string): Promise<boolean> {
  const target = new URL(url)
  const name = decodeURIComponent(target.pathname.replace(/^\//, ''))
  if (!/^[A-Za-z0-9_]+$/.test(name)) throw new Error(`refusing to create database with unusual name ${name}`)
  const admin = new URL(url)
  admin.pathname = '/postgres'
  const client = new Client({ connectionString: admin.toString() })
  await client.connect()
  try {
    const found = await client.query('select 1 from pg_database where datname = $1', [name])
    if (found.rowCount) return false
    try {
      await client.query(`create database "${name}"`)
    } catch (err) {
      // Two processes creating it at once: the loser sees duplicate_database, which is fine.
      if ((err as { code?: string }).code !== '42P04') throw err
    }
    return true
  } finally {
    await client.end()
  }
}

/** Applies every pending migration; throws with the failing migration's name. */
export async function migrateToLatest(db: Db): Promise<string[]> {
  const migrator = new Migrator({ db, provider: migrationProvider })
  const { error, results } = await migrator.migrateToLatest()
  const failed = results?.find((r) => r.status === 'Error')
  if (error) {
    throw new Error(`migration ${failed?.migrationName ?? '(unknown)'} failed: ${String(error)}`, { cause: error })
  }
  return (results ?? []).map((r) => r.migrationName)
}

/** True when a trivial query succeeds: the database half of /health. */
export async function pingDb(db: Db): Promise<boolean> {
  try {
    await sql`select 1`.execute(db)
    return true
  } catch {
    return false
  }
}
