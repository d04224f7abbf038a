import type { Db } from './connect'
import { newPublicId } from './ids'

export interface TeamRow {
  pk: string
  id: string
  organization_id: string
  name: string
  email: string | null
  avatar_url: string | null
}

export interface TeamFields {
  name: string
  email: string | null
  avatar_url: string | null
}

const teamColumns = ['pk', 'id', 'organization_id', 'name', 'email', 'avatar_url'] as const

export class DuplicateTeamNameError extends Error {
  override name = 'DuplicateTeamNameError'
}

export async function listTeams(
  db: Db,
  organizationId: string,
  filter: { name?: string },
  page: { offset: number; limit: number },
): Promise<{ rows: TeamRow[]; count: number }> {
  let query = db.selectFrom('teams').where('organization_id', '=', organizationId)
  if (filter.name !== undefined) query = query.where('name', '=', filter.name)
  const [rows, total] = await Promise.all([
    query.select(teamColumns).orderBy('pk').offset(page.offset).limit(page.limit).execute(),
    query.select((eb) => eb.fn.countAll<string>().as('count')).executeTakeFirstOrThrow(),
  ])
  return { rows, count: Number(total.count) }
}

export async function getTeam(db: Db, organizationId: string, id: string): Promise<TeamRow | undefined> {
  return db
    .selectFrom('teams')
    .select(teamColumns)
    .where('organization_id', '=', organizationId)
    .where('id', '=', id)
    .executeTakeFirst()
}

/** The ids among `ids` that are teams of the organization. */
export async function existingTeamIds(db: Db, organizationId: string, ids: readonly string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set()
  const rows = await db
    .selectFrom('teams')
    .select('id')
    .where('organization_id', '=', organizationId)
    .where('id', 'in', ids)
    .execute()
  return new Set(rows.map((r) => r.id))
}

export async function createTeam(db: Db, organizationId: string, fields: TeamFields): Promise<TeamRow> {
  const id = newPublicId('T')
  return reportDuplicate(() =>
    db
      .insertInto('teams')
      .values({ id, organization_id: organizationId, ...fields })
      .returning(teamColumns)
      .executeTakeFirstOrThrow(),
  )
}

export async function updateTeam(
  db: Db,
  organizationId: string,
  id: string,
  fields: Partial<TeamFields>,
): Promise<TeamRow | undefined> {
  if (Object.keys(fields).length === 0) return getTeam(db, organizationId, id)
  return reportDuplicate(() =>
    db
      .updateTable('teams')
      .set(fields)
      .where('organization_id', '=', organizationId)
      .where('id', '=', id)
      .returning(teamColumns)
      .executeTakeFirst(),
  )
}

export async function deleteTeam(db: Db, organizationId: string, id: string): Promise<boolean> {
  const result = await db
    .deleteFrom('teams')
    .where('organization_id', '=', organizationId)
    .where('id', '=', id)
    .executeTakeFirst()
  return Number(result.numDeletedRows) > 0
}

async function reportDuplicate<T>(write: () => Promise<T>): Promise<T> {
  try {
    return await write()
  } catch (err) {
    if ((err as { constraint?: string }).constraint === 'teams_org_name_key') {
      throw new DuplicateTeamNameError('team name taken')
    }
    throw err
  }
}
