// Held escalations: many escalations waiting on one-hour timers, all held by ONE real worker process, and what that
// costs in memory. For each workflow cache setting (the worker's maxCachedWorkflows), a fresh worker process on a
// task queue of its own:
//   - starts `held` escalations [wait 3600 s, notify_persons] (rows written in batches, workflows started through
//     the Temporal client, `concurrency` starts in flight) while sampling the worker's RSS;
//   - waits until every one has run its first workflow task (its "created" timeline event is written), checks the
//     count of running workflows in visibility and a random sample's `escalationStatus` (nextWakeAt in an hour);
//   - times one workflow task for an escalation evicted from the cache and for a cached one: the escalationStatus
//     query and a no-op update (unpageUser for nobody), first touch (evicted) then second touch (cached).
// Temporal: an in-memory dev server started here, unless TOCSIN_TEST_TEMPORAL_ADDRESS is set (the bench then
// terminates its workflows at the end). PostgreSQL: a database of its own, dropped at the end.
//   npm run bench:held -- [held=50000] [concurrency=64] [caches=default,100] [backlog=512]
// Starts pause while more than `backlog` escalations wait for their first task: the in-memory dev server hands out
// a deep task backlog far slower than it matches a task to a waiting poller, so unpaced starts outrun the worker.
// Plot, samples (CSV) and logs go to TOCSIN_HELD_OUT, or a new temporary directory.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { createWriteStream, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { sql } from 'kysely'
import { loadChainSnapshot } from '../db/escalation-policies.repo'
import { newPublicId } from '../db/ids'
import { ensureDirectPagingIntegration } from '../db/integrations.repo'
import type { AlertGroupRecord } from '../workflows/core/types'
import { alertGroupWorkflowId, type EscalationStatus } from '../workflows/messages'
import { chainOf, sleep } from '../test/engine'
import { createOrg, startStack, type Stack } from '../test/stack'
import { freePort, startDevServer } from '../test/temporal-dev-server'
import { escapeXml, plotDir, writePlot } from './lib/plot'
import { ascending, quantile } from './lib/stats'
import { dropDatabase } from './lib/database'

const REPO = path.join(__dirname, '..')
const CACHE_VARIABLE = 'TOCSIN_WORKER_MAX_CACHED_WORKFLOWS'
const WAIT_SECONDS = 3600
const ROW_BATCH = 1000
const SAMPLE_EVERY_MS = 500
const STATUS_SAMPLE = 200
const LATENCY_SAMPLE = 100
const MiB = 2 ** 20

const args = process.argv.slice(2)
const held = Number(args[0] ?? 50_000)
const concurrency = Number(args[1] ?? 64)
const cacheSettings = (args[2] ?? 'default,100').split(',').map((s) => s.trim()).filter(Boolean)
const backlog = Number(args[3] ?? 512)
if (!Number.isInteger(held) || held < 1 || !Number.isInteger(concurrency) || concurrency < 1 || !Number.isInteger(backlog) || backlog < concurrency) {
  throw new Error('usage: npm run bench:held -- [held=50000] [concurrency=64] [caches=default,100] [backlog=512, at least concurrency]')
}
for (const setting of cacheSettings) {
  if (setting !== 'default' && !/^\d+$/.test(setting)) throw new Error(`cache setting ${setting}: "default" or a number of workflows`)
}

const outDir = plotDir('TOCSIN_HELD_OUT', 'tocsin-held-')

interface Sample {
  readonly seconds: number
  readonly started: number
  readonly firstTaskDone: number
  readonly rssBytes: number
}

interface Latencies {
  readonly label: string
  readonly millis: number[]
  readonly hits: number
  readonly misses: number
}

interface PhaseResult {
  readonly setting: string
  readonly cacheSize: number
  readonly cacheRule: string
  readonly honoured: boolean | null
  readonly startSeconds: number
  readonly rowSeconds: number
  readonly firstTaskSeconds: number
  readonly running: number | null
  readonly statusOk: number
  readonly statusChecked: number
  readonly rssBefore: number
  readonly rssAfter: number
  readonly rssPeak: number
  readonly vmHwm: number
  readonly heapBefore: number | null
  readonly heapAfter: number | null
  readonly cachedAtEnd: number | null
  readonly latencies: Latencies[]
  readonly samples: Sample[]
}

/** VmRSS and VmHWM (peak) of a process, in bytes, from /proc (`ps` where there is none). */
function memoryOf(pid: number): { rss: number; hwm: number } {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024
    return { rss: field('VmRSS'), hwm: field('VmHWM') }
  } catch {
    const rss = Number(execFileSync('ps', ['-o', 'rss=', '-p', String(pid)]).toString().trim()) * 1024
    return { rss, hwm: rss }
  }
}

