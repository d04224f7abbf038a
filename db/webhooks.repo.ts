import { sql, type Selectable } from 'kysely'
import type { Db } from './connect'
import type { WebhookResponsesTable, WebhooksTable } from './schema'
import { newPublicId } from './ids'

/** A live webhook as the API reads it (table types are declared once, in schema.ts). */
export type WebhookRow = Omit<Selectable<WebhooksTable>, 'created_at' | 'deleted_at'>

/** What a create or update may set. */
export type WebhookFields = Omit<WebhookRow, 'pk' | 'id' | 'organization_id' | 'preset'>

export type WebhookResponseRow = Omit<Selectable<WebhookResponsesTable>, 'pk' | 'organization_id' | 'webhook_id' | 'idempotency_key'>

/** One attempt as the escalation engine records it; `timestamp` defaults to now. */
export type WebhookResponse = Omit<WebhookResponseRow, 'timestamp'> & { timestamp?: string }

const webhookColumns = [
  'pk',
  'id',
  'organization_id',
  'team_id',
  'name',
  'is_webhook_enabled',
  'url',
  'http_method',
  'trigger_type',
  'data',
  'headers',
  'trigger_template',
  'username',
  'password',
  'authorization_header',
  'forward_all',
  'integration_filter',
  'preset',
] as const satisfies ReadonlyArray<keyof WebhookRow>

const responseColumns = [
  'timestamp',
  'url',
  'request_trigger',
  'request_headers',
  'request_data',
  'status_code',
  'content',
  'event_data',
] as const satisfies ReadonlyArray<keyof WebhookResponseRow>

export class DuplicateWebhookNameError extends Error {
  override name = 'DuplicateWebhookNameError'
}

/** Live (not deleted) webhooks of the organization only. */
function liveWebhooks(db: Db, organizationId: string) {
  return db.selectFrom('webhooks').where('organization_id', '=', organizationId).where('deleted_at', 'is', null)
}

export async function listWebhooks(
  db: Db,
  organizationId: string,
  filter: { name?: string; teamId?: string | null },
  page: { offset: number; limit: number },
): Promise<{ rows: WebhookRow[]; count: number }> {
  let query = liveWebhooks(db, organizationId)
  if (filter.name !== undefined) query = query.where('name', '=', filter.name)
  if (filter.teamId === null) query = query.where('team_id', 'is', null)
  else if (filter.teamId !== undefined) query = query.where('team_id', '=', filter.teamId)
  const [rows, total] = await Promise.all([
    query.select(webhookColumns).orderBy('pk').offset(page.offset).limit(page.limit).execute(),
    query.select((eb) => eb.fn.countAll<string>().as('count')).executeTakeFirstOrThrow(),
  ])
  return { rows, count: Number(total.count) }
}

export async function getWebhook(db: Db, organizationId: string, id: string): Promise<WebhookRow | undefined> {
  return liveWebhooks(db, organizationId).select(webhookColumns).where('id', '=', id).executeTakeFirst()
}

export async function createWebhook(db: Db, organizationId: string, fields: WebhookFields): Promise<WebhookRow> {
  const id = newPublicId('WH')
  return reportDuplicate(() =>
    db
      .insertInto('webhooks')
      .values({ id, organization_id: organizationId, ...fields })
      .returning(webhookColumns)
      .executeTakeFirstOrThrow(),
  )
}

export async function updateWebhook(
  db: Db,
  organizationId: string,
  id: string,
  fields: Partial<WebhookFields>,
): Promise<WebhookRow | undefined> {
  if (Object.keys(fields).length === 0) return getWebhook(db, organizationId, id)
  return reportDuplicate(() =>
    db
      .updateTable('webhooks')
      .set(fields)
      .where('organization_id', '=', organizationId)
      .where('id', '=', id)
      .where('deleted_at', 'is', null)
      .returning(webhookColumns)
      .executeTakeFirst(),
  )
}

