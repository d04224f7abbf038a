import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { chainOf, escalate, ledger, sleep, timelineKinds } from '../test/engine'
import { createOrg, eventually, recordingNotifier, startStack, temporalAddress, type Stack } from '../test/stack'
import { freePort, startDevServer } from '../test/temporal-dev-server'

// Faults in the middle of an escalation: the worker killed during a wait, and the Temporal dev server
// restarted from its persisted state. Afterwards every expected page exists exactly once and the timeline is
// complete.

const tsx = path.join(__dirname, '..', 'node_modules', '.bin', 'tsx')

function startWorkerProcess(stack: Stack, address: string, healthPort: number): ChildProcess {
  return spawn(tsx, [path.join(__dirname, '..', 'apps', 'worker', 'main.ts')], {
    detached: true,
    stdio: ['ignore', 'ignore', 'inherit'],
    env: {
      ...process.env,
      DATABASE_URL: stack.dbUrl,
      TEMPORAL_ADDRESS: address,
      TEMPORAL_TASK_QUEUE: stack.taskQueue,
      TOCSIN_LOG_LEVEL: 'WARN',
      TOCSIN_WORKER_HEALTH_PORT: String(healthPort),
    },
  })
}

/** Waits until the worker process says its pollers run (its readiness endpoint answers 200). */
async function workerPolling(healthPort: number): Promise<void> {
  await eventually(
    async () => ((await fetch(`http://127.0.0.1:${healthPort}/health/ready`).catch(() => undefined))?.status === 200 ? true : undefined),
    60_000,
    'the worker polling',
  )
}

async function kill(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null) return
  const exited = new Promise((resolve) => child.once('exit', resolve))
  process.kill(-(child.pid as number), signal)
  await exited
}

async function expectCompleteTimeline(stack: Stack, groupId: string, pages: number) {
  const kinds = await eventually(async () => {
    const found = await timelineKinds(stack, groupId)
    return found.includes('escalation_finished') && found.filter((k) => k === 'user_notified').length === pages ? found : undefined
  }, 60_000, 'a complete timeline')
  expect(kinds[0]).toBe('created')
  expect(kinds.filter((k) => k === 'step_triggered')).toHaveLength(pages + 1)
  expect(kinds.filter((k) => k === 'user_notified')).toHaveLength(pages)
}

describe('the worker killed during a wait', () => {
  let stack: Stack
  let worker: ChildProcess | undefined
  beforeAll(async () => {
    stack = await startStack('fault_worker', { worker: false })
  })
  afterAll(async () => {
    if (worker) await kill(worker, 'SIGKILL')
    await stack.stop()
  })

  test('the wait fires after the restart and every page exists exactly once', async () => {
    const org = await createOrg(stack, 'Fault Co')
    const alice = (await org.call('POST', '/api/v1/users/', { username: 'alice', email: 'a@f.test' })).body.id
    const bob = (await org.call('POST', '/api/v1/users/', { username: 'bob', email: 'b@f.test' })).body.id
    const chainId = await chainOf(stack, org.call, [
      { type: 'notify_persons', persons_to_notify: [alice] },
      { type: 'wait', seconds: 6 },
      { type: 'notify_persons', persons_to_notify: [bob] },
    ])
    const healthPort = await freePort()
    worker = startWorkerProcess(stack, temporalAddress(), healthPort)
    // Polling before the group exists, so the 6 s wait (counted from the group's creation) is still ahead when it dies.
    await workerPolling(healthPort)
    const group = await escalate(stack, org.organizationId, chainId)
    await eventually(async () => ((await ledger(stack, group.id)).length === 1 ? true : undefined), 60_000, 'the first page')
    await kill(worker, 'SIGKILL')
    worker = startWorkerProcess(stack, temporalAddress(), healthPort)
    const rows = await eventually(async () => {
      const found = await ledger(stack, group.id)
      return found.length >= 2 && found.every((r) => r.delivered_at !== null) ? found : undefined
    }, 60_000, 'the page after the wait')
    expect(rows.map((r) => r.user_id)).toEqual([alice, bob])
    const waited = Date.parse(rows[1]!.created_at.replace(' ', 'T').replace('+00', 'Z')) - Date.parse(group.createdAt)
    expect(waited).toBeGreaterThanOrEqual(6000)
    await expectCompleteTimeline(stack, group.id, 2)
    await sleep(1000)
    expect(await ledger(stack, group.id)).toHaveLength(2)
  }, 120_000)
})

describe('the Temporal server restarted from its persisted state', () => {
  let stack: Stack
  let server: ChildProcess
  let port: number
  let dbFile: string
  beforeAll(async () => {
    port = await freePort()
    dbFile = path.join(mkdtempSync(path.join(tmpdir(), 'tocsin-restart-')), 'temporal.db')
    server = await startDevServer({ port, dbFile })
    stack = await startStack('fault_server', { notifier: recordingNotifier(), temporalAddress: `127.0.0.1:${port}` })
  })
  afterAll(async () => {
    await stack.stop()
    if (server.exitCode === null) server.kill('SIGKILL')
  })

  test('the escalation goes on after the restart, pages exactly once each, and the timeline is complete', async () => {
    const org = await createOrg(stack, 'Restart Co')
    const alice = (await org.call('POST', '/api/v1/users/', { username: 'alice', email: 'a@r.test' })).body.id
    const bob = (await org.call('POST', '/api/v1/users/', { username: 'bob', email: 'b@r.test' })).body.id
    const chainId = await chainOf(stack, org.call, [
      { type: 'notify_persons', persons_to_notify: [alice] },
      { type: 'wait', seconds: 5 },
      { type: 'notify_persons', persons_to_notify: [bob] },
    ])
    const group = await escalate(stack, org.organizationId, chainId)
    await eventually(async () => ((await ledger(stack, group.id)).length === 1 ? true : undefined), 30_000, 'the first page')
    const exited = new Promise((resolve) => server.once('exit', resolve))
    server.kill('SIGTERM')
    await exited
    await sleep(1000)
    server = await startDevServer({ port, dbFile })
    const rows = await eventually(async () => {
      const found = await ledger(stack, group.id)
      return found.length >= 2 ? found : undefined
    }, 60_000, 'the page after the restart')
    expect(rows.map((r) => r.user_id)).toEqual([alice, bob])
    await expectCompleteTimeline(stack, group.id, 2)
    expect((await stack.escalations.client.workflow.getHandle(`alert-group-${group.id}`).describe()).status.name).toBe('RUNNING')
  }, 120_000)
})
