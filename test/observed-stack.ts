import { NativeConnection, Runtime, type Worker } from '@temporalio/worker'
import type { Server } from 'node:http'
import type { DestinationStream } from 'pino'
import type { Notifier } from '../activities/notifications'
import { createOutboundFetch } from '../activities/outbound'
import { createApp } from '../apps/api/app'
import { Escalations } from '../apps/escalations'
import { DependencyMonitor, serveHealth } from '../apps/health'
import { IngestionProcessor } from '../apps/ingest/processor'
import { TemplateEngine } from '../apps/ingest/templates'
import { createLogger } from '../apps/logger'
import { createMetrics, type TocsinMetrics } from '../apps/metrics'
import type { Tracing } from '../apps/tracing'
import { createEscalationWorker } from '../apps/worker/worker'
import { sdkLoggerOf } from '../apps/worker/telemetry'
import type { IngestLimits } from '../db/ingestion.repo'
import { icalOptions } from '../db/schedule-ical'
import { parseAllowList } from '../workflows/core/outbound-policy'
import { createTestDatabase, recordingNotifier, resolveNothing, temporalAddress, type Stack } from './stack'
import { freePort } from './temporal-dev-server'

// A stack wired as the processes wire themselves for operators: metrics registries for the API and the worker
// (the worker's served on its health port), every log line of both (API, ingestion, Temporal SDK and activities)
// captured in memory, and tracing when asked for. One per test file: the SDK runtime's logger is process-wide.

/** Log lines written to memory, for tests that read what an operator would see. */
export class CapturedLogs implements DestinationStream {
  readonly raw: string[] = []

  write(line: string): void {
    this.raw.push(line)
  }

  get text(): string {
    return this.raw.join('')
  }

  get lines(): Array<Record<string, any>> {
    return this.raw.flatMap((chunk) => chunk.split('\n').filter((l) => l.trim() !== '')).map((l) => JSON.parse(l) as Record<string, any>)
  }
}

export interface ObservedStack extends Stack {
  readonly logs: CapturedLogs
  readonly apiMetrics: TocsinMetrics
  readonly workerMetrics: TocsinMetrics
  /** The worker's health server: /health/live, /health/ready and /metrics. */
  readonly workerUrl: string
}

let runtimeInstalled: CapturedLogs | undefined

export async function startObservedStack(
  name: string,
  options: { notifier?: Notifier; outboundAllow?: string; limits?: IngestLimits; tracing?: Tracing } = {},
): Promise<ObservedStack> {
  // The SDK's runtime logger is installed once per process (per test file here) and shared by its workers.
  const logs = runtimeInstalled ?? new CapturedLogs()
  if (!runtimeInstalled) {
    runtimeInstalled = logs
    Runtime.install({ logger: sdkLoggerOf(createLogger({ name: 'worker', level: 'DEBUG', destination: logs }).child({ component: 'temporal' })) })
  }
  const apiLogger = createLogger({ name: 'api', level: 'DEBUG', destination: logs })
  const workerLogger = createLogger({ name: 'worker', level: 'DEBUG', destination: logs })
  const { db, url } = await createTestDatabase(name)
  const address = temporalAddress()
  const taskQueue = `tocsin-test-${name}-${process.pid}`
  const escalations = Escalations.connect(
    { address, namespace: 'default', taskQueue },
    options.tracing ? { interceptors: options.tracing.clientInterceptors } : {},
  )
  const outbound = createOutboundFetch({ allow: parseAllowList(options.outboundAllow ?? ''), lookup: resolveNothing })
  const ical = icalOptions(outbound)

  const workerMetrics = createMetrics({ db, workerPolling: () => worker.getState() === 'RUNNING' })
  const workerConnection = await NativeConnection.connect({ address })
  const templates = new TemplateEngine()
  const worker: Worker = await createEscalationWorker({
    connection: workerConnection,
    namespace: 'default',
    taskQueue,
    db,
    notifier: options.notifier ?? recordingNotifier(),
    shutdownGraceMs: 1000,
    templates,
    outbound,
    metrics: workerMetrics.activities,
    ...(options.tracing ? { tracing: options.tracing.worker } : {}),
  })
  const workerRun = worker.run()
  const monitor = DependencyMonitor.forTocsin(db, escalations, workerLogger)
  const healthPort = await freePort()
  const health = await serveHealth(healthPort, { process: 'worker', db, monitor, inboxAgeBoundSeconds: 60 }, workerLogger, workerMetrics.registry)
  if (!health) throw new Error(`worker health server could not listen on ${healthPort}`)

  const apiMetrics = createMetrics({ db })
  const processor = new IngestionProcessor(db, escalations, apiLogger.child({ component: 'ingest' }), { metrics: apiMetrics })
  processor.start()
  const app = createApp({
    db,
    escalations,
    ingestion: { limits: options.limits, onAccepted: () => processor.kick() },
    publicUrl: 'http://tocsin.test',
    webUrl: 'http://grafana.test',
    logger: apiLogger,
    ical,
    metrics: apiMetrics,
    ...(options.tracing ? { tracer: options.tracing.tracer } : {}),
  })
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s))
  })
  const port = (server.address() as { port: number }).port
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    workerUrl: `http://127.0.0.1:${healthPort}`,
    db,
    dbUrl: url,
    escalations,
    taskQueue,
    workerConnection,
    ingestion: processor,
    outbound,
    ical,
    logs,
    apiMetrics,
    workerMetrics,
    async stop() {
      await new Promise((resolve) => server.close(resolve))
      server.closeAllConnections()
      await processor.stop()
      health.close()
      health.closeAllConnections()
      worker.shutdown()
      await workerRun
      await workerConnection.close()
      await templates.close()
      await escalations.client.connection.close()
      await db.destroy()
    },
  }
}

/** Scrapes a /metrics endpoint and returns the value of one sample (0 when the series is absent). */
export async function scrape(baseUrl: string): Promise<(sample: string) => number> {
  const response = await fetch(`${baseUrl}/metrics`)
  if (response.status !== 200) throw new Error(`GET ${baseUrl}/metrics answered ${response.status}`)
  const text = await response.text()
  const samples = new Map<string, number>()
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue
    const at = line.lastIndexOf(' ')
    samples.set(line.slice(0, at), Number(line.slice(at + 1)))
  }
  return (sample) => samples.get(sample) ?? 0
}
