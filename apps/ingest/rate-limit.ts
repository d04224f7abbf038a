import { sql } from 'kysely'
import type { Db } from '../../db/connect'
import type { IngestLimits, RateLimit } from '../../db/ingestion.repo'

// Fixed-window rate limits shared by every API process through ingest_rate_counters, without a hot row in the
// acceptance path: each process counts locally and adds its count to the shared row at most every SYNC_MS, and
// synchronously whenever its estimate comes near the limit. Across N processes a window can overshoot by what
// they accept in one sync interval far from the limit; near the limit it is exact per process.

const SYNC_MS = 100
// Below this share of the limit, a stale global count is good enough.
const NEAR = 0.8

interface Counter {
  windowStart: number
  global: number
  pending: number
  syncedAt: number
  syncing?: Promise<void>
}

export type RateDecision =
  | { readonly allowed: true; release(): void }
  | { readonly allowed: false; readonly scope: 'integration' | 'organization'; readonly limit: RateLimit; readonly retryAfterSeconds: number }

export class IngestRateLimiter {
  private readonly counters = new Map<string, Counter>()

  constructor(
    private readonly db: Db,
    readonly limits: IngestLimits,
  ) {}

  /** Decides for one alert and reserves its place; `release()` gives it back when storing it failed. */
  async check(integrationId: string, organizationId: string, nowMs = Date.now()): Promise<RateDecision> {
    const scopes = [
      { scope: 'integration' as const, key: `integration:${integrationId}`, limit: this.limits.integration },
      { scope: 'organization' as const, key: `organization:${organizationId}`, limit: this.limits.organization },
    ]
    const counters: Counter[] = []
    for (const { scope, key, limit } of scopes) {
      const size = limit.windowSeconds * 1000
      const windowStart = Math.floor(nowMs / size) * size
      let counter = this.counters.get(key)
      if (!counter || counter.windowStart !== windowStart) {
        counter = { windowStart, global: 0, pending: 0, syncedAt: 0 }
        this.counters.set(key, counter)
      }
      const estimate = counter.global + counter.pending
      if (estimate + 1 > limit.count * NEAR || nowMs - counter.syncedAt > SYNC_MS) await this.sync(key, counter)
      if (counter.global + counter.pending + 1 > limit.count) {
        return { allowed: false, scope, limit, retryAfterSeconds: Math.max(1, Math.ceil((windowStart + size - nowMs) / 1000)) }
      }
      counters.push(counter)
    }
    for (const counter of counters) counter.pending += 1
    return {
      allowed: true,
      release: () => {
        for (const counter of counters) counter.pending -= 1
      },
    }
  }

  /** Adds this process's pending count to the shared row and reads the total back. */
  private sync(key: string, counter: Counter): Promise<void> {
    counter.syncing ??= (async () => {
      const delta = counter.pending
      try {
        const { rows } = await sql<{ count: number }>`
          insert into ingest_rate_counters as c (scope, window_start, count)
          values (${key}, ${new Date(counter.windowStart).toISOString()}, ${delta})
          on conflict (scope, window_start) do update set count = c.count + ${delta}
          returning count`.execute(this.db)
        counter.pending -= delta
        counter.global = rows[0]?.count ?? counter.global + delta
        counter.syncedAt = Date.now()
      } finally {
        counter.syncing = undefined
      }
    })()
    return counter.syncing
  }
}
