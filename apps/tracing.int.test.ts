import { Worker } from '@temporalio/worker'
import { readdirSync, readFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import path from 'node:path'
import { createOrg, eventually, recordingNotifier } from '../test/stack'
import { startObservedStack, type ObservedStack } from '../test/observed-stack'
import { startTracing, type Tracing } from './tracing'

// Traces across API → workflow → activities, exported over OTLP/HTTP: a loopback server plays the collector and
// receives, for one page request, the API's span, the workflow's and the activity's, all in the request's trace.

interface ReceivedSpan {
  traceId: string
  spanId: string
  parentSpanId?: string
  name: string
  kind: number
  service: string
}
const spans: ReceivedSpan[] = []
const collector: Server = createServer((req, res) => {
  let body = ''
  req.on('data', (chunk) => (body += chunk))
  req.on('end', () => {
    if (req.method === 'POST' && req.url === '/v1/traces') {
      const payload = JSON.parse(body) as {
        resourceSpans: Array<{
          resource: { attributes: Array<{ key: string; value: { stringValue?: string } }> }
          scopeSpans: Array<{ spans: Array<Omit<ReceivedSpan, 'service'>> }>
        }>
      }
      for (const resource of payload.resourceSpans) {
        const service = resource.resource.attributes.find((a) => a.key === 'service.name')?.value.stringValue ?? ''
        for (const scope of resource.scopeSpans) for (const span of scope.spans) spans.push({ ...span, service })
      }
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}')
  })
})

let tracing: Tracing
let stack: ObservedStack

beforeAll(async () => {
  await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve))
  const port = (collector.address() as { port: number }).port
  tracing = startTracing({ otlpTracesUrl: `http://127.0.0.1:${port}/v1/traces`, serviceName: 'tocsin-test' }) as Tracing
  stack = await startObservedStack('tracing', { notifier: recordingNotifier(), tracing })
})
afterAll(async () => {
  await stack.stop()
  await tracing.shutdown()
  collector.closeAllConnections()
  await new Promise((resolve) => collector.close(resolve))
})

test('one page request is one trace: the API span, the workflow span and the activity span share its trace id', async () => {
  const org = await createOrg(stack, 'Traced Co')
  const bob = (await org.call('POST', '/api/v1/users/', { username: 'bob', email: 'bob@traced.test', role: 'editor' })).body
  // The caller's own trace continues through Tocsin.
  const traceId = '4bf92f3577b34da6a3ce929d0e0e4736'
  const paged = await org.call('POST', '/api/v1/escalation/', { title: 'traced', users: [{ id: bob.id, important: false }] }, {
    traceparent: `00-${traceId}-00f067aa0ba902b7-01`,
  })
  expect(paged.status).toBe(200)
  await eventually(
    async () => ((await stack.db.selectFrom('notifications').select('delivered_at').where('alert_group_id', '=', paged.body.id).executeTakeFirst())?.delivered_at ? true : undefined),
    20_000,
    'the page delivered',
  )
  // The workflow's own span ends with the run: resolving ends it.
  expect((await org.call('POST', `/api/v1/alert_groups/${paged.body.id}/resolve/`)).status).toBe(200)
  await stack.escalations.client.workflow.getHandle(`alert-group-${paged.body.id}`).result()

  const names = ['POST /api/v1/escalation', 'StartWorkflow:alertGroupWorkflow', 'RunWorkflow:alertGroupWorkflow', 'StartActivity:notifyUser', 'RunActivity:notifyUser']
  const trace = await eventually(
    async () => {
      await tracing.flush()
      const inTrace = spans.filter((s) => s.traceId === traceId)
      return names.every((name) => inTrace.some((s) => s.name === name)) ? inTrace : undefined
    },
    20_000,
    'the spans of the page request at the collector',
  )
  const byName = (name: string) => trace.find((s) => s.name === name) as ReceivedSpan
  // The API's server span is the child of the caller's span, and the parent of the workflow start.
  expect(byName('POST /api/v1/escalation')).toMatchObject({ parentSpanId: '00f067aa0ba902b7', kind: 2, service: 'tocsin-test' })
  expect(byName('StartWorkflow:alertGroupWorkflow').parentSpanId).toBe(byName('POST /api/v1/escalation').spanId)
  expect(byName('RunWorkflow:alertGroupWorkflow').parentSpanId).toBe(byName('StartWorkflow:alertGroupWorkflow').spanId)
  expect(byName('RunActivity:notifyUser').parentSpanId).toBe(byName('StartActivity:notifyUser').spanId)
  // The activity's log lines carry the trace too.
  const pageLine = stack.logs.lines.find((l) => l.msg === 'page delivered' && l.alertGroupId === paged.body.id)
  expect(pageLine).toMatchObject({ trace_id: traceId })
})

test('recorded histories replay with the tracing interceptors installed: turning tracing on is safe for running escalations', async () => {
  const historiesDir = path.join(__dirname, '..', 'workflows', 'histories')
  for (const file of readdirSync(historiesDir).filter((f) => f.endsWith('.json'))) {
    const history = JSON.parse(readFileSync(path.join(historiesDir, file), 'utf8'))
    await expect(
      Worker.runReplayHistory(
        {
          workflowsPath: require.resolve('../workflows'),
          interceptors: { workflowModules: tracing.worker.workflowModules },
          sinks: tracing.worker.sinks,
        },
        history,
        `replay-traced-${file}`,
      ),
    ).resolves.toBeUndefined()
  }
}, 120_000)
