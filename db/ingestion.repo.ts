import { sql, type Insertable, type Selectable } from 'kysely'
import type { Db } from './connect'
import { newPublicId } from './ids'
import type { Integration } from './integrations.repo'
import type { IngestInboxTable } from './schema-ingestion'

// Alert acceptance and the inbox the ingestion processor drains: a 200 is answered only after the insert commits.

export interface RateLimit {
  readonly count: number
  readonly windowSeconds: number
}

export interface IngestLimits {
  readonly integration: RateLimit
  readonly organization: RateLimit
}

/** OnCall's defaults in code: 300 alerts per 5 minutes per integration, 900 per organization. */
export const defaultIngestLimits: IngestLimits = {
  integration: { count: 300, windowSeconds: 300 },
  organization: { count: 900, windowSeconds: 300 },
}

/** Stores one alert for processing: once this returns, the alert survives any crash. */
export async function enqueueAlert(db: Db, integration: Pick<Integration, 'id' | 'organizationId'>, payload: unknown): Promise<string> {
  const row = inboxRow(integration, payload)
  await db.insertInto('ingest_inbox').values(row).execute()
  return row.alert_id
}

function inboxRow(integration: Pick<Integration, 'id' | 'organizationId'>, payload: unknown) {
  return {
    organization_id: integration.organizationId,
    integration_id: integration.id,
    alert_id: newPublicId('A'),
    candidate_group_id: newPublicId('I'),
    payload: JSON.stringify(payload),
  } satisfies Insertable<IngestInboxTable>
}

/**
 * Stores alerts as `enqueueAlert` does, but requests that arrive while a statement is running share the next one:
 * one commit (one WAL flush) for all of them. Each caller's promise settles only once its own row is committed,
 * or with the error of its own row's insert.
 */
export class InboxWriter {
  private waiting: Array<{ row: Insertable<IngestInboxTable>; settle: (err?: unknown) => void }> = []
  private writing = false
  /** Statements run so far (for tests). */
  statements = 0

  constructor(
    private readonly db: Db,
    private readonly maxRows = 100,
    // Payloads can be megabytes each: a statement carries about this much at most (always at least one row).
    private readonly maxPayloadChars = 1_000_000,
  ) {}

  async enqueue(integration: Pick<Integration, 'id' | 'organizationId'>, payload: unknown): Promise<string> {
    const row = inboxRow(integration, payload)
    await new Promise<void>((resolve, reject) => {
      this.waiting.push({ row, settle: (err) => (err === undefined ? resolve() : reject(err)) })
      if (!this.writing) void this.write()
    })
    return row.alert_id
  }

  private async write(): Promise<void> {
    this.writing = true
    while (this.waiting.length > 0) {
      let rows = 1
      let chars = this.waiting[0]?.row.payload.length ?? 0
      while (rows < Math.min(this.maxRows, this.waiting.length) && chars + (this.waiting[rows]?.row.payload.length ?? 0) <= this.maxPayloadChars) {
        chars += this.waiting[rows]?.row.payload.length ?? 0
        rows += 1
      }
      const batch = this.waiting.splice(0, rows)
      this.statements += 1
      try {
        await this.db.insertInto('ingest_inbox').values(batch.map((b) => b.row)).execute()
        for (const b of batch) b.settle()
      } catch (err) {
        if (batch.length === 1) {
          batch[0]?.settle(err)
          continue
        }
        // A row the database refuses (its integration deleted meanwhile) must not refuse its neighbours: each goes
        // on its own, and only what fails alone is refused.
        this.statements += batch.length
        await Promise.all(
          batch.map((b) =>
            this.db
              .insertInto('ingest_inbox')
              .values(b.row)
              .execute()
              .then(() => b.settle(), b.settle),
          ),
        )
      }
    }
    this.writing = false
  }
}

/**
 * An alert that belongs to a group known already (a heartbeat's "restored" alert joins its "expired" alert's group):
 * stored in that group at once; with `resolve`, its resolve signal waits in the inbox and the processor applies it
 * through the group's workflow like any resolve by source.
 */
