import type { Logger } from '../logger'
import { WorkflowNotFoundError } from '@temporalio/common'
import { sql } from 'kysely'
import { setTimeout as sleep } from 'node:timers/promises'
import { appendEvent } from '../../db/alert-groups.repo'
import { isDatabaseUnavailable, pingDb, type Db } from '../../db/connect'
import { loadChainSnapshot } from '../../db/escalation-policies.repo'
import {
  alertOfInboxRow,
  deleteInboxRow,
  deleteInboxRows,
  findLatestResolvedGroup,
  findOpenGroup,
  findOpenGroups,
  groupingKey,
  inboxBatch,
  insertAlert,
  insertAlerts,
  insertGroupingAlertGroup,
  integrationsWithWork,
  pruneRateCounters,
  recordInboxFailure,
  type InboxRow,
  type OpenGroup,
} from '../../db/ingestion.repo'
import { expiredMaintenances, getIntegration, type Integration } from '../../db/integrations.repo'
import { routesOfIntegration, type Route } from '../../db/routes.repo'
import type { AlertGroupRecord } from '../../workflows/core/types'
import { alertGroupWorkflowId, newAlertSignal, newAlertsSignal } from '../../workflows/messages'
import type { Escalations } from '../escalations'
import type { TocsinMetrics } from '../metrics'
import { syncDueHeartbeats } from '../services/heartbeats'
import { Backoff } from '../health'
import { evaluateAlerts, type AlertFacts, type StoredTemplates } from './formats'
import { stopMaintenance } from './maintenance'
import { sharedTemplateEngine, type TemplateEngine } from './templates'

// Drains ingest_inbox into alert groups. One processor per API process; they share the work by integration
// (a session advisory lock, released by PostgreSQL if the process dies), so an integration's alerts are grouped
// in arrival order, keys in parallel. An alert's inbox row, the alert, a new group and its workflow start commit
// together (plain alerts of one key share that transaction; plain alerts joining open groups share one per pass);
// a crash anywhere leaves the rows to be processed again, and every step is idempotent (alert and group ids were
// fixed at acceptance, the workflow counts each alert id once).
// When PostgreSQL or Temporal is away, the processor pauses (alerts stay in the inbox, their attempts untouched)
// and probes with backoff; it resumes by itself as soon as the dependency answers again.

export interface ProcessorOptions {
  /** Grouping keys processed at once within an integration. */
  readonly keyConcurrency?: number
  /** Integrations processed at once. */
  readonly integrationConcurrency?: number
  readonly batchSize?: number
  /** Idle poll, for alerts accepted by other processes. */
  readonly pollMs?: number
  /** After a partial batch, wait this long for more alerts: fewer, fuller passes under load. */
  readonly coalesceMs?: number
  readonly templates?: TemplateEngine
  /**
   * Alerts that join a group in one pass go as one `newAlerts` signal (default); false: a `newAlert` per alert, for
   * workers of releases that predate `newAlerts` during a rolling upgrade.
   */
  readonly batchSignals?: boolean
  /** Counts the alerts this processor groups (default: uncounted). */
  readonly metrics?: Pick<TocsinMetrics, 'alertsGrouped'>
}

const LEASE_CLASS = 7_466_001
const SWEEP_EVERY_MS = 1000
const RATE_HISTORY_SECONDS = 3600
// A workflow that vanished without the database saying "resolved" (terminated by hand) must not block a key forever.
const CLOSED_GROUP_RETRIES = 3
// Consecutive plain alerts of one key share a transaction and one signal (one history event, one workflow task):
// what keeps a storm cheap for PostgreSQL and Temporal alike.
const CHUNK = 100
// Signals in flight at once while a batch holds its transaction open.
const SIGNAL_CONCURRENCY = 16

// While paused for an outage, the dependency is probed at least this often: alerts move soon after it returns.
const RECOVERY_PROBE_MAX_MS = 1000

class GroupClosedError extends Error {
  override name = 'GroupClosedError'
}

