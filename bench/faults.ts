// A fault campaign on the real parts, all on 127.0.0.1: a private PostgreSQL cluster, a Temporal dev server of its
// own (state file, so it can be restarted), the API and the worker as separate processes as `npm start` runs them,
// a page receiver (the webhook notifier) and a receiver for outgoing webhooks.
//   1. Loads `escalations` alert groups through integrations (Alertmanager alerts, one grouping key each), routed to
//      chains that mix waits (durations set in the database, as second-scale engine tests do), notify_persons,
//      notify_on_call_from_schedule (a schedule whose shift covers the whole run) and trigger_webhook steps, so that
//      steps come due all through the campaign; a last 30-minute wait keeps every escalation in flight through all
//      the faults (the campaign stops the stack before it ends).
//   2. Then, in turn, each under a steady stream of new alerts on integrations of its own:
//        worker    the worker killed (SIGKILL) and started again after 1 s, as the `npm start` supervisor does
//        temporal  the Temporal dev server killed (SIGKILL) and started again on the same state file after 5 s
//        postgres  PostgreSQL stopped with an immediate shutdown (connections cut, as in a crash), started after 5 s
//        api       the API killed (SIGKILL) while the integrations receive alerts, started again after 1 s
//      Each phase lasts until what was due before the dependency's return has been delivered, plus a settle time.
//   3. Waits until the system is idle (everything delivered, or nothing more arriving long after the last due
//      instant), then counts from the receivers and the ledger, per phase (a step belongs to the phase in which it
//      was due): pages and webhook calls lost, duplicated (the same alert group, step and user under two keys, or
//      one alert grouped twice), redelivered (a key delivered again: receivers drop those by key), alerts answered
//      200 but never grouped, and the lateness of steps (due instant → delivery at the receiver).
// It prints one table and writes an SVG plot of lateness over time with the fault windows marked, and a PNG of it
// (bench/lib/plot.ts says how), into TOCSIN_FAULTS_OUT (default: a temporary directory).
//   npm run bench:faults -- [escalations=1000] [alerts per second during faults=2] [faults=worker,temporal,postgres,api]
// Set TOCSIN_OUTAGE_LOG_DIR to keep every line the API and the worker log.
import type { ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { cpus, tmpdir } from 'node:os'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { sql } from 'kysely'
import { createDb, ensureDatabase, migrateToLatest, type Db } from '../db/connect'
import { createOrganization } from '../db/organizations.repo'
import { PrivatePostgres } from '../test/private-postgres'
import { startDevServer } from '../test/temporal-dev-server'
import {
  AlertStream,
  HookReceiver,
  PageReceiver,
  TocsinProcess,
  configurePaging,
  freePorts,
  health,
  oncall,
  tocsinEnv,
  until,
  type ProcessKind,
  type SendResult,
} from '../test/outage-harness'
import { escapeXml, plotDir, writePlot } from './lib/plot'
import { quantile } from './lib/stats'

const escalations = Number(process.argv[2] ?? 1000)
const streamRate = Number(process.argv[3] ?? 2)
const ALL_FAULTS = ['worker', 'temporal', 'postgres', 'api'] as const
type Fault = (typeof ALL_FAULTS)[number]
const faults = (process.argv[4] ?? ALL_FAULTS.join(',')).split(',') as Fault[]
for (const fault of faults) if (!ALL_FAULTS.includes(fault)) throw new Error(`unknown fault ${fault}: one of ${ALL_FAULTS.join(', ')}`)
if (!Number.isInteger(escalations) || escalations < 1) throw new Error('escalations: a positive integer')
if (!(streamRate > 0)) throw new Error('alerts per second during faults: a positive number')

// The load arrives at this rate; OnCall's default limits (300 alerts per 5 minutes per integration, 900 per
// organization) are respected by spreading it over organizations and integrations.
const LOAD_RATE = 10
const ESCALATIONS_PER_ORGANIZATION = 250
const STREAM_ALERTS_PER_INTEGRATION = 150
const STREAM_MAX_ALERTS = 800
// Steady state before the first fault: the lateness every fault is compared with.
const BASELINE_MS = 45_000
const SUPERVISOR_RESTART_MS = 1000
const DEPENDENCY_OUTAGE_MS = 5000
// A phase ends once what was due before the return is delivered (bounded), plus SETTLE_MS, and never before
// MIN_PHASE_MS after the fault.
const MIN_PHASE_MS = 60_000
const SETTLE_MS = 15_000
const RECOVERY_LIMIT_MS = 120_000
// Idle: everything delivered, or no delivery for STALL_MS once the last step is past due (bounded by IDLE_LIMIT_MS).
const STALL_MS = 60_000
const IDLE_LIMIT_MS = 900_000
const QUIET_AFTER_MS = 10_000

/** One step of a load chain: its position, its offset from the alert group's creation, what it does. */
type Action = 'first' | 'second' | 'both' | 'schedule' | 'webhook'
interface StepPlan {
  readonly index: number
  readonly offsetMs: number
  readonly userIds: readonly string[]
  readonly webhook: boolean
}
interface ChainPlan {
  readonly steps: readonly StepPlan[]
  /** When the escalation has run its whole chain, from the alert group's creation. */
  readonly endOffsetMs: number
  readonly stream: boolean
}

/**
 * Nine chains per organization: three mixes of two actions, each action after a wait, at nine timings, and a last
 * wait that keeps every escalation in flight through the whole campaign (its end pages nobody). The offsets (seconds
 * from the alert group's creation) spread the steps over the faults at about the rate a 2-core machine, running
 * the Temporal dev server too, keeps up with.
 */
const MIXES: readonly (readonly Action[])[] = [
  ['first', 'schedule'],
  ['webhook', 'both'],
  ['schedule', 'webhook'],
]
function offsetsOf(slot: number): number[] {
  const first = 50 + 30 * slot
  return [first, first + 120 + 10 * slot]
}
const SLOTS = 9
const HOLD_SECONDS = 1800

interface Phase {
  readonly label: string
  readonly startMs: number
  endMs: number
  downMs?: number
  backMs?: number
  results: readonly SendResult[]
  notes: string[]
}

interface Group {
  readonly id: string
  readonly integrationId: string
  readonly createdMs: number
  readonly title: string | null
}

interface Item {
  readonly key: string
  readonly groupId: string
  readonly index: number
  readonly kind: 'page' | 'webhook'
  readonly dueMs: number
  readonly stream: boolean
}

interface Received {
  readonly keys: Set<string>
  deliveries: number
  firstAt: number
}

/** Polls `check` every `everyMs` until it is true; false (not an error) after `timeoutMs`. */
async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs: number, everyMs = 500): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (await check()) return true
    if (Date.now() > deadline) return false
    await sleep(everyMs)
  }
}

