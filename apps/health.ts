import { sql } from 'kysely'
import { createServer, type Server } from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'
import { pingDb, type Db } from '../db/connect'
import type { Escalations } from './escalations'
import type { Logger } from './logger'
import { writeMetrics } from './metrics'
import type { Registry } from 'prom-client'

// What the API and the worker tell orchestrators and operators about themselves: liveness (the process runs;
// never touches a dependency, so an outage never gets a healthy process restarted), readiness (its dependencies
// answer now), and log lines that say what a process is waiting for while a dependency is away.

export type DependencyState = 'up' | 'down' | 'unknown'

interface Dependency {
  /** How the dependency is named in log lines, e.g. "PostgreSQL". */
  readonly label: string
  readonly check: () => Promise<boolean>
}

/** Remembers each dependency's last state, logs every change, and can keep probing in the background. */
export class DependencyMonitor {
  private readonly states = new Map<string, { state: 'up' | 'down'; since: number }>()
  private readonly startedAt = Date.now()

  constructor(
    private readonly dependencies: Readonly<Record<string, Dependency>>,
    private readonly logger: Logger,
  ) {}

  /** The dependencies of a Tocsin process: PostgreSQL and Temporal. */
  static forTocsin(db: Db, escalations: Escalations, logger: Logger): DependencyMonitor {
    return new DependencyMonitor(
      {
        database: { label: 'PostgreSQL', check: () => pingDb(db) },
        temporal: { label: 'Temporal', check: () => escalations.temporalIsUp() },
      },
      logger,
    )
  }

  /** Checks every dependency now and records the answers. */
  async probe(): Promise<Record<string, 'up' | 'down'>> {
    const entries = await Promise.all(
      Object.entries(this.dependencies).map(async ([name, dependency]) => {
        const up = await dependency.check().catch(() => false)
        this.record(name, up ? 'up' : 'down')
        return [name, up ? 'up' : 'down'] as const
      }),
    )
    return Object.fromEntries(entries)
  }

  /** The last known states, without any I/O (what liveness reports). */
  lastKnown(): Record<string, DependencyState> {
    return Object.fromEntries(Object.keys(this.dependencies).map((name) => [name, this.states.get(name)?.state ?? 'unknown']))
  }

  /**
   * Probes in the background until stopped: every `healthyEveryMs` while all are up, and with backoff (up to
   * `maxBackoffMs`) while one is down, so a process started before its dependencies says what it waits for.
   */
  watch(options: { healthyEveryMs?: number; maxBackoffMs?: number } = {}): () => void {
    const stop = new AbortController()
    const healthyEveryMs = options.healthyEveryMs ?? 10_000
    const backoff = new Backoff({ maxMs: options.maxBackoffMs ?? 10_000 })
    void (async () => {
      while (!stop.signal.aborted) {
        const states = await this.probe()
        const allUp = Object.values(states).every((s) => s === 'up')
        if (allUp) backoff.reset()
        await sleep(allUp ? healthyEveryMs : backoff.next(), undefined, { signal: stop.signal, ref: false }).catch(() => undefined)
      }
    })()
    return () => stop.abort()
  }

  private record(name: string, state: 'up' | 'down'): void {
    const previous = this.states.get(name)
    if (previous?.state === state) return
    const now = Date.now()
    this.states.set(name, { state, since: now })
    const label = this.dependencies[name]?.label ?? name
    if (state === 'down') {
      const message = previous ? `${label} unreachable; waiting for it (retrying with backoff)` : `waiting for ${label} (retrying with backoff)`
      this.logger.warn({ dependency: name }, message)
    } else if (previous) {
      this.logger.info({ dependency: name, downForSeconds: round((now - previous.since) / 1000) }, `${label} reachable again`)
    } else {
      this.logger.info({ dependency: name, afterSeconds: round((now - this.startedAt) / 1000) }, `${label} reachable`)
    }
  }
}

/** Exponential backoff with jitter, for loops that wait on a dependency. */
export class Backoff {
  private attempt = 0
  private readonly initialMs: number
  private readonly maxMs: number

  constructor(options: { initialMs?: number; maxMs?: number } = {}) {
    this.initialMs = options.initialMs ?? 250
    this.maxMs = options.maxMs ?? 10_000
  }

  /** The delay before the next attempt; grows on every call until reset(). */
  next(): number {
    const base = Math.min(this.maxMs, this.initialMs * 2 ** this.attempt)
    this.attempt++
    return Math.round(base * (0.8 + Math.random() * 0.4))
  }

  get attempts(): number {
    return this.attempt
  }

  reset(): void {
    this.attempt = 0
  }
}

/**
 * Runs `attempt` until it succeeds, logging what it waits for with backoff between tries; throws only when
 * `signal` aborts (the process is stopping).
 */
