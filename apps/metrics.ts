import { sql } from 'kysely'
import type { ServerResponse } from 'node:http'
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client'
import type { ActivityMetrics } from '../activities/metrics'
import type { Db } from '../db/connect'

// Tocsin's Prometheus metrics. Each process builds one registry with createMetrics() and serves it on GET /metrics
// (the API on its port, the worker on its health port); nothing is registered globally, so every test gets its own.

/** What the ingest inbox holds right now. */
export interface InboxStats {
  readonly depth: number
  /** Seconds since the oldest waiting alert was accepted; 0 when the inbox is empty. */
  readonly oldestAgeSeconds: number
}

export interface MetricsOptions {
  /** Where the inbox gauges are read from at each scrape; without it (and without `inbox`) they are not exported. */
  readonly db?: Db
  /** Reads the inbox instead of `db` (tests). */
  readonly inbox?: () => Promise<InboxStats>
  /** Node.js process metrics (CPU, memory, event loop lag, GC): on in the processes, off in tests. */
  readonly processMetrics?: boolean
  /** The worker's pollers run: exported as `tocsin_worker_polling` (1 or 0). */
  readonly workerPolling?: () => boolean
}

// Lateness is seconds when all is well and minutes during an outage: buckets cover both.
const LATENESS_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600]

export interface TocsinMetrics {
  readonly registry: Registry
  /** Alerts stored in the inbox and answered 200, by integration type. */
  readonly alertsReceived: Counter<'integration_type'>
  /** Alerts taken from the inbox into an alert group (or applied as a source resolve/acknowledge). */
  readonly alertsGrouped: Counter
  /** Alerts refused with 429, by the limit that refused them (`integration` or `organization`). */
  readonly rateLimitRefusals: Counter<'scope'>
  readonly escalationEvents: Counter<'event'>
  readonly pages: Counter<'channel' | 'outcome'>
  readonly webhookCalls: Counter<'trigger' | 'status'>
  readonly stepLateness: Histogram<'step_type'>
  /** The same counters, as the activities report to them. */
  readonly activities: ActivityMetrics
}

export function createMetrics(options: MetricsOptions = {}): TocsinMetrics {
  const registry = new Registry()
  const registers = [registry]
  if (options.processMetrics) collectDefaultMetrics({ register: registry })

  const alertsReceived = new Counter({
    name: 'tocsin_alerts_received_total',
    help: 'Alerts accepted (stored in the ingest inbox and answered 200), by integration type.',
    labelNames: ['integration_type'] as const,
    registers,
  })
  const alertsGrouped = new Counter({
    name: 'tocsin_alerts_grouped_total',
    help: 'Alerts moved from the ingest inbox into alert groups by this process.',
    registers,
  })
  const rateLimitRefusals = new Counter({
    name: 'tocsin_ingest_rate_limited_total',
    help: 'Alerts refused with 429 by the ingestion rate limits, by the limit that refused them.',
    labelNames: ['scope'] as const,
    registers,
  })
  const escalationEvents = new Counter({
    name: 'tocsin_escalation_events_total',
    help: 'Escalations started, and lifecycle actions applied to them (acknowledged, resolved, silenced, ...).',
    labelNames: ['event'] as const,
    registers,
  })
  const pages = new Counter({
    name: 'tocsin_pages_total',
    help: 'Pages to users by notifier channel and outcome (delivered, already_delivered, skipped, failed, refused).',
    labelNames: ['channel', 'outcome'] as const,
    registers,
  })
  const webhookCalls = new Counter({
    name: 'tocsin_webhook_calls_total',
    help: 'Outgoing webhook calls by trigger and answer: the HTTP status code, "error" (no answer) or "refused" (outbound policy).',
    labelNames: ['trigger', 'status'] as const,
    registers,
  })
  const stepLateness = new Histogram({
    name: 'tocsin_step_lateness_seconds',
    help: 'Seconds between the instant an escalation step was due and the moment its effect (a page, a webhook, ...) was done.',
    labelNames: ['step_type'] as const,
    buckets: LATENESS_BUCKETS,
    registers,
  })

  const readInbox = options.inbox ?? (options.db ? () => inboxStats(options.db as Db) : undefined)
  if (readInbox) {
    // Both gauges come from one query per scrape: the depth gauge (collected first) starts it, the age gauge takes it.
    const read = () => readInbox().catch(() => null)
    let reading: Promise<InboxStats | null> | undefined
    new Gauge({
      name: 'tocsin_ingest_inbox_depth',
      help: 'Alerts accepted and waiting in the ingest inbox to be grouped (absent while the database cannot be read).',
      registers,
      async collect() {
        reading = read()
        const stats = await reading
        if (stats) this.set(stats.depth)
        else this.remove({})
      },
    })
    new Gauge({
      name: 'tocsin_ingest_inbox_oldest_age_seconds',
      help: 'Seconds the oldest alert in the ingest inbox has waited; 0 when empty (absent while the database cannot be read).',
      registers,
      async collect() {
        const taken = reading ?? read()
        reading = undefined
        const stats = await taken
        if (stats) this.set(stats.oldestAgeSeconds)
        else this.remove({})
      },
    })
  }
  if (options.workerPolling) {
    const polling = options.workerPolling
    new Gauge({
      name: 'tocsin_worker_polling',
      help: '1 while the worker polls its Temporal task queue, 0 while it connects or restarts.',
      registers,
      collect() {
        this.set(polling() ? 1 : 0)
      },
    })
  }

  return {
    registry,
    alertsReceived,
    alertsGrouped,
    rateLimitRefusals,
    escalationEvents,
    pages,
    webhookCalls,
    stepLateness,
    activities: {
      escalationEvent: (event) => escalationEvents.inc({ event }),
      pageSent: (channel, outcome) => pages.inc({ channel, outcome }),
      webhookCalled: (trigger, status) => webhookCalls.inc({ trigger, status }),
      stepLateness: (stepType, seconds) => stepLateness.observe({ step_type: stepType }, seconds),
    },
  }
}

/** The inbox's depth and the age of its oldest alert, read in one statement. */
export async function inboxStats(db: Db): Promise<InboxStats> {
  const { rows } = await sql<{ depth: number | string; age: number | string | null }>`
    select (select count(*) from ingest_inbox) as depth,
           (select extract(epoch from now() - received_at) from ingest_inbox order by id limit 1) as age`.execute(db)
  const row = rows[0]
  return { depth: Number(row?.depth ?? 0), oldestAgeSeconds: Math.max(0, Number(row?.age ?? 0)) }
}

/** Writes the registry in Prometheus's text format (for a plain node:http server such as the worker's). */
export async function writeMetrics(registry: Registry, res: ServerResponse): Promise<void> {
  try {
    const text = await registry.metrics()
    res.writeHead(200, { 'content-type': registry.contentType }).end(text)
  } catch (err) {
    res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics unavailable: ${err instanceof Error ? err.message : String(err)}`)
  }
}