async function main(): Promise<void> {
  const stateDir = mkdtempSync(path.join(tmpdir(), 'tocsin-bench-faults-'))
  const outDir = plotDir('TOCSIN_FAULTS_OUT', 'tocsin-faults-plot-')
  const postgres = await PrivatePostgres.create()
  const databaseUrl = postgres.url('tocsin')
  await ensureDatabase(databaseUrl)
  const db = createDb(databaseUrl, { max: 4 })
  await migrateToLatest(db)
  const pages = await PageReceiver.start()
  const hooks = await HookReceiver.start()
  const [apiPort, workerHealthPort, temporalPort] = (await freePorts(3)) as [number, number, number]
  const apiUrl = `http://127.0.0.1:${apiPort}`
  const workerHealthUrl = `http://127.0.0.1:${workerHealthPort}`
  const temporalState = path.join(stateDir, 'temporal.db')
  const temporalLog = path.join(process.env.TOCSIN_OUTAGE_LOG_DIR ?? stateDir, 'temporal.log')
  let temporal: ChildProcess = await startDevServer({ port: temporalPort, dbFile: temporalState, logFile: temporalLog })
  const env = tocsinEnv({
    databaseUrl,
    temporalAddress: `127.0.0.1:${temporalPort}`,
    taskQueue: 'tocsin-bench-faults',
    pageUrl: pages.url,
    apiPort,
    workerHealthPort,
  })
  const processes: Record<ProcessKind, TocsinProcess> = { api: TocsinProcess.spawn('api', env), worker: TocsinProcess.spawn('worker', env) }
  const everyProcess: TocsinProcess[] = [processes.api, processes.worker]
  const killedByUs = new Set<TocsinProcess>()
  const ready = (kind: ProcessKind) =>
    until(
      `the ${kind} to be ready`,
      async () => ((await health(`${kind === 'api' ? apiUrl : workerHealthUrl}/health/ready`))?.status === 200 ? true : undefined),
      180_000,
      () => processes[kind].log().slice(-4000),
    )
  const plans = new Map<string, ChainPlan>()
  const phases: Phase[] = []
  const log = (line: string) => console.log(`[faults ${new Date().toISOString().slice(11, 19)}] ${line}`)

  try {
    await Promise.all([ready('api'), ready('worker')])
    log('stack ready')

    // --- the load: organizations, each with users, a schedule, a webhook, nine chains behind nine integrations
    const loadUrls: string[] = []
    for (let org = 0; org * ESCALATIONS_PER_ORGANIZATION < escalations; org++) {
      const urls = await configureLoad(db, apiUrl, hooks.url, `load-${org}`, plans)
      loadUrls.push(...urls)
    }
    // Integrations for each fault's stream: a one-step chain paging one user, in an organization of its own.
    const streamUrls = new Map<Fault, string[]>()
    for (const fault of faults) {
      const { organizationId, token } = await createOrganization(db, `Faults stream ${fault}`)
      const maxAlerts = Math.min(STREAM_MAX_ALERTS, Math.ceil(streamRate * 150))
      const { urls, userId } = await configurePaging(apiUrl, token, `stream-${fault}`, Math.ceil(maxAlerts / STREAM_ALERTS_PER_INTEGRATION))
      const integrations = await db.selectFrom('integrations').select('id').where('organization_id', '=', organizationId).execute()
      for (const { id } of integrations) plans.set(id, { steps: [{ index: 0, offsetMs: 0, userIds: [userId], webhook: false }], endOffsetMs: 0, stream: true })
      streamUrls.set(fault, urls)
    }

    const campaignStart = Date.now()
    const load = new AlertStream(loadUrls, { ratePerSecond: LOAD_RATE, maxAlerts: escalations, prefix: 'load' })
    load.start()
    const baseline: Phase = { label: 'load and steady state (no fault)', startMs: campaignStart, endMs: 0, results: load.results, notes: [] }
    phases.push(baseline)
    await until('the load to be sent', () => (load.results.length >= escalations ? true : undefined), (escalations / LOAD_RATE) * 1000 + 300_000)
    await load.stop()
    log(`load sent: ${load.accepted().length} of ${escalations} accepted`)
    const grouped = await waitFor(async () => (await countGroups(db, false)) >= load.accepted().length, 300_000, 1000)
    if (!grouped) baseline.notes.push('not every accepted load alert was grouped within 300 s')
    log(`load grouped: ${await countGroups(db, false)} alert groups`)
    await sleep(Math.max(0, campaignStart + (escalations / LOAD_RATE) * 1000 + BASELINE_MS - Date.now()))

    // --- the faults, in turn
    for (const fault of faults) {
      const phaseStart = Date.now()
      lastPhase(phases).endMs = phaseStart
      const stream = new AlertStream(streamUrls.get(fault) as string[], {
        ratePerSecond: streamRate,
        maxAlerts: Math.min(STREAM_MAX_ALERTS, Math.ceil(streamRate * 150)),
        prefix: `stream-${fault}`,
      })
      const phase: Phase = { label: faultLabel[fault], startMs: phaseStart, endMs: Number.POSITIVE_INFINITY, results: stream.results, notes: [] }
      phases.push(phase)
      stream.start()
      try {
        if (!(await waitFor(() => stream.accepted().length >= streamRate * 2, 60_000))) phase.notes.push('the stream was not accepted before the fault')
        phase.downMs = Date.now()
        log(`${fault}: fault`)
        switch (fault) {
          case 'worker':
          case 'api': {
            const victim = processes[fault]
            killedByUs.add(victim)
            await victim.stop('SIGKILL')
            await sleep(SUPERVISOR_RESTART_MS)
            processes[fault] = TocsinProcess.spawn(fault, env)
            everyProcess.push(processes[fault])
            await ready(fault)
            break
          }
          case 'temporal': {
            const exited = new Promise((resolve) => temporal.once('exit', resolve))
            temporal.kill('SIGKILL')
            await exited
            await sleep(DEPENDENCY_OUTAGE_MS)
            temporal = await startDevServer({ port: temporalPort, dbFile: temporalState, logFile: temporalLog })
            break
          }
          case 'postgres':
            await postgres.stopImmediately()
            await sleep(DEPENDENCY_OUTAGE_MS)
            await postgres.start()
            break
        }
        const backMs = Date.now()
        phase.backMs = backMs
        log(`${fault}: back after ${((backMs - phase.downMs) / 1000).toFixed(1)} s`)
        const streamedAfter = await waitFor(() => stream.count((r) => r.sentAt > backMs && r.status === 200) >= streamRate * 5, 180_000)
        if (!streamedAfter) phase.notes.push('the stream was not accepted again within 180 s of the return')
      } finally {
        await stream.stop()
      }
      const backMs = phase.backMs ?? Date.now()
      const recovered = await waitFor(
        async () => {
          try {
            const state = await snapshot(db, plans, pages, hooks)
            const undelivered = state.items.filter((i) => i.dueMs <= backMs && !state.received.has(i.key)).length
            const ungrouped = stream.accepted().filter((r) => r.sentAt <= backMs && !state.titles.has(r.title)).length
            return undelivered === 0 && ungrouped === 0
          } catch {
            return false
          }
        },
        RECOVERY_LIMIT_MS,
        2000,
      )
      const recoveredAt = Date.now()
      if (!recovered) phase.notes.push(`what was due before the return was not all delivered within ${RECOVERY_LIMIT_MS / 1000} s`)
      log(`${fault}: ${recovered ? 'caught up' : 'not caught up'} ${((recoveredAt - backMs) / 1000).toFixed(1)} s after the return`)
      await sleep(Math.max(0, phase.downMs! + MIN_PHASE_MS - Date.now(), recoveredAt + SETTLE_MS - Date.now()))
      for (const p of everyProcess) {
        if (!p.running && !killedByUs.has(p) && !phase.notes.some((n) => n.includes(`pid ${p.pid}`))) {
          phase.notes.push(`the ${p.kind} (pid ${p.pid}) exited by itself (code ${p.exitCode})`)
        }
      }
      log(`${fault}: phase over`)
    }
    const afterFaults: Phase = { label: 'after the faults', startMs: Date.now(), endMs: Number.POSITIVE_INFINITY, results: [], notes: [] }
    lastPhase(phases).endMs = afterFaults.startMs
    phases.push(afterFaults)

    // --- idle: everything delivered, or nothing new long after the last due instant
    const allResults = () => phases.flatMap((p) => p.results)
    const idleStart = Date.now()
    let lastPending = Number.POSITIVE_INFINITY
    let lastArrivals = -1
    let progressAt = Date.now()
    for (;;) {
      let state: Snapshot
      try {
        state = await snapshot(db, plans, pages, hooks)
      } catch {
        await sleep(2000)
        continue
      }
      const lastDue = Math.max(...state.items.map((i) => i.dueMs))
      const pending =
        state.items.filter((i) => !state.received.has(i.key)).length +
        allResults().filter((r) => r.status === 200 && !state.titles.has(r.title)).length
      const arrivals = pages.deliveries.length + hooks.calls.length
      if (pending < lastPending || arrivals !== lastArrivals) progressAt = Date.now()
      lastPending = pending
      lastArrivals = arrivals
      if (pending === 0) break
      if (Date.now() > lastDue + STALL_MS && Date.now() - progressAt > STALL_MS) break
      if (Date.now() - idleStart > IDLE_LIMIT_MS) break
      if ((Date.now() - idleStart) % 30_000 < 2000) log(`waiting for ${pending} deliveries (last step due ${new Date(lastDue).toISOString().slice(11, 19)})`)
      await sleep(2000)
    }
    await sleep(QUIET_AFTER_MS)
    log('idle')

    // --- the counts
    const state = await snapshot(db, plans, pages, hooks)
    const ledger = await ledgerChecks(db, new Set(pages.deliveries.map((d) => d.idempotencyKey)))
    const groupsByTitle = await alertGroupsByTitle(db)
    const phaseOf = (ms: number) => phases.find((p) => ms >= p.startMs && ms < p.endMs) ?? (phases[phases.length - 1] as Phase)
    interface Row {
      accepted: number
      refused: number
      neverGrouped: number
      groupedTwice: number
      due: number
      pagesLost: number
      webhooksLost: number
      duplicated: number
      redelivered: number
      lateness: number[]
    }
    const rows = new Map<Phase, Row>(
      phases.map((p) => [p, { accepted: 0, refused: 0, neverGrouped: 0, groupedTwice: 0, due: 0, pagesLost: 0, webhooksLost: 0, duplicated: 0, redelivered: 0, lateness: [] }]),
    )
    const points: { dueMs: number; lateness: number; kind: 'page' | 'webhook' | 'stream' }[] = []
    const lostSamples: string[] = []
    for (const phase of phases) {
      const row = rows.get(phase) as Row
      for (const r of phase.results) {
        if (r.status !== 200) {
          row.refused++
          continue
        }
        row.accepted++
        const groups = groupsByTitle.get(r.title)
        if (!groups) row.neverGrouped++
        else if (groups.size > 1) row.groupedTwice++
      }
    }
    for (const item of state.items) {
      const row = rows.get(phaseOf(item.dueMs)) as Row
      row.due++
      const got = state.received.get(item.key)
      if (!got) {
        if (item.kind === 'page') row.pagesLost++
        else row.webhooksLost++
        if (lostSamples.length < 10) lostSamples.push(`${item.key} (due ${new Date(item.dueMs).toISOString()})`)
        continue
      }
      if (got.keys.size > 1) row.duplicated++
      row.redelivered += got.deliveries - got.keys.size
      const lateness = Math.max(0, got.firstAt - item.dueMs) / 1000
      row.lateness.push(lateness)
      points.push({ dueMs: item.dueMs, lateness, kind: item.stream ? 'stream' : item.kind })
    }

    // Load escalations created before `ms` whose chain had not run to its end then.
    const inFlightAt = (ms: number) =>
      state.groups.filter((g) => {
        const plan = plans.get(g.integrationId)
        return plan !== undefined && !plan.stream && g.createdMs <= ms && g.createdMs + plan.endOffsetMs > ms
      }).length

    console.log(
      `\nFault campaign: ${escalations} escalations loaded through integrations (${load.accepted().length} accepted), ` +
        `${streamRate} alerts/s during each fault, ${cpus().length} cores`,
    )
    console.log(
      '| phase | down for (s) | in flight | alerts accepted | refused | accepted, never grouped | deliveries due | pages lost | webhook calls lost | duplicated | redelivered (same key) | lateness p50 / p99 / max (s) |',
    )
    console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|')
    const seconds = (v: number) => (Number.isNaN(v) ? '—' : v.toFixed(1))
    for (const phase of phases) {
      const row = rows.get(phase) as Row
      const sorted = [...row.lateness].sort((a, b) => a - b)
      const down = phase.downMs !== undefined && phase.backMs !== undefined ? ((phase.backMs - phase.downMs) / 1000).toFixed(1) : '—'
      const inFlight = phase.downMs !== undefined ? String(inFlightAt(phase.downMs)) : '—'
      console.log(
        `| ${phase.label} | ${down} | ${inFlight} | ${row.accepted} | ${row.refused} | ${row.neverGrouped} | ${row.due} | ${row.pagesLost} | ${row.webhooksLost} | ` +
          `${row.duplicated + row.groupedTwice} | ${row.redelivered} | ${seconds(quantile(sorted, 0.5))} / ${seconds(quantile(sorted, 0.99))} / ${seconds(quantile(sorted, 1))} |`,
      )
    }
    const notes = phases.flatMap((p) => p.notes.map((n) => `${p.label}: ${n}`))
    const unexpected = state.unexpected
    console.log(
      `receivers: ${pages.deliveries.length} page deliveries, ${hooks.calls.length} webhook calls; ` +
        `${unexpected.length} deliveries matching no planned step${unexpected.length ? ` (e.g. ${unexpected.slice(0, 3).join(', ')})` : ''}`,
    )
    console.log(
      `ledger: ${ledger.rows} notification rows, ${ledger.undelivered} never delivered, ${ledger.twice} (alert group, user, step) paged under two keys, ` +
        `${ledger.notReceived} marked delivered but never received; ${ledger.inbox} alerts left in the ingest inbox; ` +
        `${ledger.webhookSteps} webhook steps with no 2xx response recorded`,
    )
    for (const sample of lostSamples) console.log(`lost: ${sample}`)
    for (const note of notes) console.log(`note: ${note}`)
    const fatal = everyProcess.filter((p) => /"level":60/.test(p.log())).map((p) => `${p.kind} pid ${p.pid}`)
    console.log(`Tocsin exits not caused by the campaign: ${notes.some((n) => n.includes('exited by itself')) ? 'see notes' : 'none'}; fatal log lines: ${fatal.length ? fatal.join(', ') : 'none'}`)

    const serverErrors = readFileSync(temporalLog, 'utf8')
      .split('\n')
      .filter((line) => line.includes('level=ERROR'))
    const errorKinds = new Map<string, number>()
    for (const line of serverErrors) {
      const kind = `${/msg="([^"]*)"/.exec(line)?.[1] ?? '?'} (${/error="([^"]*)"/.exec(line)?.[1] ?? ''})`
      errorKinds.set(kind, (errorKinds.get(kind) ?? 0) + 1)
    }
    console.log(
      `Temporal dev server: ${serverErrors.length} error lines` +
        (errorKinds.size ? `, most frequent: ${[...errorKinds].sort((a, b) => b[1] - a[1]).slice(0, 5).map(([kind, n]) => `${n}× ${kind}`).join('; ')}` : ''),
    )
    const plot = plotLateness(outDir, campaignStart, phases, points)
    console.log(`plot: ${plot}`)
  } finally {
    await Promise.all([processes.api.stop(), processes.worker.stop()])
    if (temporal.exitCode === null && temporal.signalCode === null) {
      const exited = new Promise((resolve) => temporal.once('exit', resolve))
      temporal.kill('SIGTERM')
      await exited
    }
    await db.destroy()
    await pages.close()
    await hooks.close()
    await postgres.destroy()
    rmSync(stateDir, { recursive: true, force: true })
  }
}

