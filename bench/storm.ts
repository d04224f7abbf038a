// The escalation engine under a storm, on the real parts: the Temporal server (a dev server in memory started here
// unless TOCSIN_TEST_TEMPORAL_ADDRESS is set), PostgreSQL, and the API with one worker in this process
// (TOCSIN_STORM_TOPOLOGY=processes: the worker in a process of its own, as production runs it).
//   1. first page at 5 pages/s: API call (POST /api/v1/escalation/) → the notifier has the page; open loop;
//   2. back-to-back pages: the same, at shorter and shorter spacings, to show any latency floor;
//   3. tasks per escalation: workflow and activity tasks up to the first page, counted from the histories (local
//      activities run inside a workflow task, and are counted apart);
//   4. burst: `burst` escalations started as fast as they go (rows + workflows, as ingestion starts them), each
//      [wait 60 s, notify a user]: how late each wait's page is, and that every page went out exactly once.
// Prints a table per part and writes a plot of the distributions (TOCSIN_STORM_OUT, or a temporary directory).
// Exits non-zero when a page is lost or duplicated.
//   npm run bench:storm -- [pages=200] [burst=1000, 0 for none] [wait seconds=60]
import { cpus, loadavg } from 'node:os'
import { setTimeout as sleep } from 'node:timers/promises'
import { temporal } from '@temporalio/proto'
import { sql } from 'kysely'
import { createServer } from 'node:http'
import type { Notifier } from '../activities/notifications'
import { freePorts, health, TocsinProcess, tocsinEnv } from '../test/outage-harness'
import { chainOf, escalator } from '../test/engine'
import { createOrg, startStack, type Stack } from '../test/stack'
import { ensureTemporalForScript } from '../test/temporal-dev-server'
import { cpuSeconds } from './lib/cpu'
import { plotCdf, plotDir } from './lib/plot'
import { ascending, quantile } from './lib/stats'

const [pages = 200, burst = 1000, waitSeconds = 60] = process.argv.slice(2).map(Number)
const WARMUP = 5
/** The bench's database (test/stack names it from the prefix and the suite), whose backends count as its PostgreSQL. */
const databaseName = `${process.env.TOCSIN_TEST_DB_PREFIX ?? 'tocsin_test'}_bench_storm`
const SPACINGS_MS = [250, 100, 50, 25, 10, 0]
const BACK_TO_BACK_PAGES = 40
const BURST_CONCURRENCY = 50
/** Epoch milliseconds with sub-millisecond resolution, comparable with the server's event times. */
const now = () => performance.timeOrigin + performance.now()
const f = (v: number) => (Number.isFinite(v) ? v.toFixed(1) : '–')
/**
 * `one process` (default): the API and the worker in this process, paging through a function call; `processes`
 * (TOCSIN_STORM_TOPOLOGY=processes): the worker in a process of its own, as production runs it, paging through its
 * webhook notifier into a receiver here. On 2 cores the second runtime and the notifier's HTTP hop cost about
 * 20 ms of CPU per escalation more.
 */
const topology = process.env.TOCSIN_STORM_TOPOLOGY === 'processes' ? 'processes' : 'one process'
let workerProcess: TocsinProcess | undefined
const selfLabel = `this process (API${topology === 'one process' ? ' + worker' : ''} + bench)`

/** A worker process on the stack's database and task queue, ready once its health check answers. */
async function startWorkerProcess(stack: Stack, pageUrl: string): Promise<TocsinProcess> {
  const [port] = await freePorts(1)
  const env = {
    ...tocsinEnv({ databaseUrl: stack.dbUrl, temporalAddress: process.env.TOCSIN_TEST_TEMPORAL_ADDRESS as string, taskQueue: stack.taskQueue, pageUrl, apiPort: port as number, workerHealthPort: port as number }),
    TOCSIN_LOG_LEVEL: 'WARN',
    TOCSIN_DB_CONNECT_TIMEOUT_MS: '',
    TOCSIN_SMTP_URL: '',
  }
  const worker = TocsinProcess.spawn('worker', env)
  const deadline = Date.now() + 120_000
  while ((await health(`http://127.0.0.1:${port}/health/ready`))?.status !== 200) {
    if (!worker.running || Date.now() > deadline) throw new Error(`worker process not ready:\n${worker.log().slice(-4000)}`)
    await sleep(250)
  }
  return worker
}

