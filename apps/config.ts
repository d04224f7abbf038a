import { z } from 'zod'
import { parseAllowList, parseIp, refusalOf, type OutboundAllowList } from '../workflows/core/outbound-policy'

/** The whole runtime configuration of Tocsin; built once in each `apps/*\/main.ts`, passed down in slices. */
export interface Config {
  readonly http: { readonly port: number; readonly publicUrl: string; readonly webUrl: string }
  readonly db: { readonly url: string; readonly connectTimeoutMs: number; readonly statementTimeoutMs: number; readonly poolMax: number }
  readonly temporal: { readonly address: string; readonly namespace: string; readonly taskQueue: string }
  readonly notifier: NotifierConfig
  /** `healthPort` 0: the worker serves no health endpoints. */
  readonly worker: {
    readonly shutdownGraceMs: number
    readonly healthPort: number
    /** Workflows kept in memory between tasks; null: the SDK's default, from the heap size. */
    readonly maxCachedWorkflows: number | null
  }
  /** `/health/ready` fails while the oldest alert in the ingest inbox waited longer than this. */
  readonly health: { readonly inboxAgeBoundSeconds: number }
  /**
   * Alerts that join a group in one pass reach its workflow as one `newAlerts` signal; false sends a `newAlert` per
   * alert, which workers of releases before `newAlerts` understand (for a rolling upgrade from one of those).
   */
  readonly ingest: { readonly batchSignals: boolean }
  readonly logLevel: LogLevel
  /** Private destinations that calls to user-supplied URLs may reach (`TOCSIN_OUTBOUND_ALLOW`); public ones always may. */
  readonly outbound: { readonly allow: OutboundAllowList }
  readonly observability: ObservabilityConfig
  /** The transports personal notification rules send on; a channel left unconfigured is null. */
  readonly channels: ChannelsConfig
  /** Signs the acknowledge/resolve/silence links in pages; `secret` null: pages carry no links. */
  readonly links: { readonly secret: string | null; readonly ttlSeconds: number }
}

export interface ChannelsConfig {
  readonly email: EmailChannelConfig | null
  readonly twilio: TwilioChannelConfig | null
  readonly slack: SlackChannelConfig | null
}

/** SMTP: `url` is `smtp://` (STARTTLS when offered) or `smtps://` (TLS from the start), credentials in the URL. */
export interface EmailChannelConfig {
  readonly url: string
  readonly from: string
}

/** A Twilio-compatible REST API: SMS and voice calls from one number. */
export interface TwilioChannelConfig {
  readonly baseUrl: string
  readonly accountSid: string
  readonly authToken: string
  readonly fromNumber: string
}

export interface SlackChannelConfig {
  readonly token: string
  /** Ends with a slash, as the Web API client joins method names to it. */
  readonly apiUrl: string
  /** Where notify_whole_channel posts when the step names no channel; null: such steps are skipped. */
  readonly defaultChannel: string | null
}

export interface ObservabilityConfig {
  /** host:port where the worker exports the Temporal SDK's own metrics to Prometheus; null: not exported. */
  readonly temporalMetricsAddress: string | null
  /** OTLP/HTTP URL traces are posted to (from the standard OTEL_EXPORTER_OTLP_* variables); null: tracing off. */
  readonly otlpTracesUrl: string | null
}

export type LogLevel = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR'

/** The catch-all for rules whose channel is not configured: a log line, the outgoing webhook, or nothing (skipped). */
export type NotifierConfig = (
  | { readonly kind: 'log' }
  | { readonly kind: 'webhook'; readonly url: string; readonly timeoutMs: number }
  | { readonly kind: 'none' }
) & {
  /** Where notify_whole_channel posts (a Slack/Mattermost/Teams-style incoming webhook); null: not configured. */
  readonly chatWebhookUrl: string | null
}

