import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import type { Server } from 'node:http'
import path from 'node:path'
import { promisify } from 'node:util'
import { createHeartbeatActivities } from '../activities/heartbeats'
import { silentLogger } from '../apps/logger'
import { createApp } from '../apps/api/app'
import { Escalations } from '../apps/escalations'
import { chainOf, ledger, timelineKinds } from '../test/engine'
import { createOrg, eventually, recordingNotifier, startStack, temporalAddress, type Stack } from '../test/stack'
import { temporalCliPath } from '../test/temporal-dev-server'
import { heartbeatStatusQuery, heartbeatWorkflowId, type HeartbeatStatus } from './messages'

// Heartbeats that raise alerts, as OnCall's: on the real Temporal dev server and PostgreSQL, with timeouts of
// seconds written into the database (the API offers OnCall's minutes). The expired alert goes through the
// integration's routes and escalates; the next heartbeat resolves it; a worker crash neither loses nor repeats it.

const run = promisify(execFile)
const tsx = path.join(__dirname, '..', 'node_modules', '.bin', 'tsx')

type Org = Awaited<ReturnType<typeof createOrg>>

interface Watched {
  id: string
  link: string
  routeId: string
}

let integrations = 0

/** A webhook integration whose default route escalates to `userId`, with a heartbeat timeout of seconds. */
async function watchedIntegration(stack: Stack, org: Org, userId: string, timeoutSeconds: number): Promise<Watched> {
  const chainId = await chainOf(stack, org.call, [{ type: 'notify_persons', persons_to_notify: [userId] }])
  const created = await org.call('POST', '/api/v1/integrations/', {
    type: 'webhook',
    name: `watched-${++integrations}`,
    heartbeat_timeout_seconds: 60,
    default_route: { escalation_chain_id: chainId },
  })
  expect(created.status).toBe(201)
  // Seconds instead of OnCall's minutes, directly in the database.
  await stack.db.updateTable('integrations').set({ heartbeat_timeout_seconds: timeoutSeconds }).where('id', '=', created.body.id).execute()
  return { id: created.body.id, link: created.body.link, routeId: created.body.default_route.id }
}

async function beat(stack: Stack, link: string): Promise<void> {
  const response = await fetch(`${stack.baseUrl}${new URL(link).pathname}heartbeat/`, { method: 'POST' })
  expect(response.status).toBe(200)
}

async function storedBeat(stack: Stack, integrationId: string): Promise<string> {
  const row = await stack.db.selectFrom('integrations').select('heartbeat_last_at').where('id', '=', integrationId).executeTakeFirstOrThrow()
  return new Date((row.heartbeat_last_at as string).replace(' ', 'T').replace(/\+00(:00)?$/, 'Z')).toISOString()
}

function heartbeatStatus(stack: Stack, integrationId: string): Promise<HeartbeatStatus> {
  return stack.escalations.client.workflow.getHandle(heartbeatWorkflowId(integrationId)).query(heartbeatStatusQuery)
}

/** Waits until the workflow has heard of the integration's last heartbeat. */
async function workflowHeard(stack: Stack, integrationId: string): Promise<HeartbeatStatus> {
  const expected = await storedBeat(stack, integrationId)
  return eventually(
    async () => {
      const status = await heartbeatStatus(stack, integrationId).catch(() => undefined)
      return status?.lastBeatAt === expected ? status : undefined
    },
    20_000,
    'the heartbeat workflow to hear of the heartbeat',
  )
}

function heartbeatAlerts(stack: Stack, integrationId: string) {
  return stack.db.selectFrom('heartbeat_alerts').selectAll().where('integration_id', '=', integrationId).orderBy('sequence').orderBy('kind').execute()
}

function groupsOf(stack: Stack, integrationId: string) {
  return stack.db.selectFrom('alert_groups').select(['id', 'route_id', 'resolved_at']).where('integration_id', '=', integrationId).orderBy('pk').execute()
}

async function expiredGroup(stack: Stack, integrationId: string, sequence: number): Promise<string> {
  return eventually(
    async () => {
      const rows = await heartbeatAlerts(stack, integrationId)
      return rows.find((r) => r.kind === 'expired' && r.sequence === sequence)?.alert_group_id ?? undefined
    },
    30_000,
    `expiry ${sequence} grouped`,
  )
}

