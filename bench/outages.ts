// Tocsin under the loss of each dependency, on the real parts, all on 127.0.0.1: a private PostgreSQL cluster
// (initdb into a temporary directory), a Temporal dev server of its own (state file, so it can be restarted), and
// the API and the worker as separate processes, as `npm start` runs them, paging a local webhook receiver.
// For each outage, under a steady stream of alerts (each its own alert group, paged by a one-step chain):
//   postgres  PostgreSQL stopped with an immediate shutdown (connections cut, as in a crash), started again
//   temporal  the Temporal dev server killed (SIGKILL) and started again on the same state file
//   worker    the worker killed (SIGKILL) and started again after 1 s, as the `npm start` supervisor does
//   api       the API killed (SIGKILL) and started again after 1 s
// it prints: requests refused, alerts accepted (200), alerts lost (accepted, never paged), pages duplicated (an
// alert paged under two idempotency keys), redeliveries (a key delivered again; receivers drop them by key) and
// the time from the dependency's return to the first page sent after it.
//   npm run bench:outages -- [alerts per second=20] [outage seconds=5] [outages=postgres,temporal,worker,api]
// Set TOCSIN_OUTAGE_LOG_DIR to keep every line the API and the worker log.
import type { ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { cpus, tmpdir } from 'node:os'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { sql } from 'kysely'
import { createDb, ensureDatabase, migrateToLatest } from '../db/connect'
import { createOrganization } from '../db/organizations.repo'
import { PrivatePostgres } from '../test/private-postgres'
import { startDevServer } from '../test/temporal-dev-server'
import {
  AlertStream,
  PageReceiver,
  TocsinProcess,
  configurePaging,
  freePorts,
  health,
  outcome,
  tocsinEnv,
  until,
  type ProcessKind,
} from '../test/outage-harness'

const rate = Number(process.argv[2] ?? 20)
const outageSeconds = Number(process.argv[3] ?? 5)
const SUPERVISOR_RESTART_MS = 1000
// After the stream stops, pages are awaited while they keep coming: an alert still unpaged after this long
// without any new page (or after the hard limit) counts as lost. The next outage starts on a drained system.
const DRAIN_STALL_MS = 60_000
const DRAIN_LIMIT_MS = 900_000
// OnCall's default limit is 300 alerts per 5 minutes per integration: spread the stream to stay well below it.
const ALERTS_PER_INTEGRATION = 150

const ALL_FAULTS = ['postgres', 'temporal', 'worker', 'api'] as const
type Fault = (typeof ALL_FAULTS)[number]
const faults = (process.argv[4] ?? ALL_FAULTS.join(',')).split(',') as Fault[]
for (const fault of faults) if (!ALL_FAULTS.includes(fault)) throw new Error(`unknown outage ${fault}: one of ${ALL_FAULTS.join(', ')}`)

interface Row {
  readonly fault: Fault
  readonly downSeconds: number
  readonly refused: number
  readonly accepted: number
  readonly lost: number
  readonly duplicated: number
  readonly redeliveries: number
  readonly returnToFirstPageMs: number | null
  readonly unexpectedExits: string[]
}

/** Waits until nothing is left unpaged, or until no page arrived for DRAIN_STALL_MS (bounded by DRAIN_LIMIT_MS). */
async function drained(unpaged: () => number): Promise<void> {
  const started = Date.now()
  let last = unpaged()
  let progressAt = Date.now()
  while (last > 0 && Date.now() - progressAt < DRAIN_STALL_MS && Date.now() - started < DRAIN_LIMIT_MS) {
    await sleep(200)
    const now = unpaged()
    if (now < last) progressAt = Date.now()
    last = now
  }
}

async function main(): Promise<void> {
  const stateDir = mkdtempSync(path.join(tmpdir(), 'tocsin-bench-outages-'))
  const postgres = await PrivatePostgres.create()
  const databaseUrl = postgres.url('tocsin')
  await ensureDatabase(databaseUrl)
  const db = createDb(databaseUrl, { max: 2 })
  await migrateToLatest(db)
  const receiver = await PageReceiver.start()
  const [apiPort, workerHealthPort, temporalPort] = (await freePorts(3)) as [number, number, number]
  const apiUrl = `http://127.0.0.1:${apiPort}`
  const workerHealthUrl = `http://127.0.0.1:${workerHealthPort}`
  let temporal: ChildProcess = await startDevServer({ port: temporalPort, dbFile: path.join(stateDir, 'temporal.db') })
  const env = tocsinEnv({
    databaseUrl,
    temporalAddress: `127.0.0.1:${temporalPort}`,
    taskQueue: 'tocsin-bench-outages',
    pageUrl: receiver.url,
    apiPort,
    workerHealthPort,
  })
  const processes: Record<ProcessKind, TocsinProcess> = { api: TocsinProcess.spawn('api', env), worker: TocsinProcess.spawn('worker', env) }
  const ready = (kind: ProcessKind) =>
    until(
      `the ${kind} to be ready`,
      async () => ((await health(`${kind === 'api' ? apiUrl : workerHealthUrl}/health/ready`))?.status === 200 ? true : undefined),
      120_000,
      () => processes[kind].log().slice(-4000),
    )
  const rows: Row[] = []
  try {
    await Promise.all([ready('api'), ready('worker')])
    for (const fault of faults) {
      const { token } = await createOrganization(db, `Bench ${fault}`)
      const maxAlerts = rate * 120
      const { urls } = await configurePaging(apiUrl, token, `bench-${fault}`, Math.ceil(maxAlerts / ALERTS_PER_INTEGRATION))
      const before = { ...processes }
      const stream = new AlertStream(urls, { ratePerSecond: rate, maxAlerts, prefix: `bench-${fault}` })
      stream.start()
      let downAt = 0
      let backAt = 0
      try {
        await until('alerts accepted before the fault', () => (stream.accepted().length >= rate * 2 ? true : undefined), 60_000)
        downAt = Date.now()
        switch (fault) {
          case 'postgres':
            await postgres.stopImmediately()
            await sleep(outageSeconds * 1000)
            await postgres.start()
            break
          case 'temporal': {
            const exited = new Promise((resolve) => temporal.once('exit', resolve))
            temporal.kill('SIGKILL')
            await exited
            await sleep(outageSeconds * 1000)
            temporal = await startDevServer({ port: temporalPort, dbFile: path.join(stateDir, 'temporal.db') })
            break
          }
          case 'worker':
          case 'api':
            await processes[fault].stop('SIGKILL')
            await sleep(SUPERVISOR_RESTART_MS)
            processes[fault] = TocsinProcess.spawn(fault, env)
            await ready(fault)
            break
        }
        backAt = Date.now()
        await until('alerts accepted after the return', () => (stream.count((r) => r.sentAt > backAt && r.status === 200) >= rate * 3 ? true : undefined), 120_000)
      } finally {
        await stream.stop()
      }
      await drained(() => outcome(stream.results, receiver.deliveries).lost)
      const result = outcome(stream.results, receiver.deliveries)
      const titles = new Set(stream.results.map((r) => r.title))
      const firstPage = receiver.deliveries.filter((d) => d.title !== null && titles.has(d.title) && d.at >= backAt).map((d) => d.at)
      const unexpectedExits = (['api', 'worker'] as const).filter((kind) => !before[kind].running && kind !== fault).map((kind) => kind)
      rows.push({
        fault,
        downSeconds: (backAt - downAt) / 1000,
        refused: result.refused,
        accepted: result.accepted,
        lost: result.lost,
        duplicated: result.duplicated,
        redeliveries: result.redeliveries,
        returnToFirstPageMs: firstPage.length > 0 ? Math.min(...firstPage) - backAt : null,
        unexpectedExits,
      })
    }
    const ledgerTwice = await sql<{ n: number }>`
      select count(*)::int as n from (select alert_group_id from notifications group by alert_group_id having count(*) > 1) t`.execute(db)

    console.log(`\nOutages under ${rate} alerts/s (outage ${outageSeconds} s; restarts after ${SUPERVISOR_RESTART_MS / 1000} s), ${cpus().length} cores`)
    console.log('| outage | down for (s) | requests refused | alerts accepted | alerts lost | pages duplicated | redeliveries | return → first page (ms) | Tocsin exits |')
    console.log('|---|---:|---:|---:|---:|---:|---:|---:|---|')
    const label: Record<Fault, string> = {
      postgres: 'PostgreSQL restart (immediate)',
      temporal: 'Temporal restart (SIGKILL)',
      worker: 'worker SIGKILL',
      api: 'API SIGKILL',
    }
    for (const r of rows) {
      console.log(
        `| ${label[r.fault]} | ${r.downSeconds.toFixed(1)} | ${r.refused} | ${r.accepted} | ${r.lost} | ${r.duplicated} | ${r.redeliveries} | ` +
          `${r.returnToFirstPageMs === null ? '—' : r.returnToFirstPageMs} | ${r.unexpectedExits.length === 0 ? 'none' : r.unexpectedExits.join(', ')} |`,
      )
    }
    console.log(`ledger: ${ledgerTwice.rows[0]?.n ?? '?'} alert groups with more than one notification row`)
  } finally {
    await Promise.all([processes.api.stop(), processes.worker.stop()])
    if (temporal.exitCode === null) {
      const exited = new Promise((resolve) => temporal.once('exit', resolve))
      temporal.kill('SIGTERM')
      await exited
    }
    await db.destroy()
    await receiver.close()
    await postgres.destroy()
    rmSync(stateDir, { recursive: true, force: true })
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err)
    process.exit(1)
  },
)