/** Soft delete: the row (and its responses) stay; the partial unique index frees the name. */
export async function deleteWebhook(db: Db, organizationId: string, id: string): Promise<boolean> {
  const result = await db
    .updateTable('webhooks')
    .set({ deleted_at: sql<string>`now()` })
    .where('organization_id', '=', organizationId)
    .where('id', '=', id)
    .where('deleted_at', 'is', null)
    .executeTakeFirst()
  return Number(result.numUpdatedRows) > 0
}

/** One page of a webhook's responses, newest first. */
export async function listWebhookResponses(
  db: Db,
  organizationId: string,
  webhookId: string,
  page: { offset: number; limit: number },
): Promise<{ rows: WebhookResponseRow[]; count: number }> {
  const query = db
    .selectFrom('webhook_responses')
    .where('organization_id', '=', organizationId)
    .where('webhook_id', '=', webhookId)
  const [rows, total] = await Promise.all([
    query
      .select(responseColumns)
      .orderBy('timestamp', 'desc')
      .orderBy('pk', 'desc')
      .offset(page.offset)
      .limit(page.limit)
      .execute(),
    query.select((eb) => eb.fn.countAll<string>().as('count')).executeTakeFirstOrThrow(),
  ])
  return { rows, count: Number(total.count) }
}

/**
 * Records one attempt exactly once: a retried activity reuses its idempotency key and inserts nothing. The row is
 * written only for a webhook of the organization (deleted ones included: a late attempt stays explainable).
 * True when this call wrote the row.
 */
export async function recordWebhookResponse(
  db: Db,
  organizationId: string,
  webhookId: string,
  response: WebhookResponse & { idempotencyKey: string },
): Promise<boolean> {
  const result = await db
    .insertInto('webhook_responses')
    .columns([
      'organization_id',
      'webhook_id',
      'timestamp',
      'url',
      'request_trigger',
      'request_headers',
      'request_data',
      'status_code',
      'content',
      'event_data',
      'idempotency_key',
    ])
    .expression((eb) =>
      eb
        .selectFrom('webhooks')
        .select([
          'webhooks.organization_id',
          'webhooks.id',
          response.timestamp === undefined
            ? sql<string>`now()`.as('timestamp')
            : sql<string>`${response.timestamp}::timestamptz`.as('timestamp'),
          eb.val(response.url).as('url'),
          eb.val(response.request_trigger).as('request_trigger'),
          eb.val(response.request_headers).as('request_headers'),
          eb.val(response.request_data).as('request_data'),
          sql<number | null>`${response.status_code}::integer`.as('status_code'),
          eb.val(response.content).as('content'),
          eb.val(response.event_data).as('event_data'),
          eb.val(response.idempotencyKey).as('idempotency_key'),
        ])
        .where('webhooks.organization_id', '=', organizationId)
        .where('webhooks.id', '=', webhookId),
    )
    .onConflict((oc) => oc.column('idempotency_key').doNothing())
    .returning('pk')
    .executeTakeFirst()
  return result !== undefined
}

async function reportDuplicate<T>(write: () => Promise<T>): Promise<T> {
  try {
    return await write()
  } catch (err) {
    if ((err as { constraint?: string }).constraint === 'webhooks_org_name_live_idx') {
      throw new DuplicateWebhookNameError('webhook name taken')
    }
    throw err
  }
}

const STATUS_CHANGES = ['acknowledge', 'resolve', 'silence', 'unsilence', 'unresolve', 'unacknowledge']

/** The enabled webhooks of the organization that fire on a lifecycle event (a status change also fires "status change"). */
export async function webhooksFiringOn(db: Db, organizationId: string, triggerType: string): Promise<string[]> {
  const types = STATUS_CHANGES.includes(triggerType) ? [triggerType, 'status change'] : [triggerType]
  const rows = await db
    .selectFrom('webhooks')
    .select('id')
    .where('organization_id', '=', organizationId)
    .where('deleted_at', 'is', null)
    .where('is_webhook_enabled', '=', true)
    .where('trigger_type', 'in', types)
    .orderBy('pk')
    .execute()
  return rows.map((r) => r.id)
}
