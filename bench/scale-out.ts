// Scale-out: Tocsin's API processes and workers keep no state of their own, so adding processes adds capacity and
// killing one loses nothing. Real processes as `npm start` runs them (`node --import tsx apps/<api|worker>/main.ts`),
// one Temporal server (TOCSIN_TEST_TEMPORAL_ADDRESS, else an in-memory dev server started here) and one PostgreSQL
// database of the bench's own (created, migrated, dropped at the end), all on 127.0.0.1. Every worker pages through
// the webhook notifier (the catch-all: the paged user has no personal rules, so each page is the fallback email, and
// no SMTP is configured) into a receiver in this process, each worker on a URL of its own so the receiver knows
// which worker delivered. Three phases, each on fresh processes and a task queue of its own, each a burst of the same
// number of direct pages (POST /api/v1/escalation/, spread round-robin over the API processes) from the same number
// of concurrent clients, each client sending its next page as soon as the previous one is answered, after warm-up
// pages that are not counted:
//   A  1 API + 1 worker
//   B  2 APIs + 2 workers
//   C  2 APIs + 2 workers, worker 2 killed (SIGKILL) once a third of the burst is accepted; the survivor carries on
// Per phase: pages/s accepted (first request → last answer) and delivered (first answer → last page's first
// arrival), first-page latency (request sent → receiver got it), lost (accepted, never received within the
// deadline), redelivered (a key received again: at-least-once delivery, receivers drop those by key), duplicated
// (a page under two keys), and the ledger (`notifications`: exactly one delivered row per page). Prints the
// machine's core count, a table per phase and the B/A ratio, and writes a plot of the latency distributions into
// TOCSIN_SCALE_OUT_OUT (default: a temporary directory), with every process's log. Exits non-zero on a lost page,
// a page under two keys, a ledger that is not one delivered row per page, or a refused request.
//   npm run bench:scale-out -- [pages per phase=1000] [concurrency=32]
import { writeFileSync, mkdirSync } from 'node:fs'
import type { ChildProcess } from 'node:child_process'
import { createServer, type Server } from 'node:http'
import { availableParallelism, cpus, loadavg } from 'node:os'
import path from 'node:path'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { sql } from 'kysely'
import { createDb, ensureDatabase, migrateToLatest, type Db } from '../db/connect'
import { createOrganization } from '../db/organizations.repo'
import { TocsinProcess, freePorts, health, tocsinEnv } from '../test/outage-harness'
import { freePort, startDevServer } from '../test/temporal-dev-server'
import { plotCdf, plotDir } from './lib/plot'
import { ascending, quantile } from './lib/stats'
import { dropDatabase } from './lib/database'

const pages = Number(process.argv[2] ?? 1000)
const concurrency = Number(process.argv[3] ?? 32)
if (!Number.isInteger(pages) || pages < 3) throw new Error('pages per phase: an integer of at least 3')
if (!Number.isInteger(concurrency) || concurrency < 1) throw new Error('concurrency: a positive integer')
/** Warm-up pages per phase: enough for every process to have compiled its hot paths and opened its pools. */
const WARMUP = Math.max(20, concurrency)
/** How long after the burst an accepted page may still arrive before it counts as lost (an in-flight page on a
 * killed worker waits for its activity's 15 s start-to-close timeout, then the retry backoff). */
const DELIVERY_DEADLINE_MS = 120_000
/** After the last page arrived and the ledger settled: time for a late redelivery to show up. */
const QUIET_MS = 2000
const READY_TIMEOUT_MS = 180_000
const ADMIN_URL = process.env.TOCSIN_TEST_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'

/** Epoch milliseconds with sub-millisecond resolution: one clock for the clients and the receiver. */
const now = () => performance.timeOrigin + performance.now()

interface PhasePlan {
  readonly id: 'A' | 'B' | 'C'
  readonly label: string
  readonly apis: number
  readonly workers: number
  /** Kill the last worker with SIGKILL once this share of the burst is accepted. */
  readonly killAfterShare?: number
}

