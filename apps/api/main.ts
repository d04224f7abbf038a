import { createOutboundFetch } from '../../activities/outbound'
import { createDb } from '../../db/connect'
import { icalOptions } from '../../db/schedule-ical'
import { loadConfig } from '../config'
import { Escalations } from '../escalations'
import { DependencyMonitor } from '../health'
import { IngestionProcessor } from '../ingest/processor'
import { closeSharedTemplateEngine } from '../ingest/templates'
import { createLogger } from '../logger'
import { createMetrics } from '../metrics'
import { startTracing } from '../tracing'
import { applyKeepAlive, createApp } from './app'

// Start order does not matter: the API listens at once, whether PostgreSQL and Temporal are up or not. Until they
// answer, requests that need them get a 503, /health/ready says what is missing, and the log says what the API
// waits for; the pool and the Temporal client connect on their own once the dependencies are there.

async function main(): Promise<void> {
  const config = loadConfig()
  const logger = createLogger({ name: 'api', level: config.logLevel })
  process.on('unhandledRejection', (err) => logger.error({ err }, 'unhandled rejection'))
  const db = createDb(config.db.url, {
    connectTimeoutMs: config.db.connectTimeoutMs,
    statementTimeoutMs: config.db.statementTimeoutMs,
    max: config.db.poolMax,
    logger,
  })
  // Off unless an OTLP endpoint is configured; installed before the Temporal client so its calls are traced.
  const tracing = startTracing({ otlpTracesUrl: config.observability.otlpTracesUrl, serviceName: 'tocsin-api' })
  const metrics = createMetrics({ db, processMetrics: true })
  const escalations = Escalations.connect(config.temporal, tracing ? { interceptors: tracing.clientInterceptors } : {})
  const monitor = DependencyMonitor.forTocsin(db, escalations, logger)
  const stopWatching = monitor.watch()
  // Every API process also drains the alert inbox; processors share it by integration.
  const processor = new IngestionProcessor(db, escalations, logger.child({ component: 'ingest' }), { metrics, batchSignals: config.ingest.batchSignals })
  processor.start()
  const app = createApp({
    db,
    escalations,
    ingestion: { onAccepted: () => processor.kick() },
    publicUrl: config.http.publicUrl,
    webUrl: config.http.webUrl,
    logger,
    health: { monitor, inboxAgeBoundSeconds: config.health.inboxAgeBoundSeconds },
    // Reading an iCal schedule downloads its calendar when due, under the same outbound policy as the worker.
    ical: icalOptions(createOutboundFetch({ allow: config.outbound.allow })),
    metrics,
    ...(tracing ? { tracer: tracing.tracer } : {}),
    ...(config.links.secret ? { actionLinks: { secret: config.links.secret, ttlSeconds: config.links.ttlSeconds } } : {}),
  })
  const server = app.listen(config.http.port, () => {
    logger.info({ port: config.http.port, publicUrl: config.http.publicUrl }, `api listening on http://localhost:${config.http.port}`)
  })
  applyKeepAlive(server)
  server.on('error', (err) => {
    // The port is taken or not ours: nothing to serve, so exit and let the supervisor say so.
    logger.fatal({ err, port: config.http.port }, 'api cannot listen')
    process.exit(1)
  })
  const stop = () => {
    logger.info('api stopping: finishing in-flight requests')
    stopWatching()
    server.close(() => {
      void processor
        .stop()
        .then(() => Promise.all([db.destroy(), escalations.client.connection.close(), closeSharedTemplateEngine(), tracing?.shutdown()]))
        .finally(() => logger.info('api stopped'))
    })
    server.closeIdleConnections()
  }
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
}

main().catch((err) => {
  createLogger({ name: 'api', level: 'ERROR' }).fatal({ err }, 'api failed to start')
  process.exitCode = 1
})