/** Prometheus text: the sum of every series of `name` (any labels), or null when there is none. */
function metricSum(text: string, name: string): number | null {
  let sum: number | null = null
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue
    const rest = line.slice(name.length)
    if (rest[0] !== ' ' && rest[0] !== '{') continue
    const value = Number(line.slice(line.lastIndexOf(' ') + 1))
    if (Number.isFinite(value)) sum = (sum ?? 0) + value
  }
  return sum
}

async function scrape(port: number): Promise<string> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(5000) })
    return response.ok ? await response.text() : ''
  } catch {
    return ''
  }
}

/** The worker's sticky (workflow) cache, from the Temporal SDK's metrics. */
async function cacheMetrics(port: number): Promise<{ size: number | null; hits: number; misses: number }> {
  const text = await scrape(port)
  return {
    size: metricSum(text, 'temporal_sticky_cache_size'),
    hits: metricSum(text, 'temporal_sticky_cache_hit_total') ?? metricSum(text, 'temporal_sticky_cache_hit') ?? 0,
    misses: metricSum(text, 'temporal_sticky_cache_miss_total') ?? metricSum(text, 'temporal_sticky_cache_miss') ?? 0,
  }
}

/** Runs `task` for 0..count-1 with at most `limit` in flight. */
async function pool(count: number, limit: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0
  await Promise.all(
    Array.from({ length: Math.min(limit, count) }, async () => {
      while (next < count) await task(next++)
    }),
  )
}

/** `count` distinct indexes drawn from [from, to). */
function randomIndexes(from: number, to: number, count: number): number[] {
  const all = Array.from({ length: Math.max(0, to - from) }, (_, k) => from + k)
  for (let i = all.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1))
    ;[all[i], all[j]] = [all[j] as number, all[i] as number]
  }
  return all.slice(0, count)
}

/** Whether apps/ reads the cache variable yet: until it does, a setting other than the default measures the default. */
function cacheVariableSupported(): boolean {
  for (const file of ['apps/config.ts', 'apps/worker/main.ts', 'apps/worker/worker.ts']) {
    if (readFileSync(path.join(REPO, file), 'utf8').includes(CACHE_VARIABLE)) return true
  }
  return false
}

/** The SDK's default maxCachedWorkflows (reuseV8Context on, as apps/worker leaves it): it follows the worker's heap limit. */
function defaultCacheSize(env: NodeJS.ProcessEnv): { size: number; rule: string } {
  const heapLimit = Number(execFileSync(process.execPath, ['-p', 'v8.getHeapStatistics().heap_size_limit'], { env }).toString().trim())
  const heapMiB = heapLimit / MiB
  const size = Math.max(Math.floor((Math.max(heapMiB - 200, 0) * 600) / 1024), 10)
  return { size, rule: `SDK default: max(⌊(heap limit ${heapMiB.toFixed(0)} MiB − 200) × 600 / 1024⌋, 10)` }
}

class WorkerProcess {
  readonly child: ChildProcess
  readonly logFile: string
  exited = false

  constructor(
    readonly env: NodeJS.ProcessEnv,
    label: string,
  ) {
    this.logFile = path.join(outDir, `worker-${label}.log`)
    const log = createWriteStream(this.logFile)
    // node itself, not the tsx launcher, so the pid sampled is the process that holds the workflows.
    this.child = spawn(process.execPath, ['--import', 'tsx', path.join(REPO, 'apps', 'worker', 'main.ts')], {
      cwd: REPO,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    this.child.stdout?.pipe(log)
    this.child.stderr?.pipe(log)
    this.child.once('exit', () => (this.exited = true))
    liveChildren.add(this.child)
  }

  get pid(): number {
    return this.child.pid as number
  }

  assertRunning(): void {
    if (this.exited) throw new Error(`the worker process exited early: see ${this.logFile}`)
  }

  async stop(): Promise<void> {
    if (!this.exited) {
      const exited = new Promise((resolve) => this.child.once('exit', resolve))
      this.child.kill('SIGTERM')
      const killLater = setTimeout(() => this.child.kill('SIGKILL'), 20_000)
      await exited
      clearTimeout(killLater)
    }
    liveChildren.delete(this.child)
  }
}

// Whatever this script started, killed if it ends without stopping them.
const liveChildren = new Set<ChildProcess>()
process.once('exit', () => {
  for (const child of liveChildren) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
})
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.error(`\n${signal}: stopping (the database is dropped by the next run)`)
    process.exit(130)
  })
}

interface Fixture {
  readonly stack: Stack
  readonly organizationId: string
  readonly integrationId: string
  readonly routeId: string
  readonly escalation: Awaited<ReturnType<typeof loadChainSnapshot>>
  readonly ownServer: boolean
  /** The dev server started here, whose memory is reported too (it keeps every workflow in memory). */
  readonly serverPid: number | null
}