const PHASES: readonly PhasePlan[] = [
  { id: 'A', label: '1 API + 1 worker', apis: 1, workers: 1 },
  { id: 'B', label: '2 APIs + 2 workers', apis: 2, workers: 2 },
  { id: 'C', label: '2 APIs + 2 workers, worker 2 SIGKILLed after 1/3 accepted', apis: 2, workers: 2, killAfterShare: 1 / 3 },
]

interface Page {
  readonly index: number
  readonly api: number
  readonly sentAt: number
  answeredAt?: number
  alertGroupId?: string
  failure?: string
}

interface Arrival {
  readonly key: string
  readonly alertGroupId: string
  /** The receiver path the worker was given: `<phase>-w<n>`. */
  readonly via: string
  readonly at: number
}

/** Where every worker's webhook notifier pages: records each request (redeliveries too) and answers 200 at once. */
class PageReceiver {
  readonly arrivals: Arrival[] = []
  readonly byGroup = new Map<string, Arrival[]>()
  private readonly server: Server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      const at = now()
      let alertGroupId = ''
      try {
        alertGroupId = String((JSON.parse(Buffer.concat(chunks).toString('utf8')) as { alertGroupId?: unknown }).alertGroupId ?? '')
      } catch {
        // recorded without a group: counted as unexpected
      }
      const arrival = { key: String(req.headers['idempotency-key'] ?? ''), alertGroupId, via: (req.url ?? '').replace(/^\/pages\//, ''), at }
      this.arrivals.push(arrival)
      const list = this.byGroup.get(alertGroupId)
      if (list) list.push(arrival)
      else this.byGroup.set(alertGroupId, [arrival])
      res.writeHead(200).end()
    })
  })

  async listen(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve))
  }

  url(via: string): string {
    return `http://127.0.0.1:${(this.server.address() as { port: number }).port}/pages/${via}`
  }

  async close(): Promise<void> {
    this.server.closeAllConnections()
    await new Promise((resolve) => this.server.close(resolve))
  }
}

interface Running {
  readonly name: string
  readonly process: TocsinProcess
  readonly readyUrl: string
}

interface LedgerRow {
  readonly alert_group_id: string
  readonly idempotency_key: string
  readonly delivered: boolean
  readonly attempts: number
}

interface PhaseResult {
  readonly plan: PhasePlan
  readonly rows: ReadonlyArray<readonly [string, string]>
  readonly latencies: readonly number[]
  readonly acceptedPerSecond: number
  readonly deliveredPerSecond: number
  readonly lost: number
  readonly redelivered: number
  readonly twoKeys: number
  readonly ledgerWrong: number
  readonly failures: number
  readonly byWorker: string
}

const live = new Set<TocsinProcess>()
const cleanups: Array<() => Promise<void>> = []
let cleaning: Promise<void> | undefined

/** Stops everything started, in reverse order, once (a signal and the normal end may both ask). */
function cleanUp(): Promise<void> {
  cleaning ??= (async () => {
    await Promise.all([...live].map((p) => p.stop('SIGKILL', 5000)))
    for (const step of cleanups.reverse()) await step().catch((err: unknown) => console.error(`cleanup: ${String(err)}`))
  })()
  return cleaning
}

