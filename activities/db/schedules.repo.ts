import type { Db } from './connect'
import { newPublicId } from './ids'
import type { SchedulesTable } from './schema'

export type ScheduleType = SchedulesTable['type']

export interface ScheduleRow {
  pk: string
  id: string
  organization_id: string
  team_id: string | null
  name: string
  type: ScheduleType
  time_zone: string | null
  ical_url_primary: string | null
  ical_url_overrides: string | null
  enable_web_overrides: boolean
  slack_channel_id: string | null
  slack_user_group_id: string | null
}

export interface ScheduleFields {
  team_id: string | null
  name: string
  type: ScheduleType
  time_zone: string | null
  ical_url_primary: string | null
  ical_url_overrides: string | null
  enable_web_overrides: boolean
}

/** What an update may change: the type is fixed at creation, as in OnCall. */
export type ScheduleUpdate = Partial<Omit<ScheduleFields, 'type'>>

const scheduleColumns = [
  'pk',
  'id',
  'organization_id',
  'team_id',
  'name',
  'type',
  'time_zone',
  'ical_url_primary',
  'ical_url_overrides',
  'enable_web_overrides',
  'slack_channel_id',
  'slack_user_group_id',
] as const

export async function listSchedules(
  db: Db,
  organizationId: string,
  filter: { name?: string; teamId?: string | null },
  page: { offset: number; limit: number },
): Promise<{ rows: ScheduleRow[]; count: number }> {
  let query = db.selectFrom('schedules').where('organization_id', '=', organizationId)
  if (filter.name !== undefined) query = query.where('name', '=', filter.name)
  if (filter.teamId === null) query = query.where('team_id', 'is', null)
  else if (filter.teamId !== undefined) query = query.where('team_id', '=', filter.teamId)
  const [rows, total] = await Promise.all([
    query.select(scheduleColumns).orderBy('pk').offset(page.offset).limit(page.limit).execute(),
    query.select((eb) => eb.fn.countAll<string>().as('count')).executeTakeFirstOrThrow(),
  ])
  return { rows, count: Number(total.count) }
}

export async function getSchedule(db: Db, organizationId: string, id: string): Promise<ScheduleRow | undefined> {
  return db
    .selectFrom('schedules')
    .select(scheduleColumns)
    .where('organization_id', '=', organizationId)
    .where('id', '=', id)
    .executeTakeFirst()
}

export async function createSchedule(db: Db, organizationId: string, fields: ScheduleFields): Promise<ScheduleRow> {
  return db
    .insertInto('schedules')
    .values({ id: newPublicId('S'), organization_id: organizationId, ...fields })
    .returning(scheduleColumns)
    .executeTakeFirstOrThrow()
}

export async function updateSchedule(
  db: Db,
  organizationId: string,
  id: string,
  fields: ScheduleUpdate,
): Promise<ScheduleRow | undefined> {
  if (Object.keys(fields).length === 0) return getSchedule(db, organizationId, id)
  return db
    .updateTable('schedules')
    .set(fields)
    .where('organization_id', '=', organizationId)
    .where('id', '=', id)
    .returning(scheduleColumns)
    .executeTakeFirst()
}

/** Policies that pointed at the schedule keep existing, pointing at nothing (the foreign key sets null). */
export async function deleteSchedule(db: Db, organizationId: string, id: string): Promise<boolean> {
  const result = await db
    .deleteFrom('schedules')
    .where('organization_id', '=', organizationId)
    .where('id', '=', id)
    .executeTakeFirst()
  return Number(result.numDeletedRows) > 0
}