function newRecord(fixture: Fixture, index: number): AlertGroupRecord {
  const id = newPublicId('I')
  return {
    id,
    organizationId: fixture.organizationId,
    integrationId: fixture.integrationId,
    routeId: fixture.routeId,
    teamId: null,
    title: `held ${index}`,
    message: null,
    sourceUrl: null,
    workflowId: alertGroupWorkflowId(id),
    createdAt: new Date().toISOString(),
    firstAlert: { id: newPublicId('A'), payload: { bench: 'held' } },
  }
}

/** The alert group and first alert rows, as insertAlertGroup writes them, many per statement. */
async function insertRows(stack: Stack, records: readonly AlertGroupRecord[]): Promise<void> {
  await stack.db
    .insertInto('alert_groups')
    .values(
      records.map((g) => ({
        id: g.id,
        organization_id: g.organizationId,
        integration_id: g.integrationId,
        route_id: g.routeId,
        team_id: g.teamId,
        title: g.title,
        message: g.message,
        source_url: g.sourceUrl,
        workflow_id: g.workflowId,
        created_at: g.createdAt,
      })),
    )
    .execute()
  await stack.db
    .insertInto('alerts')
    .values(
      records.map((g) => ({
        id: g.firstAlert.id,
        organization_id: g.organizationId,
        alert_group_id: g.id,
        payload: JSON.stringify(g.firstAlert.payload),
        created_at: g.createdAt,
      })),
    )
    .execute()
}

async function startEscalation(fixture: Fixture, taskQueue: string, record: AlertGroupRecord): Promise<void> {
  await fixture.stack.escalations.client.workflow.start('alertGroupWorkflow', {
    taskQueue,
    workflowId: record.workflowId,
    args: [{ alertGroup: record, createdBy: null, directPages: [], escalation: fixture.escalation }],
  })
}

/** Escalations created since `since` whose first workflow task ran: the workflow then records "created". */
async function firstTasksDone(fixture: Fixture, since: string): Promise<number> {
  const row = await fixture.stack.db
    .selectFrom('alert_group_events')
    .select(sql<string>`count(*)`.as('n'))
    .where('organization_id', '=', fixture.organizationId)
    .where('kind', '=', 'created')
    .where('at', '>=', since)
    .executeTakeFirstOrThrow()
  return Number(row.n)
}

