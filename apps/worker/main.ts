import { NativeConnection, Runtime, type RuntimeOptions, type Worker } from '@temporalio/worker'
import { setTimeout as sleep } from 'node:timers/promises'
import { createDb } from '../../db/connect'
import { icalOptions, refreshDueIcalCopies } from '../../db/schedule-ical'
import { createOutboundFetch } from '../../activities/outbound'
import { createNotifier } from '../../activities/notifications'
import { createChannels } from '../../activities/channels'
import { createSlackPoster } from '../../activities/channels/slack'
import { TemplateEngine } from '../ingest/templates'
import { IngestionProcessor } from '../ingest/processor'
import { loadConfig } from '../config'
import { Escalations } from '../escalations'
import { Backoff, DependencyMonitor, serveHealth, waitFor } from '../health'
import { createLogger } from '../logger'
import { createMetrics } from '../metrics'
import { startTracing } from '../tracing'
import { sdkLoggerOf, sdkTelemetry } from './telemetry'
import { createEscalationWorker } from './worker'

const ICAL_REFRESH_EVERY_MS = 60_000
// A worker that ran this long before failing is restarted quickly again; a crash loop backs off.
const STABLE_RUN_MS = 60_000

// The worker never exits because a dependency went away. It waits for Temporal (with backoff, saying so) before
// it polls, and if its pollers ever fail it reconnects and starts again; PostgreSQL outages only make activities
// retry. It also drains the ingest inbox (sharing it with the API processes by integration lease), so an alert
// accepted with a 200 is grouped and paged even while no API process runs.

