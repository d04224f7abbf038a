import { spawn, type ChildProcess } from 'node:child_process'
import { appendFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { freePort } from './temporal-dev-server'

// Real Tocsin processes (API and worker, as `npm start` runs them) under faults, with a page receiver and a steady
// alert stream: what the outage suites and `npm run bench:outages` are made of. Everything stays on 127.0.0.1.

const ROOT = path.join(__dirname, '..')
const LOG_TAIL_CHARS = 200_000

export type ProcessKind = 'api' | 'worker'

/** One API or worker process, its output kept for assertions and failure messages. */
export class TocsinProcess {
  private output = ''
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>

  private constructor(
    readonly kind: ProcessKind,
    readonly child: ChildProcess,
  ) {
    // TOCSIN_OUTAGE_LOG_DIR keeps every line of every process, for looking into a failure afterwards.
    const file = process.env.TOCSIN_OUTAGE_LOG_DIR ? path.join(process.env.TOCSIN_OUTAGE_LOG_DIR, `${kind}-${child.pid}.log`) : undefined
    const keep = (chunk: Buffer) => {
      this.output = (this.output + chunk.toString('utf8')).slice(-LOG_TAIL_CHARS)
      if (file) appendFileSync(file, chunk)
    }
    child.stdout?.on('data', keep)
    child.stderr?.on('data', keep)
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })))
  }

  /** Runs `apps/<kind>/main.ts` in one node process (no tsx wrapper, so a signal reaches Tocsin itself). */
  static spawn(kind: ProcessKind, env: Record<string, string>): TocsinProcess {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join('apps', kind, 'main.ts')], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    return new TocsinProcess(kind, child)
  }

  get pid(): number {
    return this.child.pid ?? -1
  }

  /** Null while the process runs. */
  get exitCode(): number | null {
    return this.child.exitCode
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null
  }

  log(): string {
    return this.output
  }

  /** Sends `signal` and waits for the process to end (SIGKILL after `timeoutMs`). */
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 20_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (!this.running) return this.exited
    this.child.kill(signal)
    const ended = await Promise.race([this.exited, sleep(timeoutMs, undefined)])
    if (!ended) this.child.kill('SIGKILL')
    return this.exited
  }
}

/** The environment of a Tocsin process in a harness: webhook pages to the receiver, its own ports. */
export function tocsinEnv(options: {
  databaseUrl: string
  temporalAddress: string
  taskQueue: string
  pageUrl: string
  apiPort: number
  workerHealthPort: number
}): Record<string, string> {
  return {
    PORT: String(options.apiPort),
    TOCSIN_PUBLIC_URL: `http://127.0.0.1:${options.apiPort}`,
    DATABASE_URL: options.databaseUrl,
    TEMPORAL_ADDRESS: options.temporalAddress,
    TEMPORAL_NAMESPACE: 'default',
    TEMPORAL_TASK_QUEUE: options.taskQueue,
    TOCSIN_NOTIFIER: 'webhook',
    TOCSIN_NOTIFY_WEBHOOK_URL: options.pageUrl,
    TOCSIN_NOTIFY_TIMEOUT_MS: '5000',
    // The receiver is on loopback; outbound guards that refuse private ranges must let it through.
    TOCSIN_OUTBOUND_ALLOW: '127.0.0.0/8',
    TOCSIN_WORKER_HEALTH_PORT: String(options.workerHealthPort),
    TOCSIN_WORKER_SHUTDOWN_GRACE_MS: '2000',
    TOCSIN_DB_CONNECT_TIMEOUT_MS: '2000',
    TOCSIN_LOG_LEVEL: 'INFO',
  }
}

export interface Delivery {
  readonly idempotencyKey: string
  readonly title: string | null
  readonly alertGroupId: string
  /** The user paged and the ledger row of the page, as the notifier's body names them. */
  readonly userId: string | null
  readonly ledgerId: string | null
  readonly at: number
}

/** Where the webhook notifier pages: records every delivery (redeliveries included) and answers 200. */
export class PageReceiver {
  private constructor(
    private readonly server: Server,
    readonly url: string,
    readonly deliveries: Delivery[],
  ) {}