const emptyAsUndefined = (value: unknown) => (value === '' ? undefined : value)
const urlString = z.preprocess(emptyAsUndefined, z.url().optional())
const httpUrl = z.preprocess(emptyAsUndefined, z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' }).optional())
const optionalText = z.preprocess(emptyAsUndefined, z.string().trim().min(1).optional())
// Messages never quote the value: these variables hold passwords and tokens.
const smtpUrl = z.preprocess(
  emptyAsUndefined,
  z
    .string()
    .refine((text) => {
      try {
        const url = new URL(text)
        return (url.protocol === 'smtp:' || url.protocol === 'smtps:') && url.hostname !== ''
      } catch {
        return false
      }
    }, 'expected smtp://[user:password@]host[:port] or smtps://…')
    .optional(),
)

const envSchema = z.object({
  PORT: z.preprocess(emptyAsUndefined, z.coerce.number().int().min(0).max(65535).default(8080)),
  TOCSIN_PUBLIC_URL: urlString,
  TOCSIN_WEB_URL: urlString,
  DATABASE_URL: z.preprocess(emptyAsUndefined, z.string().default('postgres://postgres@127.0.0.1:5432/tocsin')),
  TEMPORAL_ADDRESS: z.preprocess(emptyAsUndefined, z.string().default('127.0.0.1:7233')),
  TEMPORAL_NAMESPACE: z.preprocess(emptyAsUndefined, z.string().default('default')),
  TEMPORAL_TASK_QUEUE: z.preprocess(emptyAsUndefined, z.string().default('tocsin-escalations')),
  TOCSIN_NOTIFIER: z.preprocess(emptyAsUndefined, z.enum(['log', 'webhook', 'none']).default('log')),
  TOCSIN_NOTIFY_WEBHOOK_URL: urlString,
  TOCSIN_CHAT_WEBHOOK_URL: urlString,
  TOCSIN_NOTIFY_TIMEOUT_MS: z.preprocess(emptyAsUndefined, z.coerce.number().int().positive().default(5000)),
  TOCSIN_LOG_LEVEL: z.preprocess(
    (value) => (typeof value === 'string' && value !== '' ? value.toUpperCase() : undefined),
    z.enum(['DEBUG', 'INFO', 'WARN', 'ERROR']).default('INFO'),
  ),
  TOCSIN_WORKER_SHUTDOWN_GRACE_MS: z.preprocess(emptyAsUndefined, z.coerce.number().int().min(0).default(10000)),
  TOCSIN_WORKER_HEALTH_PORT: z.preprocess(emptyAsUndefined, z.coerce.number().int().min(0).max(65535).default(8081)),
  TOCSIN_WORKER_MAX_CACHED_WORKFLOWS: z.preprocess(emptyAsUndefined, z.coerce.number().int().min(0).optional()),
  TOCSIN_DB_POOL_MAX: z.preprocess(emptyAsUndefined, z.coerce.number().int().min(1).max(1000).default(10)),
  TOCSIN_READY_INBOX_AGE_SECONDS: z.preprocess(emptyAsUndefined, z.coerce.number().positive().default(60)),
  TOCSIN_INGEST_BATCH_SIGNALS: z.preprocess(emptyAsUndefined, z.enum(['true', 'false'], { error: 'expected true or false' }).default('true')),
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
  TOCSIN_SMTP_URL: smtpUrl,
  TOCSIN_EMAIL_FROM: z.preprocess(
    emptyAsUndefined,
    z
      .string()
      .regex(/^[^\r\n]*@[^\r\n]*$/, 'expected an address, e.g. Tocsin <tocsin@example.com>')
      .optional(),
  ),
  TOCSIN_TWILIO_ACCOUNT_SID: optionalText,
  TOCSIN_TWILIO_AUTH_TOKEN: optionalText,
  TOCSIN_TWILIO_FROM_NUMBER: optionalText,
  TOCSIN_TWILIO_BASE_URL: httpUrl,
  TOCSIN_SLACK_BOT_TOKEN: optionalText,
  TOCSIN_SLACK_API_URL: httpUrl,
  TOCSIN_SLACK_DEFAULT_CHANNEL: optionalText,
  TOCSIN_LINK_SECRET: z.preprocess(emptyAsUndefined, z.string().min(16, 'must be at least 16 characters').optional()),
  // At most 30 days: a link is a credential, and one that never expires is a standing one.
  TOCSIN_LINK_TTL_SECONDS: z.preprocess(emptyAsUndefined, z.coerce.number().int().positive().max(2_592_000).default(86400)),
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
  const channels = channelsOf(e)
  const publicUrl = stripTrailingSlash(e.TOCSIN_PUBLIC_URL ?? `http://localhost:${e.PORT}`)
  const chatWebhookUrl = e.TOCSIN_CHAT_WEBHOOK_URL ?? null
  // An address written in the URL is refused at every call: say so now rather than at the first page.
  for (const [name, url] of [
    ['TOCSIN_NOTIFY_WEBHOOK_URL', e.TOCSIN_NOTIFIER === 'webhook' ? e.TOCSIN_NOTIFY_WEBHOOK_URL : undefined],
    ['TOCSIN_CHAT_WEBHOOK_URL', chatWebhookUrl],
    ['TOCSIN_TWILIO_BASE_URL', channels.twilio?.baseUrl],
    ['TOCSIN_SLACK_API_URL', channels.slack?.apiUrl],
  ] as const) {
    const host = url ? new URL(url).hostname : ''
    const refusal = parseIp(host) ? refusalOf(host.replace(/^\[|\]$/g, ''), e.TOCSIN_OUTBOUND_ALLOW) : null
    if (refusal) throw new ConfigError(`invalid configuration: ${name}: ${refusal}; allow it with TOCSIN_OUTBOUND_ALLOW`)
  }
  const notifier: NotifierConfig =
    e.TOCSIN_NOTIFIER === 'webhook'
      ? { kind: 'webhook', url: e.TOCSIN_NOTIFY_WEBHOOK_URL as string, timeoutMs: e.TOCSIN_NOTIFY_TIMEOUT_MS, chatWebhookUrl }
      : { kind: e.TOCSIN_NOTIFIER, chatWebhookUrl }
  return deepFreeze({
    http: { port: e.PORT, publicUrl, webUrl: stripTrailingSlash(e.TOCSIN_WEB_URL ?? publicUrl) },
    db: { url: e.DATABASE_URL, connectTimeoutMs: e.TOCSIN_DB_CONNECT_TIMEOUT_MS, statementTimeoutMs: e.TOCSIN_DB_STATEMENT_TIMEOUT_MS, poolMax: e.TOCSIN_DB_POOL_MAX },
    temporal: { address: e.TEMPORAL_ADDRESS, namespace: e.TEMPORAL_NAMESPACE, taskQueue: e.TEMPORAL_TASK_QUEUE },
    notifier,
    worker: {
      shutdownGraceMs: e.TOCSIN_WORKER_SHUTDOWN_GRACE_MS,
      healthPort: e.TOCSIN_WORKER_HEALTH_PORT,
      maxCachedWorkflows: e.TOCSIN_WORKER_MAX_CACHED_WORKFLOWS ?? null,
    },
    health: { inboxAgeBoundSeconds: e.TOCSIN_READY_INBOX_AGE_SECONDS },
    ingest: { batchSignals: e.TOCSIN_INGEST_BATCH_SIGNALS === 'true' },
    logLevel: e.TOCSIN_LOG_LEVEL,
    outbound: { allow: e.TOCSIN_OUTBOUND_ALLOW },
    observability: {
      temporalMetricsAddress: e.TOCSIN_TEMPORAL_METRICS_ADDRESS ?? null,
      otlpTracesUrl:
        e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? (e.OTEL_EXPORTER_OTLP_ENDPOINT ? `${stripTrailingSlash(e.OTEL_EXPORTER_OTLP_ENDPOINT)}/v1/traces` : null),
    },
    channels,
    links: { secret: e.TOCSIN_LINK_SECRET ?? null, ttlSeconds: e.TOCSIN_LINK_TTL_SECONDS },
  })
}

type Env = z.infer<typeof envSchema>

/**
 * Each channel is configured by a group of variables: none set leaves it off; setting any of them without the
 * required ones is a mistake worth refusing to start for (a page would otherwise go nowhere on that channel).
 */
function channelsOf(e: Env): ChannelsConfig {
  const problems: string[] = []
  const group = (required: Record<string, string | undefined>, optional: Record<string, string | undefined>): boolean => {
    const given = Object.entries({ ...required, ...optional }).filter(([, value]) => value !== undefined)
    if (given.length === 0) return false
    const missing = Object.entries(required).filter(([, value]) => value === undefined).map(([name]) => name)
    if (missing.length > 0) {
      const because = given.map(([name]) => name).join(', ')
      problems.push(`${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} required when ${because} ${given.length === 1 ? 'is' : 'are'} set`)
    }
    return missing.length === 0
  }
  const email = group({ TOCSIN_SMTP_URL: e.TOCSIN_SMTP_URL }, { TOCSIN_EMAIL_FROM: e.TOCSIN_EMAIL_FROM })
  const twilio = group(
    {
      TOCSIN_TWILIO_ACCOUNT_SID: e.TOCSIN_TWILIO_ACCOUNT_SID,
      TOCSIN_TWILIO_AUTH_TOKEN: e.TOCSIN_TWILIO_AUTH_TOKEN,
      TOCSIN_TWILIO_FROM_NUMBER: e.TOCSIN_TWILIO_FROM_NUMBER,
    },
    { TOCSIN_TWILIO_BASE_URL: e.TOCSIN_TWILIO_BASE_URL },
  )
  const slack = group(
    { TOCSIN_SLACK_BOT_TOKEN: e.TOCSIN_SLACK_BOT_TOKEN },
    { TOCSIN_SLACK_API_URL: e.TOCSIN_SLACK_API_URL, TOCSIN_SLACK_DEFAULT_CHANNEL: e.TOCSIN_SLACK_DEFAULT_CHANNEL },
  )
  if (problems.length > 0) throw new ConfigError(`invalid configuration: ${problems.join('; ')}`)
  return {
    email: email ? { url: e.TOCSIN_SMTP_URL as string, from: e.TOCSIN_EMAIL_FROM ?? 'Tocsin <tocsin@localhost>' } : null,
    twilio: twilio
      ? {
          baseUrl: stripTrailingSlash(e.TOCSIN_TWILIO_BASE_URL ?? 'https://api.twilio.com'),
          accountSid: e.TOCSIN_TWILIO_ACCOUNT_SID as string,
          authToken: e.TOCSIN_TWILIO_AUTH_TOKEN as string,
          fromNumber: e.TOCSIN_TWILIO_FROM_NUMBER as string,
        }
      : null,
    slack: slack
      ? {
          token: e.TOCSIN_SLACK_BOT_TOKEN as string,
          apiUrl: `${stripTrailingSlash(e.TOCSIN_SLACK_API_URL ?? 'https://slack.com/api')}/`,
          defaultChannel: e.TOCSIN_SLACK_DEFAULT_CHANNEL ?? null,
        }
      : null,
  }
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
