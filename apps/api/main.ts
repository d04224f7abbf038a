import { createDb } from '../../activities/db/connect'
import { loadConfig } from '../config'
import { Escalations } from '../escalations'
import { IngestionProcessor } from '../ingest/processor'
import { createApp } from './app'

async function main(): Promise<void> {
  const config = loadConfig()
  const db = createDb(config.db.url)
  const escalations = Escalations.connect(config.temporal)
  const log = (message: string, err?: unknown) => console.error(message, err ?? '')
  // Every API process also drains the alert inbox; processors share it by integration.
  const processor = new IngestionProcessor(db, escalations, log)
  processor.start()
  const app = createApp({
    db,
    escalations,
    ingestion: { onAccepted: () => processor.kick() },
    publicUrl: config.http.publicUrl,
    webUrl: config.http.webUrl,
    log: (message, err) => console.error(message, err ?? ''),
  })
  const server = app.listen(config.http.port, () => {
    console.log(`api listening on http://localhost:${config.http.port} (public URL ${config.http.publicUrl})`)
  })
  const stop = () => {
    console.log('api stopping: finishing in-flight requests')
    server.close(() => {
      void processor
        .stop()
        .then(() => Promise.all([db.destroy(), escalations.client.connection.close()]))
        .finally(() => console.log('api stopped'))
    })
    server.closeIdleConnections()
  }
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
}

main().catch((err) => {
  console.error(err)
  process.exitCode = 1
})