  static async start(): Promise<PageReceiver> {
    const deliveries: Delivery[] = []
    const server = createServer((req, res) => {
      const chunks: Buffer[] = []
      req.on('data', (c: Buffer) => chunks.push(c))
      req.on('end', () => {
        try {
          const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
            title?: string | null
            alertGroupId?: string
            ledgerId?: string
            user?: { id?: string }
          }
          deliveries.push({
            idempotencyKey: String(req.headers['idempotency-key'] ?? ''),
            title: body.title ?? null,
            alertGroupId: String(body.alertGroupId ?? ''),
            userId: body.user?.id ?? null,
            ledgerId: body.ledgerId ?? null,
            at: Date.now(),
          })
          res.writeHead(200).end()
        } catch {
          res.writeHead(400).end()
        }
      })
    })
    const port = await new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)))
    return new PageReceiver(server, `http://127.0.0.1:${port}/pages`, deliveries)
  }

  close(): Promise<void> {
    this.server.closeAllConnections()
    return new Promise((resolve) => this.server.close(() => resolve()))
  }
}

export interface HookCall {
  readonly idempotencyKey: string
  readonly body: unknown
  readonly at: number
}

/** Where outgoing webhooks point: records every call (retries included) with its body, and answers 200. */
export class HookReceiver {
  private constructor(
    private readonly server: Server,
    readonly url: string,
    readonly calls: HookCall[],
  ) {}

  static async start(): Promise<HookReceiver> {
    const calls: HookCall[] = []
    const server = createServer((req, res) => {
      const chunks: Buffer[] = []
      req.on('data', (c: Buffer) => chunks.push(c))
      req.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8')
        let body: unknown = text
        try {
          body = JSON.parse(text)
        } catch {
          // kept as text
        }
        calls.push({ idempotencyKey: String(req.headers['idempotency-key'] ?? ''), body, at: Date.now() })
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok": true}')
      })
    })
    const port = await new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)))
    return new HookReceiver(server, `http://127.0.0.1:${port}/hooks`, calls)
  }

  close(): Promise<void> {
    this.server.closeAllConnections()
    return new Promise((resolve) => this.server.close(() => resolve()))
  }
}

export interface SendResult {
  readonly title: string
  readonly sentAt: number
  readonly answeredAt: number
  /** The HTTP status, or 'unreachable' (no connection) or 'timeout' (no answer in time: a hang). */
  readonly status: number | 'unreachable' | 'timeout'
  readonly body: string
}

/** Alertmanager alerts, each with its own alertname (so its own alert group and its own page). */
export class AlertStream {
  readonly results: SendResult[] = []
  private sent = 0
  private running: Promise<void> | undefined
  private stopped = false

  constructor(
    private readonly targets: readonly string[],
    private readonly options: { ratePerSecond: number; maxAlerts: number; timeoutMs?: number; prefix?: string },
  ) {}

  start(): void {
    this.running = this.loop()
  }

  /** Stops sending and waits for the answers still due. */
  async stop(): Promise<void> {
    this.stopped = true
    await this.running
  }

  /** Results answered after `since` (epoch ms), optionally with a given status. */
  count(filter: (r: SendResult) => boolean): number {
    return this.results.filter(filter).length
  }

  accepted(): SendResult[] {
    return this.results.filter((r) => r.status === 200)
  }

  private async loop(): Promise<void> {
    const inFlight = new Set<Promise<void>>()
    const interval = 1000 / this.options.ratePerSecond
    const started = Date.now()
    while (!this.stopped && this.sent < this.options.maxAlerts) {
      const n = this.sent++
      const request = this.send(n).finally(() => inFlight.delete(request))
      inFlight.add(request)
      const due = started + (n + 1) * interval
      await sleep(Math.max(0, due - Date.now()))
    }
    await Promise.all(inFlight)
  }

  private async send(n: number): Promise<void> {
    const title = `${this.options.prefix ?? 'outage'}-${n}`
    const target = this.targets[n % this.targets.length] as string
    const payload = {
      status: 'firing',
      alerts: [{ status: 'firing', labels: { alertname: title } }],
      groupLabels: { alertname: title },
      groupKey: `{}:{alertname="${title}"}`,
      version: '4',
    }
    const sentAt = Date.now()
    let status: SendResult['status']
    let body = ''
    try {
      const response = await fetch(target, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(payload),
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 15_000),
      })
      body = await response.text()
      status = response.status
    } catch (err) {
      status = (err as Error).name === 'TimeoutError' ? 'timeout' : 'unreachable'
      body = String((err as { cause?: unknown }).cause ?? err)
    }
    this.results.push({ title, sentAt, answeredAt: Date.now(), status, body })
  }
}

