import { sql, type Selectable } from 'kysely'
import type { Db } from './connect'
import { newPublicId } from './ids'
import type { EscalationPathsTable } from './schema-incident-io'

// incident.io's escalation paths. The node tree and working hours are opaque JSON here: the service validates them
// before every write and gives them their types when it reads.

/** A live (not archived) escalation path of an organization. */
export interface EscalationPathRecord {
  readonly id: string
  readonly organizationId: string
  readonly name: string
  /** The node tree, as validated when written. */
  readonly path: unknown
  /** The working-hours sets, as validated when written. */
  readonly workingHours: unknown
  /** In the order they were given; teams deleted since are gone. */
  readonly teamIds: readonly string[]
  readonly createdAt: string
  readonly updatedAt: string
}

/** What a create or a (full) update writes. */
export interface EscalationPathWrite {
  readonly name: string
  readonly path: unknown
  readonly workingHours: unknown
  readonly teamIds: readonly string[]
}

const columns = ['pk', 'id', 'organization_id', 'name', 'path', 'working_hours', 'created_at', 'updated_at'] as const
type PathRow = Pick<Selectable<EscalationPathsTable>, (typeof columns)[number]>

async function teamIdsOf(db: Db, pathIds: readonly string[]): Promise<Map<string, string[]>> {
  const byPath = new Map<string, string[]>(pathIds.map((id) => [id, []]))
  if (pathIds.length === 0) return byPath
  const rows = await db
    .selectFrom('escalation_path_teams')
    .select(['escalation_path_id', 'team_id'])
    .where('escalation_path_id', 'in', pathIds)
    .orderBy('escalation_path_id')
    .orderBy('position')
    .execute()
  for (const row of rows) byPath.get(row.escalation_path_id)?.push(row.team_id)
  return byPath
}

async function recordsOf(db: Db, rows: readonly PathRow[]): Promise<EscalationPathRecord[]> {
  const teams = await teamIdsOf(
    db,
    rows.map((row) => row.id),
  )
  return rows.map((row) => ({
    id: row.id,
    organizationId: row.organization_id,
    name: row.name,
    path: row.path,
    workingHours: row.working_hours,
    teamIds: teams.get(row.id) ?? [],
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  }))
}

async function writeTeams(db: Db, pathId: string, teamIds: readonly string[]): Promise<void> {
  await db.deleteFrom('escalation_path_teams').where('escalation_path_id', '=', pathId).execute()
  if (teamIds.length === 0) return
  await db
    .insertInto('escalation_path_teams')
    .values(teamIds.map((teamId, position) => ({ escalation_path_id: pathId, team_id: teamId, position })))
    .execute()
}

/** The organization's live path `id`, or undefined (unknown, another organization's, or archived). */
export async function findEscalationPath(db: Db, organizationId: string, id: string): Promise<EscalationPathRecord | undefined> {
  const row = await db
    .selectFrom('escalation_paths')
    .select(columns)
    .where('organization_id', '=', organizationId)
    .where('id', '=', id)
    .where('archived_at', 'is', null)
    .executeTakeFirst()
  return row && (await recordsOf(db, [row]))[0]
}

/**
 * Up to `limit` live paths of the organization, newest first, after the path `after` in that order; undefined when
 * `after` is not a path of the organization. An archived `after` still places the page, so paging survives it.
 */
export async function listEscalationPaths(
  db: Db,
  organizationId: string,
  page: { readonly after?: string; readonly limit: number },
): Promise<EscalationPathRecord[] | undefined> {
  let query = db
    .selectFrom('escalation_paths')
    .select(columns)
    .where('organization_id', '=', organizationId)
    .where('archived_at', 'is', null)
  if (page.after !== undefined) {
    const cursor = await db
      .selectFrom('escalation_paths')
      .select('pk')
      .where('organization_id', '=', organizationId)
      .where('id', '=', page.after)
      .executeTakeFirst()
    if (!cursor) return undefined
    query = query.where('pk', '<', cursor.pk)
  }
  const rows = await query.orderBy('pk', 'desc').limit(page.limit).execute()
  return recordsOf(db, rows)
}

/** Stores a new path with its teams (which must be the organization's), in one transaction. */
export async function insertEscalationPath(db: Db, organizationId: string, fields: EscalationPathWrite): Promise<EscalationPathRecord> {
  return db.transaction().execute(async (trx) => {
    const row = await trx
      .insertInto('escalation_paths')
      .values({
        id: newPublicId('EP'),
        organization_id: organizationId,
        name: fields.name,
        path: JSON.stringify(fields.path),
        working_hours: JSON.stringify(fields.workingHours),
      })
      .returning(columns)
      .executeTakeFirstOrThrow()
    await writeTeams(trx, row.id, fields.teamIds)
    return (await recordsOf(trx, [row]))[0] as EscalationPathRecord
  })
}

/** Replaces every field of a live path; undefined when there is none to replace. */
export async function replaceEscalationPath(
  db: Db,
  organizationId: string,
  id: string,
  fields: EscalationPathWrite,
): Promise<EscalationPathRecord | undefined> {
  return db.transaction().execute(async (trx) => {
    const row = await trx
      .updateTable('escalation_paths')
      .set({
        name: fields.name,
        path: JSON.stringify(fields.path),
        working_hours: JSON.stringify(fields.workingHours),
        updated_at: sql<string>`now()`,
      })
      .where('organization_id', '=', organizationId)
      .where('id', '=', id)
      .where('archived_at', 'is', null)
      .returning(columns)
      .executeTakeFirst()
    if (!row) return undefined
    await writeTeams(trx, row.id, fields.teamIds)
    return (await recordsOf(trx, [row]))[0]
  })
}

/** Archives a live path (incident.io's delete); false when there is none. */
export async function archiveEscalationPath(db: Db, organizationId: string, id: string): Promise<boolean> {
  const result = await db
    .updateTable('escalation_paths')
    .set({ archived_at: sql<string>`now()` })
    .where('organization_id', '=', organizationId)
    .where('id', '=', id)
    .where('archived_at', 'is', null)
    .executeTakeFirst()
  return Number(result.numUpdatedRows) > 0
}

/** Whether `id` is a path of the organization that was archived. */
export async function isArchivedEscalationPath(db: Db, organizationId: string, id: string): Promise<boolean> {
  const row = await db
    .selectFrom('escalation_paths')
    .select('id')
    .where('organization_id', '=', organizationId)
    .where('id', '=', id)
    .where('archived_at', 'is not', null)
    .executeTakeFirst()
  return row !== undefined
}
