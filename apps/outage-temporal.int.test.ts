import type { ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { sql } from 'kysely'
import type { Db } from '../db/connect'
import { createOrganization } from '../db/organizations.repo'
import { createTestDatabase } from '../test/stack'
import { startDevServer } from '../test/temporal-dev-server'
import {
  AlertStream,
  PageReceiver,
  TocsinProcess,
  configurePaging,
  freePorts,
  health,
  oncall,
  outcome,
  tocsinEnv,
  until,
} from '../test/outage-harness'

// The Temporal dev server killed and restarted (same state file) under a real API and worker while alerts
// arrive: ingestion keeps accepting into the inbox, paging and lifecycle calls answer 503, the worker reconnects
// by itself, and once Temporal is back every alert answered 200 is paged, each once. A suite of its own server,
// so that restarting it disturbs no other suite.

let temporal: ChildProcess | undefined
let temporalPort: number
let stateDir: string
let receiver: PageReceiver
let api: TocsinProcess
let worker: TocsinProcess
let db: Db
let apiUrl: string
let workerHealthUrl: string
let token: string

const diagnostics = () => `--- api log ---\n${api?.log().slice(-6000)}\n--- worker log ---\n${worker?.log().slice(-6000)}`

async function startTemporal(): Promise<void> {
  temporal = await startDevServer({ port: temporalPort, dbFile: path.join(stateDir, 'temporal.db') })
}

async function killTemporal(): Promise<void> {
  const child = temporal
  if (!child || child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise((resolve) => child.once('exit', resolve))
  child.kill('SIGKILL')
  await exited
}

beforeAll(async () => {
  stateDir = mkdtempSync(path.join(tmpdir(), 'tocsin-outage-temporal-'))
  const created = await createTestDatabase('outage_temporal')
  db = created.db
  token = (await createOrganization(db, 'Outage Temporal')).token
  receiver = await PageReceiver.start()
  const [apiPort, workerHealthPort, port] = await freePorts(3)
  temporalPort = port as number
  apiUrl = `http://127.0.0.1:${apiPort}`
  workerHealthUrl = `http://127.0.0.1:${workerHealthPort}`
  const env = tocsinEnv({
    databaseUrl: created.url,
    temporalAddress: `127.0.0.1:${temporalPort}`,
    taskQueue: `tocsin-outage-temporal-${process.pid}`,
    pageUrl: receiver.url,
    apiPort: apiPort as number,
    workerHealthPort: workerHealthPort as number,
  })
  // Start order: Temporal is not running yet when the API and the worker start.
  api = TocsinProcess.spawn('api', env)
  worker = TocsinProcess.spawn('worker', env)
}, 120_000)

afterAll(async () => {
  await Promise.all([api?.stop(), worker?.stop()])
  await killTemporal()
  await db?.destroy()
  await receiver?.close()
  rmSync(stateDir, { recursive: true, force: true })
})

test('started before Temporal, the worker waits for it, saying so; both become ready once it runs', async () => {
  await until('the worker to log what it waits for', () => (/waiting for Temporal/.test(worker.log()) ? true : undefined), 60_000, diagnostics)
  const workerLive = await until('the worker health endpoint', () => health(`${workerHealthUrl}/health/live`), 30_000, diagnostics)
  expect(workerLive).toMatchObject({ status: 200, body: { status: 'live', process: 'worker', dependencies: { pollers: 'connecting' } } })
  const workerReady = await health(`${workerHealthUrl}/health/ready`)
  expect(workerReady).toMatchObject({ status: 503, body: { dependencies: { database: 'up', temporal: 'down', pollers: 'connecting' } } })
  expect(workerReady?.body.down).toEqual(['temporal', 'pollers'])
  await until('the API to listen', () => health(`${apiUrl}/health/live`), 30_000, diagnostics)
  const apiReady = await health(`${apiUrl}/health/ready`)
  expect(apiReady).toMatchObject({ status: 503, body: { dependencies: { database: 'up', temporal: 'down', inbox: 'up' }, down: ['temporal'] } })

  await startTemporal()
  await until('the worker to be ready', async () => ((await health(`${workerHealthUrl}/health/ready`))?.status === 200 ? true : undefined), 90_000, diagnostics)
  await until('the API to be ready', async () => ((await health(`${apiUrl}/health/ready`))?.status === 200 ? true : undefined), 30_000, diagnostics)
  expect(api.running && worker.running).toBe(true)
}, 180_000)

test('a restart under a steady alert stream: alerts still accepted, paging answers 503, every accepted alert paged once', async () => {
  const call = oncall(apiUrl, token)
  const { urls, userId } = await configurePaging(apiUrl, token, 'temporal', 2)
  const stream = new AlertStream(urls, { ratePerSecond: 3, maxAlerts: 280, prefix: 'temporal' })
  stream.start()
  const workerPid = worker.pid
  try {
    await until('alerts accepted before the fault', () => (stream.accepted().length >= 6 ? true : undefined), 30_000, diagnostics)
    const group = await until(
      'an alert group to act on',
      async () => ((await call('GET', '/api/v1/alert_groups/')).body.results?.[0] as { id: string } | undefined),
      30_000,
      diagnostics,
    )
    await killTemporal()
    const downAt = Date.now()
    // The engine is away: paging and lifecycle actions are refused with a clear message, nothing half-done.
    const [page, acknowledge] = await Promise.all([
      call('POST', '/api/v1/escalation/', { title: 'during the outage', users: [{ id: userId, important: false }] }),
      call('POST', `/api/v1/alert_groups/${group.id}/acknowledge/`),
    ])
    expect(page).toEqual({ status: 503, body: { detail: expect.stringMatching(/escalation engine is unavailable/) } })
    expect(acknowledge).toEqual({ status: 503, body: { detail: expect.stringMatching(/escalation engine is unavailable/) } })
    // Ingestion does not need Temporal: alerts keep being accepted into the inbox.
    await until('alerts accepted during the outage', () => (stream.count((r) => r.sentAt > downAt && r.status === 200) >= 8 ? true : undefined), 30_000, diagnostics)
    expect((await health(`${apiUrl}/health/ready`))?.body).toMatchObject({ dependencies: { temporal: 'down' } })
    await startTemporal()
    const upAt = Date.now()
    await until('alerts accepted after the restart', () => (stream.count((r) => r.sentAt > upAt && r.status === 200) >= 5 ? true : undefined), 60_000, diagnostics)
  } finally {
    await stream.stop()
  }

  await until(
    'every accepted alert to be paged',
    () => (outcome(stream.results, receiver.deliveries).lost === 0 ? true : undefined),
    150_000,
    () => `${JSON.stringify(outcome(stream.results, receiver.deliveries).lostTitles)}\n${diagnostics()}`,
  )
  const result = outcome(stream.results, receiver.deliveries)
  expect(result).toMatchObject({ refused: 0, lost: 0, duplicated: 0 })
  const twice = await sql<{ n: number }>`
    select count(*)::int as n from (select alert_group_id from notifications group by alert_group_id having count(*) > 1) t`.execute(db)
  expect(twice.rows[0]?.n).toBe(0)
  // The same worker process, reconnected by itself.
  expect(worker.pid).toBe(workerPid)
  expect(api.running && worker.running).toBe(true)
  expect(api.log()).not.toMatch(/"level":60/)
  expect(worker.log()).not.toMatch(/"level":60/)
}, 300_000)
