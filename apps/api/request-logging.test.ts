import express from 'express'
import type { Server } from 'node:http'
import { createLogger, redactUrl } from '../logger'
import { CapturedLogs } from '../../test/observed-stack'
import { requestIdOf, requestLogging } from './request-logging'

const logs = new CapturedLogs()
let server: Server
let baseUrl: string

beforeAll(async () => {
  const app = express()
  app.use(requestLogging(createLogger({ name: 'api', level: 'INFO', destination: logs })))
  app.get('/api/v1/users/', (req, res) => {
    req.log.info('listing users')
    res.json({ results: [] })
  })
  app.post('/integrations/v1/:type/:token', (_req, res) => void res.status(200).json('Ok.'))
  app.get('/health/live', (_req, res) => void res.json({ status: 'live' }))
  app.get('/boom', () => {
    throw new Error('boom')
  })
  server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s))
  })
  baseUrl = `http://127.0.0.1:${(server.address() as { port: number }).port}`
})
afterAll(async () => {
  server.closeAllConnections()
  await new Promise((resolve) => server.close(resolve))
})

/** Log lines of one request, by its id; waits for the line pino-http writes once the response is finished. */
async function linesOf(requestId: string, count = 1) {
  for (let i = 0; i < 100; i++) {
    const found = logs.lines.filter((l) => l.requestId === requestId)
    if (found.length >= count) return found
    await new Promise((resolve) => setImmediate(resolve))
  }
  throw new Error(`no log line for request ${requestId}`)
}

test('a sane incoming X-Request-Id is kept, echoed, and on every line of the request', async () => {
  const response = await fetch(`${baseUrl}/api/v1/users/`, { headers: { 'x-request-id': 'req-0f3a.77:b' } })
  expect(response.headers.get('x-request-id')).toBe('req-0f3a.77:b')
  const lines = await linesOf('req-0f3a.77:b', 2)
  expect(lines.map((l) => l.msg)).toEqual(['listing users', 'GET 200'])
  expect(lines[1]).toMatchObject({ level: 30, req: { method: 'GET', url: '/api/v1/users/' }, res: { statusCode: 200 } })
  expect(typeof lines[1]?.responseTime).toBe('number')
})

test.each([['with spaces'], ['x'.repeat(129)], ['<script>'], ['line\\nbreak']])('an incoming X-Request-Id like %j is replaced by a fresh one', async (incoming) => {
  const response = await fetch(`${baseUrl}/api/v1/users/`, { headers: { 'x-request-id': incoming } })
  const id = response.headers.get('x-request-id') as string
  expect(id).toMatch(/^[0-9a-f-]{36}$/)
  expect((await linesOf(id, 2)).map((l) => l.msg)).toEqual(['listing users', 'GET 200'])
  expect(logs.text).not.toContain(incoming)
})

test('without an incoming id every request gets a new one', async () => {
  const [a, b] = await Promise.all([fetch(`${baseUrl}/api/v1/users/`), fetch(`${baseUrl}/api/v1/users/`)])
  expect(a.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/)
  expect(a.headers.get('x-request-id')).not.toBe(b.headers.get('x-request-id'))
})

test('neither the Authorization header nor an alert URL\'s integration token reaches the log', async () => {
  const token = 'tkn_9d2b5c1e7f0a4b8c'
  const integrationToken = 'JxK2mP9qRt4vW7yZ'
  const a = await fetch(`${baseUrl}/api/v1/users/?api_key=k3y-v4lu3&page=2`, { headers: { authorization: token, cookie: `session=${token}` } })
  const b = await fetch(`${baseUrl}/integrations/v1/alertmanager/${integrationToken}/`, { method: 'POST', body: '{}' })
  const [listed] = (await linesOf(a.headers.get('x-request-id') as string, 2)).slice(-1)
  expect(listed?.req.url).toBe('/api/v1/users/?api_key=[redacted]&page=2')
  const [alert] = await linesOf(b.headers.get('x-request-id') as string)
  expect(alert?.req.url).toBe('/integrations/v1/alertmanager/[redacted]/')
  for (const secret of [token, integrationToken, 'k3y-v4lu3']) expect(logs.text).not.toContain(secret)
})

test('health probes are not logged; a failing request is logged as an error', async () => {
  const live = await fetch(`${baseUrl}/health/live`)
  const boom = await fetch(`${baseUrl}/boom`)
  expect(boom.status).toBe(500)
  const [failed] = await linesOf(boom.headers.get('x-request-id') as string)
  expect(failed).toMatchObject({ level: 50, res: { statusCode: 500 } })
  expect(logs.lines.some((l) => l.requestId === live.headers.get('x-request-id'))).toBe(false)
})

test('requestIdOf and redactUrl', () => {
  expect(requestIdOf(['abc', 'def'])).toBe('abc')
  expect(requestIdOf(undefined)).toMatch(/^[0-9a-f-]{36}$/)
  expect(redactUrl('/integrations/v1/grafana/abc/heartbeat/?x=1')).toBe('/integrations/v1/grafana/[redacted]/heartbeat/?x=1')
  expect(redactUrl('/api/v1/alert_groups/?token=a&secret=b&password=c&team_id=T1')).toBe('/api/v1/alert_groups/?token=[redacted]&secret=[redacted]&password=[redacted]&team_id=T1')
  expect(redactUrl('/api/v1/users/')).toBe('/api/v1/users/')
})
