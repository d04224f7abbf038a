import { sql } from 'kysely'
import type { Db } from './connect'
import { newPublicId } from './ids'
import type { UserRole } from './schema'

export const userColumns = [
  'users.pk',
  'users.id',
  'users.organization_id',
  'users.username',
  'users.email',
  'users.role',
  'users.timezone',
  'users.phone_number',
  'users.slack_user_id',
  'users.slack_team_id',
] as const

export interface UserRow {
  pk: string
  id: string
  organization_id: string
  username: string
  email: string
  role: UserRole
  timezone: string | null
  phone_number: string | null
  slack_user_id: string | null
  slack_team_id: string | null
}

export interface UserWithTeams extends UserRow {
  teams: string[]
}

export interface UserFilter {
  username?: string
  email?: string
  roles?: UserRole[]
}

export interface UserFields {
  username: string
  email: string
  role: UserRole
  timezone: string | null
  phone_number: string | null
  slack_user_id: string | null
  slack_team_id: string | null
}

function selectUsers(db: Db, organizationId: string) {
  return db
    .selectFrom('users')
    .select([
      ...userColumns,
      sql<string[]>`coalesce((select array_agg(tm.team_id order by t.pk) from team_members tm
        join teams t on t.id = tm.team_id where tm.user_id = users.id), '{}')`.as('teams'),
    ])
    .where('users.organization_id', '=', organizationId)
}

/** One page of an organization's users in creation order, with the total count. */
export async function listUsers(
  db: Db,
  organizationId: string,
  filter: UserFilter,
  page: { offset: number; limit: number },
): Promise<{ rows: UserWithTeams[]; count: number }> {
  let query = selectUsers(db, organizationId)
  if (filter.username !== undefined) query = query.where(sql`lower(users.username)`, '=', filter.username.toLowerCase())
  if (filter.email !== undefined) query = query.where(sql`lower(users.email)`, '=', filter.email.toLowerCase())
  if (filter.roles && filter.roles.length > 0) query = query.where('users.role', 'in', filter.roles)
  const [rows, total] = await Promise.all([
    query.orderBy('users.pk').offset(page.offset).limit(page.limit).execute(),
    query
      .clearSelect()
      .select((eb) => eb.fn.countAll<string>().as('count'))
      .executeTakeFirstOrThrow(),
  ])
  return { rows, count: Number(total.count) }
}

export async function getUser(db: Db, organizationId: string, id: string): Promise<UserWithTeams | undefined> {
  return selectUsers(db, organizationId).where('users.id', '=', id).executeTakeFirst()
}

/** Users (with their teams) among `ids`, in the order of `ids`; unknown and foreign ids are simply absent. */
export async function findUsersWithTeams(db: Db, organizationId: string, ids: readonly string[]): Promise<UserWithTeams[]> {
  if (ids.length === 0) return []
  const rows = await selectUsers(db, organizationId).where('users.id', 'in', ids).execute()
  const byId = new Map(rows.map((r) => [r.id, r]))
  return ids.flatMap((id) => (byId.has(id) ? [byId.get(id) as UserWithTeams] : []))
}

/** Users of the organization among `ids`; ids of other organizations are simply absent. */
export async function findUsers(db: Db, organizationId: string, ids: readonly string[]): Promise<UserRow[]> {
  if (ids.length === 0) return []
  return db
    .selectFrom('users')
    .select(userColumns)
    .where('users.organization_id', '=', organizationId)
    .where('users.id', 'in', ids)
    .execute()
}

export class DuplicateUsernameError extends Error {
  override name = 'DuplicateUsernameError'
}

export async function createUser(
  db: Db,
  organizationId: string,
  fields: UserFields,
  teamIds: readonly string[],
): Promise<UserWithTeams> {
  const id = newPublicId('U')
  await db.transaction().execute(async (trx) => {
    await insertOrReportDuplicate(() =>
      trx
        .insertInto('users')
        .values({ id, organization_id: organizationId, ...fields })
        .execute(),
    )
    await replaceMemberships(trx, id, teamIds)
  })
  return (await getUser(db, organizationId, id)) as UserWithTeams
}

export async function updateUser(
  db: Db,
  organizationId: string,
  id: string,
  fields: Partial<UserFields>,
  teamIds: readonly string[] | undefined,
): Promise<UserWithTeams | undefined> {
  const updated = await db.transaction().execute(async (trx) => {
    if (Object.keys(fields).length > 0) {
      const result = await insertOrReportDuplicate(() =>
        trx
          .updateTable('users')
          .set(fields)
          .where('organization_id', '=', organizationId)
          .where('id', '=', id)
          .executeTakeFirst(),
      )
      if (Number(result.numUpdatedRows) === 0) return false
    } else {
      const found = await trx
        .selectFrom('users')
        .select('id')
        .where('organization_id', '=', organizationId)
        .where('id', '=', id)
        .executeTakeFirst()
      if (!found) return false
    }
    if (teamIds !== undefined) await replaceMemberships(trx, id, teamIds)
    return true
  })
  return updated ? getUser(db, organizationId, id) : undefined
}

/** Deletes a user and takes them out of every policy's user list (round-robin queues included). */
export async function deleteUser(db: Db, organizationId: string, id: string): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    const result = await trx
      .deleteFrom('users')
      .where('organization_id', '=', organizationId)
      .where('id', '=', id)
      .executeTakeFirst()
    if (Number(result.numDeletedRows) === 0) return false
    await trx
      .updateTable('escalation_policies')
      .set({ users: sql<string[]>`array_remove(users, ${id})` })
      .where('organization_id', '=', organizationId)
      .where(sql<boolean>`${id} = any(users)`)
      .execute()
    return true
  })
}

async function replaceMemberships(db: Db, userId: string, teamIds: readonly string[]): Promise<void> {
  await db.deleteFrom('team_members').where('user_id', '=', userId).execute()
  if (teamIds.length > 0) {
    await db
      .insertInto('team_members')
      .values([...new Set(teamIds)].map((team_id) => ({ team_id, user_id: userId })))
      .execute()
  }
}

async function insertOrReportDuplicate<T>(write: () => Promise<T>): Promise<T> {
  try {
    return await write()
  } catch (err) {
    if ((err as { code?: string; constraint?: string }).constraint === 'users_org_username_key') {
      throw new DuplicateUsernameError('username taken')
    }
    throw err
  }
}
