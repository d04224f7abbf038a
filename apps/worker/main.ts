import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker'
import { createDb } from '../../activities/db/connect'
import { refreshDueIcalCopies } from '../../activities/db/schedule-ical'
import { createNotifier } from '../../activities/notifications'
import { TemplateEngine } from '../ingest/templates'
import { loadConfig } from '../config'
import { createEscalationWorker } from './worker'

const ICAL_REFRESH_EVERY_MS = 60_000

async function main(): Promise<void> {
  const config = loadConfig()
  Runtime.install({ logger: new DefaultLogger(config.logLevel) })
  const db = createDb(config.db.url)
  const connection = await NativeConnection.connect({ address: config.temporal.address })
  const templates = new TemplateEngine()
  try {
    const worker = await createEscalationWorker({
      connection,
      namespace: config.temporal.namespace,
      taskQueue: config.temporal.taskQueue,
      db,
      notifier: createNotifier(config.notifier),
      shutdownGraceMs: config.worker.shutdownGraceMs,
      templates,
      chatWebhookUrl: config.notifier.chatWebhookUrl,
    })
    console.log(`worker polling task queue ${config.temporal.taskQueue} on ${config.temporal.address}`)
    // iCal schedules are refreshed in the background too, so a page never waits on a calendar host; a failed
    // refresh keeps the last good copy (and marks it stale).
    const icalRefresh = setInterval(() => {
      refreshDueIcalCopies(db).catch((err) => console.error('ical refresh failed', err))
    }, ICAL_REFRESH_EVERY_MS)
    icalRefresh.unref()
    // The SDK runtime turns SIGINT/SIGTERM into a graceful shutdown: run() resolves once in-flight work drained.
    await worker.run()
    clearInterval(icalRefresh)
    console.log('worker drained and stopped')
  } finally {
    await connection.close()
    await templates.close()
    await db.destroy()
  }
}

main().catch((err) => {
  console.error(err)
  process.exitCode = 1
})