async function main(): Promise<boolean> {
  const outDir = plotDir('TOCSIN_SCALE_OUT_OUT', 'tocsin-scale-out-')
  const logDir = path.join(outDir, 'logs')
  mkdirSync(logDir, { recursive: true })
  const log = (line: string) => console.error(`[scale-out ${new Date().toISOString().slice(11, 19)}] ${line}`)

  let temporalAddress = process.env.TOCSIN_TEST_TEMPORAL_ADDRESS
  if (!temporalAddress) {
    // In memory: no state survives the run, and no SQLite file write per transition.
    const port = await freePort()
    const temporal: ChildProcess = await startDevServer({ port, logFile: path.join(logDir, 'temporal.log') })
    cleanups.push(async () => {
      if (temporal.exitCode !== null || temporal.signalCode !== null) return
      const exited = new Promise((resolve) => temporal.once('exit', resolve))
      temporal.kill('SIGTERM')
      await exited
    })
    temporalAddress = `127.0.0.1:${port}`
  }

  const dbUrl = new URL(ADMIN_URL)
  dbUrl.pathname = `/tocsin_bench_scale_out_${process.pid}`
  const databaseUrl = dbUrl.toString()
  await ensureDatabase(databaseUrl)
  cleanups.push(() => dropDatabase(databaseUrl))
  const db = createDb(databaseUrl, { max: 4 })
  cleanups.push(() => db.destroy())
  await migrateToLatest(db)
  const { token } = await createOrganization(db, 'Bench scale-out')

  const receiver = new PageReceiver()
  await receiver.listen()
  cleanups.push(() => receiver.close())

  const cores = availableParallelism()
  console.log(
    `\nScale-out: ${pages} direct pages per phase from ${concurrency} concurrent clients, after ${WARMUP} warm-up pages; ` +
      `${cores} cores (${cpus()[0]?.model ?? 'unknown CPU'}), load average ${loadavg().map((l) => l.toFixed(2)).join(' ')} at start; ` +
      `Temporal at ${temporalAddress}${process.env.TOCSIN_TEST_TEMPORAL_ADDRESS ? '' : ' (in-memory dev server started here)'}. ` +
      'Every process, the Temporal server, PostgreSQL and this process (clients and receiver) share these cores.\n',
  )

  let userId: string | undefined
  const results: PhaseResult[] = []
  for (const plan of PHASES) {
    const taskQueue = `tocsin-bench-scale-out-${process.pid}-${plan.id}`
    const ports = await freePorts(plan.apis + plan.workers)
    const spawn = (name: string, kind: 'api' | 'worker', port: number, via: string): Running => {
      const env = {
        ...tocsinEnv({ databaseUrl, temporalAddress, taskQueue, pageUrl: receiver.url(via), apiPort: port, workerHealthPort: port }),
        TOCSIN_LOG_LEVEL: 'WARN',
        // The production default (the harness shortens it for outage tests): a loaded machine may take over 2 s.
        TOCSIN_DB_CONNECT_TIMEOUT_MS: '',
        // Nothing inherited from the caller's shell may give the fallback email a channel of its own, or add work.
        TOCSIN_SMTP_URL: '',
        TOCSIN_TWILIO_ACCOUNT_SID: '',
        TOCSIN_TWILIO_AUTH_TOKEN: '',
        TOCSIN_TWILIO_FROM_NUMBER: '',
        TOCSIN_SLACK_BOT_TOKEN: '',
        TOCSIN_CHAT_WEBHOOK_URL: '',
        TOCSIN_LINK_SECRET: '',
        TOCSIN_TEMPORAL_METRICS_ADDRESS: '',
        OTEL_EXPORTER_OTLP_ENDPOINT: '',
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: '',
      }
      const child = TocsinProcess.spawn(kind, env)
      live.add(child)
      return { name, process: child, readyUrl: `http://127.0.0.1:${port}/health/ready` }
    }
    const apis = Array.from({ length: plan.apis }, (_, i) => spawn(`api${i + 1}`, 'api', ports[i] as number, `${plan.id}-api${i + 1}`))
    const workers = Array.from({ length: plan.workers }, (_, i) => spawn(`worker${i + 1}`, 'worker', ports[plan.apis + i] as number, `${plan.id}-w${i + 1}`))
    const everyone = [...apis, ...workers]
    const readyAt = new Map<Running, number>()
    const apiUrls = apis.map((a) => a.readyUrl.replace(/\/health\/ready$/, ''))
    try {
      log(`phase ${plan.id} (${plan.label}): starting ${everyone.map((p) => `${p.name} pid ${p.process.pid}`).join(', ')}`)
      await Promise.all(everyone.map((p) => ready(p)))
      // Lines logged while starting (dependencies not answering yet) are told apart from those logged under load.
      for (const p of everyone) readyAt.set(p, p.process.log().length)
      if (userId === undefined) {
        const user = await call(apiUrls[0] as string, token, 'POST', '/api/v1/users/', { username: 'pager', email: 'pager@bench.test', role: 'editor' })
        if (user.status !== 201) throw new Error(`creating the user answered ${user.status}: ${user.text}`)
        userId = (user.body as { id: string }).id
      }
      const pageOf = (index: number): Promise<Page> => sendPage(apiUrls, index, token, userId as string)

      const warm = await burst(WARMUP, pageOf)
      const warmFailed = warm.filter((p) => p.failure !== undefined)
      if (warmFailed.length > 0) throw new Error(`warm-up: ${warmFailed.length} pages refused, e.g. ${warmFailed[0]?.failure}`)
      if (!(await allArrived(receiver, warm, DELIVERY_DEADLINE_MS))) throw new Error(`phase ${plan.id}: the warm-up pages were not all delivered`)
      await settledLedger(db, groupsOf(warm), DELIVERY_DEADLINE_MS)
      const warmVia = countBy(warm.map((p) => receiver.byGroup.get(p.alertGroupId as string)?.[0]?.via ?? '?'))
      log(`phase ${plan.id}: warm-up delivered (${describeCounts(warmVia)}); burst of ${pages}`)
      await sleep(1000)

      const arrivalsBefore = receiver.arrivals.length
      const loop = monitorEventLoopDelay({ resolution: 10 })
      loop.enable()
      let killedAt: number | undefined
      const killAt = plan.killAfterShare === undefined ? Number.POSITIVE_INFINITY : Math.ceil(pages * plan.killAfterShare)
      const victim = workers.at(-1) as Running
      let kill: Promise<unknown> | undefined
      const measured = await burst(pages, pageOf, (accepted) => {
        if (accepted !== killAt) return
        killedAt = now()
        log(`phase ${plan.id}: ${accepted} pages accepted; SIGKILL to ${victim.name} (pid ${victim.process.pid})`)
        kill = victim.process.stop('SIGKILL')
      })
      const burstEnd = now()
      await kill
      const accepted = measured.filter((p) => p.alertGroupId !== undefined)
      await allArrived(receiver, measured, DELIVERY_DEADLINE_MS)
      const ledger = await settledLedger(db, groupsOf(measured), 30_000)
      await sleep(QUIET_MS)
      loop.disable()
      const result = analyse(plan, measured, receiver, ledger, { burstEnd, killedAt, arrivalsBefore, loop })
      results.push(result)
      console.log(`\n### Phase ${plan.id}: ${plan.label}\n`)
      console.log('| measure | value |')
      console.log('| --- | --- |')
      for (const [measure, value] of result.rows) console.log(`| ${measure} | ${value} |`)
      if (accepted.length !== measured.length) {
        for (const p of measured.filter((m) => m.failure !== undefined).slice(0, 5)) console.log(`page ${p.index} failed: ${p.failure}`)
      }
    } finally {
      await Promise.all(everyone.map((p) => p.process.stop('SIGTERM', 20_000)))
      for (const p of everyone) {
        live.delete(p.process)
        writeFileSync(path.join(logDir, `${plan.id}-${p.name}.log`), p.process.log())
      }
      const noisy = everyone
        .map((p) => {
          const text = p.process.log()
          const mark = readyAt.get(p) ?? text.length
          return { name: p.name, starting: problemLines(text.slice(0, mark)), running: problemLines(text.slice(mark)) }
        })
        .filter((p) => p.starting.length + p.running.length > 0)
      if (noisy.length > 0) {
        console.log(`\nPhase ${plan.id} process logs, WARN and above (every line in ${logDir}):`)
        for (const p of noisy) {
          const lines = (list: string[]) => (list.length === 0 ? 'none' : `${list.length}, e.g. ${[...new Set(list)].slice(0, 3).join(' / ')}`)
          console.log(`- ${p.name}: once ready ${lines(p.running)}; while starting ${lines(p.starting)}`)
        }
      }
    }
  }

  const ms = (v: number) => (Number.isNaN(v) ? '—' : v.toFixed(1))
  console.log(`\n### Summary (${cores} cores, ${pages} pages per phase, ${concurrency} clients)\n`)
  console.log('| phase | accepted pages/s | delivered pages/s | first page p50 ms | p99 ms | lost | redelivered | two keys | ledger not 1 row | refused | delivered by |')
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |')
  for (const r of results) {
    console.log(
      `| ${r.plan.id}: ${r.plan.label} | ${r.acceptedPerSecond.toFixed(1)} | ${r.deliveredPerSecond.toFixed(1)} | ${ms(quantile(r.latencies, 0.5))} | ` +
        `${ms(quantile(r.latencies, 0.99))} | ${r.lost} | ${r.redelivered} | ${r.twoKeys} | ${r.ledgerWrong} | ${r.failures} | ${r.byWorker} |`,
    )
  }
  const [a, b] = results
  if (a && b) {
    console.log(
      `\nB/A: delivered pages/s ×${(b.deliveredPerSecond / a.deliveredPerSecond).toFixed(2)}, accepted pages/s ×${(b.acceptedPerSecond / a.acceptedPerSecond).toFixed(2)} ` +
        `(twice the API and worker processes on ${cores} cores).`,
    )
  }
  console.log(`\nplot: ${plotLatency(results, outDir)}\nprocess logs: ${logDir}`)
  const bad = results.filter((r) => r.lost > 0 || r.twoKeys > 0 || r.ledgerWrong > 0 || r.failures > 0)
  for (const r of bad) {
    console.log(`\nFAILED in phase ${r.plan.id}: ${r.lost} lost, ${r.twoKeys} under two keys, ${r.ledgerWrong} not one delivered ledger row, ${r.failures} refused`)
  }
  return bad.length === 0
}