export async function waitFor<T>(
  what: string,
  attempt: () => Promise<T>,
  logger: Logger,
  options: { signal?: AbortSignal; maxBackoffMs?: number } = {},
): Promise<T> {
  const backoff = new Backoff({ maxMs: options.maxBackoffMs ?? 10_000 })
  const started = Date.now()
  for (;;) {
    options.signal?.throwIfAborted()
    try {
      const value = await attempt()
      if (backoff.attempts > 0) logger.info({ waitedSeconds: round((Date.now() - started) / 1000) }, `${what}: reachable`)
      return value
    } catch (err) {
      const delay = backoff.next()
      logger.warn(
        { err: { message: err instanceof Error ? err.message : String(err) }, attempt: backoff.attempts, nextTryInMs: delay },
        `waiting for ${what}`,
      )
      await sleep(delay, undefined, { signal: options.signal })
    }
  }
}

/**
 * Lets a log line that repeats during an outage (one per refused request) through at most once per `intervalMs`,
 * telling it how many were held back since the last one.
 */
export function logThrottle(intervalMs = 5000): (emit: (heldBack: number) => void) => void {
  let lastAt = -Infinity
  let heldBack = 0
  return (emit) => {
    const now = Date.now()
    if (now - lastAt < intervalMs) {
      heldBack++
      return
    }
    emit(heldBack)
    lastAt = now
    heldBack = 0
  }
}

/** Age of the oldest alert waiting in the ingest inbox, in seconds (0 when it is empty). */
export async function inboxOldestAgeSeconds(db: Db): Promise<number> {
  const row = await sql<{ age: number | string | null }>`
    select extract(epoch from now() - received_at) as age from ingest_inbox order by id limit 1`.execute(db)
  return Math.max(0, round(Number(row.rows[0]?.age ?? 0)))
}

export interface HealthSources {
  readonly process: 'api' | 'worker'
  readonly db: Db
  readonly monitor: DependencyMonitor
  readonly inboxAgeBoundSeconds: number
  /** The process's own part that must run for it to be ready (the worker's pollers), with its state. */
  readonly own?: () => { readonly name: string; readonly state: string; readonly ready: boolean }
}

export interface HealthAnswer {
  readonly status: number
  readonly body: Record<string, unknown>
}

/** `GET /health/live`: 200 while the process runs, with the dependencies' last known states (no I/O). */
export function liveness(sources: HealthSources): HealthAnswer {
  const own = sources.own?.()
  return {
    status: 200,
    body: {
      status: 'live',
      process: sources.process,
      pid: process.pid,
      uptime_seconds: round(process.uptime()),
      dependencies: { ...sources.monitor.lastKnown(), ...(own ? { [own.name]: own.state } : {}) },
    },
  }
}

/**
 * `GET /health/ready`: 200 when PostgreSQL and Temporal answer now and the oldest inbox alert is younger than
 * the bound (and, for the worker, its pollers run); else 503 naming what is down.
 */
export async function readiness(sources: HealthSources): Promise<HealthAnswer> {
  const states: Record<string, string> = { ...(await sources.monitor.probe()) }
  let oldest: number | null = null
  if (states.database === 'up') {
    oldest = await inboxOldestAgeSeconds(sources.db).catch(() => null)
    states.inbox = oldest === null ? 'unknown' : oldest <= sources.inboxAgeBoundSeconds ? 'up' : 'stale'
  } else {
    states.inbox = 'unknown'
  }
  const own = sources.own?.()
  if (own) states[own.name] = own.state
  const down = Object.entries(states)
    .filter(([name, state]) => (own && name === own.name ? !own.ready : state !== 'up' && !(name === 'inbox' && state === 'unknown')))
    .map(([name]) => name)
  return {
    status: down.length === 0 ? 200 : 503,
    body: {
      status: down.length === 0 ? 'ready' : 'unavailable',
      process: sources.process,
      dependencies: states,
      inbox: { oldest_age_seconds: oldest, bound_seconds: sources.inboxAgeBoundSeconds },
      ...(down.length > 0 ? { down } : {}),
    },
  }
}

/**
 * Serves `/health/live` and `/health/ready` (and `/health`, the same as ready) on their own port, for a process
 * without an HTTP API (the worker), with `/metrics` when given a registry. A port that cannot be bound is logged,
 * never fatal: paging matters more.
 */
export async function serveHealth(port: number, sources: HealthSources, logger: Logger, metrics?: Registry): Promise<Server | undefined> {
  if (port === 0) return undefined
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]?.replace(/\/+$/, '')
    // The process's Prometheus metrics, when it has a registry, share the health port.
    if (metrics && req.method === 'GET' && path === '/metrics') return void writeMetrics(metrics, res)
    const answer = path === '/health/live' ? Promise.resolve(liveness(sources)) : path === '/health/ready' || path === '/health' ? readiness(sources) : undefined
    if (req.method !== 'GET' || !answer) {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ detail: 'Not found.' }))
      return
    }
    answer.then(
      ({ status, body }) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body)),
      (err: unknown) => {
        logger.error({ err }, 'health check failed')
        res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'error' }))
      },
    )
  })
  return new Promise((resolve) => {
    server.once('error', (err) => {
      logger.error({ err, port }, 'health endpoints not served: cannot listen')
      resolve(undefined)
    })
    server.listen(port, () => {
      logger.info({ port }, `health on http://localhost:${port}/health/ready`)
      resolve(server)
    })
  })
}

function round(value: number): number {
  return Math.round(value * 10) / 10
}