/** The phase running so far: the one a new phase ends. */
function lastPhase(list: readonly Phase[]): Phase {
  return list[list.length - 1] as Phase
}

const faultLabel: Record<Fault, string> = {
  worker: 'worker SIGKILL',
  temporal: 'Temporal dev server SIGKILL + restart',
  postgres: 'PostgreSQL restart (immediate)',
  api: 'API SIGKILL under incoming alerts',
}

/** One load organization: users, a schedule, an escalation webhook, nine chains behind nine integrations. */
async function configureLoad(db: Db, apiUrl: string, hookUrl: string, name: string, plans: Map<string, ChainPlan>): Promise<string[]> {
  const { token } = await createOrganization(db, `Faults ${name}`)
  const call = oncall(apiUrl, token)
  const must = async (method: string, route: string, body: unknown) => {
    const response = await call(method, route, body)
    if (response.status !== 201) throw new Error(`${method} ${route} answered ${response.status}: ${JSON.stringify(response.body)}`)
    return response.body
  }
  const user = async (role: string) => (await must('POST', '/api/v1/users/', { username: `${name}-${role}`, email: `${role}@${name}.faults.test`, role: 'editor' })).id as string
  const first = await user('first')
  const second = await user('second')
  const onCall = await user('oncall')
  const naive = (ms: number) => new Date(ms).toISOString().slice(0, 19)
  const shift = await must('POST', '/api/v1/on_call_shifts/', {
    type: 'single_event',
    time_zone: 'UTC',
    start: naive(Date.now() - 3600_000),
    duration: 86_400,
    users: [onCall],
  })
  const schedule = await must('POST', '/api/v1/schedules/', { name: `${name}-schedule`, type: 'calendar', time_zone: 'UTC', shifts: [shift.id] })
  const webhook = await must('POST', '/api/v1/webhooks/', {
    name: `${name}-hook`,
    url: hookUrl,
    http_method: 'POST',
    trigger_type: 'escalation',
    forward_all: true,
  })
  const urls: string[] = []
  for (let slot = 0; slot < SLOTS; slot++) {
    const mix = MIXES[slot % MIXES.length] as readonly Action[]
    const offsets = offsetsOf(slot)
    const chain = await must('POST', '/api/v1/escalation_chains/', { name: `${name}-chain-${slot}` })
    const steps: StepPlan[] = []
    let previous = 0
    for (const [k, action] of mix.entries()) {
      const offset = offsets[k] as number
      const wait = await must('POST', '/api/v1/escalation_policies/', { escalation_chain_id: chain.id, type: 'wait', duration: 60 })
      await db.updateTable('escalation_policies').set({ duration: offset - previous }).where('id', '=', wait.id).execute()
      previous = offset
      const policy =
        action === 'schedule'
          ? { type: 'notify_on_call_from_schedule', notify_on_call_from_schedule: schedule.id }
          : action === 'webhook'
            ? { type: 'trigger_webhook', action_to_trigger: webhook.id }
            : { type: 'notify_persons', persons_to_notify: action === 'first' ? [first] : action === 'second' ? [second] : [first, second] }
      await must('POST', '/api/v1/escalation_policies/', { escalation_chain_id: chain.id, ...policy })
      const userIds = action === 'schedule' ? [onCall] : action === 'first' ? [first] : action === 'second' ? [second] : action === 'both' ? [first, second] : []
      steps.push({ index: 2 * k + 1, offsetMs: offset * 1000, userIds, webhook: action === 'webhook' })
    }
    const hold = await must('POST', '/api/v1/escalation_policies/', { escalation_chain_id: chain.id, type: 'wait', duration: 60 })
    await db.updateTable('escalation_policies').set({ duration: HOLD_SECONDS }).where('id', '=', hold.id).execute()
    const integration = await must('POST', '/api/v1/integrations/', {
      type: 'alertmanager',
      name: `${name}-${slot}`,
      default_route: { escalation_chain_id: chain.id },
    })
    plans.set(integration.id, { steps, endOffsetMs: (previous + HOLD_SECONDS) * 1000, stream: false })
    urls.push(`${apiUrl}${new URL(integration.link).pathname}`)
  }
  return urls
}