type Dependency = 'database' | 'temporal'
const dependencyLabels: Record<Dependency, string> = { database: 'PostgreSQL', temporal: 'Temporal' }

// gRPC UNAVAILABLE and DEADLINE_EXCEEDED: the Temporal frontend cannot be reached (or answer) right now.
const GRPC_UNAVAILABLE = 14
const GRPC_DEADLINE_EXCEEDED = 4

/** True when `err` (or a cause) says the Temporal frontend cannot be reached, not that it refused the call. */
export function isTemporalUnavailable(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e !== null && typeof e === 'object' && depth < 8; e = (e as { cause?: unknown }).cause, depth++) {
    const { code, message } = e as { code?: unknown; message?: unknown }
    if ((code === GRPC_UNAVAILABLE || code === GRPC_DEADLINE_EXCEEDED) && 'details' in e) return true
    if (typeof message === 'string' && /\b14 UNAVAILABLE|\b4 DEADLINE_EXCEEDED|No connection established|tcp connect error/.test(message)) return true
  }
  return false
}

/** Which dependency an error says is away, if any. */
function unavailableDependency(err: unknown): Dependency | undefined {
  if (isDatabaseUnavailable(err)) return 'database'
  if (isTemporalUnavailable(err)) return 'temporal'
  return undefined
}

function isClosed(err: unknown): boolean {
  if (err instanceof WorkflowNotFoundError) return true
  const message = err instanceof Error ? `${err.message} ${String((err as { cause?: unknown }).cause ?? '')}` : ''
  return /workflow execution already completed|not found/i.test(message)
}

async function limited<T>(items: readonly T[], concurrency: number, run: (item: T) => Promise<void>): Promise<void> {
  let next = 0
  const lanes = Array.from({ length: Math.min(concurrency, items.length) }, async () => {
    while (next < items.length) await run(items[next++] as T)
  })
  // Every lane ends before the pass does (a failed lane must not leave others running behind the next pass).
  const failed = (await Promise.allSettled(lanes)).find((lane) => lane.status === 'rejected')
  if (failed) throw failed.reason
}

export class IngestionProcessor {
  private running: Promise<void> | undefined
  private stopping = false
  private stopped = new AbortController()
  /** Set by a pass that met an outage: the loop pauses until that dependency answers again. */
  private outage: Dependency | undefined
  private wake: (() => void) | undefined
  private kicked = false
  private lastSweep = 0
  private readonly templates: TemplateEngine
  private readonly keyConcurrency: number
  private readonly integrationConcurrency: number
  private readonly batchSize: number
  private readonly pollMs: number
  private readonly coalesceMs: number
  private readonly metrics: Pick<TocsinMetrics, 'alertsGrouped'> | undefined
  private readonly batchSignals: boolean

  constructor(
    private readonly db: Db,
    private readonly escalations: Escalations,
    private readonly logger: Logger,
    options: ProcessorOptions = {},
  ) {
    this.templates = options.templates ?? sharedTemplateEngine()
    this.metrics = options.metrics
    this.keyConcurrency = options.keyConcurrency ?? 8
    this.integrationConcurrency = options.integrationConcurrency ?? 2
    this.batchSize = options.batchSize ?? 2000
    this.pollMs = options.pollMs ?? 250
    this.coalesceMs = options.coalesceMs ?? 20
    this.batchSignals = options.batchSignals ?? true
  }

  /** Starts (or, after stop(), restarts) the loop. */
  start(): void {
    if (this.running && !this.stopping) return
    this.stopping = false
    this.stopped = new AbortController()
    this.running = this.loop()
  }

  /** Finishes the alert in hand; what is left stays in the inbox for the next processor. */
  async stop(): Promise<void> {
    this.stopping = true
    this.stopped.abort()
    this.wake?.()
    await this.running
  }

  /** New work accepted in this process: no need to wait for the poll. */
  kick(): void {
    this.kicked = true
    this.wake?.()
  }

