import type { Selectable } from 'kysely'
import type { Db } from './connect'
import { newPublicId } from './ids'
import type { EscalationChainsTable } from './schema'

/** A named, ordered list of escalation policies, optionally owned by a team. */
export interface EscalationChain {
  readonly id: string
  readonly organizationId: string
  readonly teamId: string | null
  readonly name: string
}

type ChainRow = Pick<Selectable<EscalationChainsTable>, 'id' | 'organization_id' | 'team_id' | 'name'>

const columns = ['id', 'organization_id', 'team_id', 'name'] as const

function chainOfRow(row: ChainRow): EscalationChain {
  return { id: row.id, organizationId: row.organization_id, teamId: row.team_id, name: row.name }
}

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
): Promise<{ rows: EscalationChain[]; count: number }> {
  let query = db.selectFrom('escalation_chains').where('organization_id', '=', organizationId)
  if (filter.name !== undefined) query = query.where('name', '=', filter.name)
  if (filter.teamId !== undefined) {
    query = filter.teamId === null ? query.where('team_id', 'is', null) : query.where('team_id', '=', filter.teamId)
  }
  const [rows, total] = await Promise.all([
    query.select(columns).orderBy('pk').offset(page.offset).limit(page.limit).execute(),
    query.select((eb) => eb.fn.countAll<string>().as('count')).executeTakeFirstOrThrow(),
  ])
  return { rows: rows.map(chainOfRow), count: Number(total.count) }
}

export async function getEscalationChain(db: Db, organizationId: string, id: string): Promise<EscalationChain | undefined> {
  const row = await db
    .selectFrom('escalation_chains')
    .select(columns)
    .where('organization_id', '=', organizationId)
    .where('id', '=', id)
    .executeTakeFirst()
  return row && chainOfRow(row)
}

/** Throws DuplicateChainNameError when the organization has a chain of that name. */
export async function createEscalationChain(
  db: Db,
  organizationId: string,
  fields: { name: string; teamId: string | null },
): Promise<EscalationChain> {
  const row = await reportDuplicate(() =>
    db
      .insertInto('escalation_chains')
      .values({ id: newPublicId('F'), organization_id: organizationId, name: fields.name, team_id: fields.teamId })
      .returning(columns)
      .executeTakeFirstOrThrow(),
  )
  return chainOfRow(row)
}

/** Throws DuplicateChainNameError when the organization has another chain of that name. */
export async function updateEscalationChain(
  db: Db,
  organizationId: string,
  id: string,
  fields: { name?: string; teamId?: string | null },
): Promise<EscalationChain | undefined> {
  const values = {
    ...(fields.name !== undefined ? { name: fields.name } : {}),
    ...(fields.teamId !== undefined ? { team_id: fields.teamId } : {}),
  }
  if (Object.keys(values).length === 0) return getEscalationChain(db, organizationId, id)
  const row = await reportDuplicate(() =>
    db
      .updateTable('escalation_chains')
      .set(values)
      .where('organization_id', '=', organizationId)
      .where('id', '=', id)
      .returning(columns)
      .executeTakeFirst(),
  )
  return row && chainOfRow(row)
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