async function ready(p: Running): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS
  for (;;) {
    if (!p.process.running) throw new Error(`${p.name} exited (${p.process.exitCode}) before it was ready:\n${p.process.log().slice(-4000)}`)
    if ((await health(p.readyUrl))?.status === 200) return
    if (Date.now() > deadline) throw new Error(`${p.name} not ready after ${READY_TIMEOUT_MS} ms:\n${p.process.log().slice(-4000)}`)
    await sleep(250)
  }
}

async function call(baseUrl: string, token: string, method: string, route: string, body: unknown): Promise<{ status: number; text: string; body: unknown }> {
  const response = await fetch(`${baseUrl}${route}`, {
    method,
    headers: { authorization: token, 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(60_000),
  })
  const text = await response.text()
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    parsed = undefined
  }
  return { status: response.status, text, body: parsed }
}

/** One direct page to the user, on the API process whose turn it is. */
async function sendPage(apiUrls: readonly string[], index: number, token: string, userId: string): Promise<Page> {
  const api = index % apiUrls.length
  const page: Page = { index, api, sentAt: now() }
  try {
    const response = await call(apiUrls[api] as string, token, 'POST', '/api/v1/escalation/', {
      title: `scale-out ${index}`,
      users: [{ id: userId, important: false }],
    })
    page.answeredAt = now()
    if (response.status === 200) page.alertGroupId = (response.body as { id: string }).id
    else page.failure = `answered ${response.status}: ${response.text.slice(0, 300)}`
  } catch (err) {
    page.answeredAt = now()
    page.failure = String((err as { cause?: unknown }).cause ?? err)
  }
  return page
}

