import { z } from 'zod'
import { parseAllowList, parseIp, refusalOf, type OutboundAllowList } from '../workflows/core/outbound-policy'

/** The whole runtime configuration of Tocsin; built once in each `apps/*\/main.ts`, passed down in slices. */
export interface Config {
  readonly http: { readonly port: number; readonly publicUrl: string; readonly webUrl: string }
  readonly db: { readonly url: string; readonly connectTimeoutMs: number; readonly statementTimeoutMs: number }
  readonly temporal: { readonly address: string; readonly namespace: string; readonly taskQueue: string }
  readonly notifier: NotifierConfig
  /** `healthPort` 0: the worker serves no health endpoints. */
  readonly worker: { readonly shutdownGraceMs: number; readonly healthPort: number }
  /** `/health/ready` fails while the oldest alert in the ingest inbox waited longer than this. */
  readonly health: { readonly inboxAgeBoundSeconds: number }
  readonly logLevel: LogLevel
  /** Private destinations that calls to user-supplied URLs may reach (`TOCSIN_OUTBOUND_ALLOW`); public ones always may. */
  readonly outbound: { readonly allow: OutboundAllowList }
  readonly observability: ObservabilityConfig
}

export interface ObservabilityConfig {
  /** host:port where the worker exports the Temporal SDK's own metrics to Prometheus; null: not exported. */
  readonly temporalMetricsAddress: string | null
  /** OTLP/HTTP URL traces are posted to (from the standard OTEL_EXPORTER_OTLP_* variables); null: tracing off. */
  readonly otlpTracesUrl: string | null
}

export type LogLevel = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR'

export type NotifierConfig = (
  | { readonly kind: 'log' }
  | { readonly kind: 'webhook'; readonly url: string; readonly timeoutMs: number }
) & {
  /** Where notify_whole_channel posts (a Slack/Mattermost/Teams-style incoming webhook); null: not configured. */
  readonly chatWebhookUrl: string | null
}

const emptyAsUndefined = (value: unknown) => (value === '' ? undefined : value)
const urlString = z.preprocess(emptyAsUndefined, z.url().optional())

const envSchema = z.object({
  PORT: z.preprocess(emptyAsUndefined, z.coerce.number().int().min(0).max(65535).default(8080)),
  TOCSIN_PUBLIC_URL: urlString,
  TOCSIN_WEB_URL: urlString,
  DATABASE_URL: z.preprocess(emptyAsUndefined, z.string().default('postgres://postgres@127.0.0.1:5432/tocsin')),
  TEMPORAL_ADDRESS: z.preprocess(emptyAsUndefined, z.string().default('127.0.0.1:7233')),
  TEMPORAL_NAMESPACE: z.preprocess(emptyAsUndefined, z.string().default('default')),
  TEMPORAL_TASK_QUEUE: z.preprocess(emptyAsUndefined, z.string().default('tocsin-escalations')),
  TOCSIN_NOTIFIER: z.preprocess(emptyAsUndefined, z.enum(['log', 'webhook']).default('log')),
  TOCSIN_NOTIFY_WEBHOOK_URL: urlString,
  TOCSIN_CHAT_WEBHOOK_URL: urlString,
  TOCSIN_NOTIFY_TIMEOUT_MS: z.preprocess(emptyAsUndefined, z.coerce.number().int().positive().default(5000)),
  TOCSIN_LOG_LEVEL: z.preprocess(
    (value) => (typeof value === 'string' && value !== '' ? value.toUpperCase() : undefined),
    z.enum(['DEBUG', 'INFO', 'WARN', 'ERROR']).default('INFO'),
  ),
  TOCSIN_WORKER_SHUTDOWN_GRACE_MS: z.preprocess(emptyAsUndefined, z.coerce.number().int().min(0).default(10000)),
  TOCSIN_WORKER_HEALTH_PORT: z.preprocess(emptyAsUndefined, z.coerce.number().int().min(0).max(65535).default(8081)),
  TOCSIN_READY_INBOX_AGE_SECONDS: z.preprocess(emptyAsUndefined, z.coerce.number().positive().default(60)),
  TOCSIN_DB_CONNECT_TIMEOUT_MS: z.preprocess(emptyAsUndefined, z.coerce.number().int().positive().default(5000)),
  TOCSIN_DB_STATEMENT_TIMEOUT_MS: z.preprocess(emptyAsUndefined, z.coerce.number().int().positive().default(30000)),
  TOCSIN_TEMPORAL_METRICS_ADDRESS: z.preprocess(
    emptyAsUndefined,
    z
      .string()
      .regex(/^(\[[0-9a-fA-F:.]+\]|[^\s:/[\]]+):\d{1,5}$/, 'expected host:port, e.g. 0.0.0.0:9464')
      .optional(),
  ),
  // The OpenTelemetry convention: the traces URL as given, else the base endpoint + /v1/traces.
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: urlString,
  OTEL_EXPORTER_OTLP_ENDPOINT: urlString,
  TOCSIN_OUTBOUND_ALLOW: z
    .string()
    .default('')
    .transform((text, ctx) => {
      try {
        return parseAllowList(text)
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message })
        return z.NEVER
      }
    }),
})

