import { createLogger } from '../apps/logger'
import { NativeConnection, Runtime, DefaultLogger, type Worker } from '@temporalio/worker'
import type { Server } from 'node:http'
import { Client } from 'pg'
import { createDb, migrateToLatest, type Db } from '../db/connect'
import { createOrganization } from '../db/organizations.repo'
import type { Notifier } from '../activities/notifications'
import type { ChannelTransports } from '../activities/channels/port'
import { applyKeepAlive, createApp } from '../apps/api/app'
import { Escalations } from '../apps/escalations'
import { TemplateEngine } from '../apps/ingest/templates'
import { IngestionProcessor, type ProcessorOptions } from '../apps/ingest/processor'
import type { IngestLimits } from '../db/ingestion.repo'
import { createEscalationWorker } from '../apps/worker/worker'
import { createOutboundFetch, type OutboundFetch, type OutboundLookup } from '../activities/outbound'
import { icalOptions, type IcalOptions } from '../db/schedule-ical'
import { parseAllowList } from '../workflows/core/outbound-policy'

// Test infrastructure reads its own variables; application code never does (it gets a Config).
const ADMIN_URL = process.env.TOCSIN_TEST_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'

let runtimeInstalled = false
function quietRuntime() {
  if (runtimeInstalled) return
  runtimeInstalled = true
  Runtime.install({ logger: new DefaultLogger('WARN') })
}

export function temporalAddress(): string {
  const address = process.env.TOCSIN_TEST_TEMPORAL_ADDRESS
  if (!address) throw new Error('TOCSIN_TEST_TEMPORAL_ADDRESS unset: integration tests run under jest global setup')
  return address
}

/**
 * A fresh, migrated database for one suite: `<prefix>_<name>`, dropped first if a previous run left it.
 * TOCSIN_TEST_DB_PREFIX (default `tocsin_test`) lets two test runs share one PostgreSQL without dropping each other's databases.
 */
export async function createTestDatabase(name: string): Promise<{ db: Db; url: string }> {
  const prefix = (process.env.TOCSIN_TEST_DB_PREFIX ?? 'tocsin_test').replace(/[^a-z0-9_]/gi, '_').toLowerCase()
  const dbName = `${prefix}_${name.replace(/[^a-z0-9_]/gi, '_').toLowerCase()}`
  const admin = new Client({ connectionString: ADMIN_URL })
  await admin.connect()
  try {
    await admin.query(`drop database if exists "${dbName}" with (force)`)
    await admin.query(`create database "${dbName}"`)
  } finally {
    await admin.end()
  }
  const url = new URL(ADMIN_URL)
  url.pathname = `/${dbName}`
  const db = createDb(url.toString())
  await migrateToLatest(db)
  return { db, url: url.toString() }
}

/** Records every page in memory, as a notifier the tests can read. */
export function recordingNotifier(): Notifier & { delivered: Array<{ idempotencyKey: string; userId: string }> } {
  const delivered: Array<{ idempotencyKey: string; userId: string }> = []
  return {
    channel: 'test',
    delivered,
    async deliver(notification) {
      delivered.push({ idempotencyKey: notification.idempotencyKey, userId: notification.user.id })
    },
  }
}

/** TOCSIN_OUTBOUND_ALLOW for suites whose receivers listen on 127.0.0.1: they must say so explicitly. */
export const ALLOW_LOOPBACK = '127.0.0.1/32'

/** The stacks' default resolver: no host name resolves, so no test ever reaches real DNS. */
export const resolveNothing: OutboundLookup = async (hostname) => {
  throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' })
}

/** Resolves the given names only (to loopback addresses, in tests), everything else as not found. */
export function resolveOnly(names: Readonly<Record<string, string | readonly string[]>>): OutboundLookup {
  return async (hostname) => {
    const found = names[hostname.toLowerCase()]
    if (found === undefined) return resolveNothing(hostname)
    return (typeof found === 'string' ? [found] : found).map((address) => ({ address, family: address.includes(':') ? 6 : 4 }))
  }
}

export interface Stack {
  readonly baseUrl: string
  readonly db: Db
  readonly dbUrl: string
  readonly escalations: Escalations
  readonly taskQueue: string
  readonly workerConnection: NativeConnection | undefined
  /** The alert ingestion processor, when `ingestion` was asked for. */
  readonly ingestion?: IngestionProcessor
  /** The stack's guarded outbound fetch, and iCal downloads through it, for tests that call the data layer. */
  readonly outbound: OutboundFetch
  readonly ical: IcalOptions
  stop(): Promise<void>
}

/**
 * API + worker + database for one suite, on the shared test Temporal server, with a task queue of its own.
 * `worker: false` leaves the task queue without a worker (the suite may run one in another process).
 */
