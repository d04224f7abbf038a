// Alert ingestion on the real parts (Temporal dev server started here unless TOCSIN_TEST_TEMPORAL_ADDRESS is
// set, PostgreSQL, API + processor + worker in this process), all on 127.0.0.1:
//  1. sustained rate: `alerts` Alertmanager alerts over `keys` grouping keys from 8 concurrent senders, as fast as
//     the API answers 200; then how long until every alert is grouped, and counted by its workflow; the CPU that took;
//  2. latency from the 200 to the group's workflow having seen the alert, for alerts that open a new group and
//     for alerts that join an open one: from a probe sending one at a time alongside the senders of 1 (under
//     load), then one at a time on an idle box.
//   npm run bench:ingest -- [alerts=5000] [keys=100] [samples=40]
import { cpus } from 'node:os'
import { sql } from 'kysely'
import { escalationStatusQuery } from '../workflows/messages'
import { createOrg, startStack } from '../test/stack'
import { ensureTemporalForScript } from '../test/temporal-dev-server'
import { cpuSeconds } from './lib/cpu'
import { quantile } from './lib/stats'

const alerts = Number(process.argv[2] ?? 5000)
const keys = Number(process.argv[3] ?? 100)
const samples = Number(process.argv[4] ?? 40)
const SENDERS = 8
const unlimited = { integration: { count: 1e9, windowSeconds: 300 }, organization: { count: 1e9, windowSeconds: 300 } }

const payload = (key: string, n: number) =>
  JSON.stringify({
    status: 'firing',
    alerts: [{ status: 'firing', labels: { alertname: key, n: String(n) } }],
    groupLabels: { alertname: key },
    groupKey: `{}:{alertname="${key}"}`,
    version: '4',
  })