  private async loop(): Promise<void> {
    while (!this.stopping) {
      let done = 0
      try {
        done = await this.drainOnce()
        if (!this.outage && Date.now() - this.lastSweep > SWEEP_EVERY_MS) await this.sweep()
      } catch (err) {
        const away = unavailableDependency(err)
        if (away) this.outage ??= away
        else this.logger.error({ err }, 'ingestion processor pass failed')
      }
      if (this.outage) {
        await this.awaitRecovery(this.outage)
        this.outage = undefined
      } else if (done === 0 && !this.stopping) await this.idle()
      else if (done < this.batchSize && !this.stopping) await new Promise((r) => setTimeout(r, this.coalesceMs))
    }
  }

  /** Probes the dependency that went away, with backoff, until it answers or the processor stops. */
  private async awaitRecovery(dependency: Dependency): Promise<void> {
    const label = dependencyLabels[dependency]
    const started = Date.now()
    this.logger.warn({ dependency }, `${label} unavailable: ingestion paused, accepted alerts wait in the inbox`)
    const backoff = new Backoff({ initialMs: 100, maxMs: RECOVERY_PROBE_MAX_MS })
    while (!this.stopping) {
      await sleep(backoff.next(), undefined, { signal: this.stopped.signal }).catch(() => undefined)
      if (this.stopping) return
      const back = dependency === 'database' ? await pingDb(this.db) : await this.escalations.temporalIsUp()
      if (back) break
    }
    this.logger.info({ dependency, pausedSeconds: Math.round((Date.now() - started) / 100) / 10 }, `${label} reachable again: ingestion resumed`)
  }

  private idle(): Promise<void> {
    if (this.kicked) {
      this.kicked = false
      return Promise.resolve()
    }
    return new Promise((resolve) => {
      const timer = setTimeout(finish, this.pollMs)
      function finish() {
        clearTimeout(timer)
        resolve()
      }
      this.wake = () => {
        this.wake = undefined
        this.kicked = false
        finish()
      }
    })
  }

  /** One pass over what is waiting now; returns how many inbox rows it finished. */
  async drainOnce(): Promise<number> {
    const integrations = await integrationsWithWork(this.db, this.integrationConcurrency * 4)
    let done = 0
    await limited(integrations, this.integrationConcurrency, async (integrationId) => {
      done += await this.withLease(integrationId, () => this.processIntegration(integrationId))
    })
    return done
  }

  private async sweep(): Promise<void> {
    this.lastSweep = Date.now()
    for (const expired of await expiredMaintenances(this.db)) {
      await stopMaintenance(this.db, this.escalations, expired.organizationId, expired.id, expired.maintenanceGroupId)
    }
    await pruneRateCounters(this.db, RATE_HISTORY_SECONDS)
    // Heartbeats and settings their workflows missed (Temporal was away): a failure here pauses like any outage.
    await syncDueHeartbeats(this.db, this.escalations)
  }

  private withLease(integrationId: string, run: () => Promise<number>): Promise<number> {
    return this.db.connection().execute(async (conn) => {
      const lock = sql<{ locked: boolean }>`select pg_try_advisory_lock(${LEASE_CLASS}, hashtext(${integrationId})) as locked`
      const { rows } = await lock.execute(conn)
      if (!rows[0]?.locked) return 0
      try {
        return await run()
      } finally {
        await sql`select pg_advisory_unlock(${LEASE_CLASS}, hashtext(${integrationId}))`.execute(conn)
      }
    })
  }