async function runPhase(fixture: Fixture, setting: string, supported: boolean): Promise<PhaseResult> {
  const { stack } = fixture
  const client = stack.escalations.client
  const label = setting === 'default' ? 'default' : `cache-${setting}`
  const taskQueue = `${stack.taskQueue}-${label}`
  const healthPort = await freePort()
  const sdkMetricsPort = await freePort()
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DATABASE_URL: stack.dbUrl,
    TEMPORAL_ADDRESS: process.env.TOCSIN_TEST_TEMPORAL_ADDRESS,
    TEMPORAL_TASK_QUEUE: taskQueue,
    TOCSIN_NOTIFIER: 'none',
    TOCSIN_LOG_LEVEL: 'WARN',
    TOCSIN_WORKER_HEALTH_PORT: String(healthPort),
    TOCSIN_TEMPORAL_METRICS_ADDRESS: `127.0.0.1:${sdkMetricsPort}`,
    TOCSIN_WORKER_SHUTDOWN_GRACE_MS: '1000',
  }
  delete env[CACHE_VARIABLE]
  if (setting !== 'default') env[CACHE_VARIABLE] = setting
  const defaults = defaultCacheSize(env)
  const requested = setting === 'default' ? null : Number(setting)
  const cacheSize = requested !== null && supported ? requested : defaults.size
  const cacheRule = requested !== null && supported ? `${CACHE_VARIABLE}=${setting}` : defaults.rule

  console.log(`\n## ${label}: ${held} escalations on task queue ${taskQueue}, ${concurrency} starts in flight, at most ${backlog} waiting for a first task`)
  if (requested !== null && !supported) {
    console.log(`note: apps/worker does not read ${CACHE_VARIABLE} yet: this worker runs with the SDK default (${defaults.size})`)
  }
  const worker = new WorkerProcess(env, label)
  const samples: Sample[] = []
  let sampler: NodeJS.Timeout | undefined
  try {
    // Phases run one after the other: this one's "created" events are the ones at or after its start.
    const phaseStart = new Date().toISOString()
    // Warm up: one escalation through the whole first task, so the workflow bundle is built and its context exists.
    const warmStarted = Date.now()
    const warm = newRecord(fixture, -1)
    await insertRows(stack, [warm])
    await startEscalation(fixture, taskQueue, warm)
    while ((await firstTasksDone(fixture, phaseStart)) < 1) {
      worker.assertRunning()
      if (Date.now() - warmStarted > 180_000) throw new Error(`the worker ran no workflow task in 180 s: see ${worker.logFile}`)
      await sleep(200)
    }
    console.log(`worker ready: first escalation through its first task ${((Date.now() - warmStarted) / 1000).toFixed(1)} s after spawning`)
    await sleep(3000)
    const baseline = 1
    const before = memoryOf(worker.pid)
    const heapBefore = metricSum(await scrape(healthPort), 'nodejs_heap_size_used_bytes')

    // Sampling: RSS, starts so far, and first tasks done so far.
    let started = 0
    let done = 0
    let sampling = false
    const t0 = performance.now()
    const sample = async () => {
      if (sampling || worker.exited) return
      sampling = true
      try {
        done = (await firstTasksDone(fixture, phaseStart)) - baseline
        samples.push({ seconds: (performance.now() - t0) / 1000, started, firstTaskDone: done, rssBytes: memoryOf(worker.pid).rss })
      } finally {
        sampling = false
      }
    }
    await sample()
    sampler = setInterval(() => void sample().catch(() => undefined), SAMPLE_EVERY_MS)

    // Rows in batches (the next batch is written while the previous one's workflows start), starts `concurrency` at a time.
    const records: AlertGroupRecord[] = []
    const batches: Array<Promise<void>> = []
    let rowMillis = 0
    let previous: Promise<void> = Promise.resolve()
    for (let from = 0; from < held; from += ROW_BATCH) {
      const batch = Array.from({ length: Math.min(ROW_BATCH, held - from) }, (_, k) => newRecord(fixture, from + k))
      records.push(...batch)
      previous = previous.then(async () => {
        const began = performance.now()
        await insertRows(stack, batch)
        rowMillis += performance.now() - began
      })
      batches.push(previous)
    }
    let lastReport = performance.now()
    await pool(held, concurrency, async (i) => {
      await batches[Math.floor(i / ROW_BATCH)]
      while (started - done >= backlog) {
        worker.assertRunning()
        await sleep(50)
      }
      await startEscalation(fixture, taskQueue, records[i] as AlertGroupRecord)
      started += 1
      if (performance.now() - lastReport > 10_000) {
        lastReport = performance.now()
        console.log(`  ${started} started, ${done} through their first task, worker RSS ${(memoryOf(worker.pid).rss / MiB).toFixed(0)} MiB`)
      }
    })
    const startSeconds = (performance.now() - t0) / 1000
    console.log(`started ${held} in ${startSeconds.toFixed(1)} s: ${(held / startSeconds).toFixed(0)}/s (row inserts ${(rowMillis / 1000).toFixed(1)} s of it)`)

    // Every escalation must run its first task (the worker may be behind the starts); two minutes without progress fail.
    let progressAt = Date.now()
    let doneBefore = -1
    while ((done = (await firstTasksDone(fixture, phaseStart)) - baseline) < held) {
      worker.assertRunning()
      if (done > doneBefore) [doneBefore, progressAt] = [done, Date.now()]
      if (Date.now() - progressAt > 120_000) throw new Error(`stuck at ${done} of ${held} escalations through their first task: see ${worker.logFile}`)
      if (performance.now() - lastReport > 10_000) {
        lastReport = performance.now()
        console.log(`  ${done} of ${held} through their first task, worker RSS ${(memoryOf(worker.pid).rss / MiB).toFixed(0)} MiB`)
      }
      await sleep(100)
    }
    const firstTaskSeconds = (performance.now() - t0) / 1000
    console.log(`all ${held} through their first task ${firstTaskSeconds.toFixed(1)} s after the first start: ${(held / firstTaskSeconds).toFixed(0)}/s`)
    if (fixture.serverPid !== null) console.log(`(the in-memory Temporal dev server's RSS: ${(memoryOf(fixture.serverPid).rss / MiB).toFixed(0)} MiB)`)
    // Let the worker settle (activities finish, garbage is collected) before the "after" figure.
    await sleep(10_000)
    clearInterval(sampler)
    sampler = undefined
    while (sampling) await sleep(10)
    await sample()
    const after = memoryOf(worker.pid)
    const heapAfter = metricSum(await scrape(healthPort), 'nodejs_heap_size_used_bytes')
    const cachedAtEnd = (await cacheMetrics(sdkMetricsPort)).size
    const honoured = requested === null || cachedAtEnd === null ? null : cachedAtEnd <= requested
    if (honoured === false) console.log(`note: ${cachedAtEnd} workflows cached with ${CACHE_VARIABLE}=${setting}: the setting was not applied`)

    // Visibility: all of this queue's escalations run (their timers pending). The warm-up one counts too.
    let running: number | null = null
    try {
      const countDeadline = Date.now() + 30_000
      do {
        running = (await client.workflow.count(`TaskQueue="${taskQueue}" AND ExecutionStatus="Running"`)).count - 1
        if (running >= held) break
        await sleep(500)
      } while (Date.now() < countDeadline)
    } catch (err) {
      console.log(`note: visibility count failed: ${(err as Error).message}`)
    }

    // The cache trade-off: one workflow task for an escalation that is not cached (first touch of one of the oldest,
    // which the LRU cache evicted as newer ones came in) and for a cached one (the same escalation, touched again at
    // once). The SDK's cache hit and miss counters say which each touch was.
    const latencies: Latencies[] = []
    const evicted = held - cacheSize
    const timed = async (what: string, ids: readonly string[], op: (workflowId: string) => Promise<unknown>) => {
      const cacheBefore = await cacheMetrics(sdkMetricsPort)
      const millis: number[] = []
      for (const id of ids) {
        const began = performance.now()
        await op(id)
        millis.push(performance.now() - began)
      }
      const cacheAfter = await cacheMetrics(sdkMetricsPort)
      latencies.push({ label: what, millis, hits: cacheAfter.hits - cacheBefore.hits, misses: cacheAfter.misses - cacheBefore.misses })
    }
    const query = (id: string) => client.workflow.getHandle(id).query<EscalationStatus>('escalationStatus')
    // Unpaging a user who was never paged changes nothing but is a real workflow task (an update is accepted and completed).
    const update = (id: string) =>
      client.workflow.getHandle(id).executeUpdate('unpageUser', {
        args: [{ actor: { kind: 'system' }, userId: 'U-bench-nobody' }],
        updateId: randomUUID(),
      })
    const workflowIdsAt = (indexes: readonly number[]) => indexes.map((i) => (records[i] as AlertGroupRecord).workflowId)
    // Half the cache at most, so the second touches still find the first ones cached.
    const n = Math.min(LATENCY_SAMPLE, Math.floor(cacheSize / 2), Math.floor(evicted / 2))
    if (n >= 1) {
      const picks = workflowIdsAt(randomIndexes(0, evicted, 2 * n))
      const forQuery = picks.slice(0, n)
      const forUpdate = picks.slice(n)
      await timed('query, evicted (first touch)', forQuery, query)
      await timed('query, cached (second touch)', forQuery, query)
      await timed('no-op update, evicted (first touch)', forUpdate, update)
      await timed('no-op update, cached (second touch)', forUpdate, update)
    } else {
      // (Nearly) every escalation fits in the cache: only cached tasks can be timed.
      const picks = workflowIdsAt(randomIndexes(0, held, Math.min(LATENCY_SAMPLE, held)))
      await timed(`query, cached (${evicted > 0 ? 'too few evicted to time' : 'nothing evicted'})`, picks, query)
      await timed(`no-op update, cached (${evicted > 0 ? 'too few evicted to time' : 'nothing evicted'})`, picks, update)
    }

    // A random sample: waiting for its next step, due an hour after the group was created.
    const sampleIndexes = randomIndexes(0, held, Math.min(STATUS_SAMPLE, held))
    let statusOk = 0
    await pool(sampleIndexes.length, 8, async (k) => {
      const record = records[sampleIndexes[k] as number] as AlertGroupRecord
      const status = await query(record.workflowId)
      const due = Date.parse(record.createdAt) + WAIT_SECONDS * 1000
      if (status.nextWakeAt && Math.abs(Date.parse(status.nextWakeAt) - due) < 120_000 && !status.finished) statusOk += 1
    })

    return {
      setting,
      cacheSize,
      cacheRule,
      honoured,
      startSeconds,
      rowSeconds: rowMillis / 1000,
      firstTaskSeconds,
      running,
      statusOk,
      statusChecked: sampleIndexes.length,
      rssBefore: before.rss,
      rssAfter: after.rss,
      rssPeak: Math.max(after.rss, ...samples.map((s) => s.rssBytes)),
      vmHwm: after.hwm,
      heapBefore,
      heapAfter,
      cachedAtEnd,
      latencies,
      samples,
    }
  } finally {
    if (sampler) clearInterval(sampler)
    await worker.stop()
    writeFileSync(
      path.join(outDir, `held-samples-${label}.csv`),
      ['seconds,started,first_task_done,rss_bytes', ...samples.map((s) => `${s.seconds.toFixed(2)},${s.started},${s.firstTaskDone},${s.rssBytes}`)].join('\n') + '\n',
    )
    if (!fixture.ownServer) await terminateQueue(stack, taskQueue)
  }
}

