import { sql, type Selectable } from 'kysely'
import type { Db } from './connect'
import { newPublicId } from './ids'
import type { UserGroupsTable } from './schema'

/** A user group as services and the engine see it. */
export interface UserGroup {
  id: string
  organizationId: string
  name: string
  handle: string
  /** Member user ids, in user creation order. */
  members: string[]
}

/** What a create or update may set (members are written separately). */
export type UserGroupFields = Pick<UserGroup, 'name' | 'handle'>

type UserGroupRecord = Pick<Selectable<UserGroupsTable>, 'id' | 'organization_id' | 'name' | 'handle'> & { members: string[] }

function toUserGroup(row: UserGroupRecord): UserGroup {
  return { id: row.id, organizationId: row.organization_id, name: row.name, handle: row.handle, members: row.members }
}

export class DuplicateUserGroupHandleError extends Error {
  override name = 'DuplicateUserGroupHandleError'
}

function selectUserGroups(db: Db, organizationId: string) {
  return db
    .selectFrom('user_groups')
    .select([
      'user_groups.id',
      'user_groups.organization_id',
      'user_groups.name',
      'user_groups.handle',
      sql<string[]>`coalesce((select array_agg(m.user_id order by u.pk) from user_group_members m
        join users u on u.id = m.user_id where m.user_group_id = user_groups.id
        and u.organization_id = user_groups.organization_id), '{}')`.as('members'),
    ])
    .where('user_groups.organization_id', '=', organizationId)
}

export async function listUserGroups(
  db: Db,
  organizationId: string,
  filter: { handle?: string },
  page: { offset: number; limit: number },
): Promise<{ rows: UserGroup[]; count: number }> {
  let query = selectUserGroups(db, organizationId)
  if (filter.handle !== undefined) query = query.where('user_groups.handle', '=', filter.handle)
  const [rows, total] = await Promise.all([
    query.orderBy('user_groups.pk').offset(page.offset).limit(page.limit).execute(),
    query
      .clearSelect()
      .select((eb) => eb.fn.countAll<string>().as('count'))
      .executeTakeFirstOrThrow(),
  ])
  return { rows: rows.map(toUserGroup), count: Number(total.count) }
}

export async function getUserGroup(db: Db, organizationId: string, id: string): Promise<UserGroup | undefined> {
  const row = await selectUserGroups(db, organizationId).where('user_groups.id', '=', id).executeTakeFirst()
  return row && toUserGroup(row)
}

/** `memberIds` must already be users of the organization (the caller checks, with the API's error). */
export async function createUserGroup(
  db: Db,
  organizationId: string,
  fields: UserGroupFields,
  memberIds: readonly string[],
): Promise<UserGroup> {
  const id = newPublicId('G')
  await db.transaction().execute(async (trx) => {
    await reportDuplicate(() =>
      trx
        .insertInto('user_groups')
        .values({ id, organization_id: organizationId, ...fields })
        .execute(),
    )
    await replaceMembers(trx, id, memberIds)
  })
  return (await getUserGroup(db, organizationId, id)) as UserGroup
}

export async function updateUserGroup(
  db: Db,
  organizationId: string,
  id: string,
  fields: Partial<UserGroupFields>,
  memberIds: readonly string[] | undefined,
): Promise<UserGroup | undefined> {
  const updated = await db.transaction().execute(async (trx) => {
    // Locks the row, so concurrent member replacements of one group run one after the other.
    const found = await trx
      .selectFrom('user_groups')
      .select('id')
      .where('organization_id', '=', organizationId)
      .where('id', '=', id)
      .forUpdate()
      .executeTakeFirst()
    if (!found) return false
    if (Object.keys(fields).length > 0) {
      await reportDuplicate(() => trx.updateTable('user_groups').set(fields).where('id', '=', id).execute())
    }
    if (memberIds !== undefined) await replaceMembers(trx, id, memberIds)
    return true
  })
  return updated ? getUserGroup(db, organizationId, id) : undefined
}

export async function deleteUserGroup(db: Db, organizationId: string, id: string): Promise<boolean> {
  const result = await db
    .deleteFrom('user_groups')
    .where('organization_id', '=', organizationId)
    .where('id', '=', id)
    .executeTakeFirst()
  return Number(result.numDeletedRows) > 0
}

async function replaceMembers(db: Db, userGroupId: string, userIds: readonly string[]): Promise<void> {
  await db.deleteFrom('user_group_members').where('user_group_id', '=', userGroupId).execute()
  if (userIds.length > 0) {
    await db
      .insertInto('user_group_members')
      .values([...new Set(userIds)].map((user_id) => ({ user_group_id: userGroupId, user_id })))
      .execute()
  }
}

async function reportDuplicate<T>(write: () => Promise<T>): Promise<T> {
  try {
    return await write()
  } catch (err) {
    if ((err as { constraint?: string }).constraint === 'user_groups_org_handle_key') {
      throw new DuplicateUserGroupHandleError('user group handle taken')
    }
    throw err
  }
}