async function countGroups(db: Db, stream: boolean): Promise<number> {
  const row = await db
    .selectFrom('alert_groups as g')
    .innerJoin('organizations as o', 'o.id', 'g.organization_id')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('o.name', stream ? 'like' : 'not like', 'Faults stream%')
    .executeTakeFirstOrThrow()
  return Number(row.n)
}

interface Snapshot {
  readonly groups: readonly Group[]
  readonly items: readonly Item[]
  readonly received: ReadonlyMap<string, Received>
  /** Titles of the alert groups that exist (each alert's grouping key is its title). */
  readonly titles: ReadonlySet<string>
  readonly unexpected: readonly string[]
}

/** What should have been delivered by now or later (from the alert groups and their chains), and what was. */
async function snapshot(db: Db, plans: ReadonlyMap<string, ChainPlan>, pages: PageReceiver, hooks: HookReceiver): Promise<Snapshot> {
  const rows = await db
    .selectFrom('alert_groups')
    .select(['id', 'integration_id', 'title', sql<number>`(extract(epoch from created_at) * 1000)::float8`.as('created_ms')])
    .execute()
  const groups: Group[] = rows.map((r) => ({ id: r.id, integrationId: r.integration_id, createdMs: Number(r.created_ms), title: r.title }))
  const items: Item[] = []
  const expected = new Set<string>()
  for (const group of groups) {
    const plan = plans.get(group.integrationId)
    if (!plan) continue
    for (const step of plan.steps) {
      const dueMs = group.createdMs + step.offsetMs
      for (const userId of step.userIds) items.push({ key: `${group.id}:${step.index}:${userId}`, groupId: group.id, index: step.index, kind: 'page', dueMs, stream: plan.stream })
      if (step.webhook) items.push({ key: `${group.id}:${step.index}:webhook`, groupId: group.id, index: step.index, kind: 'webhook', dueMs, stream: plan.stream })
    }
  }
  for (const item of items) expected.add(item.key)
  const received = new Map<string, Received>()
  const unexpected: string[] = []
  const note = (key: string, idempotencyKey: string, at: number) => {
    if (!expected.has(key)) {
      unexpected.push(key)
      return
    }
    const entry = received.get(key) ?? { keys: new Set<string>(), deliveries: 0, firstAt: at }
    entry.keys.add(idempotencyKey)
    entry.deliveries++
    entry.firstAt = Math.min(entry.firstAt, at)
    received.set(key, entry)
  }
  // A page's key is `<workflow id>:<first run id>:<step number>:<user id>`; a webhook step's lacks the user.
  for (const d of pages.deliveries) {
    const parts = d.idempotencyKey.split(':')
    note(`${d.alertGroupId}:${parts[parts.length - 2]}:${parts[parts.length - 1]}`, d.idempotencyKey, d.at)
  }
  for (const call of hooks.calls) {
    const body = call.body as { alert_group_id?: string } | null
    const parts = call.idempotencyKey.split(':')
    note(`${body?.alert_group_id ?? '?'}:${parts[parts.length - 1]}:webhook`, call.idempotencyKey, call.at)
  }
  return { groups, items, received, titles: new Set(groups.map((g) => g.title ?? '')), unexpected }
}