/** What happened to a set of alerts: the figures of the outage table. */
export interface Outcome {
  readonly sent: number
  readonly refused: number
  readonly accepted: number
  /** Answered 200 but never paged. */
  readonly lost: number
  /** Alerts paged under more than one idempotency key. */
  readonly duplicated: number
  /** Deliveries repeating a key already delivered (a retried delivery; receivers drop them by key). */
  readonly redeliveries: number
  readonly lostTitles: readonly string[]
}

export function outcome(results: readonly SendResult[], deliveries: readonly Delivery[]): Outcome {
  const keysByTitle = new Map<string, Set<string>>()
  let redeliveries = 0
  const seen = new Set<string>()
  const titles = new Set(results.map((r) => r.title))
  for (const d of deliveries) {
    if (d.title === null || !titles.has(d.title)) continue
    if (seen.has(d.idempotencyKey)) redeliveries++
    seen.add(d.idempotencyKey)
    keysByTitle.set(d.title, (keysByTitle.get(d.title) ?? new Set()).add(d.idempotencyKey))
  }
  const accepted = results.filter((r) => r.status === 200)
  const lostTitles = accepted.filter((r) => !keysByTitle.has(r.title)).map((r) => r.title)
  return {
    sent: results.length,
    refused: results.length - accepted.length,
    accepted: accepted.length,
    lost: lostTitles.length,
    duplicated: [...keysByTitle.values()].filter((keys) => keys.size > 1).length,
    redeliveries,
    lostTitles,
  }
}

/** Polls `check` every 100 ms until it returns something other than undefined; fails after `timeoutMs`. */
export async function until<T>(what: string, check: () => T | undefined | Promise<T | undefined>, timeoutMs: number, context?: () => string): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${context ? `\n${context()}` : ''}`)
    await sleep(100)
  }
}

/** GET a health URL: its status and JSON body, or undefined when nothing answers. */
export async function health(url: string): Promise<{ status: number; body: Record<string, unknown> } | undefined> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(10_000) })
    return { status: response.status, body: (await response.json()) as Record<string, unknown> }
  } catch {
    return undefined
  }
}

/** Calls the OnCall API with an admin token. */
export function oncall(baseUrl: string, token: string) {
  return async (method: string, route: string, body?: unknown): Promise<{ status: number; body: any }> => {
    const response = await fetch(`${baseUrl}${route}`, {
      method,
      headers: { authorization: token, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(60_000),
    })
    const text = await response.text()
    let parsed: unknown = text
    try {
      parsed = JSON.parse(text)
    } catch {
      // plain text answer
    }
    return { status: response.status, body: parsed }
  }
}

/**
 * A user paged by a one-step chain (notify_persons) behind `integrations` Alertmanager integrations; returns the
 * integrations' alert URLs (several, so a stream stays below OnCall's per-integration rate limit).
 */
export async function configurePaging(baseUrl: string, token: string, name: string, integrations = 1): Promise<{ urls: string[]; userId: string }> {
  const call = oncall(baseUrl, token)
  const must = async (method: string, route: string, body: unknown) => {
    const response = await call(method, route, body)
    if (response.status !== 201) throw new Error(`${method} ${route} answered ${response.status}: ${JSON.stringify(response.body)}`)
    return response.body
  }
  const user = await must('POST', '/api/v1/users/', { username: `${name}-oncall`, email: `${name}@outage.test`, role: 'editor' })
  const chain = await must('POST', '/api/v1/escalation_chains/', { name: `${name}-chain` })
  await must('POST', '/api/v1/escalation_policies/', { escalation_chain_id: chain.id, type: 'notify_persons', persons_to_notify: [user.id] })
  const urls: string[] = []
  for (let i = 0; i < integrations; i++) {
    const integration = await must('POST', '/api/v1/integrations/', {
      type: 'alertmanager',
      name: `${name}-${i}`,
      default_route: { escalation_chain_id: chain.id },
    })
    urls.push(`${baseUrl}${new URL(integration.link).pathname}`)
  }
  return { urls, userId: user.id }
}

export async function freePorts(count: number): Promise<number[]> {
  const ports = new Set<number>()
  while (ports.size < count) ports.add(await freePort())
  return [...ports]
}