interface Delivery {
  readonly at: number
  readonly key: string
}

/** Tasks a run needed up to its first page: workflow tasks and activity tasks started by then, local activities. */
interface TaskCount {
  readonly workflowTasks: number
  readonly activityTasks: number
  readonly localActivities: number
}

async function tasksToFirstPage(stack: Stack, workflowId: string): Promise<TaskCount | null> {
  const { EventType } = temporal.api.enums.v1
  const events = (await stack.escalations.client.workflow.getHandle(workflowId).fetchHistory()).events ?? []
  const timeOf = (e: temporal.api.history.v1.IHistoryEvent) => Number(e.eventTime?.seconds ?? 0) * 1000 + (e.eventTime?.nanos ?? 0) / 1e6
  const names = new Map<string, string>()
  let firstPage: number | null = null
  for (const event of events) {
    if (event.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED) {
      names.set(String(event.eventId), event.activityTaskScheduledEventAttributes?.activityType?.name ?? '?')
    }
    if (event.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED) {
      const name = names.get(String(event.activityTaskStartedEventAttributes?.scheduledEventId))
      if (name === 'notifyUser' && firstPage === null) firstPage = timeOf(event)
    }
  }
  if (firstPage === null) return null
  const by = firstPage
  const count = (type: number) => events.filter((e) => e.eventType === type && timeOf(e) <= by).length
  return {
    workflowTasks: count(EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED),
    activityTasks: count(EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED),
    localActivities: count(EventType.EVENT_TYPE_MARKER_RECORDED) - countPatchMarkers(events, by, timeOf),
  }
}

/** Markers that record a patch, not a local activity. */
function countPatchMarkers(events: temporal.api.history.v1.IHistoryEvent[], by: number, timeOf: (e: temporal.api.history.v1.IHistoryEvent) => number): number {
  return events.filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_patch' && timeOf(e) <= by).length
}

/** CPU milliseconds per escalation between two snapshots, by process. */
function cpuPerEscalation(before: Record<string, number>, after: Record<string, number>, escalations: number): string[] {
  let total = 0
  const rows = Object.keys(after).map((name) => {
    const ms = (((after[name] ?? 0) - (before[name] ?? 0)) * 1000) / escalations
    total += ms
    return `| ${name} | ${f(ms)} |`
  })
  return [...rows, `| **all** | ${f(total)} |`]
}

interface Sent {
  readonly sentAt: number
  readonly answeredAt: number
  readonly pagedAt: number
}

/** The stages of one direct page, from the API call to the notifier, with the history's instants between. */
async function stagesOf(stack: Stack, workflowId: string, sent: Sent): Promise<Record<string, number> | null> {
  const { EventType } = temporal.api.enums.v1
  const events = (await stack.escalations.client.workflow.getHandle(workflowId).fetchHistory()).events ?? []
  const at = (type: number) => {
    const event = events.find((e) => e.eventType === type)
    return event?.eventTime ? Number(event.eventTime.seconds ?? 0) * 1000 + (event.eventTime.nanos ?? 0) / 1e6 : null
  }
  const started = at(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED)
  const taskStarted = at(EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED)
  const taskCompleted = at(EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)
  const activityStarted = at(EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED)
  if (started === null || taskStarted === null || taskCompleted === null || activityStarted === null) return null
  return {
    'API call → workflow started (server)': started - sent.sentAt,
    'API call → API answered': sent.answeredAt - sent.sentAt,
    'workflow started → first workflow task started': taskStarted - started,
    'first workflow task (with its local activities)': taskCompleted - taskStarted,
    'workflow task completed → notifyUser started': activityStarted - taskCompleted,
    'notifyUser started → notifier has the page': sent.pagedAt - activityStarted,
    '**total**': sent.pagedAt - sent.sentAt,
  }
}