/** Alert titles (each alert's own alertname) → the alert groups their alerts went to. */
async function alertGroupsByTitle(db: Db): Promise<Map<string, Set<string>>> {
  const rows = await db
    .selectFrom('alerts')
    .select(['alert_group_id', sql<string>`payload->'groupLabels'->>'alertname'`.as('title')])
    .execute()
  const byTitle = new Map<string, Set<string>>()
  for (const r of rows) byTitle.set(r.title, (byTitle.get(r.title) ?? new Set()).add(r.alert_group_id))
  return byTitle
}

/**
 * The ledger's side: pages recorded but never delivered, pages recorded twice, pages marked delivered that the
 * receiver never saw, webhook steps never answered.
 */
async function ledgerChecks(db: Db, receivedKeys: ReadonlySet<string>) {
  const count = async (query: ReturnType<typeof sql<{ n: number }>>) => Number((await query.execute(db)).rows[0]?.n ?? 0)
  const delivered = await db.selectFrom('notifications').select('idempotency_key').where('delivered_at', 'is not', null).execute()
  return {
    rows: await count(sql<{ n: number }>`select count(*)::int as n from notifications`),
    undelivered: await count(sql<{ n: number }>`select count(*)::int as n from notifications where delivered_at is null`),
    twice: await count(sql<{ n: number }>`
      select count(*)::int as n from (
        select 1 from notifications group by alert_group_id, user_id, step having count(*) > 1) t`),
    notReceived: delivered.filter((r) => !receivedKeys.has(r.idempotency_key)).length,
    inbox: await count(sql<{ n: number }>`select count(*)::int as n from ingest_inbox`),
    webhookSteps: await count(sql<{ n: number }>`
      select count(*)::int as n from (
        select split_part(idempotency_key, ':attempt-', 1) as step_key from webhook_responses
        group by 1 having bool_or(status_code between 200 and 299) is not true) t`),
  }
}