async function resolved(stack: Stack, groupId: string): Promise<void> {
  await eventually(
    async () => ((await stack.db.selectFrom('alert_groups').select('resolved_at').where('id', '=', groupId).executeTakeFirstOrThrow()).resolved_at ? true : undefined),
    30_000,
    `group ${groupId} resolved`,
  )
}

describe('heartbeats on a running stack', () => {
  const notifier = recordingNotifier()
  let stack: Stack
  let org: Org
  let alice: string

  beforeAll(async () => {
    stack = await startStack('heartbeats', { notifier, ingestion: {} })
    org = await createOrg(stack, 'Heartbeat Co')
    alice = (await org.call('POST', '/api/v1/users/', { username: 'alice', email: 'a@h.test' })).body.id
  })
  afterAll(() => stack.stop())

  test('an expiry opens one alert group through the route and escalates; the next heartbeat resolves it; both are in the timeline', async () => {
    const watched = await watchedIntegration(stack, org, alice, 3)
    await beat(stack, watched.link)
    const first = await workflowHeard(stack, watched.id)
    expect(first).toMatchObject({ timeoutSeconds: 3, expiries: 0, expired: false })
    expect(Date.parse(first.expiresAt as string) - Date.parse(first.lastBeatAt)).toBe(3000)

    const groupId = await expiredGroup(stack, watched.id, 1)
    const groups = await groupsOf(stack, watched.id)
    expect(groups).toEqual([{ id: groupId, route_id: watched.routeId, resolved_at: null }])
    const [alert] = await stack.db.selectFrom('alerts').select('payload').where('alert_group_id', '=', groupId).execute()
    expect(alert?.payload).toMatchObject({ title: 'Webhook heartbeat is missing', state: 'alerting', is_amixr_heartbeat: true })
    // It escalates like any alert: the route's chain pages alice.
    await eventually(async () => ((await ledger(stack, groupId)).some((r) => r.user_id === alice && r.delivered_at !== null) ? true : undefined), 30_000, 'alice paged')
    expect(await timelineKinds(stack, groupId)).toEqual(expect.arrayContaining(['created', 'heartbeat_expired', 'user_notified']))
    const status = await heartbeatStatus(stack, watched.id)
    expect(status).toMatchObject({ expiries: 1, expired: true, expiresAt: null })

    // A timeout of OnCall's minutes from now on, so that no second expiry comes while the test looks.
    expect((await org.call('PUT', `/api/v1/integrations/${watched.id}/?extended=true`, { heartbeat_timeout_seconds: 60 })).body.heartbeat_timeout_seconds).toBe(60)
    await beat(stack, watched.link)
    await resolved(stack, groupId)
    const kinds = await timelineKinds(stack, groupId)
    expect(kinds).toEqual(expect.arrayContaining(['heartbeat_restored', 'resolved']))
    expect(kinds.indexOf('heartbeat_restored')).toBeLessThan(kinds.indexOf('resolved'))
    const timeline = (await org.call('GET', `/api/v1/alert_groups/${groupId}/timeline/`)).body.events as Array<Record<string, unknown>>
    expect(timeline.find((e) => e.type === 'heartbeat_expired')).toMatchObject({ integration_id: watched.id, timeout_seconds: 3 })
    expect(timeline.find((e) => e.type === 'heartbeat_restored')).toMatchObject({ integration_id: watched.id })
    expect(timeline.find((e) => e.type === 'resolved')).toMatchObject({ actor: { kind: 'system' } })
    const alerts = await stack.db.selectFrom('alerts').select('payload').where('alert_group_id', '=', groupId).orderBy('pk').execute()
    expect(alerts.map((a) => (a.payload as { title: string }).title)).toEqual(['Webhook heartbeat is missing', 'Webhook heartbeat restored'])
    const waiting = await eventually(async () => {
      const now = await heartbeatStatus(stack, watched.id)
      return now.expired ? undefined : now
    }, 20_000, 'the workflow back to waiting')
    expect(waiting).toMatchObject({ timeoutSeconds: 60, expiries: 1, lastBeatAt: await storedBeat(stack, watched.id) })
    expect((await heartbeatAlerts(stack, watched.id)).map((r) => [r.kind, r.sequence])).toEqual([
      ['expired', 1],
      ['restored', 1],
    ])
    expect(await groupsOf(stack, watched.id)).toHaveLength(1)

    // Turning the timeout off ends the workflow.
    const handle = stack.escalations.client.workflow.getHandle(heartbeatWorkflowId(watched.id))
    expect((await org.call('PUT', `/api/v1/integrations/${watched.id}/`, { heartbeat_timeout_seconds: null })).status).toBe(200)
    await handle.result()
    if (process.env.TOCSIN_RECORD_HISTORY) {
      // Refreshes the replay fixture: TOCSIN_RECORD_HISTORY=workflows/histories/<name>.json after a deliberate shape change.
      const shown = await run(temporalCliPath(), ['workflow', 'show', '--address', temporalAddress(), '-w', handle.workflowId, '--output', 'json'])
      writeFileSync(process.env.TOCSIN_RECORD_HISTORY, shown.stdout)
    }
  }, 120_000)

  test('heartbeats in time reset the timer and never raise an alert', async () => {
    const watched = await watchedIntegration(stack, org, alice, 4)
    const started = Date.now()
    let previous: HeartbeatStatus | undefined
    // Heartbeats every second for longer than two timeouts: each one moves the expiry forward.
    while (Date.now() - started < 9000) {
      await beat(stack, watched.link)
      const status = await workflowHeard(stack, watched.id)
      expect(status).toMatchObject({ expiries: 0, expired: false })
      expect(Date.parse(status.expiresAt as string)).toBe(Date.parse(status.lastBeatAt) + 4000)
      if (previous) expect(Date.parse(status.expiresAt as string)).toBeGreaterThan(Date.parse(previous.expiresAt as string))
      previous = status
      await new Promise((resolve) => setTimeout(resolve, 1000))
    }
    expect(await heartbeatAlerts(stack, watched.id)).toEqual([])
    expect(await groupsOf(stack, watched.id)).toEqual([])
    // Deleting the integration ends the workflow.
    expect((await org.call('DELETE', `/api/v1/integrations/${watched.id}/`)).status).toBe(204)
    await stack.escalations.client.workflow.getHandle(heartbeatWorkflowId(watched.id)).result()
    expect(await heartbeatAlerts(stack, watched.id)).toEqual([])
  }, 60_000)

  test('a heartbeat recorded while Temporal is unreachable is answered 200, and the sweep starts the workflow later', async () => {
    const watched = await watchedIntegration(stack, org, alice, 2)
    // The same database behind an API whose Temporal cannot be reached.
    const unreachable = Escalations.connect({ address: '127.0.0.1:1', namespace: 'default', taskQueue: stack.taskQueue })
    const app = createApp({ db: stack.db, escalations: unreachable, ingestion: {}, publicUrl: 'http://tocsin.test', webUrl: 'http://grafana.test', logger: silentLogger() })
    const server: Server = await new Promise((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s))
    })
    try {
      const port = (server.address() as { port: number }).port
      const response = await fetch(`http://127.0.0.1:${port}${new URL(watched.link).pathname}heartbeat/`)
      expect(response.status).toBe(200)
    } finally {
      await new Promise((resolve) => server.close(resolve))
      await unreachable.client.connection.close()
    }
    // The running stack's ingestion sweep tells Temporal: the workflow starts from the recorded heartbeat.
    const status = await workflowHeard(stack, watched.id)
    expect(status.lastBeatAt).toBe(await storedBeat(stack, watched.id))
    await eventually(
      async () => ((await stack.db.selectFrom('integrations').select('heartbeat_sync_due').where('id', '=', watched.id).executeTakeFirstOrThrow()).heartbeat_sync_due ? undefined : true),
      20_000,
      'the sync flag lowered',
    )
    const groupId = await expiredGroup(stack, watched.id, 1)
    expect(await groupsOf(stack, watched.id)).toEqual([{ id: groupId, route_id: watched.routeId, resolved_at: null }])
    expect((await org.call('PUT', `/api/v1/integrations/${watched.id}/`, { heartbeat_timeout_seconds: null })).status).toBe(200)
    await stack.escalations.client.workflow.getHandle(heartbeatWorkflowId(watched.id)).result()
  }, 60_000)

  test('a long-lived heartbeat continues as new and carries its expiry count', async () => {
    const watched = await watchedIntegration(stack, org, alice, 2)
    const heard = stack.escalations.client.workflow.getHandle(heartbeatWorkflowId(watched.id))
    await stack.db.updateTable('integrations').set({ heartbeat_last_at: new Date().toISOString() }).where('id', '=', watched.id).execute()
    // Started by hand with a short history limit; the heartbeat endpoint then signals this run like any other.
    const started = await stack.escalations.client.workflow.start('heartbeatWorkflow', {
      taskQueue: stack.taskQueue,
      workflowId: heartbeatWorkflowId(watched.id),
      args: [{ integrationId: watched.id, organizationId: org.organizationId, lastBeatAt: await storedBeat(stack, watched.id), timeoutSeconds: 2, historyLimit: 20 }],
    })
    const firstGroup = await expiredGroup(stack, watched.id, 1)
    await eventually(async () => ((await heartbeatStatus(stack, watched.id).catch(() => undefined))?.expired ? true : undefined), 20_000, 'expired')
    const firstRun = started.firstExecutionRunId
    // Beats until the history limit makes the run continue as new.
    await eventually(
      async () => {
        await beat(stack, watched.link)
        await workflowHeard(stack, watched.id)
        return (await heard.describe()).runId !== firstRun ? true : undefined
      },
      60_000,
      'a new run',
    )
    await resolved(stack, firstGroup)
    // The count goes on in the new run: the next expiry is the second, and it opens a new group.
    const second = await expiredGroup(stack, watched.id, 2)
    expect(second).not.toBe(firstGroup)
    expect((await heartbeatAlerts(stack, watched.id)).map((r) => [r.kind, r.sequence])).toEqual([
      ['expired', 1],
      ['restored', 1],
      ['expired', 2],
    ])
    expect((await groupsOf(stack, watched.id)).map((g) => g.id)).toEqual([firstGroup, second])
    await org.call('DELETE', `/api/v1/integrations/${watched.id}/`)
    await heard.result()
  }, 120_000)

  test('raising and restoring are idempotent under their keys: a retried activity never enqueues a second alert', async () => {
    const watched = await watchedIntegration(stack, org, alice, 3600)
    await stack.db.updateTable('integrations').set({ heartbeat_last_at: '2026-01-01T00:00:00Z' }).where('id', '=', watched.id).execute()
    const activities = createHeartbeatActivities({ db: stack.db, now: () => new Date() })
    const request = {
      organizationId: org.organizationId,
      integrationId: watched.id,
      sequence: 1,
      idempotencyKey: `heartbeat-${watched.id}:expired:1`,
      lastBeatAt: '2026-01-01T00:00:00.000Z',
      timeoutSeconds: 3600,
    }
    const [once, again] = await Promise.all([activities.raiseHeartbeatExpired(request), activities.raiseHeartbeatExpired(request)])
    expect(once).toEqual(again)
    expect(once.status).toBe('raised')
    expect(await activities.raiseHeartbeatExpired(request)).toEqual(once)
    // A heartbeat the workflow has not heard of yet means no expiry at all.
    expect(await activities.raiseHeartbeatExpired({ ...request, sequence: 2, idempotencyKey: `heartbeat-${watched.id}:expired:2`, lastBeatAt: '2025-12-31T23:00:00.000Z' })).toEqual({
      status: 'news',
      lastBeatAt: '2026-01-01T00:00:00.000Z',
      timeoutSeconds: 3600,
    })
    if (once.status !== 'raised') throw new Error('not raised')
    expect(await stack.db.selectFrom('ingest_inbox').select('id').where('alert_id', '=', once.expiry.alertId).execute().then((rows) => rows.length)).toBeLessThanOrEqual(1)
    const groupId = await eventually(
      async () => (await stack.db.selectFrom('alerts').select('alert_group_id').where('id', '=', once.expiry.alertId).executeTakeFirst())?.alert_group_id,
      30_000,
      'the expired alert grouped',
    )
    expect(await stack.db.selectFrom('alerts').select('id').where('alert_group_id', '=', groupId).execute()).toHaveLength(1)
    const expiry = { ...once.expiry, alertGroupId: groupId }
    const restore = { organizationId: org.organizationId, integrationId: watched.id, expiry, idempotencyKey: `heartbeat-${watched.id}:restored:1` }
    const [restored, restoredAgain] = await Promise.all([activities.restoreHeartbeat(restore), activities.restoreHeartbeat(restore)])
    expect(restored).toEqual({ alertGroupId: groupId })
    expect(restoredAgain).toEqual(restored)
    await resolved(stack, groupId)
    expect(await activities.restoreHeartbeat(restore)).toEqual(restored)
    expect(await stack.db.selectFrom('alerts').select('id').where('alert_group_id', '=', groupId).execute()).toHaveLength(2)
    expect((await heartbeatAlerts(stack, watched.id)).map((r) => r.kind)).toEqual(['expired', 'restored'])
    expect(await activities.loadHeartbeatState({ organizationId: org.organizationId, integrationId: watched.id })).toEqual({ expiries: 1, open: null })
    expect((await timelineKinds(stack, groupId)).filter((k) => k === 'heartbeat_restored')).toHaveLength(1)
  }, 60_000)
})