/** Terminates a task queue's running workflows on a server this bench does not own (a batch job, else one by one). */
async function terminateQueue(stack: Stack, taskQueue: string): Promise<void> {
  const client = stack.escalations.client
  const visibilityQuery = `TaskQueue="${taskQueue}" AND ExecutionStatus="Running"`
  try {
    const jobId = randomUUID()
    await client.workflowService.startBatchOperation({
      namespace: 'default',
      jobId,
      reason: 'bench:held cleanup',
      visibilityQuery,
      terminationOperation: {},
    })
    const deadline = Date.now() + 600_000
    while (Date.now() < deadline) {
      const job = await client.workflowService.describeBatchOperation({ namespace: 'default', jobId })
      // 1: running; 2: completed; 3: failed.
      if (job.state !== 1) break
      await sleep(1000)
    }
  } catch (err) {
    console.log(`note: batch termination failed (${(err as Error).message}); terminating one by one`)
  }
  for (;;) {
    const ids: string[] = []
    for await (const execution of client.workflow.list({ query: visibilityQuery })) {
      ids.push(execution.workflowId)
      if (ids.length >= 10_000) break
    }
    if (ids.length === 0) return
    await pool(ids.length, 64, async (i) => {
      await client.workflow
        .getHandle(ids[i] as string)
        .terminate('bench:held cleanup')
        .catch(() => undefined)
    })
    // Visibility lags the terminations a little.
    await sleep(2000)
  }
}

