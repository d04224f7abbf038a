import type { Db } from './connect'
import { newPublicId } from './ids'
import { placeNew, reposition, type Ordered, type Reordering } from './ordering'

export interface RouteRow {
  id: string
  organization_id: string
  integration_id: string
  is_default: boolean
  position: number
  escalation_chain_id: string | null
  routing_type: 'regex' | 'jinja2'
  routing_regex: string | null
  slack_channel_id: string | null
  slack_enabled: boolean
  telegram_id: string | null
  telegram_enabled: boolean
}

export interface RouteSettings {
  escalation_chain_id: string | null
  routing_type: 'regex' | 'jinja2'
  routing_regex: string
  slack_channel_id: string | null
  slack_enabled: boolean
  telegram_id: string | null
  telegram_enabled: boolean
}

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
] as const

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
): Promise<{ rows: RouteRow[]; count: number }> {
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
  return { rows, count: Number(total.count) }
}

export async function getRoute(db: Db, organizationId: string, id: string): Promise<RouteRow | undefined> {
  return selectRoutes(db, organizationId).where('r.id', '=', id).executeTakeFirst()
}

/** An integration's routes in routing order (the processor's view). */
export async function routesOfIntegration(db: Db, organizationId: string, integrationId: string): Promise<RouteRow[]> {
  return selectRoutes(db, organizationId)
    .where('r.integration_id', '=', integrationId)
    .orderBy('r.is_default')
    .orderBy('r.position')
    .orderBy('r.pk')
    .execute()
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
): Promise<RouteRow> {
  const id = newPublicId('R')
  await db.transaction().execute(async (trx) => {
    const changes = placeNew(await lockOrdering(trx, organizationId, integrationId), id, position, manualOrder)
    await applyOrders(trx, changes, id)
    await trx
      .insertInto('routes')
      .values({ id, organization_id: organizationId, integration_id: integrationId, position: changes.get(id) as number, ...settings })
      .execute()
  })
  return (await getRoute(db, organizationId, id)) as RouteRow
}

export async function updateRoute(
  db: Db,
  route: RouteRow,
  settings: Partial<RouteSettings>,
  position: number | undefined,
  manualOrder: boolean,
): Promise<RouteRow> {
  await db.transaction().execute(async (trx) => {
    let set: Partial<RouteSettings & { position: number }> = { ...settings }
    if (position !== undefined && !route.is_default) {
      const changes = reposition(await lockOrdering(trx, route.organization_id, route.integration_id), route.id, position, manualOrder)
      await applyOrders(trx, changes, route.id)
      set = { ...set, position: changes.get(route.id) as number }
    }
    if (Object.keys(set).length > 0) {
      await trx.updateTable('routes').set(set).where('organization_id', '=', route.organization_id).where('id', '=', route.id).execute()
    }
  })
  return (await getRoute(db, route.organization_id, route.id)) as RouteRow
}

export async function deleteRoute(db: Db, organizationId: string, id: string): Promise<void> {
  await db.deleteFrom('routes').where('organization_id', '=', organizationId).where('id', '=', id).where('is_default', '=', false).execute()
}
