import type { Selectable } from 'kysely'
import type { Db } from './connect'
import { newPublicId } from './ids'
import type { SchedulesTable } from './schema'

export type ScheduleType = SchedulesTable['type']

/** A schedule as services and the schedule resolver see it. */
export interface Schedule {
  id: string
  organizationId: string
  teamId: string | null
  name: string
  type: ScheduleType
  /** The zone of web and calendar schedules (null for iCal ones). */
  timeZone: string | null
  icalUrlPrimary: string | null
  icalUrlOverrides: string | null
  enableWebOverrides: boolean
  slackChannelId: string | null
  slackUserGroupId: string | null
}

export type ScheduleFields = Omit<Schedule, 'id' | 'organizationId' | 'slackChannelId' | 'slackUserGroupId'>

/** What an update may change: the type is fixed at creation, as in OnCall. */
export type ScheduleUpdate = Partial<Omit<ScheduleFields, 'type'>>

type ScheduleRow = Omit<Selectable<SchedulesTable>, 'pk' | 'created_at'>

export function scheduleOf(row: ScheduleRow): Schedule {
  return {
    id: row.id,
    organizationId: row.organization_id,
    teamId: row.team_id,
    name: row.name,
    type: row.type,
    timeZone: row.time_zone,
    icalUrlPrimary: row.ical_url_primary,
    icalUrlOverrides: row.ical_url_overrides,
    enableWebOverrides: row.enable_web_overrides,
    slackChannelId: row.slack_channel_id,
    slackUserGroupId: row.slack_user_group_id,
  }
}

function toStored(fields: ScheduleUpdate) {
  const stored = {
    team_id: fields.teamId,
    name: fields.name,
    time_zone: fields.timeZone,
    ical_url_primary: fields.icalUrlPrimary,
    ical_url_overrides: fields.icalUrlOverrides,
    enable_web_overrides: fields.enableWebOverrides,
  }
  return Object.fromEntries(Object.entries(stored).filter(([, value]) => value !== undefined)) as Partial<typeof stored>
}

export const scheduleColumns = [
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

export interface ScheduleFilter {
  name?: string
  /** null: schedules without a team. */
  teamId?: string | null
}

/** In creation order. */
export async function listSchedules(
  db: Db,
  organizationId: string,
  filter: ScheduleFilter,
  page: { offset: number; limit: number },
): Promise<{ rows: Schedule[]; count: number }> {
  let query = db.selectFrom('schedules').where('organization_id', '=', organizationId)
  if (filter.name !== undefined) query = query.where('name', '=', filter.name)
  if (filter.teamId === null) query = query.where('team_id', 'is', null)
  else if (filter.teamId !== undefined) query = query.where('team_id', '=', filter.teamId)
  const [rows, total] = await Promise.all([
    query.select(scheduleColumns).orderBy('pk').offset(page.offset).limit(page.limit).execute(),
    query.select((eb) => eb.fn.countAll<string>().as('count')).executeTakeFirstOrThrow(),
  ])
  return { rows: rows.map(scheduleOf), count: Number(total.count) }
}

export async function getSchedule(db: Db, organizationId: string, id: string): Promise<Schedule | undefined> {
  const row = await db
    .selectFrom('schedules')
    .select(scheduleColumns)
    .where('organization_id', '=', organizationId)
    .where('id', '=', id)
    .executeTakeFirst()
  return row && scheduleOf(row)
}

export async function createSchedule(db: Db, organizationId: string, fields: ScheduleFields): Promise<Schedule> {
  const row = await db
    .insertInto('schedules')
    .values({ ...toStored(fields), id: newPublicId('S'), organization_id: organizationId, name: fields.name, type: fields.type })
    .returning(scheduleColumns)
    .executeTakeFirstOrThrow()
  return scheduleOf(row)
}

export async function updateSchedule(
  db: Db,
  organizationId: string,
  id: string,
  fields: ScheduleUpdate,
): Promise<Schedule | undefined> {
  const stored = toStored(fields)
  if (Object.keys(stored).length === 0) return getSchedule(db, organizationId, id)
  const row = await db
    .updateTable('schedules')
    .set(stored)
    .where('organization_id', '=', organizationId)
    .where('id', '=', id)
    .returning(scheduleColumns)
    .executeTakeFirst()
  return row && scheduleOf(row)
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

/** The ids among `ids` that are schedules of the organization. */
export async function existingScheduleIds(db: Db, organizationId: string, ids: readonly string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set()
  const rows = await db
    .selectFrom('schedules')
    .select('id')
    .where('organization_id', '=', organizationId)
    .where('id', 'in', ids)
    .execute()
  return new Set(rows.map((row) => row.id))
}
