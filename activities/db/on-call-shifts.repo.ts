import { sql } from 'kysely'
import type { Db } from './connect'
import { newPublicId } from './ids'
import type { OnCallShiftsTable } from './schema-schedules'

export type ShiftTypeName = OnCallShiftsTable['type']

export interface ShiftFields {
  team_id: string | null
  name: string | null
  type: ShiftTypeName
  time_zone: string | null
  level: number
  start: string
  rotation_start: string
  until: string | null
  duration: number
  frequency: OnCallShiftsTable['frequency']
  interval: number | null
  week_start: string
  by_day: string[] | null
  by_month: number[] | null
  by_monthday: number[] | null
  users: string[]
  rolling_users: string[][] | null
  start_rotation_from_user_index: number | null
  source: number
}

export interface ShiftRow extends ShiftFields {
  id: string
  organization_id: string
  /** The first schedule the shift belongs to (OnCall's read-only `schedule`), or null. */
  schedule: string | null
}

const columns = [
  'on_call_shifts.id',
  'on_call_shifts.organization_id',
  'on_call_shifts.team_id',
  'on_call_shifts.name',
  'on_call_shifts.type',
  'on_call_shifts.time_zone',
  'on_call_shifts.level',
  'on_call_shifts.start',
  'on_call_shifts.rotation_start',
  'on_call_shifts.until',
  'on_call_shifts.duration',
  'on_call_shifts.frequency',
  'on_call_shifts.interval',
  'on_call_shifts.week_start',
  'on_call_shifts.by_day',
  'on_call_shifts.by_month',
  'on_call_shifts.by_monthday',
  'on_call_shifts.users',
  'on_call_shifts.rolling_users',
  'on_call_shifts.start_rotation_from_user_index',
  'on_call_shifts.source',
] as const

function selectShifts(db: Db, organizationId: string) {
  return db
    .selectFrom('on_call_shifts')
    .select([
      ...columns,
      sql<string | null>`(select ss.schedule_id from schedule_shifts ss where ss.shift_id = on_call_shifts.id
        order by ss.pk limit 1)`.as('schedule'),
    ])
    .where('on_call_shifts.organization_id', '=', organizationId)
}

function toStored(fields: Partial<ShiftFields>) {
  const { rolling_users, ...rest } = fields
  return rolling_users === undefined
    ? rest
    : { ...rest, rolling_users: rolling_users === null ? null : JSON.stringify(rolling_users) }
}

/** OnCall's order: by linked schedule (unlinked last), then creation. */
export async function listShifts(
  db: Db,
  organizationId: string,
  filter: { name?: string; scheduleId?: string; teamId?: string | null },
  page: { offset: number; limit: number },
): Promise<{ rows: ShiftRow[]; count: number }> {
  let query = selectShifts(db, organizationId)
  if (filter.name !== undefined) query = query.where('on_call_shifts.name', '=', filter.name)
  if (filter.teamId === null) query = query.where('on_call_shifts.team_id', 'is', null)
  else if (filter.teamId !== undefined) query = query.where('on_call_shifts.team_id', '=', filter.teamId)
  if (filter.scheduleId !== undefined) {
    const scheduleId = filter.scheduleId
    query = query.where(({ exists, selectFrom }) =>
      exists(
        selectFrom('schedule_shifts')
          .select('schedule_shifts.pk')
          .whereRef('schedule_shifts.shift_id', '=', 'on_call_shifts.id')
          .where('schedule_shifts.schedule_id', '=', scheduleId),
      ),
    )
  }
  const [rows, total] = await Promise.all([
    query
      .orderBy(
        sql`(select min(s.pk) from schedule_shifts ss join schedules s on s.id = ss.schedule_id
          where ss.shift_id = on_call_shifts.id)`,
        sql`asc nulls last`,
      )
      .orderBy('on_call_shifts.pk')
      .offset(page.offset)
      .limit(page.limit)
      .execute(),
    query
      .clearSelect()
      .select((eb) => eb.fn.countAll<string>().as('count'))
      .executeTakeFirstOrThrow(),
  ])
  return { rows, count: Number(total.count) }
}

