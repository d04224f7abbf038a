import type { ChildProcess } from 'node:child_process'
import { createOrg, eventually, startStack, type Stack } from '../test/stack'
import { HoldingReceiver, killHard, startWorkerProcess } from '../test/worker-process'

// The real worker process, paging through the webhook notifier into a local receiver that can hold requests.
// The worker is killed with SIGKILL while both pages are in flight and started again: each user must end with
// exactly one ledger row, delivered, and the receiver must see exactly the two idempotency keys.

let stack: Stack
const receiver = new HoldingReceiver()
let worker: ChildProcess | undefined

beforeAll(async () => {
  stack = await startStack('worker_restart', { worker: false })
  await receiver.listen()
})
afterAll(async () => {
  if (worker) await killHard(worker)
  await receiver.close()
  await stack.stop()
})

test('a worker killed mid-notification and restarted pages each user exactly once', async () => {
  const receiverUrl = receiver.url()
  const org = await createOrg(stack, 'Restart Inc')
  const users = []
  for (const username of ['dana', 'eli']) {
    users.push((await org.call('POST', '/api/v1/users/', { username, email: `${username}@restart.test` })).body.id as string)
  }
  worker = startWorkerProcess(stack, receiverUrl)
  const paged = await org.call('POST', '/api/v1/escalation/', { users: users.map((id) => ({ id, important: false })) })
  expect(paged.status).toBe(200)
  const alertGroupId = paged.body.id as string

  await eventually(async () => (receiver.held.length === 2 ? true : undefined), 30_000, 'both pages held at the receiver')
  const before = await stack.db.selectFrom('notifications').selectAll().where('alert_group_id', '=', alertGroupId).execute()
  expect(before).toHaveLength(2)
  expect(before.every((row) => row.delivered_at === null)).toBe(true)

  await killHard(worker)
  receiver.release()
  worker = startWorkerProcess(stack, receiverUrl)

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
  expect(new Set(receiver.received)).toEqual(new Set(rows.map((row) => row.idempotency_key)))
  const timeline = (await org.call('GET', `/api/v1/alert_groups/${alertGroupId}/timeline/`)).body.events as Array<{ type: string }>
  expect(timeline.filter((e) => e.type === 'user_notified')).toHaveLength(2)

  expect((await org.call('POST', `/api/v1/alert_groups/${alertGroupId}/resolve/`)).status).toBe(200)
  await stack.escalations.client.workflow.getHandle(`alert-group-${alertGroupId}`).result()
}, 120_000)
