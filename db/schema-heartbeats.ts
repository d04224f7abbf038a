import type { ColumnType } from 'kysely'

// Table types added for heartbeats that raise alerts; merged into Database in schema.ts.

export interface HeartbeatAlertsTable {
  idempotency_key: string
  organization_id: string
  integration_id: string
  kind: 'expired' | 'restored'
  sequence: number
  alert_id: string | null
  alert_group_id: string | null
  created_at: ColumnType<string, string | undefined, string>
}

export interface HeartbeatTables {
  heartbeat_alerts: HeartbeatAlertsTable
}
