import { sql } from 'kysely'
import type { Db } from './connect'

export interface AlertListRow {
  id: string
  alert_group_id: string
  created_at: string
  payload: unknown
}

/** An organization's alerts, newest first; `search` is a case-insensitive substring of the JSON payload. */
export async function listAlerts(
  db: Db,
  organizationId: string,
  filter: { alertGroupId?: string; id?: string; search?: string },
  page: { offset: number; limit: number },
): Promise<{ rows: AlertListRow[]; count: number }> {
  let query = db
    .selectFrom('alerts as a')
    .select(['a.id', 'a.alert_group_id', 'a.created_at', 'a.payload'])
    .where('a.organization_id', '=', organizationId)
  if (filter.alertGroupId !== undefined) query = query.where('a.alert_group_id', '=', filter.alertGroupId)
  if (filter.id !== undefined) query = query.where('a.id', '=', filter.id)
  if (filter.search !== undefined && filter.search !== '') {
    const pattern = `%${filter.search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`
    query = query.where(sql<boolean>`a.payload::text ilike ${pattern}`)
  }
  const [rows, total] = await Promise.all([
    query.orderBy('a.created_at', 'desc').orderBy('a.pk', 'desc').offset(page.offset).limit(page.limit).execute(),
    query
      .clearSelect()
      .select((eb) => eb.fn.countAll<string>().as('count'))
      .executeTakeFirstOrThrow(),
  ])
  return { rows, count: Number(total.count) }
}