/** Lateness (due instant → delivery) of every step over the campaign, the fault windows in red. */
function plotLateness(outDir: string, startMs: number, phases: readonly Phase[], points: readonly { dueMs: number; lateness: number; kind: string }[]): string {
  const width = 1200
  const height = 520
  const margin = { left: 70, right: 20, top: 76, bottom: 60 }
  const endMs = Math.max(startMs + 60_000, ...points.map((p) => p.dueMs))
  const maxLateness = Math.max(1, ...points.map((p) => p.lateness))
  const yTop = Math.pow(10, Math.ceil(Math.log10(maxLateness)))
  const x = (ms: number) => margin.left + ((ms - startMs) / (endMs - startMs)) * (width - margin.left - margin.right)
  // Lateness on a log scale from 0.1 s: near-zero and minute-long delays both stay readable.
  const y = (s: number) => {
    const v = Math.log10(Math.max(0.1, s))
    return margin.top + (1 - (v + 1) / (Math.log10(yTop) + 1)) * (height - margin.top - margin.bottom)
  }
  const parts: string[] = []
  parts.push(`<rect width="${width}" height="${height}" fill="white"/>`)
  for (const [n, phase] of phases.entries()) {
    if (phase.downMs === undefined || phase.backMs === undefined) continue
    // One line per fault, so that neighbouring windows' labels never overlap.
    const labelY = margin.top - 6 - ((n - 1) % 4) * 13
    parts.push(
      `<rect x="${x(phase.downMs).toFixed(1)}" y="${margin.top}" width="${Math.max(2, x(phase.backMs) - x(phase.downMs)).toFixed(1)}" ` +
        `height="${height - margin.top - margin.bottom}" fill="#e53935" fill-opacity="0.25"/>`,
      `<text x="${x(phase.downMs).toFixed(1)}" y="${labelY}" font-size="11" font-family="sans-serif" fill="#b71c1c"` +
        `${x(phase.downMs) > width * 0.75 ? ' text-anchor="end"' : ''}>${escapeXml(phase.label)}</text>`,
    )
  }
  for (let v = 0.1; v <= yTop; v *= 10) {
    parts.push(
      `<line x1="${margin.left}" x2="${width - margin.right}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#ddd"/>`,
      `<text x="${margin.left - 6}" y="${(y(v) + 4).toFixed(1)}" font-size="11" font-family="sans-serif" text-anchor="end">${v >= 1 ? v.toFixed(0) : v.toFixed(1)}</text>`,
    )
  }
  for (let t = 0; startMs + t * 1000 <= endMs; t += 60) {
    parts.push(
      `<line x1="${x(startMs + t * 1000).toFixed(1)}" x2="${x(startMs + t * 1000).toFixed(1)}" y1="${height - margin.bottom}" y2="${height - margin.bottom + 5}" stroke="black"/>`,
      `<text x="${x(startMs + t * 1000).toFixed(1)}" y="${height - margin.bottom + 18}" font-size="11" font-family="sans-serif" text-anchor="middle">${t}</text>`,
    )
  }
  const colour: Record<string, string> = { page: '#1e88e5', webhook: '#43a047', stream: '#fb8c00' }
  for (const p of points) parts.push(`<circle cx="${x(p.dueMs).toFixed(1)}" cy="${y(p.lateness).toFixed(1)}" r="1.6" fill="${colour[p.kind]}" fill-opacity="0.6"/>`)
  parts.push(
    `<line x1="${margin.left}" x2="${margin.left}" y1="${margin.top}" y2="${height - margin.bottom}" stroke="black"/>`,
    `<line x1="${margin.left}" x2="${width - margin.right}" y1="${height - margin.bottom}" y2="${height - margin.bottom}" stroke="black"/>`,
    `<text x="${width / 2}" y="${height - 20}" font-size="12" font-family="sans-serif" text-anchor="middle">step due (s since the load started)</text>`,
    `<text x="16" y="${height / 2}" font-size="12" font-family="sans-serif" text-anchor="middle" transform="rotate(-90 16 ${height / 2})">lateness, due → delivered (s, log)</text>`,
    `<text x="${width - margin.right}" y="16" font-size="11" font-family="sans-serif" text-anchor="end">` +
      `<tspan fill="${colour.page}">● page</tspan>  <tspan fill="${colour.webhook}">● webhook</tspan>  <tspan fill="${colour.stream}">● page of an alert sent during a fault</tspan></text>`,
  )
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">\n${parts.join('\n')}\n</svg>\n`
  return writePlot(outDir, 'faults-lateness', svg, { width, height })
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err)
    process.exit(1)
  },
)