export async function getShift(db: Db, organizationId: string, id: string): Promise<ShiftRow | undefined> {
  return selectShifts(db, organizationId).where('on_call_shifts.id', '=', id).executeTakeFirst()
}

export async function createShift(db: Db, organizationId: string, fields: ShiftFields): Promise<ShiftRow> {
  const id = newPublicId('O')
  await db
    .insertInto('on_call_shifts')
    .values({ id, organization_id: organizationId, ...toStored(fields) } as never)
    .execute()
  return (await getShift(db, organizationId, id)) as ShiftRow
}

export async function updateShift(
  db: Db,
  organizationId: string,
  id: string,
  fields: Partial<ShiftFields>,
): Promise<ShiftRow | undefined> {
  if (Object.keys(fields).length > 0) {
    await db
      .updateTable('on_call_shifts')
      .set(toStored(fields) as never)
      .where('organization_id', '=', organizationId)
      .where('id', '=', id)
      .execute()
  }
  return getShift(db, organizationId, id)
}

export async function deleteShift(db: Db, organizationId: string, id: string): Promise<boolean> {
  const result = await db
    .deleteFrom('on_call_shifts')
    .where('organization_id', '=', organizationId)
    .where('id', '=', id)
    .executeTakeFirst()
  return Number(result.numDeletedRows) > 0
}

/** Of `ids`, the organization's shifts (in the caller's order, repeats dropped) with their types. */
export async function findShifts(
  db: Db,
  organizationId: string,
  ids: readonly string[],
): Promise<Array<{ id: string; type: ShiftTypeName }>> {
  if (ids.length === 0) return []
  const rows = await db
    .selectFrom('on_call_shifts')
    .select(['id', 'type'])
    .where('organization_id', '=', organizationId)
    .where('id', 'in', ids)
    .execute()
  const byId = new Map(rows.map((r) => [r.id, r]))
  return [...new Set(ids)].flatMap((id) => (byId.has(id) ? [byId.get(id) as { id: string; type: ShiftTypeName }] : []))
}

/** The shifts of a schedule, in the order they were attached. */
export async function scheduleShifts(db: Db, organizationId: string, scheduleId: string): Promise<ShiftRow[]> {
  return selectShifts(db, organizationId)
    .innerJoin('schedule_shifts', 'schedule_shifts.shift_id', 'on_call_shifts.id')
    .where('schedule_shifts.schedule_id', '=', scheduleId)
    .orderBy('schedule_shifts.pk')
    .execute()
}

/** Shift ids per schedule, for the `shifts` key of schedule responses. */
export async function shiftIdsBySchedule(db: Db, scheduleIds: readonly string[]): Promise<Map<string, string[]>> {
  const result = new Map<string, string[]>(scheduleIds.map((id) => [id, []]))
  if (scheduleIds.length === 0) return result
  const rows = await db
    .selectFrom('schedule_shifts')
    .select(['schedule_id', 'shift_id'])
    .where('schedule_id', 'in', scheduleIds)
    .orderBy('pk')
    .execute()
  for (const row of rows) result.get(row.schedule_id)?.push(row.shift_id)
  return result
}

/** Replaces a schedule's shifts (ids already checked to be the organization's). */
export async function setScheduleShifts(db: Db, scheduleId: string, shiftIds: readonly string[]): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await trx.deleteFrom('schedule_shifts').where('schedule_id', '=', scheduleId).execute()
    if (shiftIds.length > 0) {
      await trx
        .insertInto('schedule_shifts')
        .values(shiftIds.map((shift_id) => ({ schedule_id: scheduleId, shift_id })))
        .execute()
    }
  })
}
