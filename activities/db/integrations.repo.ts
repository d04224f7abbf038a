import type { Db } from './connect'
import { newPublicId } from './ids'

export interface DirectPagingTarget {
  integrationId: string
  routeId: string
  escalationChainId: string | null
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
      .values({ id: integrationId, organization_id: organizationId, team_id: teamId, type: 'direct_paging', name: 'Direct paging' })
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
