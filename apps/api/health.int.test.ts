import { silentLogger } from '../logger'
import { createDb } from '../../db/connect'
import { createApp } from './app'
import { caller, createOrg, eventually, startStack, type Stack } from '../../test/stack'
import { enqueueAlert } from '../../db/ingestion.repo'
import { Escalations } from '../escalations'
import type { Server } from 'node:http'

let withWorker: Stack
let withoutWorker: Stack

beforeAll(async () => {
  withWorker = await startStack('health_up')
  withoutWorker = await startStack('health_no_worker', { worker: false })
})
afterAll(async () => {
  await withWorker.stop()
  await withoutWorker.stop()
})

test('200 when the database, Temporal and a worker are up', async () => {
  // The worker's first poll may still be on its way when the suite starts.
  const response = await eventually(async () => {
    const r = await caller(withWorker.baseUrl, null)('GET', '/health')
    return r.status === 200 ? r : undefined
  }, 10_000, 'a healthy stack')
  expect(response).toMatchObject({ status: 200, body: { status: 'ok', database: 'up', temporal: 'up', worker: 'up' } })
})

test('503 naming the worker when no worker polls the task queue', async () => {
  const response = await caller(withoutWorker.baseUrl, null)('GET', '/health')
  expect(response).toMatchObject({ status: 503, body: { database: 'up', temporal: 'up', worker: 'down', down: ['worker'] } })
})

test('503 naming the database and Temporal when they cannot be reached', async () => {
  const db = createDb('postgres://postgres@127.0.0.1:1/nothing', { max: 1 })
  const escalations = Escalations.connect({ address: '127.0.0.1:1', namespace: 'default', taskQueue: 'none' })
  const app = createApp({ db, escalations, publicUrl: 'http://x', webUrl: 'http://x', logger: silentLogger() })
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s))
  })
  try {
    const response = await caller(`http://127.0.0.1:${(server.address() as { port: number }).port}`, null)('GET', '/health')
    expect(response.status).toBe(503)
    expect(response.body).toMatchObject({ database: 'down', temporal: 'down', worker: 'down' })
    expect(response.body.down).toEqual(['database', 'temporal', 'worker'])
  } finally {
    server.close()
    await db.destroy()
  }
})

async function listen(app: ReturnType<typeof createApp>): Promise<{ url: string; close: () => void }> {
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s))
  })
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, close: () => server.close() }
}

describe('/health/live and /health/ready', () => {
  test('ready: 200 naming every dependency when PostgreSQL and Temporal answer and the inbox is drained', async () => {
    const call = caller(withWorker.baseUrl, null)
    const ready = await call('GET', '/health/ready')
    expect(ready).toMatchObject({
      status: 200,
      body: {
        status: 'ready',
        process: 'api',
        dependencies: { database: 'up', temporal: 'up', inbox: 'up' },
        inbox: { oldest_age_seconds: 0, bound_seconds: 60 },
      },
    })
    expect(ready.body.down).toBeUndefined()
    // Live does no I/O: it reports what the last probe saw.
    const live = await call('GET', '/health/live')
    expect(live).toMatchObject({ status: 200, body: { status: 'live', process: 'api', dependencies: { database: 'up', temporal: 'up' } } })
    expect(live.body.uptime_seconds).toEqual(expect.any(Number))
  })

  test('PostgreSQL and Temporal unreachable: ready 503 naming them, live still 200, requests refused at once with 503', async () => {
    const db = createDb('postgres://postgres@127.0.0.1:1/nothing', { max: 1 })
    const escalations = Escalations.connect({ address: '127.0.0.1:1', namespace: 'default', taskQueue: 'none' })
    const { url, close } = await listen(createApp({ db, escalations, publicUrl: 'http://x', webUrl: 'http://x', logger: silentLogger() }))
    try {
      const call = caller(url, null)
      const live = await call('GET', '/health/live')
      expect(live).toMatchObject({ status: 200, body: { status: 'live', dependencies: { database: 'unknown', temporal: 'unknown' } } })
      const ready = await call('GET', '/health/ready')
      expect(ready).toMatchObject({
        status: 503,
        body: { status: 'unavailable', dependencies: { database: 'down', temporal: 'down', inbox: 'unknown' }, down: ['database', 'temporal'] },
      })
      expect((await call('GET', '/health/live')).body.dependencies).toEqual({ database: 'down', temporal: 'down' })

      // OnCall's surface: a JSON detail; an integration: plain text, and the alert is not accepted.
      const started = Date.now()
      // A well-formed token, so that the request gets as far as the database.
      const users = await caller(url, 'a'.repeat(64))('GET', '/api/v1/users/')
      expect(users).toMatchObject({ status: 503, body: { detail: 'The database is unavailable. Retry shortly.' } })
      expect(users.headers.get('retry-after')).toBe('5')
      const alert = await call('POST', '/integrations/v1/alertmanager/some-token/', { status: 'firing' })
      expect(alert.status).toBe(503)
      expect(alert.text).toBe('The alert could not be stored, so it was not accepted. Retry shortly.')
      expect(Date.now() - started).toBeLessThan(5000)
    } finally {
      close()
      await db.destroy()
      await escalations.client.connection.close()
    }
  })

  test('ready: 503 naming the inbox when an accepted alert waited longer than the bound', async () => {
    const org = await createOrg(withoutWorker, 'Health inbox')
    const integration = (await org.call('POST', '/api/v1/integrations/', { type: 'webhook', name: 'stale' })).body
    await enqueueAlert(withoutWorker.db, { id: integration.id, organizationId: org.organizationId }, { title: 'waiting' })
    const app = createApp({
      db: withoutWorker.db,
      escalations: withoutWorker.escalations,
      publicUrl: 'http://x',
      webUrl: 'http://x',
      logger: silentLogger(),
      health: { inboxAgeBoundSeconds: 0.2 },
    })
    const { url, close } = await listen(app)
    try {
      const ready = await eventually(async () => {
        const r = await caller(url, null)('GET', '/health/ready')
        return r.status === 503 ? r : undefined
      }, 10_000, 'a stale inbox')
      expect(ready.body).toMatchObject({ dependencies: { database: 'up', temporal: 'up', inbox: 'stale' }, down: ['inbox'], inbox: { bound_seconds: 0.2 } })
      expect(ready.body.inbox.oldest_age_seconds).toBeGreaterThan(0.2)
    } finally {
      close()
      await withoutWorker.db.deleteFrom('ingest_inbox').execute()
    }
  })
})
