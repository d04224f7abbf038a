import type { Request, RequestHandler } from 'express'
import { callerOf } from './auth'
import { V2Error } from './errors'

// incident.io's limits are per API key and per minute. Tocsin counts in process, in a fixed window per key that
// opens with the key's first request: one API process per installation, and a restart forgetting the counts only
// ever lets requests through.

export interface RateLimitRule {
  /** Reported in the 429's `rate_limit.name`. */
  readonly name: string
  /** Requests per window and key. */
  readonly limit: number
  /** Window length (default: one minute). */
  readonly windowMs?: number
}

/** incident.io's documented limits: 1,200 requests a minute per key, 60 of them `POST /v2/escalations`. */
export const V2_RATE_LIMITS = {
  global: { name: 'global', limit: 1200 },
  createEscalation: { name: 'create_escalation', limit: 60 },
} as const satisfies Record<string, RateLimitRule>

/** Replacement limits (requests per minute), by rule; tests set low ones. */
export type V2RateLimitOverrides = { readonly [K in keyof typeof V2_RATE_LIMITS]?: number }

/** The rule named `key`, with its limit replaced when `overrides` has one. */
export function v2RateLimitRule(key: keyof typeof V2_RATE_LIMITS, overrides: V2RateLimitOverrides = {}): RateLimitRule {
  return { ...V2_RATE_LIMITS[key], limit: overrides[key] ?? V2_RATE_LIMITS[key].limit }
}

const MINUTE_MS = 60_000

interface Window {
  startedAt: number
  count: number
}

/**
 * Middleware counting requests per API key (mount it after `authenticate`); over the limit it answers 429
 * `too_many_requests` with `rate_limit {name, limit, remaining, retry_after}` and a `Retry-After` header in
 * seconds. Each call makes an independent counter. `keyOf` says what is counted per (default: the API key);
 * `now` is for tests.
 */
export function rateLimit(
  rule: RateLimitRule,
  options: { readonly now?: () => number; readonly keyOf?: (req: Request) => string } = {},
): RequestHandler {
  const windowMs = rule.windowMs ?? MINUTE_MS
  const now = options.now ?? Date.now
  const keyOf = options.keyOf ?? ((req: Request) => callerOf(req).keyId)
  const windows = new Map<string, Window>()
  let sweptAt = now()
  return (req, _res, next) => {
    const at = now()
    if (at - sweptAt >= windowMs) {
      // Forget keys whose window has closed, so idle keys do not accumulate.
      for (const [key, window] of windows) if (at - window.startedAt >= windowMs) windows.delete(key)
      sweptAt = at
    }
    const key = keyOf(req)
    let window = windows.get(key)
    if (!window || at - window.startedAt >= windowMs) {
      window = { startedAt: at, count: 0 }
      windows.set(key, window)
    }
    if (window.count >= rule.limit) {
      const resetAt = window.startedAt + windowMs
      const retryAfterSeconds = Math.max(1, Math.ceil((resetAt - at) / 1000))
      throw new V2Error(
        429,
        'too_many_requests',
        [{ code: 'too_many_requests', message: `Rate limit ${rule.name} exceeded: at most ${rule.limit} requests per ${windowMs / 1000} seconds for this API key.` }],
        {
          rateLimit: { name: rule.name, limit: rule.limit, remaining: 0, retry_after: new Date(resetAt).toISOString() },
          headers: { 'Retry-After': String(retryAfterSeconds) },
        },
      )
    }
    window.count++
    next()
  }
}
