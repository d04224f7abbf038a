import { z } from 'zod'

/** The whole runtime configuration of Tocsin; built once in each `apps/*\/main.ts`, passed down in slices. */
export interface Config {
  readonly http: { readonly port: number; readonly publicUrl: string; readonly webUrl: string }
  readonly db: { readonly url: string }
  readonly temporal: { readonly address: string; readonly namespace: string; readonly taskQueue: string }
  readonly notifier: NotifierConfig
  readonly worker: { readonly shutdownGraceMs: number }
  readonly logLevel: LogLevel
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
  const notifier: NotifierConfig =
    e.TOCSIN_NOTIFIER === 'webhook'
      ? { kind: 'webhook', url: e.TOCSIN_NOTIFY_WEBHOOK_URL as string, timeoutMs: e.TOCSIN_NOTIFY_TIMEOUT_MS, chatWebhookUrl }
      : { kind: 'log', chatWebhookUrl }
  return deepFreeze({
    http: { port: e.PORT, publicUrl, webUrl: stripTrailingSlash(e.TOCSIN_WEB_URL ?? publicUrl) },
    db: { url: e.DATABASE_URL },
    temporal: { address: e.TEMPORAL_ADDRESS, namespace: e.TEMPORAL_NAMESPACE, taskQueue: e.TEMPORAL_TASK_QUEUE },
    notifier,
    worker: { shutdownGraceMs: e.TOCSIN_WORKER_SHUTDOWN_GRACE_MS },
    logLevel: e.TOCSIN_LOG_LEVEL,
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