  private async processIntegration(integrationId: string): Promise<number> {
    const rows = await inboxBatch(this.db, integrationId, this.batchSize)
    if (rows.length === 0) return 0
    const integration = await loadIntegration(this.db, integrationId)
    if (!integration) {
      // Deleted since acceptance: OnCall drops alerts of deleted integrations too.
      for (const row of rows) await deleteInboxRow(this.db, row.id)
      return rows.length
    }
    const routes = await routesOfIntegration(this.db, integration.organizationId, integration.id)
    const pending = rows.filter((r) => r.state === 'pending')
    const facts = await evaluateAlerts(
      this.templates,
      {
        type: integration.type,
        name: integration.name,
        templates: integration.templates as StoredTemplates,
        routes,
      },
      pending.map((r) => r.payload),
    )
    const factsOf = new Map(pending.map((row, i) => [row.id, facts[i] as AlertFacts]))
    // Same key, same lane, in arrival order: a resolve never overtakes the firing alert before it.
    const lanes = new Map<string, InboxRow[]>()
    for (const row of rows) {
      const f = factsOf.get(row.id)
      const key = f ? laneKey(f) : `group:${row.alert_group_id}`
      lanes.set(key, [...(lanes.get(key) ?? []), row])
    }
    let done = 0
    const plain = (row: InboxRow | undefined) => {
      const f = row && row.state === 'pending' ? factsOf.get(row.id) : undefined
      return f !== undefined && !(f.resolve && integration.allowSourceBasedResolving) && !f.acknowledge
    }
    const runLane = async (lane: InboxRow[], from: number) => {
      let i = from
      while (i < lane.length) {
        const row = lane[i] as InboxRow
        let end = i + 1
        if (plain(row)) while (end < lane.length && end - i < CHUNK && plain(lane[end])) end++
        const chunk = lane.slice(i, end)
        try {
          if (chunk.length > 1) await this.processChunk(chunk, factsOf.get(row.id) as AlertFacts, integration, routes)
          else await this.processRow(row, factsOf.get(row.id), integration, routes)
          done += chunk.length
          this.metrics?.alertsGrouped.inc(chunk.length)
        } catch (err) {
          // The rest of the lane waits: a later alert of this key must not overtake this one.
          const away = unavailableDependency(err)
          if (away) {
            // Not the alert's fault: no attempt is counted, and the whole processor pauses.
            this.outage ??= away
            return
          }
          this.logger.warn({ err, alertId: row.alert_id }, 'ingestion of an alert failed; it stays queued')
          await recordInboxFailure(this.db, row.id, err instanceof Error ? err.message : String(err)).catch(() => undefined)
          return
        }
        i = end
      }
    }

    // The leading plain alerts of each key: keys without an open group go first, one by one (their workflow starts
    // must not queue behind signals); keys with one share a single transaction, one signal per group.
    const heads = new Map<InboxRow[], { rows: InboxRow[]; facts: AlertFacts }>()
    for (const lane of lanes.values()) {
      let end = 0
      while (end < lane.length && end < CHUNK && plain(lane[end])) end++
      if (end > 0) heads.set(lane, { rows: lane.slice(0, end), facts: factsOf.get((lane[0] as InboxRow).id) as AlertFacts })
    }
    const open =
      maintenanceMode(integration) === 'maintenance' || heads.size === 0
        ? new Map<string, OpenGroup>()
        : await findOpenGroups(this.db, integration.organizationId, integration.id, [...heads.values()].map((h) => h.facts))
    const joining = new Set([...lanes.values()].filter((lane) => open.has(laneKey(heads.get(lane)?.facts))))
    await limited(
      [...lanes.values()].filter((lane) => !joining.has(lane)),
      this.keyConcurrency,
      (lane) => runLane(lane, 0),
    )
    if (this.outage) return done
    let joined = new Set<InboxRow[]>()
    try {
      const batch = await this.joinOpenGroups(
        [...joining].map((lane) => ({ lane, ...(heads.get(lane) as { rows: InboxRow[]; facts: AlertFacts }) })),
        integration,
      )
      joined = batch.lanes
      done += batch.alerts
      this.metrics?.alertsGrouped.inc(batch.alerts)
    } catch (err) {
      const away = unavailableDependency(err)
      if (away) {
        this.outage ??= away
        return done
      }
      // Nothing of the batch committed: each key goes its own way, where a failure stays with its alert.
      this.logger.debug({ err }, 'joining open groups together failed; alerts go one key at a time')
    }
    await limited([...joining], this.keyConcurrency, (lane) => runLane(lane, joined.has(lane) ? (heads.get(lane)?.rows.length ?? 0) : 0))
    return done
  }