export async function startStack(
  name: string,
  options: {
    notifier?: Notifier
    worker?: boolean
    publicUrl?: string
    chatWebhookUrl?: string
    temporalAddress?: string
    /** Runs the ingestion processor in this stack (off by default); `limits` replace OnCall's rate limits. */
    ingestion?: { limits?: IngestLimits; processor?: ProcessorOptions | false }
    /** TOCSIN_OUTBOUND_ALLOW for webhooks, the chat webhook and iCal downloads (default: nothing beyond public). */
    outboundAllow?: string
    /** How outbound calls resolve host names (default: `resolveNothing`). */
    outboundLookup?: OutboundLookup
    /** Transports of the channels personal rules send on (default: none, so the notifier delivers every rule). */
    channels?: ChannelTransports
    /** Signs the action links in pages and serves them (default: no links). */
    linkSecret?: string
  } = {},
): Promise<Stack> {
  quietRuntime()
  const { db, url } = await createTestDatabase(name)
  const taskQueue = `tocsin-test-${name}-${process.pid}`
  const address = options.temporalAddress ?? temporalAddress()
  const escalations = Escalations.connect({ address, namespace: 'default', taskQueue })
  const outbound = createOutboundFetch({ allow: parseAllowList(options.outboundAllow ?? ''), lookup: options.outboundLookup ?? resolveNothing })
  const ical = icalOptions(outbound)
  let worker: Worker | undefined
  let workerRun: Promise<void> | undefined
  let workerConnection: NativeConnection | undefined
  let templates: TemplateEngine | undefined
  if (options.worker !== false) {
    workerConnection = await NativeConnection.connect({ address })
    templates = new TemplateEngine()
    worker = await createEscalationWorker({
      connection: workerConnection,
      namespace: 'default',
      taskQueue,
      db,
      notifier: options.notifier ?? recordingNotifier(),
      shutdownGraceMs: 1000,
      templates,
      chatWebhookUrl: options.chatWebhookUrl ?? null,
      outbound,
      ...(options.channels ? { channels: options.channels } : {}),
      ...(options.linkSecret ? { links: { secret: options.linkSecret, publicUrl: options.publicUrl ?? 'http://tocsin.test', ttlSeconds: 86_400 } } : {}),
    })
    workerRun = worker.run()
  }
  const logger = createLogger({ name: 'test-stack', level: 'WARN' })
  const processor =
    options.ingestion && options.ingestion.processor !== false
      ? new IngestionProcessor(db, escalations, logger, options.ingestion.processor)
      : undefined
  processor?.start()
  const app = createApp({
    db,
    escalations,
    ingestion: options.ingestion ? { limits: options.ingestion.limits, onAccepted: () => processor?.kick() } : undefined,
    publicUrl: options.publicUrl ?? 'http://tocsin.test',
    webUrl: 'http://grafana.test',
    logger,
    ical,
    ...(options.linkSecret ? { actionLinks: { secret: options.linkSecret, ttlSeconds: 86_400 } } : {}),
  })
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s))
  })
  applyKeepAlive(server)
  const port = (server.address() as { port: number }).port
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    db,
    dbUrl: url,
    escalations,
    taskQueue,
    workerConnection,
    ingestion: processor,
    outbound,
    ical,
    async stop() {
      await new Promise((resolve) => server.close(resolve))
      await processor?.stop()
      server.closeAllConnections()
      if (worker) {
        worker.shutdown()
        await workerRun
      }
      await workerConnection?.close()
      await templates?.close()
      await escalations.client.connection.close()
      await db.destroy()
    },
  }
}

/** An organization with its admin token, plus helpers to call the API as that admin. */
export async function createOrg(stack: Stack, name: string) {
  const created = await createOrganization(stack.db, name)
  return { ...created, call: caller(stack.baseUrl, created.token) }
}

export interface ApiResponse {
  status: number
  body: any
  text: string
  headers: Headers
}

export function caller(baseUrl: string, token: string | null) {
  return async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiResponse> => {
    const init: RequestInit = { method, headers: { ...(token === null ? {} : { authorization: token }), ...headers } }
    if (body !== undefined) {
      init.body = typeof body === 'string' ? body : JSON.stringify(body)
      ;(init.headers as Record<string, string>)['content-type'] ??= 'application/json'
    }
    const response = await fetch(`${baseUrl}${path}`, init)
    const text = await response.text()
    let parsed: unknown
    try {
      parsed = text ? JSON.parse(text) : undefined
    } catch {
      parsed = undefined
    }
    return { status: response.status, body: parsed, text, headers: response.headers }
  }
}

/**
 * Every row an organization owns that a request writes synchronously, in a stable order: compare before and after
 * a refused write. (The notification ledger is left out: the worker fills it asynchronously for earlier pages.)
 */
export async function organizationRows(db: Db, organizationId: string) {
  const [users, teams, members, tokens, alertGroups, alerts] = await Promise.all([
    db.selectFrom('users').selectAll().where('organization_id', '=', organizationId).orderBy('pk').execute(),
    db.selectFrom('teams').selectAll().where('organization_id', '=', organizationId).orderBy('pk').execute(),
    db
      .selectFrom('team_members')
      .innerJoin('teams', 'teams.id', 'team_members.team_id')
      .select(['team_members.team_id', 'team_members.user_id'])
      .where('teams.organization_id', '=', organizationId)
      .orderBy('team_members.team_id')
      .orderBy('team_members.user_id')
      .execute(),
    db.selectFrom('api_tokens').select(['pk', 'user_id', 'revoked_at']).where('organization_id', '=', organizationId).orderBy('pk').execute(),
    db.selectFrom('alert_groups').selectAll().where('organization_id', '=', organizationId).orderBy('pk').execute(),
    db.selectFrom('alerts').select(['id', 'alert_group_id']).where('organization_id', '=', organizationId).orderBy('pk').execute(),
  ])
  return { users, teams, members, tokens, alertGroups, alerts }
}

/** Polls until `check` returns a value that is not undefined, or fails after `timeoutMs`. */
export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 20_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}