export class ConfigError extends Error {
  override name = 'ConfigError'
}

/** Reads, validates and freezes the configuration; the error names every bad variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const parsed = envSchema.safeParse(env)
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`)
    throw new ConfigError(`invalid configuration: ${problems.join('; ')}`)
  }
  const e = parsed.data
  if (e.TOCSIN_NOTIFIER === 'webhook' && !e.TOCSIN_NOTIFY_WEBHOOK_URL) {
    throw new ConfigError('invalid configuration: TOCSIN_NOTIFY_WEBHOOK_URL is required when TOCSIN_NOTIFIER=webhook')
  }
  const publicUrl = stripTrailingSlash(e.TOCSIN_PUBLIC_URL ?? `http://localhost:${e.PORT}`)
  const chatWebhookUrl = e.TOCSIN_CHAT_WEBHOOK_URL ?? null
  // An address written in the URL is refused at every call: say so now rather than at the first page.
  for (const [name, url] of [
    ['TOCSIN_NOTIFY_WEBHOOK_URL', e.TOCSIN_NOTIFIER === 'webhook' ? e.TOCSIN_NOTIFY_WEBHOOK_URL : undefined],
    ['TOCSIN_CHAT_WEBHOOK_URL', chatWebhookUrl],
  ] as const) {
    const host = url ? new URL(url).hostname : ''
    const refusal = parseIp(host) ? refusalOf(host.replace(/^\[|\]$/g, ''), e.TOCSIN_OUTBOUND_ALLOW) : null
    if (refusal) throw new ConfigError(`invalid configuration: ${name}: ${refusal}; allow it with TOCSIN_OUTBOUND_ALLOW`)
  }
  const notifier: NotifierConfig =
    e.TOCSIN_NOTIFIER === 'webhook'
      ? { kind: 'webhook', url: e.TOCSIN_NOTIFY_WEBHOOK_URL as string, timeoutMs: e.TOCSIN_NOTIFY_TIMEOUT_MS, chatWebhookUrl }
      : { kind: 'log', chatWebhookUrl }
  return deepFreeze({
    http: { port: e.PORT, publicUrl, webUrl: stripTrailingSlash(e.TOCSIN_WEB_URL ?? publicUrl) },
    db: { url: e.DATABASE_URL, connectTimeoutMs: e.TOCSIN_DB_CONNECT_TIMEOUT_MS, statementTimeoutMs: e.TOCSIN_DB_STATEMENT_TIMEOUT_MS },
    temporal: { address: e.TEMPORAL_ADDRESS, namespace: e.TEMPORAL_NAMESPACE, taskQueue: e.TEMPORAL_TASK_QUEUE },
    notifier,
    worker: { shutdownGraceMs: e.TOCSIN_WORKER_SHUTDOWN_GRACE_MS, healthPort: e.TOCSIN_WORKER_HEALTH_PORT },
    health: { inboxAgeBoundSeconds: e.TOCSIN_READY_INBOX_AGE_SECONDS },
    logLevel: e.TOCSIN_LOG_LEVEL,
    outbound: { allow: e.TOCSIN_OUTBOUND_ALLOW },
    observability: {
      temporalMetricsAddress: e.TOCSIN_TEMPORAL_METRICS_ADDRESS ?? null,
      otlpTracesUrl:
        e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? (e.OTEL_EXPORTER_OTLP_ENDPOINT ? `${stripTrailingSlash(e.OTEL_EXPORTER_OTLP_ENDPOINT)}/v1/traces` : null),
    },
  })
}

function stripTrailingSlash(url: string): string {
  return url.replace(/\/+$/, '')
}

function deepFreeze<T extends object>(value: T): T {
  for (const child of Object.values(value)) {
    if (child && typeof child === 'object') deepFreeze(child as object)
  }
  return Object.freeze(value)
}