const mib = (bytes: number) => (bytes / MiB).toFixed(0)
const kib = (bytes: number) => (bytes / 1024).toFixed(1)

function report(results: readonly PhaseResult[]): void {
  const column = (f: (r: PhaseResult) => string) => `| ${results.map(f).join(' | ')} |`
  console.log(`\n### Held escalations, one worker process (${held} escalations [wait ${WAIT_SECONDS} s, notify_persons], ${concurrency} starts in flight)\n`)
  console.log(`| measure | ${results.map((r) => (r.setting === 'default' ? 'cache: default' : `cache: ${r.setting}`)).join(' | ')} |`)
  console.log(`| --- | ${results.map(() => '---:').join(' | ')} |`)
  const rows: Array<[string, (r: PhaseResult) => string]> = [
    ['workflow cache size in effect (maxCachedWorkflows)', (r) => `${r.cacheSize}${r.honoured === false ? ' (NOT applied)' : ''}`],
    ['workflows in the cache at the end (SDK metric)', (r) => (r.cachedAtEnd === null ? 'n/a' : String(r.cachedAtEnd))],
    ['escalations held: running in visibility', (r) => (r.running === null ? 'n/a' : String(r.running))],
    ['escalations held: "created" recorded (first task ran)', () => String(held)],
    [`sample waiting, next step due in ~${WAIT_SECONDS} s (escalationStatus)`, (r) => `${r.statusOk} of ${r.statusChecked}`],
    ['start rate (escalations/s, rows + workflow starts)', (r) => `${(held / r.startSeconds).toFixed(0)} (${r.startSeconds.toFixed(1)} s)`],
    ['all first workflow tasks done after (s)', (r) => `${r.firstTaskSeconds.toFixed(1)} (${(held / r.firstTaskSeconds).toFixed(0)}/s)`],
    ['worker RSS before (MiB)', (r) => mib(r.rssBefore)],
    ['worker RSS after (MiB)', (r) => mib(r.rssAfter)],
    ['worker RSS peak, sampled (MiB)', (r) => mib(r.rssPeak)],
    ['worker RSS high-water mark since spawn, VmHWM (MiB)', (r) => mib(r.vmHwm)],
    // The workflows run in the SDK's workflow thread, another V8 isolate: this heap holds activities and clients only.
    ['worker main-thread JS heap used, before → after (MiB)', (r) => (r.heapBefore === null || r.heapAfter === null ? 'n/a' : `${mib(r.heapBefore)} → ${mib(r.heapAfter)}`)],
    ['**RSS per held escalation (KiB): (after − before) / held**', (r) => kib((r.rssAfter - r.rssBefore) / held)],
    [
      'RSS per cached workflow, upper bound (KiB): (after − before) / workflows cached',
      (r) => kib((r.rssAfter - r.rssBefore) / Math.max(1, Math.min(held, r.cachedAtEnd ?? r.cacheSize))),
    ],
    ['peak within the 4 GiB budget', (r) => (Math.max(r.rssPeak, r.vmHwm) <= 4 * 1024 * MiB ? 'yes' : '**no**')],
  ]
  for (const [name, f] of rows) console.log(`| ${name} ${column(f)}`)

  // The marginal cost of a cached workflow, from two settings that cached different numbers of workflows.
  const cachedOf = (r: PhaseResult) => Math.min(held, r.cachedAtEnd ?? r.cacheSize)
  const spread = [...results].filter((r) => r.honoured !== false).sort((a, b) => cachedOf(a) - cachedOf(b))
  const small = spread[0]
  const large = spread[spread.length - 1]
  if (small && large && cachedOf(large) - cachedOf(small) >= 50) {
    const perCached = (large.rssAfter - large.rssBefore - (small.rssAfter - small.rssBefore)) / (cachedOf(large) - cachedOf(small))
    console.log(`\nRSS per cached workflow, marginal: ${kib(perCached)} KiB (${cachedOf(large)} cached vs ${cachedOf(small)} cached)`)
  }
  for (const r of results) console.log(`cache ${r.setting}: ${r.cacheRule}`)

  console.log('\n| workflow task latency (ms), one at a time | cache | n | p50 | p99 | max | cache hits / misses |')
  console.log('| --- | --- | ---: | ---: | ---: | ---: | ---: |')
  for (const r of results) {
    for (const l of r.latencies) {
      const sorted = ascending(l.millis)
      console.log(
        `| ${l.label} | ${r.setting} (${r.cacheSize}) | ${sorted.length} | ${quantile(sorted, 0.5).toFixed(1)} | ${quantile(sorted, 0.99).toFixed(1)} | ${Math.max(...sorted).toFixed(1)} | ${l.hits} / ${l.misses} |`,
      )
    }
  }
}

