import { sql, type Selectable } from 'kysely'
import type { Db } from './connect'
import { newPublicId } from './ids'
import type { OnCallShiftsTable } from './schema-schedules'

export type ShiftType = OnCallShiftsTable['type']
export type ShiftFrequency = NonNullable<OnCallShiftsTable['frequency']>

/** What an on-call shift says, as services see it. Instants are naive local times (`2024-01-01T09:00:00`). */
export interface ShiftSettings {
  teamId: string | null
  name: string | null
  type: ShiftType
  /** Null: read in UTC. */
  timeZone: string | null
  /** Priority among the schedule's layers; higher wins. */
  level: number
  start: string
  rotationStart: string
  until: string | null
  /** Seconds. */
  duration: number
  frequency: ShiftFrequency | null
  interval: number | null
  /** Weekday code (`MO` … `SU`). */
  weekStart: string
  byDay: string[] | null
  byMonth: number[] | null
  byMonthday: number[] | null
  users: string[]
  /** Groups of users taking turns, one group per rotation. */
  rollingUsers: string[][] | null
  startRotationFromUserIndex: number | null
  /** Where the shift was made (OnCall's codes: web 0, api 1, terraform 3). */
  source: number
}

export interface OnCallShift extends ShiftSettings {
  id: string
  organizationId: string
  /** The first schedule the shift belongs to, or null. */
  scheduleId: string | null
}

/** A stored shift with its first schedule; the schedule resolver reads these (see oncall.ts). */
export type ShiftRow = Omit<Selectable<OnCallShiftsTable>, 'pk' | 'created_at'> & { schedule: string | null }

function shiftOf(row: ShiftRow): OnCallShift {
  return {
    id: row.id,
    organizationId: row.organization_id,
    scheduleId: row.schedule,
    teamId: row.team_id,
    name: row.name,
    type: row.type,
    timeZone: row.time_zone,
    level: row.level,
    start: row.start,
    rotationStart: row.rotation_start,
    until: row.until,
    duration: row.duration,
    frequency: row.frequency,
    interval: row.interval,
    weekStart: row.week_start,
    byDay: row.by_day,
    byMonth: row.by_month,
    byMonthday: row.by_monthday,
    users: row.users,
    rollingUsers: row.rolling_users,
    startRotationFromUserIndex: row.start_rotation_from_user_index,
    source: row.source,
  }
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

/** The columns of the given settings (rolling users are stored as JSON). */
function toStored(settings: Partial<ShiftSettings>) {
  const stored = {
    team_id: settings.teamId,
    name: settings.name,
    type: settings.type,
    time_zone: settings.timeZone,
    level: settings.level,
    start: settings.start,
    rotation_start: settings.rotationStart,
    until: settings.until,
    duration: settings.duration,
    frequency: settings.frequency,
    interval: settings.interval,
    week_start: settings.weekStart,
    by_day: settings.byDay,
    by_month: settings.byMonth,
    by_monthday: settings.byMonthday,
    users: settings.users,
    rolling_users:
      settings.rollingUsers === undefined ? undefined : settings.rollingUsers === null ? null : JSON.stringify(settings.rollingUsers),
    start_rotation_from_user_index: settings.startRotationFromUserIndex,
    source: settings.source,
  }
  return Object.fromEntries(Object.entries(stored).filter(([, value]) => value !== undefined)) as Partial<typeof stored>
}

export interface ShiftFilter {
  name?: string
  scheduleId?: string
  /** null: shifts without a team. */
  teamId?: string | null
}

/** OnCall's order: by linked schedule (unlinked last), then creation. */
export async function listShifts(
  db: Db,
  organizationId: string,
  filter: ShiftFilter,
  page: { offset: number; limit: number },
): Promise<{ rows: OnCallShift[]; count: number }> {
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
  return { rows: rows.map(shiftOf), count: Number(total.count) }
}

export async function getShift(db: Db, organizationId: string, id: string): Promise<OnCallShift | undefined> {
  const row = await selectShifts(db, organizationId).where('on_call_shifts.id', '=', id).executeTakeFirst()
  return row && shiftOf(row)
}

export async function createShift(db: Db, organizationId: string, settings: ShiftSettings): Promise<OnCallShift> {
  const id = newPublicId('O')
  const stored = toStored(settings)
  await db
    .insertInto('on_call_shifts')
    .values({
      ...stored,
      id,
      organization_id: organizationId,
      type: settings.type,
      start: settings.start,
      rotation_start: settings.rotationStart,
      duration: settings.duration,
    })
    .execute()
  return (await getShift(db, organizationId, id)) as OnCallShift
}

export async function updateShift(
  db: Db,
  organizationId: string,
  id: string,
  settings: Partial<ShiftSettings>,
): Promise<OnCallShift | undefined> {
  const stored = toStored(settings)
  if (Object.keys(stored).length > 0) {
    await db
      .updateTable('on_call_shifts')
      .set(stored)
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
): Promise<Array<{ id: string; type: ShiftType }>> {
  if (ids.length === 0) return []
  const rows = await db
    .selectFrom('on_call_shifts')
    .select(['id', 'type'])
    .where('organization_id', '=', organizationId)
    .where('id', 'in', ids)
    .execute()
  const byId = new Map(rows.map((r) => [r.id, r]))
  return [...new Set(ids)].flatMap((id) => (byId.has(id) ? [byId.get(id) as { id: string; type: ShiftType }] : []))
}

/** The shifts of a schedule, in the order they were attached, as stored (for the schedule resolver). */
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
