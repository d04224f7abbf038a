// Alert ingestion on the real parts (Temporal dev server started here unless TOCSIN_TEST_TEMPORAL_ADDRESS is
// set, PostgreSQL, API + processor + worker in this process), all on 127.0.0.1:
//  1. sustained rate: `alerts` Alertmanager alerts over `keys` grouping keys from 8 concurrent senders, as fast as
//     the API answers 200; then how long until every alert is grouped and counted by its workflow;
//  2. latency from the 200 to the group's workflow having seen the alert, one alert at a time, for alerts that
//     open a new group and for alerts that join an open one.
//   npm run bench:ingest -- [alerts=5000] [keys=100] [samples=40]
import { cpus } from 'node:os'
import { sql } from 'kysely'
import { escalationStatusQuery } from '../workflows/messages'
import { createOrg, startStack } from '../test/stack'
import { ensureTemporalForScript } from '../test/temporal-dev-server'
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

    // 1. Sustained rate.
    const started = performance.now()
    let next = 0
    await Promise.all(
      Array.from({ length: SENDERS }, async () => {
        while (next < alerts) {
          const n = next++
          await send(payload(`storm-${n % keys}`, n))
        }
      }),
    )
    const acceptedMs = performance.now() - started
    while ((await inboxCount()) > 0) await new Promise((r) => setTimeout(r, 20))
    const groupedMs = performance.now() - started

    // 2. Latency, one alert at a time.
    const handleOf = async (key: string) => {
      for (;;) {
        const row = await stack.db
          .selectFrom('alert_groups')
          .select('workflow_id')
          .where('integration_id', '=', integration.id)
          .where('title', '=', key)
          .where('open_for_grouping', '=', true)
          .executeTakeFirst()
        if (row) return stack.escalations.client.workflow.getHandle(row.workflow_id)
        await new Promise((r) => setTimeout(r, 2))
      }
    }
    const seen = async (handle: Awaited<ReturnType<typeof handleOf>>, count: number) => {
      for (;;) {
        const status = await handle.query(escalationStatusQuery).catch(() => undefined)
        if (status && status.alertsCount >= count) return
        await new Promise((r) => setTimeout(r, 2))
      }
    }
    const newGroup: number[] = []
    const grouped: number[] = []
    const groupedKey = 'latency-grouped'
    await send(payload(groupedKey, 0))
    const groupedHandle = await handleOf(groupedKey)
    await seen(groupedHandle, 1)
    for (let i = 0; i < samples; i++) {
      const key = `latency-new-${i}`
      await send(payload(key, i))
      const answered = performance.now()
      await seen(await handleOf(key), 1)
      newGroup.push(performance.now() - answered)

      await send(payload(groupedKey, i + 1))
      const joined = performance.now()
      await seen(groupedHandle, i + 2)
      grouped.push(performance.now() - joined)
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
    console.log('\n| 200 -> workflow has seen the alert (ms) | samples |      p50 |      p99 |')
    console.log('|----------------------------------------|--------:|---------:|---------:|')
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
