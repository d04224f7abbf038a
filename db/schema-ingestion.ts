import type { ColumnType, Generated } from 'kysely'

// Table types added by the ingestion issue (incoming alerts, rate counters); merged into Database in schema.ts.

export interface IngestInboxTable {
  id: Generated<string>
  organization_id: string
  integration_id: string
  alert_id: string
  candidate_group_id: string
  payload: ColumnType<unknown, string, string>
  received_at: ColumnType<string, string | undefined, string>
  state: ColumnType<'pending' | 'action', 'pending' | 'action' | undefined, 'pending' | 'action'>
  alert_group_id: string | null
  pending_action: 'resolve' | 'acknowledge' | null
  attempts: ColumnType<number, number | undefined, number>
  last_error: string | null
}

export interface IngestRateCountersTable {
  scope: string
  window_start: string
  count: number
}

export interface IngestionTables {
  ingest_inbox: IngestInboxTable
  ingest_rate_counters: IngestRateCountersTable
}
