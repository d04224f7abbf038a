import { spawn, type ChildProcess } from 'node:child_process'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import path from 'node:path'
import { temporalAddress, type Stack } from './stack'

// The real worker process, paging through the webhook notifier into a local receiver that can hold requests, for
// the suites that kill a worker with SIGKILL mid-notification.

/** A page receiver: records each request's idempotency key and, while holding, keeps the requests unanswered. */
export class HoldingReceiver {
  readonly received: string[] = []
  readonly held: ServerResponse[] = []
  holding = true
  readonly server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    req.resume()
    req.on('end', () => {
      this.received.push(String(req.headers['idempotency-key']))
      if (this.holding) this.held.push(res)
      else res.writeHead(200).end('ok')
    })
  })

  async listen(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve))
  }

  url(): string {
    return `http://127.0.0.1:${(this.server.address() as { port: number }).port}/pages`
  }

  /** Drops the held requests (as a crash would) and answers every later one at once. */
  release(): void {
    for (const res of this.held.splice(0)) res.destroy()
    this.holding = false
  }

  async close(): Promise<void> {
    for (const res of this.held) res.destroy()
    this.server.closeAllConnections()
    await new Promise((resolve) => this.server.close(resolve))
  }
}

export function startWorkerProcess(stack: Stack, receiverUrl: string): ChildProcess {
  const tsx = path.join(__dirname, '..', 'node_modules', '.bin', 'tsx')
  return spawn(tsx, [path.join(__dirname, '..', 'apps', 'worker', 'main.ts')], {
    detached: true, // its own process group, so the kill reaches tsx's node child too
    stdio: ['ignore', 'ignore', 'inherit'],
    env: {
      ...process.env,
      DATABASE_URL: stack.dbUrl,
      TEMPORAL_ADDRESS: temporalAddress(),
      TEMPORAL_TASK_QUEUE: stack.taskQueue,
      TOCSIN_NOTIFIER: 'webhook',
      TOCSIN_NOTIFY_WEBHOOK_URL: receiverUrl,
      // The receiver listens on loopback, which outbound calls refuse unless allowed.
      TOCSIN_OUTBOUND_ALLOW: '127.0.0.1/32',
      TOCSIN_NOTIFY_TIMEOUT_MS: '60000',
      TOCSIN_LOG_LEVEL: 'WARN',
    },
  })
}

export async function killHard(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise((resolve) => child.once('exit', resolve))
  process.kill(-(child.pid as number), 'SIGKILL')
  await exited
}
