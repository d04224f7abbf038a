import { sql } from 'kysely'
import { createDb, ensureDatabase, migrateToLatest, type Db } from '../db/connect'
import { createOrganization } from '../db/organizations.repo'
import { temporalAddress } from '../test/stack'
import { PrivatePostgres } from '../test/private-postgres'
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

// PostgreSQL restarted (immediate shutdown: connections cut like a crash) under a real API and worker while
// alerts arrive: no Tocsin process exits, requests during the outage get 503 (never a 500, never a hang), and
// once the database is back every alert answered 200 is paged, each once.

let postgres: PrivatePostgres
let receiver: PageReceiver
let api: TocsinProcess
let worker: TocsinProcess
let db: Db
let apiUrl: string
let workerHealthUrl: string
let token: string

const diagnostics = () => `--- api log ---\n${api?.log().slice(-6000)}\n--- worker log ---\n${worker?.log().slice(-6000)}`

beforeAll(async () => {
  postgres = await PrivatePostgres.create()
  const url = postgres.url('tocsin')
  await ensureDatabase(url)
  db = createDb(url, { max: 2 })
  await migrateToLatest(db)
  token = (await createOrganization(db, 'Outage PG')).token
  receiver = await PageReceiver.start()
  const [apiPort, workerHealthPort] = await freePorts(2)
  apiUrl = `http://127.0.0.1:${apiPort}`
  workerHealthUrl = `http://127.0.0.1:${workerHealthPort}`
  const env = tocsinEnv({
    databaseUrl: url,
    temporalAddress: temporalAddress(),
    taskQueue: `tocsin-outage-pg-${process.pid}`,
    pageUrl: receiver.url,
    apiPort: apiPort as number,
    workerHealthPort: workerHealthPort as number,
  })
  // Start order: the database is down when the API and the worker start.
  await postgres.stopImmediately()
  api = TocsinProcess.spawn('api', env)
  worker = TocsinProcess.spawn('worker', env)
}, 120_000)

afterAll(async () => {
  await Promise.all([api?.stop(), worker?.stop()])
  await db?.destroy()
  await receiver?.close()
  await postgres?.destroy()
})

test('started before PostgreSQL, the API and the worker wait for it, saying so, and answer 503 meanwhile', async () => {
  const live = await until('the API to listen', () => health(`${apiUrl}/health/live`), 60_000, diagnostics)
  expect(live).toMatchObject({ status: 200, body: { status: 'live', process: 'api' } })
  await until('the API to log what it waits for', () => (/waiting for PostgreSQL/.test(api.log()) ? true : undefined), 30_000, diagnostics)
  const ready = await health(`${apiUrl}/health/ready`)
  expect(ready?.status).toBe(503)
  expect(ready?.body).toMatchObject({ status: 'unavailable', dependencies: { database: 'down', inbox: 'unknown' } })
  expect(ready?.body.down).toContain('database')

  // OnCall's surface: 503 with a JSON detail; an integration: 503, the alert not accepted.
  const users = await oncall(apiUrl, token)('GET', '/api/v1/users/')
  expect(users).toEqual({ status: 503, body: { detail: 'The database is unavailable. Retry shortly.' } })
  const alert = await fetch(`${apiUrl}/integrations/v1/alertmanager/not-a-real-token/`, { method: 'POST', body: '{}' })
  expect(alert.status).toBe(503)
  expect(alert.headers.get('retry-after')).toBe('5')

  await until('the worker to log what it waits for', () => (/waiting for PostgreSQL/.test(worker.log()) ? true : undefined), 60_000, diagnostics)
  await postgres.start()
  await until('the API to be ready', async () => ((await health(`${apiUrl}/health/ready`))?.status === 200 ? true : undefined), 60_000, diagnostics)
  await until('the worker to be ready', async () => ((await health(`${workerHealthUrl}/health/ready`))?.status === 200 ? true : undefined), 90_000, diagnostics)
  expect(api.running && worker.running).toBe(true)
}, 180_000)

test('a restart under a steady alert stream: no process exits, 503s during the outage, every accepted alert paged once', async () => {
  const { urls } = await configurePaging(apiUrl, token, 'pg')
  const stream = new AlertStream(urls, { ratePerSecond: 10, maxAlerts: 280, prefix: 'pg' })
  stream.start()
  try {
    await until('alerts accepted before the fault', () => (stream.accepted().length >= 10 ? true : undefined), 30_000, diagnostics)
    await postgres.stopImmediately()
    const downAt = Date.now()
    await until('alerts refused during the outage', () => (stream.count((r) => r.sentAt > downAt && r.status === 503) >= 5 ? true : undefined), 30_000, diagnostics)
    const lifecycle = await oncall(apiUrl, token)('GET', '/api/v1/alert_groups/')
    expect(lifecycle).toEqual({ status: 503, body: { detail: 'The database is unavailable. Retry shortly.' } })
    await postgres.start()
    const upAt = Date.now()
    await until('alerts accepted after the restart', () => (stream.count((r) => r.sentAt > upAt && r.status === 200) >= 10 ? true : undefined), 60_000, diagnostics)
  } finally {
    await stream.stop()
  }

  const accepted = stream.accepted()
  await until(
    'every accepted alert to be paged',
    () => (outcome(stream.results, receiver.deliveries).lost === 0 ? true : undefined),
    150_000,
    () => `${JSON.stringify(outcome(stream.results, receiver.deliveries).lostTitles)}\n${diagnostics()}`,
  )
  const result = outcome(stream.results, receiver.deliveries)
  expect(result).toMatchObject({ lost: 0, duplicated: 0 })
  expect(accepted.length).toBeGreaterThanOrEqual(20)
  // Refusals were prompt 503s: no 500, no connection refused, no hang.
  const refusals = stream.results.filter((r) => r.status !== 200)
  expect(refusals.length).toBeGreaterThanOrEqual(5)
  expect(new Set(refusals.map((r) => r.status))).toEqual(new Set([503]))
  expect(Math.max(...refusals.map((r) => r.answeredAt - r.sentAt))).toBeLessThan(10_000)
  // The ledger agrees: one notification per alert group.
  const twice = await sql<{ n: number }>`
    select count(*)::int as n from (select alert_group_id from notifications group by alert_group_id having count(*) > 1) t`.execute(db)
  expect(twice.rows[0]?.n).toBe(0)
  expect(api.running && worker.running).toBe(true)
  expect(api.log()).not.toMatch(/"level":60/)
  expect(worker.log()).not.toMatch(/"level":60/)
}, 300_000)
