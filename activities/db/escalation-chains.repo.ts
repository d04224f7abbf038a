import type { Db } from './connect'
import { newPublicId } from './ids'

export interface EscalationChainRow {
  pk: string
  id: string
  organization_id: string
  team_id: string | null
  name: string
}

const columns = ['pk', 'id', 'organization_id', 'team_id', 'name'] as const

export class DuplicateChainNameError extends Error {
  override name = 'DuplicateChainNameError'
}

async function reportDuplicate<T>(write: () => Promise<T>): Promise<T> {
  try {
    return await write()
  } catch (err) {
    if ((err as { constraint?: string }).constraint === 'escalation_chains_org_name_key') {
      throw new DuplicateChainNameError('chain name taken')
    }
    throw err
  }
}

export async function listEscalationChains(
  db: Db,
  organizationId: string,
  filter: { name?: string; teamId?: string | null },
  page: { offset: number; limit: number },
): Promise<{ rows: EscalationChainRow[]; count: number }> {
  let query = db.selectFrom('escalation_chains').where('organization_id', '=', organizationId)
  if (filter.name !== undefined) query = query.where('name', '=', filter.name)
  if (filter.teamId !== undefined) {
    query = filter.teamId === null ? query.where('team_id', 'is', null) : query.where('team_id', '=', filter.teamId)
  }
  const [rows, total] = await Promise.all([
    query.select(columns).orderBy('pk').offset(page.offset).limit(page.limit).execute(),
    query.select((eb) => eb.fn.countAll<string>().as('count')).executeTakeFirstOrThrow(),
  ])
  return { rows, count: Number(total.count) }
}

export async function getEscalationChain(db: Db, organizationId: string, id: string): Promise<EscalationChainRow | undefined> {
  return db
    .selectFrom('escalation_chains')
    .select(columns)
    .where('organization_id', '=', organizationId)
    .where('id', '=', id)
    .executeTakeFirst()
}

export async function createEscalationChain(
  db: Db,
  organizationId: string,
  fields: { name: string; team_id: string | null },
): Promise<EscalationChainRow> {
  return reportDuplicate(() =>
    db
      .insertInto('escalation_chains')
      .values({ id: newPublicId('F'), organization_id: organizationId, ...fields })
      .returning(columns)
      .executeTakeFirstOrThrow(),
  )
}

export async function updateEscalationChain(
  db: Db,
  organizationId: string,
  id: string,
  fields: { name?: string; team_id?: string | null },
): Promise<EscalationChainRow | undefined> {
  if (Object.keys(fields).length === 0) return getEscalationChain(db, organizationId, id)
  return reportDuplicate(() =>
    db
      .updateTable('escalation_chains')
      .set(fields)
      .where('organization_id', '=', organizationId)
      .where('id', '=', id)
      .returning(columns)
      .executeTakeFirst(),
  )
}

/** Deletes the chain with its policies (cascade); routes that used it keep routing without a chain. */
export async function deleteEscalationChain(db: Db, organizationId: string, id: string): Promise<boolean> {
  const result = await db
    .deleteFrom('escalation_chains')
    .where('organization_id', '=', organizationId)
    .where('id', '=', id)
    .executeTakeFirst()
  return Number(result.numDeletedRows) > 0
}