function summary(label: string, values: readonly number[]): string {
  const sorted = ascending(values)
  return `| ${label} | ${sorted.length} | ${f(sorted[0] ?? Number.NaN)} | ${f(quantile(sorted, 0.5))} | ${f(quantile(sorted, 0.99))} | ${f(sorted[sorted.length - 1] ?? Number.NaN)} |`
}

/** Records each page the worker process's webhook notifier delivers, by alert group. */
async function startReceiver(record: (alertGroupId: string, key: string) => void): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { alertGroupId?: string }
      record(String(body.alertGroupId ?? ''), String(req.headers['idempotency-key'] ?? ''))
      res.writeHead(200).end()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  return {
    url: `http://127.0.0.1:${port}/pages`,
    async close() {
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
    },
  }
}

async function main(): Promise<void> {
  const stopTemporal = await ensureTemporalForScript({ inMemory: process.env.TOCSIN_STORM_TEMPORAL_FILE === undefined })
  // Every page the notifier got, by alert group: the time it arrived and its idempotency key.
  const deliveries = new Map<string, Delivery[]>()
  const record = (alertGroupId: string, key: string) => {
    const list = deliveries.get(alertGroupId) ?? []
    list.push({ at: now(), key })
    deliveries.set(alertGroupId, list)
  }
  const notifier: Notifier = { channel: 'bench', deliver: async (message) => record(message.alertGroupId, message.idempotencyKey) }
  const stack = await startStack('bench_storm', { notifier, worker: topology === 'one process' })
  const receiver = await startReceiver(record)
  const problems: string[] = []
  try {
    if (topology === 'processes') workerProcess = await startWorkerProcess(stack, receiver.url)
    const org = await createOrg(stack, 'Storm')
    const user = (await org.call('POST', '/api/v1/users/', { username: 'pager', email: 'pager@storm.test' })).body.id as string
    console.log(
      `\nStorm bench on ${cpus().length} cores, load ${loadavg()[0]?.toFixed(2)} at start; Temporal at ${process.env.TOCSIN_TEST_TEMPORAL_ADDRESS}; ` +
        (topology === 'processes' ? 'the API in this process, the worker in its own (webhook notifier)' : 'API and worker in this process'),
    )

    /** Pages at `spacingMs` apart (open loop; 0: each as soon as the previous one was delivered); latencies in ms. */
    const pageAt = async (count: number, spacingMs: number, warmup: number): Promise<{ latencies: number[]; workflowIds: string[]; sent: Map<string, Sent> }> => {
      const latencies: number[] = []
      const workflowIds: string[] = []
      const sent = new Map<string, Sent>()
      const inFlight: Array<Promise<void>> = []
      const start = now()
      for (let i = 0; i < count + warmup; i++) {
        if (spacingMs > 0) {
          const due = start + i * spacingMs
          if (due > now()) await sleep(due - now())
        }
        const one = (async () => {
          const sentAt = now()
          const response = await org.call('POST', '/api/v1/escalation/', { title: `storm ${i}`, users: [{ id: user, important: false }] })
          if (response.status !== 200) throw new Error(`page answered ${response.status}: ${response.text}`)
          const groupId = response.body.id as string
          const answeredAt = now()
          const deadline = now() + 30_000
          while (!deliveries.has(groupId)) {
            if (now() > deadline) throw new Error(`page ${groupId} not delivered within 30 s`)
            await sleep(1)
          }
          if (i >= warmup) {
            latencies.push((deliveries.get(groupId)?.[0]?.at as number) - sentAt)
            workflowIds.push(`alert-group-${groupId}`)
            sent.set(`alert-group-${groupId}`, { sentAt, answeredAt, pagedAt: deliveries.get(groupId)?.[0]?.at as number })
          }
        })()
        if (spacingMs === 0) await one
        else inFlight.push(one)
      }
      await Promise.all(inFlight)
      return { latencies, workflowIds, sent }
    }

    // 1. First page at 5/s.
    const cpuBeforePages = cpuSeconds(databaseName, selfLabel, workerProcess ? { 'worker process': workerProcess.pid } : {})
    const atFive = await pageAt(pages, 200, WARMUP)
    const cpuAfterPages = cpuSeconds(databaseName, selfLabel, workerProcess ? { 'worker process': workerProcess.pid } : {})
    // 2. Back-to-back.
    const spaced: Array<{ spacing: number; latencies: number[] }> = []
    for (const spacing of SPACINGS_MS) spaced.push({ spacing, latencies: (await pageAt(BACK_TO_BACK_PAGES, spacing, 2)).latencies })

    console.log('\n| first page: API call → notifier has it (ms) | pages | min | p50 | p99 | max |')
    console.log('| --- | ---: | ---: | ---: | ---: | ---: |')
    console.log(summary('at 5 pages/s, open loop', atFive.latencies))
    for (const { spacing, latencies } of spaced) {
      console.log(summary(spacing === 0 ? 'back to back (next one when the last is paged)' : `${spacing} ms apart, open loop`, latencies))
    }

    // 3. Tasks per escalation up to the first page.
    const counts = (await Promise.all(atFive.workflowIds.slice(0, 50).map((id) => tasksToFirstPage(stack, id)))).filter((c): c is TaskCount => c !== null)
    const tasksRow = (label: string, list: TaskCount[]) => {
      const total = list.map((c) => c.workflowTasks + c.activityTasks)
      const most = (pick: (c: TaskCount) => number) => Math.max(...list.map(pick))
      return `| ${label} | ${list.length} | ${most((c) => c.workflowTasks)} | ${most((c) => c.activityTasks)} | ${Math.max(...total)} (median ${quantile(ascending(total), 0.5)}) | ${most((c) => c.localActivities)} |`
    }
    console.log('\n| tasks up to the first page, from histories | escalations | workflow tasks (max) | activity tasks (max) | total (max) | local activities in them (max) |')
    console.log('| --- | ---: | ---: | ---: | ---: | ---: |')
    console.log(tasksRow('direct page (API)', counts))

    // Where a first page's time goes: the API's answer, and the history's instants.
    const stages = (await Promise.all(atFive.workflowIds.slice(0, 50).map(async (id) => stagesOf(stack, id, atFive.sent.get(id) as Sent)))).filter(
      (s): s is Record<string, number> => s !== null,
    )
    console.log('\n| where a first page\'s time goes, at 5 pages/s (ms) | p50 | p99 |')
    console.log('| --- | ---: | ---: |')
    for (const stage of Object.keys(stages[0] ?? {})) {
      const values = ascending(stages.map((s) => s[stage] as number))
      console.log(`| ${stage} | ${f(quantile(values, 0.5))} | ${f(quantile(values, 0.99))} |`)
    }

    // 4. Burst: escalations each [wait, notify], started as fast as they go.
    const chain = await chainOf(stack, org.call, [{ type: 'wait', seconds: waitSeconds }, { type: 'notify_persons', persons_to_notify: [user] }])
    const due = new Map<string, number>()
    const workflowOf = new Map<string, string>()
    const start = await escalator(stack, org.organizationId, chain)
    const cpuBeforeBurst = cpuSeconds(databaseName, selfLabel, workerProcess ? { 'worker process': workerProcess.pid } : {})
    let next = 0
    const burstStarted = now()
    await Promise.all(
      Array.from({ length: BURST_CONCURRENCY }, async () => {
        while (next < burst) {
          next += 1
          const group = await start()
          due.set(group.id, Date.parse(group.createdAt) + waitSeconds * 1000)
          workflowOf.set(group.id, group.workflowId)
        }
      }),
    )
    const startSeconds = (now() - burstStarted) / 1000
    const lastDue = Math.max(...due.values())
    // Waits until every page arrived, or 60 s after the last one was due.
    while (now() < lastDue + 60_000 && [...due.keys()].some((id) => !deliveries.has(id))) await sleep(200)
    await sleep(2000) // a duplicate that would follow its original still counts
    const cpuAfterBurst = cpuSeconds(databaseName, selfLabel, workerProcess ? { 'worker process': workerProcess.pid } : {})
    const lateness: number[] = []
    let lost = 0
    let duplicated = 0
    for (const [groupId, dueAt] of due) {
      const got = deliveries.get(groupId) ?? []
      if (got.length === 0) lost += 1
      else lateness.push((got[0] as Delivery).at - dueAt)
      duplicated += Math.max(0, got.length - 1)
    }
    const ledger = due.size === 0 ? [] : await stack.db
      .selectFrom('notifications')
      .select(['alert_group_id', sql<number>`count(*)::int`.as('rows')])
      .where('alert_group_id', 'in', [...due.keys()])
      .groupBy('alert_group_id')
      .execute()
    const ledgerDuplicates = ledger.filter((r) => r.rows > 1).length
    const burstCounts = (
      await Promise.all([...workflowOf.values()].slice(0, 50).map((id) => tasksToFirstPage(stack, id)))
    ).filter((c): c is TaskCount => c !== null)
    if (burst > 0) console.log(tasksRow(`wait ${waitSeconds} s then page (burst)`, burstCounts))

    if (burst > 0) {
      console.log(`\n| burst: ${burst} escalations started in ${startSeconds.toFixed(1)} s, each wait ${waitSeconds} s then page | value |`)
      console.log('| --- | ---: |')
      console.log(`| page lateness p50 (ms) | ${f(quantile(ascending(lateness), 0.5))} |`)
      console.log(`| page lateness p99 (ms) | ${f(quantile(ascending(lateness), 0.99))} |`)
      console.log(`| page lateness max (ms) | ${f(Math.max(...lateness))} |`)
      console.log(`| paged | ${lateness.length} |`)
      console.log(`| lost | ${lost} |`)
      console.log(`| duplicated (notifier) | ${duplicated} |`)
      console.log(`| duplicated (ledger rows) | ${ledgerDuplicates} |`)
    }
    if (lost > 0) problems.push(`${lost} burst pages lost`)
    if (duplicated > 0 || ledgerDuplicates > 0) problems.push(`${duplicated} duplicate deliveries, ${ledgerDuplicates} duplicate ledger rows`)

    const directCpu = cpuPerEscalation(cpuBeforePages, cpuAfterPages, pages + WARMUP)
    const burstCpu = cpuPerEscalation(cpuBeforeBurst, cpuAfterBurst, burst)
    console.log(`\n| CPU per escalation (ms), by process | direct page, at 5/s | wait ${waitSeconds} s then page, burst |`)
    console.log('| --- | ---: | ---: |')
    for (const [index, row] of directCpu.entries()) console.log(`${row} ${(burstCpu[index] as string).split('|')[2]?.trim()} |`)

    const out = plotDir('TOCSIN_STORM_OUT', 'tocsin-storm-plot-')
    console.log(
      `\nplot: ${plotCdf(out, 'storm-first-page', {
        title: `First page (API call → notifier), ${cpus().length} cores`,
        xLabel: 'ms from the API call (log)',
        yLabel: 'share of pages',
        series: [
          { label: '**5 pages/s**', sorted: ascending(atFive.latencies) },
          ...spaced.map(({ spacing, latencies }) => ({ label: spacing === 0 ? 'back to back' : `${spacing} ms apart`, sorted: ascending(latencies) })),
        ],
      })}`,
    )
    if (burst > 0) console.log(
      `plot: ${plotCdf(out, 'storm-burst-lateness', {
        title: `${burst} escalations started in ${startSeconds.toFixed(1)} s, wait ${waitSeconds} s then page: lateness of the page`,
        xLabel: 'ms after the wait ended (log)',
        yLabel: 'share of escalations',
        series: [{ label: '**page lateness**', sorted: ascending(lateness) }],
      })}`,
    )
  } finally {
    await workerProcess?.stop()
    await receiver.close()
    await stack.stop()
    await stopTemporal()
  }
  if (problems.length > 0) {
    console.error(`\nFAILED: ${problems.join('; ')}`)
    process.exitCode = 1
  }
}

main().catch((err) => {
  console.error(err)
  process.exitCode = 1
})
