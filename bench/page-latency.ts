// Latency of one direct page, from the API call to the notification ledger row and to the notifier, on the real
// parts: the Temporal dev server (started here unless TOCSIN_TEST_TEMPORAL_ADDRESS is set), PostgreSQL, and the
// API and worker in this process. Sequential pages, so each figure is one page's latency, not a queueing effect.
// A pause between pages keeps each one independent of the previous workflow's closing tasks.
//   npm run bench:page-latency -- [pages=20] [gapMs=250]
import { sql } from 'kysely'
import type { Notifier } from '../activities/notifications'
import { createOrg, startStack } from '../test/stack'
import { ensureTemporalForScript } from '../test/temporal-dev-server'
import { quantile } from './lib/stats'

const pages = Number(process.argv[2] ?? 20)
const gapMs = Number(process.argv[3] ?? 250)
const WARMUP = 3

async function main(): Promise<void> {
  const stopTemporal = await ensureTemporalForScript()
  const deliveredAt = new Map<string, number>()
  const notifier: Notifier = {
    channel: 'bench',
    async deliver(n) {
      deliveredAt.set(n.alertGroupId, performance.now())
    },
  }
  const stack = await startStack('bench_page_latency', { notifier })
  try {
    const org = await createOrg(stack, 'Bench')
    const user = (await org.call('POST', '/api/v1/users/', { username: 'pager', email: 'pager@bench.test' })).body.id
    const rows: Array<{ response: number; ledger: number; delivered: number }> = []
    for (let i = 0; i < WARMUP + pages; i++) {
      const startedWall = Date.now()
      const started = performance.now()
      const response = await org.call('POST', '/api/v1/escalation/', { title: `bench ${i}`, users: [{ id: user, important: false }] })
      const answered = performance.now()
      if (response.status !== 200) throw new Error(`page ${i} answered ${response.status}: ${response.text}`)
      const id = response.body.id as string
      while (!deliveredAt.has(id)) await new Promise((r) => setTimeout(r, 1))
      const ledger = await stack.db
        .selectFrom('notifications')
        .select(sql<string>`extract(epoch from created_at)`.as('epoch'))
        .where('alert_group_id', '=', id)
        .executeTakeFirstOrThrow()
      await new Promise((r) => setTimeout(r, gapMs))
      if (i >= WARMUP) {
        rows.push({
          response: answered - started,
          ledger: Number(ledger.epoch) * 1000 - startedWall,
          delivered: (deliveredAt.get(id) as number) - started,
        })
      }
    }
    const table = (['response', 'ledger', 'delivered'] as const).map((key) => {
      const sorted = rows.map((r) => r[key]).sort((a, b) => a - b)
      return { key, median: quantile(sorted, 0.5), p90: quantile(sorted, 0.9), min: sorted[0] as number, max: sorted.at(-1) as number }
    })
    const label = {
      response: 'POST /escalation/ answered 200',
      ledger: 'ledger row committed (PG clock)',
      delivered: 'notifier called',
    }
    console.log(`\nDirect page latency, ${rows.length} sequential pages ${gapMs} ms apart after ${WARMUP} warm-up (ms, from the API call):\n`)
    console.log('| measure | median | p90 | min | max |')
    console.log('| --- | ---: | ---: | ---: | ---: |')
    for (const row of table) {
      console.log(`| ${label[row.key]} | ${row.median.toFixed(1)} | ${row.p90.toFixed(1)} | ${row.min.toFixed(1)} | ${row.max.toFixed(1)} |`)
    }
  } finally {
    await stack.stop()
    await stopTemporal()
  }
}

main().catch((err) => {
  console.error(err)
  process.exitCode = 1
})
