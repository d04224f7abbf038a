// The escalation engine on this machine, on the real parts (Temporal dev server started here unless
// TOCSIN_TEST_TEMPORAL_ADDRESS is set, PostgreSQL, API and one worker in this process):
//   1. API call (POST /api/v1/escalation/) to first notification: p50/p99 over sequential pages;
//   2. lateness of fired wait steps: many escalations each waiting a few seconds, page time minus due time;
//   3. concurrently waiting escalations held by one worker, and the worker's memory per escalation.
//   npm run bench:engine -- [pages=100] [waiting=300] [held=2000]
import { sql } from 'kysely'
import type { Notifier } from '../activities/notifications'
import { chainOf, escalate, sleep } from '../test/engine'
import { createOrg, startStack } from '../test/stack'
import { ensureTemporalForScript } from '../test/temporal-dev-server'
import { ascending, quantile } from './lib/stats'

const [pages = 100, waiting = 300, held = 2000] = process.argv.slice(2).map(Number)

const ms = (v: number) => v.toFixed(1)

/** Runs `count` tasks, 20 at a time: alert groups arrive together, as in an incident. */
async function inBatches(count: number, task: (i: number) => Promise<void>): Promise<void> {
  for (let start = 0; start < count; start += 20) {
    await Promise.all(Array.from({ length: Math.min(20, count - start) }, (_, k) => task(start + k)))
  }
}

async function main(): Promise<void> {
  const stopTemporal = await ensureTemporalForScript()
  const firstPage = new Map<string, number>()
  const notifier: Notifier = {
    channel: 'bench',
    async deliver(n) {
      if (!firstPage.has(n.alertGroupId)) firstPage.set(n.alertGroupId, performance.now())
    },
  }
  const stack = await startStack('bench_engine', { notifier })
  const rows: string[] = []
  try {
    const org = await createOrg(stack, 'Bench')
    const user = (await org.call('POST', '/api/v1/users/', { username: 'pager', email: 'pager@bench.test' })).body.id

    // 1. API call to first notification.
    const latencies: number[] = []
    for (let i = 0; i < pages + 3; i++) {
      const started = performance.now()
      const response = await org.call('POST', '/api/v1/escalation/', { title: `bench ${i}`, users: [{ id: user, important: false }] })
      if (response.status !== 200) throw new Error(`page answered ${response.status}: ${response.text}`)
      while (!firstPage.has(response.body.id)) await sleep(1)
      if (i >= 3) latencies.push((firstPage.get(response.body.id) as number) - started)
      await sleep(100)
    }
    rows.push(`| API call → first notification (ms), ${latencies.length} sequential pages | ${ms(quantile(ascending(latencies), 0.5))} | ${ms(quantile(ascending(latencies), 0.99))} | ${ms(Math.max(...latencies))} |`)

    // 2. Lateness of wait steps: `waiting` escalations started together, each [wait 3..6 s, notify].
    const chains: string[] = []
    for (const seconds of [3, 4, 5, 6]) {
      chains.push(await chainOf(stack, org.call, [{ type: 'wait', seconds }, { type: 'notify_persons', persons_to_notify: [user] }]))
    }
    const due = new Map<string, number>()
    const startedAt = Date.now()
    await inBatches(waiting, async (i) => {
      const chainIndex = i % chains.length
      const group = await escalate(stack, org.organizationId, chains[chainIndex] as string)
      due.set(group.id, Date.parse(group.createdAt) + (3 + chainIndex) * 1000)
    })
    const startSeconds = (Date.now() - startedAt) / 1000
    const deadline = Date.now() + 120_000
    let pagedRows: Array<{ alert_group_id: string; epoch: string }> = []
    while (Date.now() < deadline) {
      pagedRows = await stack.db
        .selectFrom('notifications')
        .select(['alert_group_id', sql<string>`extract(epoch from created_at)`.as('epoch')])
        .where('alert_group_id', 'in', [...due.keys()])
        .execute()
      if (pagedRows.length >= waiting) break
      await sleep(500)
    }
    const lateness = pagedRows.map((r) => Number(r.epoch) * 1000 - (due.get(r.alert_group_id) as number))
    rows.push(
      `| Wait-step lateness (ms), ${lateness.length}/${waiting} escalations started in ${startSeconds.toFixed(1)} s | ${ms(quantile(ascending(lateness), 0.5))} | ${ms(quantile(ascending(lateness), 0.99))} | ${ms(Math.max(...lateness))} |`,
    )

    // 3. Held escalations: `held` escalations waiting 1 h each; heap and RSS growth of this process (API + worker).
    const longChain = await chainOf(stack, org.call, [{ type: 'wait', seconds: 3600 }, { type: 'notify_persons', persons_to_notify: [user] }])
    global.gc?.()
    const before = process.memoryUsage()
    const heldStarted = Date.now()
    const ids: string[] = []
    await inBatches(held, async () => void ids.push((await escalate(stack, org.organizationId, longChain)).workflowId))
    // Every one of them must have reached its wait (its first workflow task ran in this worker).
    let waitingNow = 0
    for (const id of ids) {
      const status = await stack.escalations.client.workflow.getHandle(id).query('escalationStatus')
      if ((status as { nextWakeAt: string | null }).nextWakeAt) waitingNow += 1
    }
    global.gc?.()
    const after = process.memoryUsage()
    const perHeap = (after.heapUsed - before.heapUsed) / held / 1024
    const perRss = (after.rss - before.rss) / held / 1024
    rows.push(
      `| Escalations waiting at once in one worker (started in ${((Date.now() - heldStarted) / 1000).toFixed(0)} s) | ${waitingNow} of ${held} | heap ${perHeap.toFixed(1)} KiB/escalation | RSS ${perRss.toFixed(1)} KiB/escalation |`,
    )
    console.log('\n| measure | p50 | p99 | max |')
    console.log('| --- | ---: | ---: | ---: |')
    for (const row of rows) console.log(row)
    console.log(`\n(heap ${(before.heapUsed / 2 ** 20).toFixed(0)} → ${(after.heapUsed / 2 ** 20).toFixed(0)} MiB, RSS ${(before.rss / 2 ** 20).toFixed(0)} → ${(after.rss / 2 ** 20).toFixed(0)} MiB; node --expose-gc for exact heap figures)`)
  } finally {
    await stack.stop()
    await stopTemporal()
  }
}

main().catch((err) => {
  console.error(err)
  process.exitCode = 1
})
