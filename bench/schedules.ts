import { createLogger } from '../apps/logger'
// Schedule resolution cost on the real parts (PostgreSQL, the API in this process; no Temporal needed):
// - final_shifts for 30 days over a web schedule with 50 shifts and 20 users (HTTP, and the resolver alone);
// - current_oncall for an escalation chain with 5 schedule steps, each schedule holding 50 shifts.
// Sequential requests; median and p95 of N runs after a warm-up.
//   npm run bench:schedules -- [runs=50]
import type { Server } from 'node:http'
import { loadedFinalEvents, loadSchedule } from '../db/oncall'
import { NO_ICAL_DOWNLOADS } from '../db/schedule-ical'
import { getSchedule } from '../db/schedules.repo'
import { createOrganization } from '../db/organizations.repo'
import { createApp } from '../apps/api/app'
import { Escalations } from '../apps/escalations'
import { caller, createTestDatabase } from '../test/stack'
import { ascending, quantile } from './lib/stats'

const runs = Number(process.argv[2] ?? 50)
const WARMUP = 5
const DAY = 86_400_000
const ZONES = ['America/New_York', 'Europe/London', 'Australia/Lord_Howe', 'Asia/Kolkata', 'UTC']
const DAYS = ['MO', 'TU', 'WE', 'TH', 'FR', 'SA', 'SU']

function stats(samples: number[]) {
  const sorted = ascending(samples)
  const at = (q: number) => quantile(sorted, q)
  return { median: at(0.5), p95: at(0.95), min: sorted[0] as number, max: sorted[sorted.length - 1] as number }
}

async function time(fn: () => Promise<unknown>): Promise<number[]> {
  for (let i = 0; i < WARMUP; i++) await fn()
  const samples: number[] = []
  for (let i = 0; i < runs; i++) {
    const started = performance.now()
    await fn()
    samples.push(performance.now() - started)
  }
  return samples
}

async function main(): Promise<void> {
  const { db } = await createTestDatabase('bench_schedules')
  const app = createApp({
    db,
    // Schedules never reach Temporal; the client connects lazily and is never used here.
    escalations: Escalations.connect({ address: '127.0.0.1:1', namespace: 'default', taskQueue: 'bench' }),
    publicUrl: 'http://bench.test',
    webUrl: 'http://grafana.bench.test',
    logger: createLogger({ name: 'bench', level: 'WARN' }),
  })
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s))
  })
  try {
    const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`
    const org = await createOrganization(db, 'Bench')
    const call = caller(base, org.token)
    const ok = async (method: string, path: string, body?: unknown) => {
      const response = await call(method, path, body)
      if (response.status >= 300) throw new Error(`${method} ${path} answered ${response.status}: ${response.text}`)
      return response.body
    }
    const users: string[] = []
    for (let i = 0; i < 20; i++) {
      users.push(
        (await ok('POST', '/api/v1/users/', { username: `u${i}`, email: `u${i}@bench.test`, role: 'editor' })).id,
      )
    }
    const start = new Date(Date.now() - 90 * DAY).toISOString().slice(0, 11)
    const makeSchedule = async (name: string) => {
      const shifts: string[] = []
      for (let i = 0; i < 50; i++) {
        const zone = ZONES[i % ZONES.length]
        const pick = (n: number) => users[(i + n) % users.length] as string
        const kind = i % 5
        const body =
          kind === 0
            ? {
                type: 'rolling_users',
                frequency: 'daily',
                rolling_users: [[pick(0)], [pick(1)], [pick(2)]],
                start_rotation_from_user_index: 0,
              }
            : kind === 1
              ? {
                  type: 'rolling_users',
                  frequency: 'weekly',
                  week_start: 'MO',
                  interval: 2,
                  by_day: DAYS.slice(0, 1 + (i % 7)),
                  rolling_users: [[pick(3)], [pick(4)]],
                  start_rotation_from_user_index: 1,
                }
              : kind === 2
                ? { type: 'recurrent_event', frequency: 'monthly', by_monthday: [1, 15, -1], users: [pick(5)] }
                : kind === 3
                  ? { type: 'recurrent_event', frequency: 'hourly', interval: 6, users: [pick(6), pick(7)] }
                  : { type: 'override', users: [pick(8)] }
        const startAt =
          kind === 4
            ? new Date(Date.now() + (i - 25) * DAY).toISOString().slice(0, 19)
            : `${start}${String(i % 24).padStart(2, '0')}:00:00`
        const created = await ok('POST', '/api/v1/on_call_shifts/', {
          name: `${name}-${i}`,
          time_zone: zone,
          level: i % 4,
          start: startAt,
          duration: kind === 3 ? 3 * 3600 : 8 * 3600,
          ...body,
        })
        shifts.push(created.id)
      }
      return (await ok('POST', '/api/v1/schedules/', { name, type: 'web', time_zone: 'UTC', shifts })).id as string
    }

    const scheduleId = await makeSchedule('main')
    const from = new Date().toISOString().slice(0, 10)
    const to = new Date(Date.now() + 30 * DAY).toISOString().slice(0, 10)
    let rows = 0
    const finalHttp = await time(async () => {
      rows = (await ok('GET', `/api/v1/schedules/${scheduleId}/final_shifts/?start_date=${from}&end_date=${to}`)).count
    })
    const schedule = await getSchedule(db, org.organizationId, scheduleId)
    if (!schedule) throw new Error('schedule vanished')
    // A web schedule: no calendar to download.
    const loaded = await loadSchedule(db, schedule, NO_ICAL_DOWNLOADS)
    const fromMs = Date.parse(`${from}T00:00Z`)
    const finalCore = await time(async () => loadedFinalEvents(loaded, fromMs, fromMs + 31 * DAY))

    const chain = (await ok('POST', '/api/v1/escalation_chains/', { name: 'bench chain' })).id
    for (let s = 0; s < 5; s++) {
      const id = s === 0 ? scheduleId : await makeSchedule(`step-${s}`)
      await ok('POST', '/api/v1/escalation_policies/', {
        escalation_chain_id: chain,
        type: 'notify_on_call_from_schedule',
        notify_on_call_from_schedule: id,
      })
    }
    let paged = 0
    const current = await time(async () => {
      paged = (await ok('GET', `/api/v1/escalation_chains/${chain}/current_oncall/`)).count
    })

    const table = [
      { what: `final_shifts HTTP, 30 days, 50 shifts, 20 users (${rows} rows)`, ...stats(finalHttp) },
      { what: 'final_shifts resolver only (same schedule, loaded once)', ...stats(finalCore) },
      { what: `current_oncall HTTP, 5 schedule steps x 50 shifts (${paged} users)`, ...stats(current) },
    ]
    console.log(`\nnpm run bench:schedules -- ${runs}   (${runs} runs after ${WARMUP} warm-up, ms)\n`)
    console.log(`| ${'what'.padEnd(64)} | median |    p95 |    min |    max |`)
    console.log(`|${'-'.repeat(66)}|--------|--------|--------|--------|`)
    for (const row of table) {
      const f = (n: number) => n.toFixed(2).padStart(6)
      console.log(`| ${row.what.padEnd(64)} | ${f(row.median)} | ${f(row.p95)} | ${f(row.min)} | ${f(row.max)} |`)
    }
  } finally {
    await new Promise((resolve) => server.close(resolve))
    await db.destroy()
  }
}

main().catch((err) => {
  console.error(err)
  process.exitCode = 1
})
