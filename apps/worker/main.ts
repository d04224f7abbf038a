import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker'
import { createDb } from '../../activities/db/connect'
import { createNotifier } from '../../activities/notifications'
import { TemplateEngine } from '../ingest/templates'
import { loadConfig } from '../config'
import { createEscalationWorker } from './worker'

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
    // The SDK runtime turns SIGINT/SIGTERM into a graceful shutdown: run() resolves once in-flight work drained.
    await worker.run()
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
