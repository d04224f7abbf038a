import { spawn, type ChildProcess } from 'node:child_process'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import path from 'node:path'
import { createOrg, eventually, startStack, temporalAddress, type Stack } from '../test/stack'

// The real worker process, paging through the webhook notifier into a local receiver that can hold requests.
// The worker is killed with SIGKILL while both pages are in flight and started again: each user must end with
// exactly one ledger row, delivered, and the receiver must see exactly the two idempotency keys.

let stack: Stack
const received: string[] = []
let holding = true
const held: ServerResponse[] = []
const receiver = createServer((req: IncomingMessage, res: ServerResponse) => {
  req.resume()
  req.on('end', () => {
    received.push(String(req.headers['idempotency-key']))
    if (holding) held.push(res)
    else res.writeHead(200).end('ok')
  })
})

function startWorker(receiverUrl: string): ChildProcess {
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

async function killHard(child: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => child.once('exit', resolve))
  process.kill(-(child.pid as number), 'SIGKILL')
  await exited
}

let worker: ChildProcess | undefined

beforeAll(async () => {
  stack = await startStack('worker_restart', { worker: false })
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve))
})
afterAll(async () => {
  if (worker && worker.exitCode === null) await killHard(worker)
  for (const res of held) res.destroy()
  receiver.closeAllConnections()
  await new Promise((resolve) => receiver.close(resolve))
  await stack.stop()
})

test('a worker killed mid-notification and restarted pages each user exactly once', async () => {
  const receiverUrl = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/pages`
  const org = await createOrg(stack, 'Restart Inc')
  const users = []
  for (const username of ['dana', 'eli']) {
    users.push((await org.call('POST', '/api/v1/users/', { username, email: `${username}@restart.test` })).body.id as string)
  }
  worker = startWorker(receiverUrl)
  const paged = await org.call('POST', '/api/v1/escalation/', { users: users.map((id) => ({ id, important: false })) })
  expect(paged.status).toBe(200)
  const alertGroupId = paged.body.id as string

  await eventually(async () => (held.length === 2 ? true : undefined), 30_000, 'both pages held at the receiver')
  const before = await stack.db.selectFrom('notifications').selectAll().where('alert_group_id', '=', alertGroupId).execute()
  expect(before).toHaveLength(2)
  expect(before.every((row) => row.delivered_at === null)).toBe(true)

  await killHard(worker)
  for (const res of held.splice(0)) res.destroy()
  holding = false
  worker = startWorker(receiverUrl)

  // The retries come after the notify activity's start-to-close timeout (15 s) expires on the server.
  const rows = await eventually(
    async () => {
      const found = await stack.db.selectFrom('notifications').selectAll().where('alert_group_id', '=', alertGroupId).execute()
      return found.length === 2 && found.every((row) => row.delivered_at !== null) ? found : undefined
    },
    60_000,
    'both ledger rows delivered after the restart',
  )
  expect(rows.map((row) => row.user_id).sort()).toEqual([...users].sort())
  expect(new Set(received)).toEqual(new Set(rows.map((row) => row.idempotency_key)))
  const timeline = (await org.call('GET', `/api/v1/alert_groups/${alertGroupId}/timeline/`)).body.events as Array<{ type: string }>
  expect(timeline.filter((e) => e.type === 'user_notified')).toHaveLength(2)

  expect((await org.call('POST', `/api/v1/alert_groups/${alertGroupId}/resolve/`)).status).toBe(200)
  await stack.escalations.client.workflow.getHandle(`alert-group-${alertGroupId}`).result()
}, 120_000)