/** `count` pages from `concurrency` clients, each sending its next page once the previous one is answered. */
async function burst(count: number, pageOf: (index: number) => Promise<Page>, onAccepted?: (accepted: number) => void): Promise<Page[]> {
  const sent: Page[] = []
  let next = 0
  let accepted = 0
  const client = async () => {
    for (let index = next++; index < count; index = next++) {
      const page = await pageOf(index)
      sent[index] = page
      if (page.alertGroupId !== undefined) onAccepted?.(++accepted)
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, client))
  return sent
}

const groupsOf = (list: readonly Page[]) => list.flatMap((p) => (p.alertGroupId === undefined ? [] : [p.alertGroupId]))

async function allArrived(receiver: PageReceiver, list: readonly Page[], timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  const groups = groupsOf(list)
  for (;;) {
    if (groups.every((g) => receiver.byGroup.has(g))) return true
    if (Date.now() > deadline) return false
    await sleep(20)
  }
}

/**
 * The ledger rows of these alert groups, once every group has a row and every row is delivered (or at the
 * deadline): a delivered row ends its activity's retries, so no further request can reach the receiver for it.
 */
async function settledLedger(db: Db, groups: readonly string[], timeoutMs: number): Promise<LedgerRow[]> {
  if (groups.length === 0) return []
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const rows = await db
      .selectFrom('notifications')
      .select(['alert_group_id', 'idempotency_key', 'attempts', sql<boolean>`delivered_at is not null`.as('delivered')])
      .where('alert_group_id', 'in', groups)
      .execute()
    const withRow = new Set(rows.map((r) => r.alert_group_id))
    if ((withRow.size === groups.length && rows.every((r) => r.delivered)) || Date.now() > deadline) return rows
    await sleep(100)
  }
}

