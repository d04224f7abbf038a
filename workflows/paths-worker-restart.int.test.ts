import type { ChildProcess } from 'node:child_process'
import { escalateProgram, ledger } from '../test/engine'
import { createOrg, eventually, startStack, type Stack } from '../test/stack'
import { HoldingReceiver, killHard, startWorkerProcess } from '../test/worker-process'
import { compilePath } from './incident-io/compile'

// An incident.io path on the real worker process, paging through the webhook notifier into a receiver that holds
// the requests. The worker is killed with SIGKILL while level 1's pages are in flight and started again after level
// 2 became due: every user of every level ends with exactly one ledger row, delivered, and the receiver sees exactly
// those idempotency keys.

let stack: Stack
const receiver = new HoldingReceiver()
let worker: ChildProcess | undefined

beforeAll(async () => {
  stack = await startStack('paths_worker_restart', { worker: false })
  await receiver.listen()
})
afterAll(async () => {
  if (worker) await killHard(worker)
  await receiver.close()
  await stack.stop()
})

test('a worker killed mid-level and restarted after the next level is due loses and duplicates no page', async () => {
  const receiverUrl = receiver.url()
  const org = await createOrg(stack, 'Path Restart Inc')
  const ids: Record<string, string> = {}
  for (const username of ['dana', 'eli', 'fay']) {
    ids[username] = (await org.call('POST', '/api/v1/users/', { username, email: `${username}@restart.test` })).body.id as string
  }
  const program = compilePath(
    {
      id: 'P-restart',
      name: 'restart path',
      working_hours: [],
      path: [
        { id: 'L1', type: 'level', level: { targets: ['dana', 'eli'].map((u) => ({ id: ids[u] as string, type: 'user', urgency: 'high' })), time_to_ack_seconds: 3 } },
        { id: 'L2', type: 'level', level: { targets: [{ id: ids.fay as string, type: 'user', urgency: 'low' }], time_to_ack_seconds: 60 } },
      ],
    },
    { priority: 'P1' },
  )
  worker = startWorkerProcess(stack, receiverUrl)
  const group = await escalateProgram(stack, org.organizationId, program)

  // A slow worker start can find level 2 due already and page all three at once: either way, pages are in flight.
  await eventually(async () => (receiver.held.length >= 2 ? true : undefined), 60_000, 'the level-1 pages held at the receiver')
  await killHard(worker)
  receiver.release()
  // Level 2 is due (3 s after the start) before a worker runs again.
  await eventually(async () => (Date.now() - Date.parse(group.createdAt) > 3500 ? true : undefined), 10_000, 'level 2 due')
  worker = startWorkerProcess(stack, receiverUrl)

  // The level-1 retries come after the notify activity's start-to-close timeout (15 s) expires on the server.
  const rows = await eventually(
    async () => {
      const found = await ledger(stack, group.id)
      return found.length === 3 && found.every((row) => row.delivered_at !== null) ? found : undefined
    },
    60_000,
    'all three ledger rows delivered after the restart',
  )
  expect(rows.map((row) => row.user_id).sort()).toEqual(Object.values(ids).sort())
  expect(rows.find((row) => row.user_id === ids.fay)?.important).toBe(false)
  expect(new Set(receiver.received)).toEqual(new Set(rows.map((row) => row.idempotency_key)))

  expect(await stack.escalations.act(group.id, 'cancel', { kind: 'ops', name: 'test' })).toEqual({ kind: 'done' })
  await stack.escalations.client.workflow.getHandle(`alert-group-${group.id}`).result()
  expect(await ledger(stack, group.id)).toHaveLength(3)
}, 180_000)
