import { randomInt } from 'node:crypto'
import { sql } from 'kysely'
import type { Db } from './connect'
import { newPublicId } from './ids'

export interface DirectPagingTarget {
  integrationId: string
  routeId: string
  escalationChainId: string | null
}

const TOKEN_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'

/** OnCall's ingestion token: 25 characters of [A-Za-z0-9]; the secret in the integration's URL. */
export function newIntegrationToken(): string {
  let token = ''
  for (let i = 0; i < 25; i++) token += TOKEN_ALPHABET[randomInt(TOKEN_ALPHABET.length)]
  return token
}

/**
 * The direct-paging integration of (organization, team) with its default route, created on first use.
 * Concurrent first pages race on a unique index; the loser reads the winner's row.
 */
export async function ensureDirectPagingIntegration(
  db: Db,
  organizationId: string,
  teamId: string | null,
): Promise<DirectPagingTarget> {
  const existing = await findDirectPaging(db, organizationId, teamId)
  if (existing) return existing
  await db.transaction().execute(async (trx) => {
    const integrationId = newPublicId('C')
    const inserted = await trx
      .insertInto('integrations')
      .values({
        id: integrationId,
        organization_id: organizationId,
        team_id: teamId,
        type: 'direct_paging',
        name: 'Direct paging',
        token: newIntegrationToken(),
      })
      .onConflict((oc) => oc.doNothing())
      .returning('id')
      .executeTakeFirst()
    if (!inserted) return
    await trx
      .insertInto('routes')
      .values({ id: newPublicId('R'), organization_id: organizationId, integration_id: integrationId, is_default: true })
      .execute()
  })
  const created = await findDirectPaging(db, organizationId, teamId)
  if (!created) throw new Error('direct paging integration vanished after creation')
  return created
}

async function findDirectPaging(db: Db, organizationId: string, teamId: string | null) {
  let query = db
    .selectFrom('integrations')
    .innerJoin('routes', (join) => join.onRef('routes.integration_id', '=', 'integrations.id').on('routes.is_default', '=', true))
    .select(['integrations.id as integrationId', 'routes.id as routeId', 'routes.escalation_chain_id as escalationChainId'])
    .where('integrations.organization_id', '=', organizationId)
    .where('integrations.type', '=', 'direct_paging')
  query = teamId === null ? query.where('integrations.team_id', 'is', null) : query.where('integrations.team_id', '=', teamId)
  return query.executeTakeFirst()
}

export interface IntegrationRow {
  id: string
  organization_id: string
  team_id: string | null
  type: string
  name: string
  description_short: string | null
  token: string
  templates: Record<string, unknown>
  allow_source_based_resolving: boolean
  maintenance_mode: 'maintenance' | 'debug' | null
  maintenance_started_at: string | null
  maintenance_end_at: string | null
  maintenance_group_id: string | null
  heartbeat_last_at: string | null
  created_at: string
  default_route_id: string
  default_route_chain_id: string | null
  default_route_slack_channel_id: string | null
  default_route_slack_enabled: boolean
  default_route_telegram_id: string | null
  default_route_telegram_enabled: boolean
}

function selectIntegrations(db: Db) {
  return db
    .selectFrom('integrations as i')
    .innerJoin('routes as r', (join) => join.onRef('r.integration_id', '=', 'i.id').on('r.is_default', '=', true))
    .select([
      'i.id',
      'i.organization_id',
      'i.team_id',
      'i.type',
      'i.name',
      'i.description_short',
      'i.token',
      'i.templates',
      'i.allow_source_based_resolving',
      'i.maintenance_mode',
      'i.maintenance_started_at',
      'i.maintenance_end_at',
      'i.maintenance_group_id',
      'i.heartbeat_last_at',
      'i.created_at',
      'r.id as default_route_id',
      'r.escalation_chain_id as default_route_chain_id',
      'r.slack_channel_id as default_route_slack_channel_id',
      'r.slack_enabled as default_route_slack_enabled',
      'r.telegram_id as default_route_telegram_id',
      'r.telegram_enabled as default_route_telegram_enabled',
    ])
    .where('i.deleted_at', 'is', null)
}

export class DuplicateIntegrationNameError extends Error {
  override name = 'DuplicateIntegrationNameError'
}

function isDuplicateName(err: unknown): boolean {
  const e = err as { code?: string; constraint?: string }
  return e.code === '23505' && e.constraint === 'integrations_org_team_name_idx'
}

export interface IntegrationFields {
  name: string
  team_id: string | null
  description_short: string | null
  templates: Record<string, unknown>
}

