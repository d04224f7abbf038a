import type { ColumnType, Generated } from 'kysely'

// Table types added for incident.io's /v2 dialect (escalation paths); merged into Database in schema.ts.

type Timestamp = ColumnType<string, string | undefined, string>
type NullableTimestamp = ColumnType<string | null, string | null | undefined, string | null>
/** jsonb: read as parsed JSON, written as a JSON string. */
type Json = ColumnType<unknown, string, string>

export interface EscalationPathsTable {
  pk: Generated<string>
  id: string
  organization_id: string
  name: string
  /** The path's nodes, as validated by the API (incident.io's node tree). */
  path: Json
  /** The path's working-hours sets (incident.io's WeekdayIntervalConfig list). */
  working_hours: ColumnType<unknown, string | undefined, string>
  created_at: Timestamp
  updated_at: Timestamp
  /** Archived paths (incident.io's delete) are gone from the API; their rows stay. */
  archived_at: NullableTimestamp
}

export interface EscalationPathTeamsTable {
  escalation_path_id: string
  team_id: string
  /** The team's place in the path's `team_ids`. */
  position: number
}

/** incident.io's escalations: the /v2 facts of an alert group the engine runs. */
export interface EscalationsTable {
  pk: Generated<string>
  id: string
  organization_id: string
  alert_group_id: string
  /** Null only for an escalation a reassign created. */
  idempotency_key: string | null
  /** Exactly one of escalation_path_id and user_ids is set. */
  escalation_path_id: string | null
  user_ids: string[] | null
  title: string
  description: ColumnType<string, string | undefined, string>
  priority: string
  incident_id: string | null
  creator: Json
  reassigned_from_id: string | null
  reassigned_to_id: string | null
  created_at: Timestamp
  updated_at: Timestamp
}

export interface IncidentIoTables {
  escalation_paths: EscalationPathsTable
  escalation_path_teams: EscalationPathTeamsTable
  escalations: EscalationsTable
}