/** Worker RSS against escalations started (solid) and escalations through their first task (dashed), per setting. */
function plotRss(results: readonly PhaseResult[]): string {
  const width = 1000
  const height = 560
  const margin = { left: 80, right: 24, top: 48, bottom: 110 }
  const plotWidth = width - margin.left - margin.right
  const plotHeight = height - margin.top - margin.bottom
  const maxRss = Math.max(...results.flatMap((r) => r.samples.map((s) => s.rssBytes)), 1) / MiB
  // The 4 GiB budget is drawn once the curves come within half of it.
  const budget = 4096
  const showBudget = maxRss > budget / 2
  const top = Math.max(maxRss, showBudget ? budget : 0) * 1.05
  const step = [50, 100, 200, 250, 500, 1000, 2000].find((s) => top / s <= 8) ?? 4000
  const yMax = Math.ceil(top / step) * step
  const xSteps = [1, 2, 5].flatMap((m) => [1, 10, 100, 1000, 10_000, 100_000].map((p) => m * p)).sort((a, b) => a - b)
  const xStep = xSteps.find((s) => held / s <= 10) ?? 1_000_000
  const xMax = Math.ceil(held / xStep) * xStep
  const x = (v: number) => margin.left + (v / xMax) * plotWidth
  const y = (v: number) => margin.top + (1 - v / yMax) * plotHeight
  const colours = ['#1e88e5', '#e53935', '#43a047', '#8e24aa']
  const parts: string[] = [`<rect width="${width}" height="${height}" fill="white"/>`]
  for (let v = 0; v <= yMax; v += step) {
    parts.push(
      `<line x1="${margin.left}" x2="${width - margin.right}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#eee"/>`,
      `<text x="${margin.left - 6}" y="${(y(v) + 4).toFixed(1)}" font-size="11" font-family="sans-serif" text-anchor="end">${v}</text>`,
    )
  }
  for (let v = 0; v <= xMax; v += xStep) {
    parts.push(
      `<line x1="${x(v).toFixed(1)}" x2="${x(v).toFixed(1)}" y1="${margin.top}" y2="${margin.top + plotHeight}" stroke="#eee"/>`,
      `<text x="${x(v).toFixed(1)}" y="${margin.top + plotHeight + 18}" font-size="11" font-family="sans-serif" text-anchor="middle">${v.toLocaleString('en')}</text>`,
    )
  }
  if (showBudget) {
    parts.push(
      `<line x1="${margin.left}" x2="${width - margin.right}" y1="${y(budget).toFixed(1)}" y2="${y(budget).toFixed(1)}" stroke="#757575" stroke-dasharray="2 3"/>`,
      `<text x="${width - margin.right - 4}" y="${(y(budget) - 5).toFixed(1)}" font-size="11" font-family="sans-serif" text-anchor="end">4 GiB budget</text>`,
    )
  }
  for (const [n, r] of results.entries()) {
    const colour = colours[n % colours.length] as string
    const line = (pick: (s: Sample) => number, dash: string) =>
      `<polyline points="${r.samples.map((s) => `${x(pick(s)).toFixed(1)},${y(s.rssBytes / MiB).toFixed(1)}`).join(' ')}" fill="none" stroke="${colour}" stroke-width="1.8"${dash}/>`
    parts.push(line((s) => s.started, ''), line((s) => Math.max(0, s.firstTaskDone), ' stroke-dasharray="6 4"'))
    const legendY = margin.top + plotHeight + 52 + n * 17
    parts.push(
      `<line x1="${margin.left}" x2="${margin.left + 24}" y1="${legendY - 4}" y2="${legendY - 4}" stroke="${colour}" stroke-width="1.8"/>`,
      `<text x="${margin.left + 30}" y="${legendY}" font-size="12" font-family="sans-serif">` +
        `${escapeXml(`cache ${r.setting} (${r.cacheSize}): RSS ${mib(r.rssBefore)} → ${mib(r.rssAfter)} MiB, ${kib((r.rssAfter - r.rssBefore) / held)} KiB per held escalation`)}</text>`,
    )
  }
  parts.push(
    `<line x1="${margin.left}" x2="${margin.left}" y1="${margin.top}" y2="${margin.top + plotHeight}" stroke="black"/>`,
    `<line x1="${margin.left}" x2="${width - margin.right}" y1="${margin.top + plotHeight}" y2="${margin.top + plotHeight}" stroke="black"/>`,
    `<text x="${margin.left + plotWidth / 2}" y="${margin.top + plotHeight + 36}" font-size="12" font-family="sans-serif" text-anchor="middle">escalations started (solid) / through their first workflow task (dashed)</text>`,
    `<text x="18" y="${margin.top + plotHeight / 2}" font-size="12" font-family="sans-serif" text-anchor="middle" transform="rotate(-90 18 ${margin.top + plotHeight / 2})">worker RSS (MiB)</text>`,
    `<text x="${margin.left}" y="24" font-size="14" font-family="sans-serif">${escapeXml(`One worker process holding ${held.toLocaleString('en')} escalations waiting ${WAIT_SECONDS} s: RSS as they start`)}</text>`,
  )
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">\n${parts.join('\n')}\n</svg>\n`
  return writePlot(outDir, 'held-rss', svg, { width, height })
}