  /**
   * Plain alerts of several keys whose group is open, in one transaction: rows locked, groups read again, alerts
   * inserted, one signal per group, rows deleted. Says which lanes' heads it finished and how many alerts it
   * grouped; a key whose group closed meanwhile is left to the one-key path.
   */
  private async joinOpenGroups(
    heads: Array<{ lane: InboxRow[]; rows: InboxRow[]; facts: AlertFacts }>,
    integration: Integration,
  ): Promise<{ lanes: Set<InboxRow[]>; alerts: number }> {
    const finished = { lanes: new Set<InboxRow[]>(), alerts: 0 }
    if (heads.length === 0) return finished
    const org = integration.organizationId
    await this.db.transaction().execute(async (trx) => {
      const locked = await trx
        .selectFrom('ingest_inbox')
        .select('id')
        .where('id', 'in', heads.flatMap((h) => h.rows.map((r) => r.id)))
        .where('state', '=', 'pending')
        .forUpdate()
        .execute()
      const lockedIds = new Set(locked.map((r) => r.id))
      const open = await findOpenGroups(trx, org, integration.id, heads.map((h) => h.facts))
      const joins = heads.flatMap((head) => {
        const group = open.get(laneKey(head.facts))
        return group ? [{ ...head, group, rows: head.rows.filter((r) => lockedIds.has(r.id)) }] : []
      })
      await insertAlerts(
        trx,
        joins.flatMap(({ rows, group }) =>
          rows.map((r) => alertOfInboxRow(r, org, group.id)),
        ),
      )
      await limited(joins, SIGNAL_CONCURRENCY, ({ rows, group }) =>
        this.signal(group, rows, rows.some((r) => r.attempts >= CLOSED_GROUP_RETRIES)),
      )
      await deleteInboxRows(trx, joins.flatMap(({ rows }) => rows.map((r) => r.id)))
      for (const { lane, rows } of joins) {
        finished.lanes.add(lane)
        finished.alerts += rows.length
      }
    })
    return finished
  }

  async processRow(row: InboxRow, facts: AlertFacts | undefined, integration: Integration, routes: Route[]): Promise<void> {
    if (row.state === 'action' || !facts) return this.applyAction(row)
    const action = await this.db.transaction().execute((trx) => this.group(trx, row, facts, integration, routes))
    if (action) await this.applyAction({ ...row, ...action })
  }

