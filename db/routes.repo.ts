import type { Selectable } from 'kysely'
import type { Db } from './connect'
import { newPublicId } from './ids'
import { placeNew, reposition, type Ordered, type Reordering } from './ordering'
import type { RoutesTable } from './schema'

/** A route as services and the ingestion processor see it. */
export interface Route {
  id: string
  organizationId: string
  integrationId: string
  /** The integration's catch-all route: it matches every alert and comes last. */
  isDefault: boolean
  position: number
  escalationChainId: string | null
  routingType: 'regex' | 'jinja2'
  routingRegex: string | null
  slackChannelId: string | null
  slackEnabled: boolean
  telegramId: string | null
  telegramEnabled: boolean
}

/** What a create or update may set (the position has rules of its own). */
export type RouteSettings = Omit<Route, 'id' | 'organizationId' | 'integrationId' | 'isDefault' | 'position' | 'routingRegex'> & {
  routingRegex: string
}

type RouteRecord = Omit<Selectable<RoutesTable>, 'pk' | 'created_at'>

const columns = [
  'r.id',
  'r.organization_id',
  'r.integration_id',
  'r.is_default',
  'r.position',
  'r.escalation_chain_id',
  'r.routing_type',
  'r.routing_regex',
  'r.slack_channel_id',
  'r.slack_enabled',
  'r.telegram_id',
  'r.telegram_enabled',
] as const satisfies ReadonlyArray<`r.${keyof RouteRecord}`>

function toRoute(row: RouteRecord): Route {
  return {
    id: row.id,
    organizationId: row.organization_id,
    integrationId: row.integration_id,
    isDefault: row.is_default,
    position: row.position,
    escalationChainId: row.escalation_chain_id,
    routingType: row.routing_type,
    routingRegex: row.routing_regex,
    slackChannelId: row.slack_channel_id,
    slackEnabled: row.slack_enabled,
    telegramId: row.telegram_id,
    telegramEnabled: row.telegram_enabled,
  }
}

type RouteSettingColumns = Pick<
  RouteRecord,
  'escalation_chain_id' | 'routing_type' | 'slack_channel_id' | 'slack_enabled' | 'telegram_id' | 'telegram_enabled'
> & { routing_regex: string }

function toColumns(settings: Partial<RouteSettings>): Partial<RouteSettingColumns> {
  const columns: Partial<RouteSettingColumns> = {}
  if (settings.escalationChainId !== undefined) columns.escalation_chain_id = settings.escalationChainId
  if (settings.routingType !== undefined) columns.routing_type = settings.routingType
  if (settings.routingRegex !== undefined) columns.routing_regex = settings.routingRegex
  if (settings.slackChannelId !== undefined) columns.slack_channel_id = settings.slackChannelId
  if (settings.slackEnabled !== undefined) columns.slack_enabled = settings.slackEnabled
  if (settings.telegramId !== undefined) columns.telegram_id = settings.telegramId
  if (settings.telegramEnabled !== undefined) columns.telegram_enabled = settings.telegramEnabled
  return columns
}

function selectRoutes(db: Db, organizationId: string) {
  return db
    .selectFrom('routes as r')
    .innerJoin('integrations as i', 'i.id', 'r.integration_id')
    .select(columns)
    .where('r.organization_id', '=', organizationId)
    .where('i.deleted_at', 'is', null)
}

/** OnCall's order: per integration, non-default routes by position, then the default route. */
export async function listRoutes(
  db: Db,
  organizationId: string,
  filter: { integrationId?: string; routingRegex?: string },
  page: { offset: number; limit: number },
): Promise<{ rows: Route[]; count: number }> {
  let query = selectRoutes(db, organizationId)
  if (filter.integrationId !== undefined) query = query.where('r.integration_id', '=', filter.integrationId)
  if (filter.routingRegex !== undefined) query = query.where('r.routing_regex', '=', filter.routingRegex)
  const [rows, total] = await Promise.all([
    query.orderBy('i.pk').orderBy('r.is_default').orderBy('r.position').orderBy('r.pk').offset(page.offset).limit(page.limit).execute(),
    query
      .clearSelect()
      .select((eb) => eb.fn.countAll<string>().as('count'))
      .executeTakeFirstOrThrow(),
  ])
  return { rows: rows.map(toRoute), count: Number(total.count) }
}

export async function getRoute(db: Db, organizationId: string, id: string): Promise<Route | undefined> {
  const row = await selectRoutes(db, organizationId).where('r.id', '=', id).executeTakeFirst()
  return row && toRoute(row)
}

/** An integration's routes in routing order (the processor's view). */
export async function routesOfIntegration(db: Db, organizationId: string, integrationId: string): Promise<Route[]> {
  const rows = await selectRoutes(db, organizationId)
    .where('r.integration_id', '=', integrationId)
    .orderBy('r.is_default')
    .orderBy('r.position')
    .orderBy('r.pk')
    .execute()
  return rows.map(toRoute)
}

/** Non-default routes only: the default route has an ordering of its own (position 0). */
async function lockOrdering(trx: Db, organizationId: string, integrationId: string): Promise<Ordered[]> {
  await trx
    .selectFrom('integrations')
    .select('id')
    .where('organization_id', '=', organizationId)
    .where('id', '=', integrationId)
    .forUpdate()
    .executeTakeFirstOrThrow()
  const rows = await trx
    .selectFrom('routes')
    .select(['id', 'position'])
    .where('integration_id', '=', integrationId)
    .where('is_default', '=', false)
    .execute()
  return rows.map((row) => ({ id: row.id, order: row.position }))
}

async function applyOrders(trx: Db, changes: Reordering, skip: string): Promise<void> {
  for (const [id, position] of changes) {
    if (id !== skip) await trx.updateTable('routes').set({ position }).where('id', '=', id).execute()
  }
}

/** Creates a route placed by OnCall's ordered-model rules; throws InvalidPositionError. */
export async function createRoute(
  db: Db,
  organizationId: string,
  integrationId: string,
  settings: RouteSettings,
  position: number | undefined,
  manualOrder: boolean,
): Promise<Route> {
  const id = newPublicId('R')
  await db.transaction().execute(async (trx) => {
    const changes = placeNew(await lockOrdering(trx, organizationId, integrationId), id, position, manualOrder)
    await applyOrders(trx, changes, id)
    await trx
      .insertInto('routes')
      .values({
        ...toColumns(settings),
        id,
        organization_id: organizationId,
        integration_id: integrationId,
        position: changes.get(id) as number,
      })
      .execute()
  })
  return (await getRoute(db, organizationId, id)) as Route
}

export async function updateRoute(
  db: Db,
  route: Route,
  settings: Partial<RouteSettings>,
  position: number | undefined,
  manualOrder: boolean,
): Promise<Route> {
  await db.transaction().execute(async (trx) => {
    let set: Partial<RouteSettingColumns & { position: number }> = toColumns(settings)
    if (position !== undefined && !route.isDefault) {
      const changes = reposition(await lockOrdering(trx, route.organizationId, route.integrationId), route.id, position, manualOrder)
      await applyOrders(trx, changes, route.id)
      set = { ...set, position: changes.get(route.id) as number }
    }
    if (Object.keys(set).length > 0) {
      await trx.updateTable('routes').set(set).where('organization_id', '=', route.organizationId).where('id', '=', route.id).execute()
    }
  })
  return (await getRoute(db, route.organizationId, route.id)) as Route
}

export async function deleteRoute(db: Db, organizationId: string, id: string): Promise<void> {
  await db.deleteFrom('routes').where('organization_id', '=', organizationId).where('id', '=', id).where('is_default', '=', false).execute()
}