async function main(): Promise<void> {
  let stopServer: () => Promise<void> = async () => {}
  let serverPid: number | null = null
  const ownServer = !process.env.TOCSIN_TEST_TEMPORAL_ADDRESS
  if (ownServer) {
    const port = await freePort()
    // In memory: nothing to clean up, and the dev server's own writes cost no disk.
    const server = await startDevServer({ port, logFile: path.join(outDir, 'temporal-dev-server.log') })
    liveChildren.add(server)
    serverPid = server.pid ?? null
    process.env.TOCSIN_TEST_TEMPORAL_ADDRESS = `127.0.0.1:${port}`
    stopServer = async () => {
      if (server.exitCode === null && server.signalCode === null) {
        const exited = new Promise((resolve) => server.once('exit', resolve))
        server.kill('SIGTERM')
        await exited
      }
      liveChildren.delete(server)
    }
  }
  const supported = cacheVariableSupported()
  let stack: Stack | undefined
  const results: PhaseResult[] = []
  try {
    stack = await startStack('bench_held', { worker: false })
    const org = await createOrg(stack, 'Held')
    const user = (await org.call('POST', '/api/v1/users/', { username: 'pager', email: 'pager@held.test' })).body.id
    const chainId = await chainOf(stack, org.call, [
      { type: 'wait', duration: WAIT_SECONDS },
      { type: 'notify_persons', persons_to_notify: [user] },
    ])
    const target = await ensureDirectPagingIntegration(stack.db, org.organizationId, null)
    await stack.db.updateTable('routes').set({ escalation_chain_id: chainId }).where('id', '=', target.routeId).execute()
    const fixture: Fixture = {
      stack,
      organizationId: org.organizationId,
      integrationId: target.integrationId,
      routeId: target.routeId,
      escalation: await loadChainSnapshot(stack.db, org.organizationId, chainId),
      ownServer,
      serverPid,
    }
    console.log(`Temporal ${process.env.TOCSIN_TEST_TEMPORAL_ADDRESS}${ownServer ? ' (in-memory dev server started here)' : ''}; output in ${outDir}`)
    for (const setting of cacheSettings) {
      if (setting !== 'default' && !supported) {
        console.log(`\nnote: cache ${setting} skipped: apps/worker does not read ${CACHE_VARIABLE} yet, so that worker would run with the default cache`)
        continue
      }
      results.push(await runPhase(fixture, setting, supported))
    }
    report(results)
    console.log(`\nRSS plot: ${plotRss(results)}`)
  } finally {
    if (stack) {
      const url = stack.dbUrl
      await stack.stop()
      await dropDatabase(url)
    }
    await stopServer()
  }
}

main().catch((err) => {
  console.error(err)
  process.exitCode = 1
})