async function main(): Promise<void> {
  const stopTemporal = await ensureTemporalForScript()
  const stack = await startStack('bench_ingest', { ingestion: { limits: unlimited } })
  try {
    const org = await createOrg(stack, 'Bench')
    const integration = (await org.call('POST', '/api/v1/integrations/', { type: 'alertmanager', name: 'bench' })).body
    const url = `${stack.baseUrl}${new URL(integration.link).pathname}`
    const send = async (body: string) => {
      const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
      await response.arrayBuffer()
      if (response.status !== 200) throw new Error(`answered ${response.status}`)
    }
    const inboxCount = async () =>
      (await stack.db.selectFrom('ingest_inbox').select(sql<number>`count(*)::int`.as('n')).executeTakeFirstOrThrow()).n

    const handleOf = async (key: string, pollMs: number) => {
      for (;;) {
        const row = await stack.db
          .selectFrom('alert_groups')
          .select('workflow_id')
          .where('integration_id', '=', integration.id)
          .where('title', '=', key)
          .where('open_for_grouping', '=', true)
          .executeTakeFirst()
        if (row) return stack.escalations.client.workflow.getHandle(row.workflow_id)
        await new Promise((r) => setTimeout(r, pollMs))
      }
    }
    const seen = async (handle: Awaited<ReturnType<typeof handleOf>>, count: number, pollMs: number) => {
      for (;;) {
        const status = await handle.query(escalationStatusQuery).catch(() => undefined)
        if (status && status.alertsCount >= count) return
        await new Promise((r) => setTimeout(r, pollMs))
      }
    }
    /** One alert opening a new group, then one joining `joinKey`'s group (its `count`th alert): ms from 200 to seen. */
    const probe = async (newKey: string, joinKey: string, count: number, joinHandle: Awaited<ReturnType<typeof handleOf>>, pollMs: number) => {
      await send(payload(newKey, count))
      const answered = performance.now()
      await seen(await handleOf(newKey, pollMs), 1, pollMs)
      const opened = performance.now() - answered
      await send(payload(joinKey, count))
      const joined = performance.now()
      await seen(joinHandle, count, pollMs)
      return { opened, joined: performance.now() - joined }
    }
    const openProbeGroup = async (key: string, pollMs: number) => {
      await send(payload(key, 0))
      const handle = await handleOf(key, pollMs)
      await seen(handle, 1, pollMs)
      return handle
    }

    // 1. Sustained rate, with a probe alongside the senders: latency under load (polled every 20 ms, to load the
    // box little more than a sender does).
    const loadedKey = 'loaded-grouped'
    const loadedHandle = await openProbeGroup(loadedKey, 2)
    const loadedNew: number[] = []
    const loadedJoin: number[] = []
    let sending = true
    const databaseName = new URL(stack.dbUrl).pathname.slice(1)
    const cpuBefore = cpuSeconds(databaseName)
    const started = performance.now()
    let next = 0
    const prober = (async () => {
      for (let i = 0; sending; i++) {
        const { opened, joined } = await probe(`loaded-new-${i}`, loadedKey, i + 2, loadedHandle, 20)
        loadedNew.push(opened)
        loadedJoin.push(joined)
      }
    })()
    await Promise.all(
      Array.from({ length: SENDERS }, async () => {
        while (next < alerts) {
          const n = next++
          await send(payload(`storm-${n % keys}`, n))
        }
      }),
    )
    const acceptedMs = performance.now() - started
    sending = false
    while ((await inboxCount()) > 0) await new Promise((r) => setTimeout(r, 20))
    const groupedMs = performance.now() - started
    // Grouped is not yet seen: signals can still wait for their workflow task.
    const stormGroups = await stack.db
      .selectFrom('alert_groups')
      .select('workflow_id')
      .where('integration_id', '=', integration.id)
      .where('title', 'like', 'storm-%')
      .execute()
    for (;;) {
      const counts = await Promise.all(
        stormGroups.map(async (g) => (await stack.escalations.client.workflow.getHandle(g.workflow_id).query(escalationStatusQuery)).alertsCount),
      )
      if (counts.reduce((a, b) => a + b, 0) >= alerts) break
      await new Promise((r) => setTimeout(r, 100))
    }
    const seenMs = performance.now() - started
    const cpuAfter = cpuSeconds(databaseName)
    await prober

    // 2. Latency, one alert at a time.
    const newGroup: number[] = []
    const grouped: number[] = []
    const groupedKey = 'latency-grouped'
    const groupedHandle = await openProbeGroup(groupedKey, 2)
    for (let i = 0; i < samples; i++) {
      const { opened, joined } = await probe(`latency-new-${i}`, groupedKey, i + 2, groupedHandle, 2)
      newGroup.push(opened)
      grouped.push(joined)
      await new Promise((r) => setTimeout(r, 50))
    }

    const row = (name: string, values: number[]) => {
      const sorted = [...values].sort((a, b) => a - b)
      return `| ${name.padEnd(38)} | ${String(sorted.length).padStart(7)} | ${quantile(sorted, 0.5).toFixed(1).padStart(8)} | ${quantile(sorted, 0.99).toFixed(1).padStart(8)} |`
    }
    console.log(`\nIngestion on ${cpus().length} cores: ${alerts} alerts over ${keys} keys from ${SENDERS} senders`)
    console.log('| sustained                               |   value |')
    console.log('|-----------------------------------------|--------:|')
    console.log(`| accepted with 200, alerts/s             | ${String(Math.round((alerts / acceptedMs) * 1000)).padStart(7)} |`)
    console.log(`| grouped (inbox drained), alerts/s       | ${String(Math.round((alerts / groupedMs) * 1000)).padStart(7)} |`)
    console.log(`| seen by every group's workflow, alerts/s | ${String(Math.round((alerts / seenMs) * 1000)).padStart(7)} |`)
    console.log('\n| CPU per alert in 1, until seen (ms)     |   value |')
    console.log('|-----------------------------------------|--------:|')
    let cpuTotal = 0
    for (const name of Object.keys(cpuAfter)) {
      const ms = (((cpuAfter[name] ?? 0) - (cpuBefore[name] ?? 0)) * 1000) / alerts
      cpuTotal += ms
      console.log(`| ${name.padEnd(39)} | ${ms.toFixed(1).padStart(7)} |`)
    }
    console.log(`| ${'all'.padEnd(39)} | ${cpuTotal.toFixed(1).padStart(7)} |`)
    console.log('\n| 200 -> workflow has seen the alert (ms) | samples |      p50 |      p99 |')
    console.log('|----------------------------------------|--------:|---------:|---------:|')
    console.log(row('under load: alert opening a new group', loadedNew))
    console.log(row('under load: alert joining an open group', loadedJoin))
    console.log(row('alert opening a new group', newGroup))
    console.log(row('alert joining an open group', grouped))
  } finally {
    await stack.stop()
    await stopTemporal()
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err)
    process.exit(1)
  },
)