export async function enqueueAlertOfGroup(
  db: Db,
  integration: Pick<Integration, 'id' | 'organizationId'>,
  alertGroupId: string,
  payload: unknown,
  options: { resolve: boolean },
): Promise<string> {
  const alertId = newPublicId('A')
  await db
    .insertInto('alerts')
    .values({ id: alertId, organization_id: integration.organizationId, alert_group_id: alertGroupId, payload: JSON.stringify(payload) })
    .execute()
  if (options.resolve) {
    await db
      .insertInto('ingest_inbox')
      .values({
        organization_id: integration.organizationId,
        integration_id: integration.id,
        alert_id: alertId,
        candidate_group_id: alertGroupId,
        payload: JSON.stringify(payload),
        state: 'action',
        alert_group_id: alertGroupId,
        pending_action: 'resolve',
      })
      .execute()
  }
  return alertId
}

/** Where an accepted alert is: its group once grouped, `queued` while it waits in the inbox, undefined if dropped. */
export async function placeOfAcceptedAlert(db: Db, alertId: string): Promise<{ alertGroupId: string } | 'queued' | undefined> {
  // One statement, one snapshot: the processor moves the alert from the inbox to its group in one transaction.
  const { rows } = await sql<{ alert_group_id: string | null; queued: boolean }>`
    select (select alert_group_id from alerts where id = ${alertId}) as alert_group_id,
           exists (select 1 from ingest_inbox where alert_id = ${alertId} and state = 'pending') as queued`.execute(db)
  const place = rows[0]
  if (place?.alert_group_id) return { alertGroupId: place.alert_group_id }
  return place?.queued ? 'queued' : undefined
}

/** An inbox row as the processor reads it; only the processor and this module know the inbox. */
export type InboxRow = Omit<Selectable<IngestInboxTable>, 'last_error'>

const inboxColumns = [
  'id',
  'organization_id',
  'integration_id',
  'alert_id',
  'candidate_group_id',
  'payload',
  'received_at',
  'state',
  'alert_group_id',
  'pending_action',
  'attempts',
] as const satisfies ReadonlyArray<keyof InboxRow>

/** Integrations with work waiting, oldest first (all organizations: the processor serves them all). */
export async function integrationsWithWork(db: Db, limit: number): Promise<string[]> {
  const rows = await db
    .selectFrom('ingest_inbox')
    .select('integration_id')
    .groupBy('integration_id')
    .orderBy(sql`min(id)`)
    .limit(limit)
    .execute()
  return rows.map((r) => r.integration_id)
}

export async function inboxBatch(db: Db, integrationId: string, limit: number): Promise<InboxRow[]> {
  return db
    .selectFrom('ingest_inbox')
    .select(inboxColumns)
    .where('integration_id', '=', integrationId)
    .orderBy('id')
    .limit(limit)
    .execute()
}

export async function recordInboxFailure(db: Db, id: string, error: string): Promise<void> {
  await db
    .updateTable('ingest_inbox')
    .set((eb) => ({ attempts: eb('attempts', '+', 1), last_error: error.slice(0, 2000) }))
    .where('id', '=', id)
    .execute()
}

export async function deleteInboxRow(db: Db, id: string): Promise<void> {
  await db.deleteFrom('ingest_inbox').where('id', '=', id).execute()
}

/** Old rate windows are only history. */
export async function pruneRateCounters(db: Db, olderThanSeconds: number): Promise<void> {
  await db
    .deleteFrom('ingest_rate_counters')
    .where('window_start', '<', sql<string>`now() - make_interval(secs => ${olderThanSeconds})`)
    .execute()
}

/** An alert group alerts can still join, with the workflow to signal. */
export interface OpenGroup {
  id: string
  workflowId: string
}

export async function findOpenGroup(
  db: Db,
  organizationId: string,
  integrationId: string,
  routeId: string,
  distinction: string,
): Promise<OpenGroup | undefined> {
  return db
    .selectFrom('alert_groups')
    .select(['id', 'workflow_id as workflowId'])
    .where('organization_id', '=', organizationId)
    .where('integration_id', '=', integrationId)
    .where(sql<boolean>`coalesce(route_id, '') = ${routeId}`)
    .where('distinction', '=', distinction)
    .where('open_for_grouping', '=', true)
    .executeTakeFirst()
}

/** One grouping key (a route and a distinction) as one string: how open groups and lanes of a pass are told apart. */
export function groupingKey(key: { readonly routeId: string; readonly distinction: string }): string {
  return `${key.routeId}:${key.distinction}`
}