export async function createIntegration(
  db: Db,
  organizationId: string,
  type: string,
  fields: IntegrationFields,
  defaultRouteChainId: string | null,
): Promise<IntegrationRow> {
  const id = newPublicId('C')
  try {
    await db.transaction().execute(async (trx) => {
      await trx
        .insertInto('integrations')
        .values({
          id,
          organization_id: organizationId,
          type,
          token: newIntegrationToken(),
          name: fields.name,
          team_id: fields.team_id,
          description_short: fields.description_short,
          templates: JSON.stringify(fields.templates),
        })
        .execute()
      await trx
        .insertInto('routes')
        .values({
          id: newPublicId('R'),
          organization_id: organizationId,
          integration_id: id,
          is_default: true,
          escalation_chain_id: defaultRouteChainId,
        })
        .execute()
    })
  } catch (err) {
    if (isDuplicateName(err)) throw new DuplicateIntegrationNameError()
    throw err
  }
  return (await getIntegration(db, organizationId, id)) as IntegrationRow
}

export async function listIntegrations(
  db: Db,
  organizationId: string,
  filter: { name?: string; teamId?: string | null },
  page: { offset: number; limit: number },
): Promise<{ rows: IntegrationRow[]; count: number }> {
  let query = selectIntegrations(db).where('i.organization_id', '=', organizationId)
  if (filter.name !== undefined) query = query.where('i.name', '=', filter.name)
  if (filter.teamId !== undefined) {
    query = filter.teamId === null ? query.where('i.team_id', 'is', null) : query.where('i.team_id', '=', filter.teamId)
  }
  const [rows, total] = await Promise.all([
    query.orderBy('i.created_at').orderBy('i.pk').offset(page.offset).limit(page.limit).execute(),
    query
      .clearSelect()
      .select((eb) => eb.fn.countAll<string>().as('count'))
      .executeTakeFirstOrThrow(),
  ])
  return { rows, count: Number(total.count) }
}

export async function getIntegration(db: Db, organizationId: string, id: string): Promise<IntegrationRow | undefined> {
  return selectIntegrations(db).where('i.organization_id', '=', organizationId).where('i.id', '=', id).executeTakeFirst()
}

/** The ingestion lookup: the token is the credential, so this is the one query not scoped by a caller. */
export async function getIntegrationByToken(db: Db, token: string): Promise<IntegrationRow | undefined> {
  return selectIntegrations(db).where('i.token', '=', token).executeTakeFirst()
}

export async function updateIntegration(
  db: Db,
  organizationId: string,
  id: string,
  fields: Partial<IntegrationFields>,
  defaultRouteChainId: string | null | undefined,
): Promise<void> {
  try {
    await db.transaction().execute(async (trx) => {
      const set: Record<string, unknown> = {}
      if (fields.name !== undefined) set.name = fields.name
      if (fields.team_id !== undefined) set.team_id = fields.team_id
      if (fields.description_short !== undefined) set.description_short = fields.description_short
      if (fields.templates !== undefined) set.templates = JSON.stringify(fields.templates)
      if (Object.keys(set).length > 0) {
        await trx.updateTable('integrations').set(set).where('organization_id', '=', organizationId).where('id', '=', id).execute()
      }
      if (defaultRouteChainId !== undefined) {
        await trx
          .updateTable('routes')
          .set({ escalation_chain_id: defaultRouteChainId })
          .where('organization_id', '=', organizationId)
          .where('integration_id', '=', id)
          .where('is_default', '=', true)
          .execute()
      }
    })
  } catch (err) {
    if (isDuplicateName(err)) throw new DuplicateIntegrationNameError()
    throw err
  }
}

export async function softDeleteIntegration(db: Db, organizationId: string, id: string): Promise<void> {
  await db
    .updateTable('integrations')
    .set({ deleted_at: sql<string>`now()` })
    .where('organization_id', '=', organizationId)
    .where('id', '=', id)
    .where('deleted_at', 'is', null)
    .execute()
}

export interface MaintenanceState {
  mode: 'maintenance' | 'debug' | null
  startedAt: string | null
  endAt: string | null
  groupId: string | null
}

export async function setMaintenance(db: Db, organizationId: string, id: string, state: MaintenanceState): Promise<void> {
  await db
    .updateTable('integrations')
    .set({
      maintenance_mode: state.mode,
      maintenance_started_at: state.startedAt,
      maintenance_end_at: state.endAt,
      maintenance_group_id: state.groupId,
    })
    .where('organization_id', '=', organizationId)
    .where('id', '=', id)
    .execute()
}

/** Integrations whose maintenance window has passed (all organizations: the processor's sweep). */
export async function expiredMaintenances(db: Db): Promise<Array<{ id: string; organization_id: string; maintenance_group_id: string | null }>> {
  return db
    .selectFrom('integrations')
    .select(['id', 'organization_id', 'maintenance_group_id'])
    .where('maintenance_mode', 'is not', null)
    .where('maintenance_end_at', '<', sql<string>`now()`)
    .limit(100)
    .execute()
}

export async function recordHeartbeat(db: Db, organizationId: string, id: string): Promise<void> {
  await db
    .updateTable('integrations')
    .set({ heartbeat_last_at: sql<string>`now()` })
    .where('organization_id', '=', organizationId)
    .where('id', '=', id)
    .execute()
}