async function main(): Promise<void> {
  const config = loadConfig()
  const logger = createLogger({ name: 'worker', level: config.logLevel })
  // Signals are handled here: the SDK's own handler would swallow Ctrl-C while no worker exists yet. The SDK's
  // lines (and the native core's errors) go to the same JSON log; native retry warnings would flood it during an
  // outage, so only errors are forwarded and the monitor below says what is awaited instead.
  const runtime = (sdkMetricsAddress: string | null): RuntimeOptions => ({
    logger: sdkLoggerOf(logger.child({ component: 'temporal' })),
    shutdownSignals: [],
    telemetryOptions: sdkTelemetry({ sdkMetricsAddress }),
  })
  try {
    Runtime.install(runtime(config.observability.temporalMetricsAddress))
  } catch (err) {
    // A metrics port already taken must not keep the worker from paging.
    logger.error({ err, address: config.observability.temporalMetricsAddress }, 'Temporal SDK metrics not exported: cannot listen')
    Runtime.install(runtime(null))
  }
  const tracing = startTracing({ otlpTracesUrl: config.observability.otlpTracesUrl, serviceName: 'tocsin-worker' })
  process.on('unhandledRejection', (err) => logger.error({ err }, 'unhandled rejection'))
  const dbOptions = { connectTimeoutMs: config.db.connectTimeoutMs, statementTimeoutMs: config.db.statementTimeoutMs, logger }
  const db = createDb(config.db.url, { ...dbOptions, max: config.db.poolMax })
  // The inbox drainer gets connections of its own: a burst of alerts must not make activities queue for one.
  const ingestDb = createDb(config.db.url, dbOptions)
  const escalations = Escalations.connect(config.temporal, tracing ? { interceptors: tracing.clientInterceptors } : {})
  const templates = new TemplateEngine()
  const monitor = DependencyMonitor.forTocsin(db, escalations, logger)
  const stopWatching = monitor.watch()
  let worker: Worker | undefined
  let phase = 'connecting'
  const metrics = createMetrics({ db, processMetrics: true, workerPolling: () => worker?.getState() === 'RUNNING' })
  const processor = new IngestionProcessor(ingestDb, escalations, logger.child({ component: 'ingest' }), { templates, metrics, batchSignals: config.ingest.batchSignals })
  processor.start()
  const health = await serveHealth(
    config.worker.healthPort,
    {
      process: 'worker',
      db,
      monitor,
      inboxAgeBoundSeconds: config.health.inboxAgeBoundSeconds,
      own: () => {
        const state = worker?.getState()
        return { name: 'pollers', state: state ? state.toLowerCase() : phase, ready: state === 'RUNNING' }
      },
    },
    logger,
    metrics.registry,
  )

  const stopping = new AbortController()
  const stop = (signal: string) => {
    if (stopping.signal.aborted) return
    logger.info({ signal }, 'worker stopping: draining in-flight work')
    stopping.abort()
    if (worker?.getState() === 'RUNNING') worker.shutdown()
  }
  process.once('SIGINT', () => stop('SIGINT'))
  process.once('SIGTERM', () => stop('SIGTERM'))

  // Webhooks, the notifier, the chat webhook and iCal downloads call users' URLs under the operator's allow list.
  const outbound = createOutboundFetch({ allow: config.outbound.allow })
  // iCal schedules are refreshed in the background too, so a page never waits on a calendar host; a failed
  // refresh keeps the last good copy (and marks it stale).
  const ical = icalOptions(outbound)
  const icalRefresh = setInterval(() => {
    refreshDueIcalCopies(db, ical).catch((err: unknown) => logger.warn({ err }, 'ical refresh failed'))
  }, ICAL_REFRESH_EVERY_MS)
  icalRefresh.unref()

  const restarts = new Backoff({ initialMs: 1000, maxMs: 30_000 })
  try {
    while (!stopping.signal.aborted) {
      phase = 'connecting'
      const address = config.temporal.address
      const connection = await waitFor(`Temporal at ${address}`, () => NativeConnection.connect({ address }), logger, {
        signal: stopping.signal,
      }).catch(() => undefined)
      if (!connection) break
      const started = Date.now()
      try {
        worker = await createEscalationWorker({
          connection,
          namespace: config.temporal.namespace,
          taskQueue: config.temporal.taskQueue,
          db,
          notifier: createNotifier(config.notifier, outbound),
          channels: createChannels(config.channels, outbound),
          slack: config.channels.slack ? createSlackPoster(config.channels.slack, outbound) : null,
          ...(config.links.secret ? { links: { secret: config.links.secret, publicUrl: config.http.publicUrl, ttlSeconds: config.links.ttlSeconds } } : {}),
          shutdownGraceMs: config.worker.shutdownGraceMs,
          maxCachedWorkflows: config.worker.maxCachedWorkflows,
          templates,
          chatWebhookUrl: config.notifier.chatWebhookUrl,
          outbound,
          metrics: metrics.activities,
          ...(tracing ? { tracing: tracing.worker } : {}),
        })
        if (stopping.signal.aborted) break
        logger.info({ taskQueue: config.temporal.taskQueue, address }, 'worker polling')
        // Resolves once shutdown() drained in-flight work; rejects if the pollers fail for good.
        await worker.run()
      } catch (err) {
        if (!stopping.signal.aborted) logger.error({ err }, 'worker failed')
      } finally {
        worker = undefined
        await connection.close().catch(() => undefined)
      }
      if (stopping.signal.aborted) break
      phase = 'restarting'
      if (Date.now() - started > STABLE_RUN_MS) restarts.reset()
      const delay = restarts.next()
      logger.warn({ restartInMs: delay }, 'worker stopped unexpectedly; restarting it')
      await sleep(delay, undefined, { signal: stopping.signal }).catch(() => undefined)
    }
    logger.info('worker drained and stopped')
  } finally {
    clearInterval(icalRefresh)
    stopWatching()
    await processor.stop()
    health?.close()
    health?.closeAllConnections()
    await Promise.all([templates.close(), db.destroy(), ingestDb.destroy(), escalations.client.connection.close(), tracing?.shutdown()])
  }
}

main().catch((err) => {
  createLogger({ name: 'worker', level: 'ERROR' }).fatal({ err }, 'worker failed')
  process.exitCode = 1
})