/** The open groups of several keys at once, by `groupingKey` (a key without one is absent). */
export async function findOpenGroups(
  db: Db,
  organizationId: string,
  integrationId: string,
  keys: ReadonlyArray<{ routeId: string; distinction: string }>,
): Promise<Map<string, OpenGroup>> {
  const found = new Map<string, OpenGroup>()
  if (keys.length === 0) return found
  const rows = await db
    .selectFrom('alert_groups')
    .select(['id', 'workflow_id as workflowId', sql<string>`coalesce(route_id, '')`.as('routeId'), 'distinction'])
    .where('organization_id', '=', organizationId)
    .where('integration_id', '=', integrationId)
    .where('distinction', 'in', [...new Set(keys.map((k) => k.distinction))])
    .where('open_for_grouping', '=', true)
    .execute()
  for (const row of rows) found.set(groupingKey({ routeId: row.routeId, distinction: row.distinction ?? '' }), { id: row.id, workflowId: row.workflowId })
  return found
}

/** The most recently resolved group with the key: where a late resolve signal attaches (OnCall). */
export async function findLatestResolvedGroup(
  db: Db,
  organizationId: string,
  integrationId: string,
  distinction: string,
): Promise<OpenGroup | undefined> {
  return db
    .selectFrom('alert_groups')
    .select(['id', 'workflow_id as workflowId'])
    .where('organization_id', '=', organizationId)
    .where('integration_id', '=', integrationId)
    .where('distinction', '=', distinction)
    .where('open_for_grouping', '=', false)
    .where('resolved_at', 'is not', null)
    .orderBy('resolved_at', 'desc')
    .limit(1)
    .executeTakeFirst()
}

/** An alert to store in a group. */
export interface NewAlertRow {
  readonly id: string
  readonly organizationId: string
  readonly alertGroupId: string
  readonly payload: unknown
  readonly createdAt: string
}

/** The alert an inbox row becomes in `alertGroupId` (its id was fixed at acceptance). */
export function alertOfInboxRow(row: InboxRow, organizationId: string, alertGroupId: string): NewAlertRow {
  return { id: row.alert_id, organizationId, alertGroupId, payload: row.payload, createdAt: row.received_at }
}

export async function insertAlerts(db: Db, alerts: readonly NewAlertRow[]): Promise<void> {
  if (alerts.length === 0) return
  await db
    .insertInto('alerts')
    .values(
      alerts.map((alert) => ({
        id: alert.id,
        organization_id: alert.organizationId,
        alert_group_id: alert.alertGroupId,
        payload: JSON.stringify(alert.payload),
        created_at: alert.createdAt,
      })),
    )
    .onConflict((oc) => oc.column('id').doNothing())
    .execute()
}

export async function deleteInboxRows(db: Db, ids: readonly string[]): Promise<void> {
  if (ids.length > 0) await db.deleteFrom('ingest_inbox').where('id', 'in', ids).execute()
}

export async function insertAlert(db: Db, alert: NewAlertRow): Promise<void> {
  await insertAlerts(db, [alert])
}

/**
 * Inserts an open, grouping alert group; false when another one holds the key already (the partial unique index
 * on open groups decides between concurrent processors) or the id exists.
 */
export async function insertGroupingAlertGroup(
  db: Db,
  group: {
    id: string
    organizationId: string
    integrationId: string
    routeId: string
    teamId: string | null
    title: string | null
    sourceUrl: string | null
    workflowId: string
    createdAt: string
    distinction: string | null
    isMaintenance?: boolean
  },
): Promise<boolean> {
  const inserted = await db
    .insertInto('alert_groups')
    .values({
      id: group.id,
      organization_id: group.organizationId,
      integration_id: group.integrationId,
      route_id: group.routeId,
      team_id: group.teamId,
      title: group.title,
      message: null,
      source_url: group.sourceUrl,
      workflow_id: group.workflowId,
      created_at: group.createdAt,
      distinction: group.distinction,
      is_maintenance: group.isMaintenance ?? false,
    })
    .onConflict((oc) => oc.doNothing())
    .returning('id')
    .executeTakeFirst()
  return inserted !== undefined
}
