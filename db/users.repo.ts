import { sql, type Selectable } from 'kysely'
import type { Db } from './connect'
import { newPublicId } from './ids'
import type { UserRole, UsersTable } from './schema'

/** A user as services and the engine see it. */
export interface User {
  id: string
  /** Unique in the installation, in creation order (OnCall shows its users' Grafana id in this place). */
  numericId: number
  organizationId: string
  username: string
  email: string
  role: UserRole
  timezone: string | null
  phoneNumber: string | null
  slack: { userId: string; teamId: string | null } | null
}

export interface UserWithTeams extends User {
  /** Team ids, in team creation order. */
  teams: string[]
}

export interface UserFilter {
  username?: string
  email?: string
  roles?: UserRole[]
}

/** What a create or update may set. */
export type UserFields = Omit<User, 'id' | 'numericId' | 'organizationId'>

type UserRecord = Omit<Selectable<UsersTable>, 'created_at'>

/** The columns of a User, qualified so they can be selected through a join. */
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
] as const satisfies ReadonlyArray<`users.${keyof UserRecord}`>

export function toUser(row: UserRecord): User {
  return {
    id: row.id,
    numericId: Number(row.pk),
    organizationId: row.organization_id,
    username: row.username,
    email: row.email,
    role: row.role,
    timezone: row.timezone,
    phoneNumber: row.phone_number,
    slack: row.slack_user_id === null ? null : { userId: row.slack_user_id, teamId: row.slack_team_id },
  }
}

function toUserWithTeams(row: UserRecord & { teams: string[] }): UserWithTeams {
  return { ...toUser(row), teams: row.teams }
}

function toColumns(fields: Partial<UserFields>): Partial<Omit<UserRecord, 'pk' | 'id' | 'organization_id'>> {
  const columns: Partial<Omit<UserRecord, 'pk' | 'id' | 'organization_id'>> = {}
  if (fields.username !== undefined) columns.username = fields.username
  if (fields.email !== undefined) columns.email = fields.email
  if (fields.role !== undefined) columns.role = fields.role
  if (fields.timezone !== undefined) columns.timezone = fields.timezone
  if (fields.phoneNumber !== undefined) columns.phone_number = fields.phoneNumber
  if (fields.slack !== undefined) {
    columns.slack_user_id = fields.slack?.userId ?? null
    columns.slack_team_id = fields.slack?.teamId ?? null
  }
  return columns
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
  return { rows: rows.map(toUserWithTeams), count: Number(total.count) }
}

export async function getUser(db: Db, organizationId: string, id: string): Promise<UserWithTeams | undefined> {
  const row = await selectUsers(db, organizationId).where('users.id', '=', id).executeTakeFirst()
  return row && toUserWithTeams(row)
}

/**
 * The user with this id in whatever organization: only for a credential that names its user (a signed action link),
 * whose organization then scopes everything else.
 */
export async function userOfAnyOrganization(db: Db, id: string): Promise<User | undefined> {
  const row = await db.selectFrom('users').select(userColumns).where('users.id', '=', id).executeTakeFirst()
  return row && toUser(row)
}

/** Users (with their teams) among `ids`, in the order of `ids`; unknown and foreign ids are simply absent. */
export async function findUsersWithTeams(db: Db, organizationId: string, ids: readonly string[]): Promise<UserWithTeams[]> {
  if (ids.length === 0) return []
  const rows = await selectUsers(db, organizationId).where('users.id', 'in', ids).execute()
  const byId = new Map(rows.map((row) => [row.id, toUserWithTeams(row)]))
  return ids.flatMap((id) => byId.get(id) ?? [])
}

/** Users of the organization among `ids`; ids of other organizations are simply absent. */
export async function findUsers(db: Db, organizationId: string, ids: readonly string[]): Promise<User[]> {
  if (ids.length === 0) return []
  const rows = await db
    .selectFrom('users')
    .select(userColumns)
    .where('users.organization_id', '=', organizationId)
    .where('users.id', 'in', ids)
    .execute()
  return rows.map(toUser)
}

/** The ids among `ids` that are users of the organization, in the caller's order, each once. */
export async function existingUserIds(db: Db, organizationId: string, ids: readonly string[]): Promise<string[]> {
  if (ids.length === 0) return []
  const rows = await db
    .selectFrom('users')
    .select('id')
    .where('organization_id', '=', organizationId)
    .where('id', 'in', ids)
    .execute()
  const found = new Set(rows.map((row) => row.id))
  return [...new Set(ids)].filter((id) => found.has(id))
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
        .values({ ...toColumns(fields), id, organization_id: organizationId, username: fields.username, email: fields.email, role: fields.role })
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
  const columns = toColumns(fields)
  const updated = await db.transaction().execute(async (trx) => {
    if (Object.keys(columns).length > 0) {
      const result = await insertOrReportDuplicate(() =>
        trx
          .updateTable('users')
          .set(columns)
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
    await trx.deleteFrom('personal_notification_rules').where('organization_id', '=', organizationId).where('user_id', '=', id).execute()
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