  /** Several alerts of one key without signals: one transaction, one group lookup, signals sent together. */
  async processChunk(chunk: InboxRow[], facts: AlertFacts, integration: Integration, routes: Route[]): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      const locked = await trx
        .selectFrom('ingest_inbox')
        .select('id')
        .where('id', 'in', chunk.map((r) => r.id))
        .where('state', '=', 'pending')
        .forUpdate()
        .execute()
      const ids = new Set(locked.map((r) => r.id))
      const rows = chunk.filter((r) => ids.has(r.id))
      if (rows.length === 0) return
      const org = integration.organizationId
      const mode = maintenanceMode(integration)
      let group: OpenGroup | undefined
      let joiners = rows
      if (mode === 'maintenance' && integration.maintenance.groupId) {
        group = { id: integration.maintenance.groupId, workflowId: alertGroupWorkflowId(integration.maintenance.groupId) }
      } else {
        group = await findOpenGroup(trx, org, integration.id, facts.routeId, facts.distinction)
        if (!group) {
          const first = rows[0] as InboxRow
          const id = await this.create(trx, first, facts, integration, routes, mode, async (winner) => {
            await insertAlert(trx, alertOfInboxRow(first, org, winner.id))
            await this.signal(winner, [first], first.attempts >= CLOSED_GROUP_RETRIES)
            return winner.id
          })
          group = { id, workflowId: alertGroupWorkflowId(id) }
          joiners = rows.slice(1)
        }
      }
      const target = group
      await insertAlerts(
        trx,
        joiners.map((r) => alertOfInboxRow(r, org, target.id)),
      )
      const tolerate = mode === 'maintenance' || rows.some((r) => r.attempts >= CLOSED_GROUP_RETRIES)
      await this.signal(target, joiners, tolerate)
      await deleteInboxRows(trx, rows.map((r) => r.id))
    })
  }

  /** Puts the alert in its group (or a new one) and says which resolve/acknowledge signal is still to apply. */
  private async group(
    trx: Db,
    row: InboxRow,
    facts: AlertFacts,
    integration: Integration,
    routes: Route[],
  ): Promise<{ alert_group_id: string; pending_action: 'resolve' | 'acknowledge' } | undefined> {
    const locked = await trx.selectFrom('ingest_inbox').select('state').where('id', '=', row.id).forUpdate().executeTakeFirst()
    if (!locked || locked.state !== 'pending') return undefined
    const org = integration.organizationId
    const mode = maintenanceMode(integration)
    const maintenanceGroupId = integration.maintenance.groupId

    if (mode === 'maintenance' && maintenanceGroupId) {
      await insertAlert(trx, alertOfInboxRow(row, org, maintenanceGroupId))
      await this.signal({ id: maintenanceGroupId, workflowId: alertGroupWorkflowId(maintenanceGroupId) }, [row], true)
      await deleteInboxRow(trx, row.id)
      return undefined
    }

    const join = async (group: OpenGroup) => {
      await insertAlert(trx, alertOfInboxRow(row, org, group.id))
      await this.signal(group, [row], row.attempts >= CLOSED_GROUP_RETRIES)
      return group.id
    }
    let groupId: string
    const open = await findOpenGroup(trx, org, integration.id, facts.routeId, facts.distinction)
    if (open) {
      groupId = await join(open)
    } else {
      const resolved =
        facts.resolve && integration.allowSourceBasedResolving
          ? await findLatestResolvedGroup(trx, org, integration.id, facts.distinction)
          : undefined
      if (resolved) {
        // A late resolve signal joins the group it resolves, as OnCall does; nothing to act on.
        await insertAlert(trx, alertOfInboxRow(row, org, resolved.id))
        await deleteInboxRow(trx, row.id)
        return undefined
      }
      groupId = await this.create(trx, row, facts, integration, routes, mode, join)
    }
    const pendingAction = facts.resolve && integration.allowSourceBasedResolving ? 'resolve' : facts.acknowledge ? 'acknowledge' : null
    if (!pendingAction) {
      await deleteInboxRow(trx, row.id)
      return undefined
    }
    await trx
      .updateTable('ingest_inbox')
      .set({ state: 'action', alert_group_id: groupId, pending_action: pendingAction })
      .where('id', '=', row.id)
      .execute()
    return { alert_group_id: groupId, pending_action: pendingAction }
  }

  private async create(
    trx: Db,
    row: InboxRow,
    facts: AlertFacts,
    integration: Integration,
    routes: Route[],
    mode: 'debug' | 'maintenance' | null,
    join: (group: OpenGroup) => Promise<string>,
  ): Promise<string> {
    const org = integration.organizationId
    const id = row.candidate_group_id
    const record: AlertGroupRecord = {
      id,
      organizationId: org,
      integrationId: integration.id,
      routeId: facts.routeId,
      teamId: integration.teamId,
      title: facts.title,
      message: null,
      sourceUrl: facts.sourceLink,
      workflowId: alertGroupWorkflowId(id),
      createdAt: new Date(toIso(row.received_at)).toISOString(),
      firstAlert: { id: row.alert_id, payload: row.payload },
    }
    const inserted = await insertGroupingAlertGroup(trx, { ...record, routeId: facts.routeId, createdAt: row.received_at, distinction: facts.distinction })
    if (!inserted) {
      // Another processor opened the group first (the unique index on open groups decided): join it.
      const winner = await findOpenGroup(trx, org, integration.id, facts.routeId, facts.distinction)
      if (winner) return join(winner)
      const mine = await trx.selectFrom('alert_groups').select('id').where('id', '=', id).executeTakeFirst()
      if (!mine) throw new Error(`alert group for alert ${row.alert_id} could be neither created nor found`)
      // An earlier attempt's workflow recorded it (its commit was lost): carry on with it.
      await trx.updateTable('alert_groups').set({ distinction: facts.distinction }).where('id', '=', id).where('distinction', 'is', null).execute()
    }
    await insertAlert(trx, alertOfInboxRow(row, org, id))
    const route = routes.find((r) => r.id === facts.routeId)
    const chainId = route?.escalationChainId ?? null
    const escalation = mode === null && chainId !== null ? await loadChainSnapshot(trx, org, chainId) : null
    if (escalation === null) {
      const reason =
        mode === 'debug'
          ? 'integration is in debug mode, skipping escalation'
          : chainId === null
            ? 'alert group assigned to a route with no escalation chain, skipping escalation'
            : 'the route\'s escalation chain no longer exists, skipping escalation'
      await appendEvent(trx, org, id, {
        kind: 'escalation_skipped',
        // Just after "created", which the workflow records at the creation instant.
        at: new Date(Date.parse(record.createdAt) + 1).toISOString(),
        actor: null,
        detail: { reason, route_id: facts.routeId },
        idempotencyKey: `${record.workflowId}:escalation-skipped`,
      })
    }
    await this.escalations.start({ alertGroup: record, createdBy: null, directPages: [], escalation })
    return id
  }

  /** Tells the group's workflow of alerts that joined it: one signal however many they are. */
  private async signal(group: OpenGroup, rows: readonly InboxRow[], tolerateClosed: boolean): Promise<void> {
    const alerts = rows.map((row) => ({ alertId: row.alert_id, receivedAt: new Date(toIso(row.received_at)).toISOString() }))
    const handle = this.escalations.client.workflow.getHandle(group.workflowId)
    try {
      if (alerts.length > 1 && this.batchSignals) await handle.signal(newAlertsSignal, { alerts })
      else for (const alert of alerts) await handle.signal(newAlertSignal, alert)
    } catch (err) {
      if (!isClosed(err)) throw err
      // Resolved between our read and the signal: retry, and the database will then say resolved (new group).
      if (!tolerateClosed) {
        const ids = alerts.map((a) => a.alertId).join(', ')
        throw new GroupClosedError(`alert group ${group.id} closed while alerts ${ids} joined it: ${err instanceof Error ? err.message : String(err)}`)
      }
    }
  }

  /** Resolve/acknowledge by source, through the running workflow like any action; refusals are final. */
  private async applyAction(row: Pick<InboxRow, 'id' | 'alert_group_id' | 'pending_action'>): Promise<void> {
    if (row.alert_group_id && row.pending_action) {
      await this.escalations.act(row.alert_group_id, row.pending_action, { kind: 'system' })
    }
    await deleteInboxRow(this.db, row.id)
  }
}

function laneKey(facts: Pick<AlertFacts, 'routeId' | 'distinction'> | undefined): string {
  return facts ? groupingKey(facts) : ''
}

function maintenanceMode(integration: Integration): 'debug' | 'maintenance' | null {
  const { mode, endAt } = integration.maintenance
  if (!mode) return null
  if (endAt && Date.parse(toIso(endAt)) <= Date.now()) return null
  return mode
}

function toIso(pgText: string): string {
  return pgText.replace(' ', 'T').replace(/\+00(:00)?$/, 'Z')
}

async function loadIntegration(db: Db, integrationId: string): Promise<Integration | undefined> {
  const owner = await db.selectFrom('integrations').select('organization_id').where('id', '=', integrationId).executeTakeFirst()
  if (!owner) return undefined
  return getIntegration(db, owner.organization_id, integrationId)
}