function analyse(
  plan: PhasePlan,
  measured: readonly Page[],
  receiver: PageReceiver,
  ledger: readonly LedgerRow[],
  run: { burstEnd: number; killedAt: number | undefined; arrivalsBefore: number; loop: ReturnType<typeof monitorEventLoopDelay> },
): PhaseResult {
  const ms = (v: number) => (Number.isNaN(v) ? '—' : v.toFixed(1))
  const accepted = measured.filter((p) => p.alertGroupId !== undefined)
  const failures = measured.length - accepted.length
  const arrivalsOf = (p: Page) => receiver.byGroup.get(p.alertGroupId as string) ?? []
  const delivered = accepted.filter((p) => arrivalsOf(p).length > 0)
  const firstOf = (p: Page) => arrivalsOf(p)[0] as Arrival
  const lost = accepted.length - delivered.length
  const latencies = ascending(delivered.map((p) => firstOf(p).at - p.sentAt))
  const responses = ascending(accepted.map((p) => (p.answeredAt as number) - p.sentAt))
  const firstSent = Math.min(...measured.map((p) => p.sentAt))
  const lastAnswer = Math.max(...measured.map((p) => p.answeredAt ?? p.sentAt))
  const firstAccept = Math.min(...accepted.map((p) => p.answeredAt as number))
  const lastDelivered = Math.max(...delivered.map((p) => firstOf(p).at))
  const acceptedPerSecond = (accepted.length * 1000) / (lastAnswer - firstSent)
  const deliveredPerSecond = (delivered.length * 1000) / (lastDelivered - firstAccept)

  // At-least-once: the same key received again is a redelivery (the receiver drops it); two keys for one page would
  // be two pages.
  let redelivered = 0
  let extraRequests = 0
  let twoKeys = 0
  for (const p of delivered) {
    const arrivals = arrivalsOf(p)
    const keys = new Set(arrivals.map((a) => a.key))
    if (keys.size > 1) twoKeys++
    if (arrivals.length > keys.size) {
      redelivered++
      extraRequests += arrivals.length - keys.size
    }
  }
  const measuredGroups = new Set(groupsOf(measured))
  const unexpected = receiver.arrivals.slice(run.arrivalsBefore).filter((a) => !measuredGroups.has(a.alertGroupId)).length

  const rowsOf = new Map<string, LedgerRow[]>()
  for (const row of ledger) rowsOf.set(row.alert_group_id, [...(rowsOf.get(row.alert_group_id) ?? []), row])
  const ledgerWrong = accepted.filter((p) => {
    const rows = rowsOf.get(p.alertGroupId as string) ?? []
    return rows.length !== 1 || !rows[0]?.delivered
  }).length
  const ledgerMulti = accepted.filter((p) => (rowsOf.get(p.alertGroupId as string) ?? []).length > 1).length
  const retried = ledger.filter((r) => r.attempts > 1).length
  const keyMismatch = delivered.filter((p) => {
    const rows = rowsOf.get(p.alertGroupId as string) ?? []
    return rows.length === 1 && arrivalsOf(p).some((a) => a.key !== rows[0]?.idempotency_key)
  }).length

  const byWorker = countBy(delivered.map((p) => firstOf(p).via.replace(/^[A-C]-/, '')))
  const allBy = countBy(receiver.arrivals.slice(run.arrivalsBefore).map((a) => a.via.replace(/^[A-C]-/, '')))
  // The longest stretch without a first arrival, from the first accept to the last delivery.
  const firsts = ascending([firstAccept, ...delivered.map((p) => firstOf(p).at)])
  let longestGap = 0
  let gapEndsAt = firstAccept
  for (let i = 1; i < firsts.length; i++) {
    const gap = (firsts[i] as number) - (firsts[i - 1] as number)
    if (gap > longestGap) [longestGap, gapEndsAt] = [gap, firsts[i] as number]
  }
  const tenth = Math.max(1, Math.floor(delivered.length / 10))
  const p50 = (list: readonly Page[]) => ms(quantile(ascending(list.map((p) => firstOf(p).at - p.sentAt)), 0.5))
  const loopMs = (ns: number) => Math.max(0, ns / 1e6 - 10)

  const rows: Array<readonly [string, string]> = [
    ['pages sent / accepted (200) / refused', `${measured.length} / ${accepted.length} / ${failures}`],
    ['accepted pages/s (first request → last answer)', `${acceptedPerSecond.toFixed(1)} (${((lastAnswer - firstSent) / 1000).toFixed(2)} s)`],
    ['delivered pages/s (first answer → last page received)', `${deliveredPerSecond.toFixed(1)} (${((lastDelivered - firstAccept) / 1000).toFixed(2)} s)`],
    ['first-page latency ms (request sent → received) p50 / p90 / p99 / max', [0.5, 0.9, 0.99, 1].map((q) => ms(quantile(latencies, q))).join(' / ')],
    [`latency p50 of the first ${tenth} pages / of the last ${tenth}`, `${p50(delivered.slice(0, tenth))} / ${p50(delivered.slice(-tenth))} ms`],
    ['API answer ms p50 / p99 / max', [0.5, 0.99, 1].map((q) => ms(quantile(responses, q))).join(' / ')],
    ['**lost** (accepted, not received within the deadline)', String(lost)],
    ['**duplicated** (a page under two idempotency keys)', String(twoKeys)],
    ['redelivered (a key received again; receivers drop it by key)', `${redelivered} pages, ${extraRequests} extra requests`],
    ['**ledger**: pages without exactly one delivered row / with several rows', `${ledgerWrong} / ${ledgerMulti} (${ledger.length} rows for ${accepted.length} pages; ${retried} sent after a retry)`],
    ['received keys that differ from the ledger row key', String(keyMismatch)],
    ['pages delivered by (first arrival)', describeCounts(byWorker)],
    ['requests received by worker (redeliveries included)', describeCounts(allBy)],
    ['received for no measured page', String(unexpected)],
    ['longest pause between first arrivals', `${ms(longestGap)} ms, ending ${ms((gapEndsAt - firstAccept) / 1000)} s after the first answer`],
    ['event-loop delay of the bench process (clients + receiver) p50 / p99 / max', [50, 99].map((q) => ms(loopMs(run.loop.percentile(q)))).concat(ms(loopMs(run.loop.max))).join(' / ') + ' ms'],
  ]
  const killMissed = plan.killAfterShare !== undefined && run.killedAt === undefined
  if (killMissed) rows.push(['SIGKILL sent', '**never**: too few pages were accepted'])
  if (run.killedAt !== undefined) {
    const killedAt = run.killedAt
    // Pages the API had accepted by the kill that had not yet reached the receiver: the ones in flight somewhere.
    const inFlight = accepted.filter((p) => (p.answeredAt as number) <= killedAt && !(arrivalsOf(p).length > 0 && firstOf(p).at <= killedAt))
    const after = inFlight.filter((p) => arrivalsOf(p).length > 0)
    const recovery = ascending(after.map((p) => firstOf(p).at - killedAt))
    rows.push(
      ['SIGKILL sent', `${ms((killedAt - firstSent) / 1000)} s into the burst, ${((killedAt - firstSent) / (run.burstEnd - firstSent) * 100).toFixed(0)}% of its duration`],
      ['accepted before the kill, not yet received at it', `${inFlight.length} (delivered later: ${after.length}, by ${describeCounts(countBy(after.map((p) => firstOf(p).via.replace(/^[A-C]-/, ''))))})`],
      ['those pages received after the kill, ms p50 / max', `${ms(quantile(recovery, 0.5))} / ${ms(quantile(recovery, 1))}`],
    )
  }
  return {
    plan,
    rows,
    latencies,
    acceptedPerSecond,
    deliveredPerSecond,
    lost,
    redelivered,
    twoKeys,
    ledgerWrong,
    // A kill phase without its kill proved nothing: count it against the run.
    failures: failures + (killMissed ? 1 : 0),
    byWorker: describeCounts(byWorker),
  }
}

