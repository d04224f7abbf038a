import { sql, type Selectable } from 'kysely'
import type { Db } from './connect'
import type { AlertsTable } from './schema'

/** An alert as the services see it. `createdAt` is PostgreSQL's UTC text (microseconds kept). */
export interface Alert {
  readonly id: string
  readonly alertGroupId: string
  readonly createdAt: string
  readonly payload: unknown
}

export type AlertRow = Pick<Selectable<AlertsTable>, 'id' | 'alert_group_id' | 'created_at' | 'payload'>

export function alertOf(row: AlertRow): Alert {
  return { id: row.id, alertGroupId: row.alert_group_id, createdAt: row.created_at, payload: row.payload }
}

export interface AlertFilter {
  alertGroupId?: string
  id?: string
  /** A case-insensitive substring of the JSON payload. */
  search?: string
}

/** An organization's alerts, newest first. */
export async function listAlerts(
  db: Db,
  organizationId: string,
  filter: AlertFilter,
  page: { offset: number; limit: number },
): Promise<{ rows: Alert[]; count: number }> {
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
  return { rows: rows.map(alertOf), count: Number(total.count) }
}