describe('the worker killed during the heartbeat timer', () => {
  let stack: Stack
  let worker: ChildProcess | undefined

  function startWorker(): ChildProcess {
    return spawn(tsx, [path.join(__dirname, '..', 'apps', 'worker', 'main.ts')], {
      detached: true,
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, DATABASE_URL: stack.dbUrl, TEMPORAL_ADDRESS: temporalAddress(), TEMPORAL_TASK_QUEUE: stack.taskQueue, TOCSIN_LOG_LEVEL: 'WARN' },
    })
  }

  async function kill(child: ChildProcess): Promise<void> {
    if (child.exitCode !== null || child.signalCode !== null) return
    const exited = new Promise((resolve) => child.once('exit', resolve))
    try {
      process.kill(-(child.pid as number), 'SIGKILL')
    } catch {
      return // already gone
    }
    await exited
  }

  beforeAll(async () => {
    stack = await startStack('heartbeat_worker', { worker: false, ingestion: {} })
  })
  afterAll(async () => {
    try {
      if (worker) await kill(worker)
    } finally {
      await stack.stop()
    }
  })

  test('an expiry due while no worker runs is raised once after the restart; a crash around the restore repeats nothing', async () => {
    const org = await createOrg(stack, 'Crash Co')
    const bob = (await org.call('POST', '/api/v1/users/', { username: 'bob', email: 'b@c.test' })).body.id
    const watched = await watchedIntegration(stack, org, bob, 6)
    worker = startWorker()
    await eventually(async () => ((await stack.escalations.workerIsUp()) ? true : undefined), 60_000, 'the worker polling')
    await beat(stack, watched.link)
    const status = await workflowHeard(stack, watched.id)
    // Killed while the timer runs; the timer runs out while no worker is there.
    await kill(worker)
    expect(status.expired).toBe(false)
    expect(Date.parse(status.expiresAt as string)).toBeGreaterThan(Date.now())
    const expiresAt = Date.parse(status.expiresAt as string)
    await eventually(async () => (Date.now() > expiresAt + 500 ? true : undefined), 20_000, 'the deadline passed without a worker')
    expect(await heartbeatAlerts(stack, watched.id)).toEqual([])
    worker = startWorker()
    const groupId = await expiredGroup(stack, watched.id, 1)
    await eventually(async () => ((await ledger(stack, groupId)).some((r) => r.delivered_at !== null) ? true : undefined), 60_000, 'bob paged')

    // Killed again the moment the restored alert is recorded, before Temporal may hear that the activity finished.
    await beat(stack, watched.link)
    await eventually(async () => ((await heartbeatAlerts(stack, watched.id)).some((r) => r.kind === 'restored') ? true : undefined), 30_000, 'restore recorded')
    await kill(worker)
    worker = startWorker()
    await resolved(stack, groupId)
    // No heartbeat follows: the next expiry is the second one, on the same key sequence.
    const second = await expiredGroup(stack, watched.id, 2)
    expect(second).not.toBe(groupId)
    expect((await heartbeatAlerts(stack, watched.id)).map((r) => [r.kind, r.sequence])).toEqual([
      ['expired', 1],
      ['restored', 1],
      ['expired', 2],
    ])
    expect((await groupsOf(stack, watched.id)).map((g) => g.id)).toEqual([groupId, second])
    expect(await stack.db.selectFrom('alerts').select('id').where('alert_group_id', '=', groupId).execute()).toHaveLength(2)
    expect((await ledger(stack, groupId)).filter((r) => r.user_id === bob)).toHaveLength(1)
    await org.call('PUT', `/api/v1/integrations/${watched.id}/`, { heartbeat_timeout_seconds: null })
    await stack.escalations.client.workflow.getHandle(heartbeatWorkflowId(watched.id)).result()
  }, 180_000)
})
