import { createDb } from '../../activities/db/connect'
import { createApp } from './app'
import { caller, eventually, startStack, type Stack } from '../../test/stack'
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
  const app = createApp({ db, escalations, publicUrl: 'http://x', webUrl: 'http://x', log: () => undefined })
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
