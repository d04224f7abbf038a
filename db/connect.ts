import { Kysely, Migrator, PostgresDialect, sql } from 'kysely'
import { Client, Pool, types, type ClientConfig } from 'pg'
import { migrationProvider } from '../migrations'
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

export interface DbOptions {
  readonly max?: number
  /** How long opening a connection may take before the query fails (a hung or unreachable server). */
  readonly connectTimeoutMs?: number
  /** Server-side limit of one statement: a request never waits on a stuck query for longer. */
  readonly statementTimeoutMs?: number
  /** Told when a connection breaks (the server restarted, the network dropped); without it they pass silently. */
  readonly logger?: { warn(details: object, message: string): void }
}

export const DEFAULT_CONNECT_TIMEOUT_MS = 5000
export const DEFAULT_STATEMENT_TIMEOUT_MS = 30_000
// A transaction left open by a process that stalled (or waits on Temporal) must not hold its row locks forever.
const IDLE_IN_TRANSACTION_TIMEOUT_MS = 60_000
// A server restart breaks every pooled connection at once: one log line per burst is enough.
const CONNECTION_LOSS_LOG_EVERY_MS = 5000

/**
 * Opens a pooled connection whose sessions run in UTC. The pool survives the server going away: a broken
 * connection is dropped (never an unhandled 'error' event that would end the process) and the next query opens
 * a new one, so the process resumes by itself when PostgreSQL is back.
 */
export function createDb(url: string, options: DbOptions = {}): Db {
  const connectTimeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS
  const pool = new Pool({
    connectionString: url,
    max: options.max ?? 10,
    options: '-c TimeZone=UTC',
    types: typeParsers as never,
    // The timeout bounds opening a connection only. Set on the pool it would also fail a query that merely
    // waits for a free connection under load (that wait is bounded by the statement and idle-in-transaction
    // timeouts of the sessions ahead).
    Client: class extends Client {
      constructor(config: ClientConfig) {
        super({ ...config, connectionTimeoutMillis: connectTimeoutMs })
      }
    } as unknown as new () => Client,
    statement_timeout: options.statementTimeoutMs ?? DEFAULT_STATEMENT_TIMEOUT_MS,
    idle_in_transaction_session_timeout: IDLE_IN_TRANSACTION_TIMEOUT_MS,
    // A silently dropped peer is noticed by TCP, not only by the next query.
    keepAlive: true,
  })
  let lastLogged = 0
  let unlogged = 0
  const connectionLost = (err: Error) => {
    const now = Date.now()
    if (now - lastLogged < CONNECTION_LOSS_LOG_EVERY_MS) {
      unlogged++
      return
    }
    options.logger?.warn({ err: { message: err.message }, alsoLost: unlogged }, 'database connection lost; the pool reconnects on next use')
    lastLogged = now
    unlogged = 0
  }
  // Idle connections report through the pool; a checked-out one reports on the client itself, and an 'error'
  // event without a listener would end the process. The pool already discards a client that errored.
  pool.on('error', connectionLost)
  pool.on('connect', (client) => client.on('error', () => undefined))
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) })
}

// Connection-level failures: the database is unreachable, restarting, or refusing connections for now.
const UNAVAILABLE_SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNABORTED'])
const UNAVAILABLE_SQLSTATES = new Set([
  '57P01', // admin_shutdown: the server is stopping
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now: starting up, shutting down, in recovery
  '53300', // too_many_connections
  '57014', // query_canceled: the statement timeout fired
  '25P03', // idle_in_transaction_session_timeout fired
])
const UNAVAILABLE_MESSAGES =
  /Connection terminated|timeout exceeded when trying to connect|is not queryable|terminating connection due to|the database system is (starting up|shutting down|in recovery)/i

/**
 * True when `err` says PostgreSQL cannot be reached or is restarting (not that a query was wrong): what callers
 * answer with "unavailable, retry" instead of an internal error.
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  const seen = new Set<unknown>()
  const pending: unknown[] = [err]
  while (pending.length > 0) {
    const e = pending.pop()
    if (e === null || typeof e !== 'object' || seen.has(e)) continue
    seen.add(e)
    const { code, message, cause, errors } = e as { code?: unknown; message?: unknown; cause?: unknown; errors?: unknown }
    if (typeof code === 'string' && (UNAVAILABLE_SOCKET_CODES.has(code) || UNAVAILABLE_SQLSTATES.has(code) || code.startsWith('08'))) return true
    if (typeof message === 'string' && UNAVAILABLE_MESSAGES.test(message)) return true
    pending.push(cause)
    if (Array.isArray(errors)) pending.push(...errors)
  }
  return false
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
