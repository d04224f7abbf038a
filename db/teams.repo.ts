import type { Selectable } from 'kysely'
import type { Db } from './connect'
import { newPublicId } from './ids'
import type { TeamsTable } from './schema'

/** A team as services see it. */
export interface Team {
  id: string
  /** Unique in the installation, in creation order (OnCall shows its teams' Grafana id in this place). */
  numericId: number
  organizationId: string
  name: string
  email: string | null
  avatarUrl: string | null
}

/** What a create or update may set. */
export type TeamFields = Omit<Team, 'id' | 'numericId' | 'organizationId'>

type TeamRecord = Omit<Selectable<TeamsTable>, 'created_at'>

const teamColumns = ['pk', 'id', 'organization_id', 'name', 'email', 'avatar_url'] as const satisfies ReadonlyArray<keyof TeamRecord>

function toTeam(row: TeamRecord): Team {
  return {
    id: row.id,
    numericId: Number(row.pk),
    organizationId: row.organization_id,
    name: row.name,
    email: row.email,
    avatarUrl: row.avatar_url,
  }
}

function toColumns(fields: Partial<TeamFields>): Partial<Pick<TeamRecord, 'name' | 'email' | 'avatar_url'>> {
  const columns: Partial<Pick<TeamRecord, 'name' | 'email' | 'avatar_url'>> = {}
  if (fields.name !== undefined) columns.name = fields.name
  if (fields.email !== undefined) columns.email = fields.email
  if (fields.avatarUrl !== undefined) columns.avatar_url = fields.avatarUrl
  return columns
}

export class DuplicateTeamNameError extends Error {
  override name = 'DuplicateTeamNameError'
}

export async function listTeams(
  db: Db,
  organizationId: string,
  filter: { name?: string },
  page: { offset: number; limit: number },
): Promise<{ rows: Team[]; count: number }> {
  let query = db.selectFrom('teams').where('organization_id', '=', organizationId)
  if (filter.name !== undefined) query = query.where('name', '=', filter.name)
  const [rows, total] = await Promise.all([
    query.select(teamColumns).orderBy('pk').offset(page.offset).limit(page.limit).execute(),
    query.select((eb) => eb.fn.countAll<string>().as('count')).executeTakeFirstOrThrow(),
  ])
  return { rows: rows.map(toTeam), count: Number(total.count) }
}

export async function getTeam(db: Db, organizationId: string, id: string): Promise<Team | undefined> {
  const row = await db
    .selectFrom('teams')
    .select(teamColumns)
    .where('organization_id', '=', organizationId)
    .where('id', '=', id)
    .executeTakeFirst()
  return row && toTeam(row)
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

/**
 * The members of a team of the organization, in user creation order. Both the team and each member must belong to
 * the organization: a foreign team id yields nobody, whatever the membership rows say.
 */
export async function teamMemberIds(db: Db, organizationId: string, teamId: string): Promise<string[]> {
  const rows = await db
    .selectFrom('team_members')
    .innerJoin('teams', 'teams.id', 'team_members.team_id')
    .innerJoin('users', 'users.id', 'team_members.user_id')
    .select('users.id')
    .where('teams.organization_id', '=', organizationId)
    .where('users.organization_id', '=', organizationId)
    .where('team_members.team_id', '=', teamId)
    .orderBy('users.pk')
    .execute()
  return rows.map((row) => row.id)
}

export async function createTeam(db: Db, organizationId: string, fields: TeamFields): Promise<Team> {
  const id = newPublicId('T')
  const row = await reportDuplicate(() =>
    db
      .insertInto('teams')
      .values({ ...toColumns(fields), id, organization_id: organizationId, name: fields.name })
      .returning(teamColumns)
      .executeTakeFirstOrThrow(),
  )
  return toTeam(row)
}

export async function updateTeam(
  db: Db,
  organizationId: string,
  id: string,
  fields: Partial<TeamFields>,
): Promise<Team | undefined> {
  const columns = toColumns(fields)
  if (Object.keys(columns).length === 0) return getTeam(db, organizationId, id)
  const row = await reportDuplicate(() =>
    db
      .updateTable('teams')
      .set(columns)
      .where('organization_id', '=', organizationId)
      .where('id', '=', id)
      .returning(teamColumns)
      .executeTakeFirst(),
  )
  return row && toTeam(row)
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