function countBy(values: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>()
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1)
  return new Map([...counts].sort(([x], [y]) => x.localeCompare(y)))
}

function describeCounts(counts: ReadonlyMap<string, number>): string {
  return counts.size === 0 ? 'nobody' : [...counts].map(([name, n]) => `${name} ${n}`).join(', ')
}

/** Log lines at WARN or above (pino levels 40+), and lines that are not JSON at all (a crash, a warning of node's). */
function problemLines(text: string): string[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .filter((line) => {
      try {
        return ((JSON.parse(line) as { level?: number }).level ?? 0) >= 40
      } catch {
        return true
      }
    })
    .map((line) => {
      try {
        const entry = JSON.parse(line) as { msg?: string; err?: { message?: string } }
        return `"${entry.msg ?? ''}${entry.err?.message ? `: ${entry.err.message}` : ''}"`.slice(0, 200)
      } catch {
        return `"${line.slice(0, 200)}"`
      }
    })
}

/** The first-page latency distribution of each phase (share of pages at or under x), x on a log scale. */
function plotLatency(results: readonly PhaseResult[], outDir: string): string {
  return plotCdf(outDir, 'scale-out-latency', {
    title: `Scale-out: first-page latency, ${pages} direct pages per phase from ${concurrency} clients, ${availableParallelism()} cores`,
    xLabel: 'ms from the API call to the page at the receiver (log)',
    yLabel: 'share of pages',
    series: results.map((r) => ({ label: `${r.plan.id}: ${r.plan.label} (${r.deliveredPerSecond.toFixed(1)} pages/s delivered)`, sorted: r.latencies })),
  })
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.error(`\n${signal}: stopping every process started and dropping the database`)
    void cleanUp().finally(() => process.exit(130))
  })
}

void main()
  .then(
    (ok) => cleanUp().then(() => ok),
    async (err: unknown) => {
      // After a signal, the processes' deaths make main fail: that is not news.
      if (cleaning === undefined) console.error(err)
      await cleanUp()
      return false
    },
  )
  .then((ok) => process.exit(ok ? 0 : 1))
