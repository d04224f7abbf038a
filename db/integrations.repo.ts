import { randomInt } from 'node:crypto'
import { sql, type Selectable, type Updateable } from 'kysely'
import type { Db } from './connect'
import { newPublicId } from './ids'
import type { Route } from './routes.repo'
import type { IntegrationsTable } from './schema'

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

export interface MaintenanceState {
  mode: 'maintenance' | 'debug' | null
  startedAt: string | null
  endAt: string | null
  /** The maintenance alert group, in maintenance mode. */
  groupId: string | null
}

/** A live integration as services and the ingestion processor see it, with its default route. */
export interface Integration {
  id: string
  organizationId: string
  teamId: string | null
  type: string
  name: string
  descriptionShort: string | null
  /** The secret of the integration's URL. */
  token: string
  templates: Record<string, unknown>
  allowSourceBasedResolving: boolean
  maintenance: MaintenanceState
  heartbeatLastAt: string | null
  /** OnCall's heartbeat timeout in seconds; null: heartbeats are recorded, never awaited. */
  heartbeatTimeoutSeconds: number | null
  createdAt: string
  defaultRoute: Pick<Route, 'id' | 'escalationChainId' | 'slackChannelId' | 'slackEnabled' | 'telegramId' | 'telegramEnabled'>
}

/** What a create or update may set. */
export type IntegrationFields = Pick<Integration, 'name' | 'teamId' | 'descriptionShort' | 'templates' | 'heartbeatTimeoutSeconds'>

type IntegrationRecord = Omit<Selectable<IntegrationsTable>, 'pk' | 'deleted_at' | 'heartbeat_sync_due'> & {
  default_route_id: string
  default_route_chain_id: string | null
  default_route_slack_channel_id: string | null
  default_route_slack_enabled: boolean
  default_route_telegram_id: string | null
  default_route_telegram_enabled: boolean
}

function toIntegration(row: IntegrationRecord): Integration {
  return {
    id: row.id,
    organizationId: row.organization_id,
    teamId: row.team_id,
    type: row.type,
    name: row.name,
    descriptionShort: row.description_short,
    token: row.token,
    templates: row.templates,
    allowSourceBasedResolving: row.allow_source_based_resolving,
    maintenance: {
      mode: row.maintenance_mode,
      startedAt: row.maintenance_started_at,
      endAt: row.maintenance_end_at,
      groupId: row.maintenance_group_id,
    },
    heartbeatLastAt: row.heartbeat_last_at,
    heartbeatTimeoutSeconds: row.heartbeat_timeout_seconds,
    createdAt: row.created_at,
    defaultRoute: {
      id: row.default_route_id,
      escalationChainId: row.default_route_chain_id,
      slackChannelId: row.default_route_slack_channel_id,
      slackEnabled: row.default_route_slack_enabled,
      telegramId: row.default_route_telegram_id,
      telegramEnabled: row.default_route_telegram_enabled,
    },
  }
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
      'i.heartbeat_timeout_seconds',
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

export async function createIntegration(
  db: Db,
  organizationId: string,
  type: string,
  fields: IntegrationFields,
  defaultRouteChainId: string | null,
): Promise<Integration> {
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
          team_id: fields.teamId,
          description_short: fields.descriptionShort,
          templates: JSON.stringify(fields.templates),
          heartbeat_timeout_seconds: fields.heartbeatTimeoutSeconds,
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
  return (await getIntegration(db, organizationId, id)) as Integration
}

export async function listIntegrations(
  db: Db,
  organizationId: string,
  filter: { name?: string; teamId?: string | null },
  page: { offset: number; limit: number },
): Promise<{ rows: Integration[]; count: number }> {
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
  return { rows: rows.map(toIntegration), count: Number(total.count) }
}

export async function getIntegration(db: Db, organizationId: string, id: string): Promise<Integration | undefined> {
  const row = await selectIntegrations(db).where('i.organization_id', '=', organizationId).where('i.id', '=', id).executeTakeFirst()
  return row && toIntegration(row)
}

/** The ingestion lookup: the token is the credential, so this is the one query not scoped by a caller. */
export async function getIntegrationByToken(db: Db, token: string): Promise<Integration | undefined> {
  const row = await selectIntegrations(db).where('i.token', '=', token).executeTakeFirst()
  return row && toIntegration(row)
}

/** The ids among `ids` that are integrations of the organization. */
export async function existingIntegrationIds(db: Db, organizationId: string, ids: readonly string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set()
  const rows = await db
    .selectFrom('integrations')
    .select('id')
    .where('organization_id', '=', organizationId)
    .where('id', 'in', ids)
    .execute()
  return new Set(rows.map((r) => r.id))
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
      const set: Updateable<IntegrationsTable> = {}
      if (fields.name !== undefined) set.name = fields.name
      if (fields.teamId !== undefined) set.team_id = fields.teamId
      if (fields.descriptionShort !== undefined) set.description_short = fields.descriptionShort
      if (fields.templates !== undefined) set.templates = JSON.stringify(fields.templates)
      if (fields.heartbeatTimeoutSeconds !== undefined) {
        set.heartbeat_timeout_seconds = fields.heartbeatTimeoutSeconds
        // As in OnCall, a heartbeat just turned on is awaited from the first heartbeat after it, not from an old one.
        if (fields.heartbeatTimeoutSeconds !== null) {
          await trx
            .updateTable('integrations')
            .set({ heartbeat_last_at: null })
            .where('organization_id', '=', organizationId)
            .where('id', '=', id)
            .where('heartbeat_timeout_seconds', 'is', null)
            .execute()
        }
        // The heartbeat workflow has to hear of the new timeout (or that there is none).
        set.heartbeat_sync_due = true
      }
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
    // A heartbeat workflow, if any, has to hear that the integration is gone.
    .set({ deleted_at: sql<string>`now()`, heartbeat_sync_due: sql<boolean>`heartbeat_timeout_seconds is not null` })
    .where('organization_id', '=', organizationId)
    .where('id', '=', id)
    .where('deleted_at', 'is', null)
    .execute()
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
export async function expiredMaintenances(
  db: Db,
): Promise<Array<Pick<Integration, 'id' | 'organizationId'> & { maintenanceGroupId: string | null }>> {
  const rows = await db
    .selectFrom('integrations')
    .select(['id', 'organization_id', 'maintenance_group_id'])
    .where('maintenance_mode', 'is not', null)
    .where('maintenance_end_at', '<', sql<string>`now()`)
    .limit(100)
    .execute()
  return rows.map((row) => ({ id: row.id, organizationId: row.organization_id, maintenanceGroupId: row.maintenance_group_id }))
}
