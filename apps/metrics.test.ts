import { createServer, type Server } from 'node:http'
import { noActivityMetrics, observeLateness } from '../activities/metrics'
import { createMetrics, writeMetrics, type InboxStats } from './metrics'

/** The value of one sample in Prometheus's text format, or undefined when the series is absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `))
  return line === undefined ? undefined : Number(line.slice(series.length + 1))
}

test('every registry is its own: counting in one leaves another untouched', async () => {
  const a = createMetrics()
  const b = createMetrics()
  a.alertsReceived.inc({ integration_type: 'alertmanager' })
  a.alertsReceived.inc({ integration_type: 'alertmanager' })
  expect(sample(await a.registry.metrics(), 'tocsin_alerts_received_total{integration_type="alertmanager"}')).toBe(2)
  expect(sample(await b.registry.metrics(), 'tocsin_alerts_received_total{integration_type="alertmanager"}')).toBeUndefined()
})

test('the exposition describes every metric family an operator relies on', async () => {
  const text = await createMetrics({ inbox: async () => ({ depth: 0, oldestAgeSeconds: 0 }), workerPolling: () => true }).registry.metrics()
  const families = [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map(([, name, type]) => `${name} ${type}`)
  expect(families.sort()).toEqual(
    [
      'tocsin_alerts_grouped_total counter',
      'tocsin_alerts_received_total counter',
      'tocsin_escalation_events_total counter',
      'tocsin_ingest_inbox_depth gauge',
      'tocsin_ingest_inbox_oldest_age_seconds gauge',
      'tocsin_ingest_rate_limited_total counter',
      'tocsin_pages_total counter',
      'tocsin_step_lateness_seconds histogram',
      'tocsin_webhook_calls_total counter',
      'tocsin_worker_polling gauge',
    ].sort(),
  )
  expect(text).toMatch(/^# HELP tocsin_step_lateness_seconds .+/m)
})

test('what the activities report lands in the counters and the lateness histogram', async () => {
  const metrics = createMetrics()
  metrics.activities.escalationEvent('started')
  metrics.activities.escalationEvent('acknowledged')
  metrics.activities.pageSent('webhook', 'delivered')
  metrics.activities.pageSent('webhook', 'failed')
  metrics.activities.webhookCalled('escalation', '200')
  metrics.activities.stepLateness('notify_persons', 3)
  metrics.activities.stepLateness('notify_persons', 0.01)
  const text = await metrics.registry.metrics()
  expect(sample(text, 'tocsin_escalation_events_total{event="started"}')).toBe(1)
  expect(sample(text, 'tocsin_escalation_events_total{event="acknowledged"}')).toBe(1)
  expect(sample(text, 'tocsin_pages_total{channel="webhook",outcome="delivered"}')).toBe(1)
  expect(sample(text, 'tocsin_pages_total{channel="webhook",outcome="failed"}')).toBe(1)
  expect(sample(text, 'tocsin_webhook_calls_total{trigger="escalation",status="200"}')).toBe(1)
  expect(sample(text, 'tocsin_step_lateness_seconds_bucket{le="0.05",step_type="notify_persons"}')).toBe(1)
  expect(sample(text, 'tocsin_step_lateness_seconds_bucket{le="2",step_type="notify_persons"}')).toBe(1)
  expect(sample(text, 'tocsin_step_lateness_seconds_bucket{le="5",step_type="notify_persons"}')).toBe(2)
  expect(sample(text, 'tocsin_step_lateness_seconds_count{step_type="notify_persons"}')).toBe(2)
  expect(sample(text, 'tocsin_step_lateness_seconds_sum{step_type="notify_persons"}')).toBeCloseTo(3.01)
})

test('lateness is measured from the step\'s due instant, never negative, and only for escalation steps', () => {
  const observed: Array<[string, number]> = []
  const metrics = { ...noActivityMetrics, stepLateness: (type: string, seconds: number) => void observed.push([type, seconds]) }
  const due = { dueAt: '2026-05-01T10:00:00.000Z', stepIndex: 2, stepType: 'trigger_webhook' }
  observeLateness(metrics, due, new Date('2026-05-01T10:00:02.500Z'))
  observeLateness(metrics, due, new Date('2026-05-01T09:59:59.900Z')) // a worker clock slightly behind Temporal's
  observeLateness(metrics, undefined, new Date()) // a direct page: no step, no lateness
  observeLateness(metrics, { ...due, dueAt: 'not a date' }, new Date())
  expect(observed).toEqual([
    ['trigger_webhook', 2.5],
    ['trigger_webhook', 0],
  ])
})

test('the inbox gauges are read at each scrape, with one read for both', async () => {
  let reads = 0
  let stats: InboxStats = { depth: 3, oldestAgeSeconds: 42.5 }
  const metrics = createMetrics({ inbox: async () => (reads++, stats) })
  let text = await metrics.registry.metrics()
  expect(reads).toBe(1)
  expect(sample(text, 'tocsin_ingest_inbox_depth')).toBe(3)
  expect(sample(text, 'tocsin_ingest_inbox_oldest_age_seconds')).toBe(42.5)
  stats = { depth: 0, oldestAgeSeconds: 0 }
  text = await metrics.registry.metrics()
  expect(reads).toBe(2)
  expect(sample(text, 'tocsin_ingest_inbox_depth')).toBe(0)
})

test('an inbox that cannot be read drops its gauges from the scrape instead of failing it or reporting stale values', async () => {
  let failing = false
  const metrics = createMetrics({
    inbox: async () => {
      if (failing) throw new Error('connection refused')
      return { depth: 5, oldestAgeSeconds: 9 }
    },
  })
  metrics.alertsGrouped.inc()
  expect(sample(await metrics.registry.metrics(), 'tocsin_ingest_inbox_depth')).toBe(5)
  failing = true
  const text = await metrics.registry.metrics()
  expect(sample(text, 'tocsin_ingest_inbox_depth')).toBeUndefined()
  expect(sample(text, 'tocsin_ingest_inbox_oldest_age_seconds')).toBeUndefined()
  expect(sample(text, 'tocsin_alerts_grouped_total')).toBe(1)
})

test('without a database the inbox gauges are not exported; the worker gauge follows its pollers', async () => {
  let polling = false
  const metrics = createMetrics({ workerPolling: () => polling })
  let text = await metrics.registry.metrics()
  expect(text).not.toContain('tocsin_ingest_inbox_depth')
  expect(sample(text, 'tocsin_worker_polling')).toBe(0)
  polling = true
  text = await metrics.registry.metrics()
  expect(sample(text, 'tocsin_worker_polling')).toBe(1)
})

test('process metrics are opt-in, so that tests do not start collectors', async () => {
  expect(await createMetrics().registry.metrics()).not.toContain('process_cpu_user_seconds_total')
  expect(await createMetrics({ processMetrics: true }).registry.metrics()).toContain('process_cpu_user_seconds_total')
})

test('writeMetrics answers in Prometheus\'s text format', async () => {
  const metrics = createMetrics()
  metrics.rateLimitRefusals.inc({ scope: 'integration' })
  const server: Server = createServer((_req, res) => void writeMetrics(metrics.registry, res))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  try {
    const response = await fetch(`http://127.0.0.1:${(server.address() as { port: number }).port}/metrics`)
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/)
    expect(sample(await response.text(), 'tocsin_ingest_rate_limited_total{scope="integration"}')).toBe(1)
  } finally {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  }
})
