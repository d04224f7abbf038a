import type { ColumnType, Generated } from 'kysely'
import type { HeartbeatTables } from './schema-heartbeats'
import type { IncidentIoTables } from './schema-incident-io'
import type { IngestionTables } from './schema-ingestion'
import type { SchedulesTables } from './schema-schedules'
import type { Resolution } from '../workflows/core/lifecycle'
import type { StepType } from '../workflows/oncall/steps'

// Table types, declared once. Timestamps are read as PostgreSQL's text (microsecond precision, UTC session),
// because OnCall's wire format keeps microseconds and a JS Date would drop them.
type Timestamp = ColumnType<string, string | undefined, string>
type NullableTimestamp = ColumnType<string | null, string | null | undefined, string | null>
type Json = ColumnType<unknown, string, string>

export interface OrganizationsTable {
  id: string
  name: string
  created_at: Timestamp
}

export interface TeamsTable {
  pk: Generated<string>
  id: string
  organization_id: string
  name: string
  email: string | null
  avatar_url: string | null
  created_at: Timestamp
}

export type UserRole = 'admin' | 'editor' | 'viewer' | 'none'

export interface UsersTable {
  pk: Generated<string>
  id: string
  organization_id: string
  username: string
  email: string
  role: UserRole
  timezone: string | null
  phone_number: string | null
  slack_user_id: string | null
  slack_team_id: string | null
  created_at: Timestamp
}

export interface TeamMembersTable {
  team_id: string
  user_id: string
}

export interface ApiTokensTable {
  pk: Generated<string>
  organization_id: string
  user_id: string
  name: string
  token_prefix: string
  token_hash: string
  created_at: Timestamp
  revoked_at: NullableTimestamp
}

export interface IntegrationsTable {
  pk: Generated<string>
  id: string
  organization_id: string
  team_id: string | null
  type: string
  name: string
  created_at: Timestamp
  token: ColumnType<string, string | undefined, string>
  description_short: string | null
  templates: ColumnType<Record<string, unknown>, string | undefined, string>
  allow_source_based_resolving: ColumnType<boolean, boolean | undefined, boolean>
  maintenance_mode: 'maintenance' | 'debug' | null
  maintenance_started_at: NullableTimestamp
  maintenance_end_at: NullableTimestamp
  maintenance_group_id: string | null
  heartbeat_last_at: NullableTimestamp
  /** OnCall's heartbeat timeout; null: heartbeats are only recorded. */
  heartbeat_timeout_seconds: ColumnType<number | null, number | null | undefined, number | null>
  /** The heartbeat workflow has yet to hear of the latest heartbeat or setting. */
  heartbeat_sync_due: ColumnType<boolean, boolean | undefined, boolean>
  deleted_at: NullableTimestamp
}

export interface RoutesTable {
  pk: Generated<string>
  id: string
  organization_id: string
  integration_id: string
  is_default: ColumnType<boolean, boolean | undefined, boolean>
  position: ColumnType<number, number | undefined, number>
  escalation_chain_id: string | null
  created_at: Timestamp
  routing_type: ColumnType<'regex' | 'jinja2', 'regex' | 'jinja2' | undefined, 'regex' | 'jinja2'>
  routing_regex: string | null
  slack_channel_id: string | null
  slack_enabled: ColumnType<boolean, boolean | undefined, boolean>
  telegram_id: string | null
  telegram_enabled: ColumnType<boolean, boolean | undefined, boolean>
}

export interface AlertGroupsTable {
  pk: Generated<string>
  id: string
  organization_id: string
  integration_id: string
  route_id: string | null
  team_id: string | null
  title: string | null
  message: string | null
  source_url: string | null
  workflow_id: string
  created_at: Timestamp
  acknowledged_at: NullableTimestamp
  acknowledged_by: string | null
  resolved_at: NullableTimestamp
  resolved_by: string | null
  silenced_at: NullableTimestamp
  silenced_until: NullableTimestamp
  lifecycle_version: ColumnType<number, number | undefined, number>
  /** 'cancelled' or 'expired' when the escalation ended that way; null otherwise. */
  resolution: ColumnType<Resolution | null, Resolution | null | undefined, Resolution | null>
  distinction: string | null
  is_maintenance: ColumnType<boolean, boolean | undefined, boolean>
  open_for_grouping: ColumnType<boolean, boolean | undefined, boolean>
}

export interface AlertsTable {
  pk: Generated<string>
  id: string
  organization_id: string
  alert_group_id: string
  payload: Json
  created_at: Timestamp
}

export interface NotificationsTable {
  id: Generated<string>
  organization_id: string
  alert_group_id: string
  user_id: string
  step: string
  important: boolean
  channel: string
  idempotency_key: string
  created_at: Timestamp
  delivered_at: NullableTimestamp
  /** Which of the user's rules sent it (null: recorded before personal rules). */
  rule_position: number | null
  rule_type: string | null
  status: ColumnType<NotificationStatus, NotificationStatus | undefined, NotificationStatus>
  attempts: ColumnType<number, number | undefined, number>
  /** The provider's last error, while retrying or once failed. */
  error: string | null
  /** The provider's id of the message (Twilio's SID, Slack's ts, the SMTP message id). */
  provider_id: string | null
}

/** How a notification's delivery went: pending before the first attempt, then sent, retrying or failed. */
export type NotificationStatus = 'pending' | 'sent' | 'retrying' | 'failed' | 'skipped'

export interface PersonalNotificationRulesTable {
  pk: Generated<string>
  id: string
  organization_id: string
  user_id: string
  important: boolean
  position: number
  type: string
  duration_seconds: number | null
  created_at: Timestamp
}

export interface AlertGroupEventsTable {
  id: Generated<string>
  organization_id: string
  alert_group_id: string
  kind: string
  at: Timestamp
  actor: ColumnType<unknown, string | null | undefined, string | null>
  detail: ColumnType<unknown, string | undefined, string>
  idempotency_key: string
}

export interface EscalationChainsTable {
  pk: Generated<string>
  id: string
  organization_id: string
  team_id: string | null
  name: string
  created_at: Timestamp
}

export interface EscalationPoliciesTable {
  pk: Generated<string>
  id: string
  organization_id: string
  escalation_chain_id: string
  position: number
  /** Only the API writes policies, and only with the registry's types. */
  type: StepType
  important: ColumnType<boolean, boolean | undefined, boolean>
  duration: number | null
  users: ColumnType<string[], string[] | undefined, string[]>
  schedule_id: string | null
  team_to_notify: string | null
  group_to_notify: string | null
  action_to_trigger: string | null
  notify_if_time_from: string | null
  notify_if_time_to: string | null
  num_alerts_in_window: number | null
  num_minutes_in_window: number | null
  severity: string | null
  round_robin_index: ColumnType<number, number | undefined, number>
  created_at: Timestamp
}

export interface SchedulesTable {
  pk: Generated<string>
  id: string
  organization_id: string
  team_id: string | null
  name: string
  type: 'web' | 'calendar' | 'ical'
  time_zone: string | null
  ical_url_primary: string | null
  ical_url_overrides: string | null
  enable_web_overrides: ColumnType<boolean, boolean | undefined, boolean>
  slack_channel_id: string | null
  slack_user_group_id: string | null
  created_at: Timestamp
}

export interface UserGroupsTable {
  pk: Generated<string>
  id: string
  organization_id: string
  name: string
  handle: string
  created_at: Timestamp
}

export interface UserGroupMembersTable {
  user_group_id: string
  user_id: string
}

export interface WebhooksTable {
  pk: Generated<string>
  id: string
  organization_id: string
  team_id: string | null
  name: string
  is_webhook_enabled: ColumnType<boolean, boolean | undefined, boolean>
  url: string
  http_method: string
  trigger_type: string
  data: string | null
  headers: string | null
  trigger_template: string | null
  username: string | null
  password: string | null
  authorization_header: string | null
  forward_all: ColumnType<boolean, boolean | undefined, boolean>
  integration_filter: string[] | null
  preset: string | null
  created_at: Timestamp
  deleted_at: NullableTimestamp
}

export interface WebhookResponsesTable {
  pk: Generated<string>
  organization_id: string
  webhook_id: string
  timestamp: Timestamp
  url: string | null
  request_trigger: string | null
  request_headers: string | null
  request_data: string | null
  status_code: number | null
  content: string | null
  event_data: string | null
  idempotency_key: string | null
}

export interface RoundRobinPicksTable {
  idempotency_key: string
  organization_id: string
  policy_id: string
  user_id: string
  created_at: Timestamp
}

/** A round-robin queue kept by key (an incident.io path's level), not on a policy row. */
export interface RoundRobinQueuesTable {
  organization_id: string
  queue_key: string
  /** Picks made so far; stored as bigint, read as text by the driver. */
  picks: ColumnType<string, string | number | undefined, string | number>
  updated_at: ColumnType<string, string | undefined, string>
}

export interface IncidentsTable {
  pk: Generated<string>
  organization_id: string
  alert_group_id: string
  severity: string
  policy_id: string | null
  declared_at: Timestamp
  /** The key of the step that declared it (null for incidents declared before steps were recorded). */
  step_key: string | null
}

export interface ChatPostsTable {
  idempotency_key: string
  organization_id: string
  alert_group_id: string
  text: string
  created_at: Timestamp
  delivered_at: NullableTimestamp
}

export interface Database extends SchedulesTables, IngestionTables, HeartbeatTables, IncidentIoTables {
  organizations: OrganizationsTable
  teams: TeamsTable
  users: UsersTable
  team_members: TeamMembersTable
  api_tokens: ApiTokensTable
  integrations: IntegrationsTable
  routes: RoutesTable
  alert_groups: AlertGroupsTable
  alerts: AlertsTable
  notifications: NotificationsTable
  personal_notification_rules: PersonalNotificationRulesTable
  alert_group_events: AlertGroupEventsTable
  escalation_chains: EscalationChainsTable
  escalation_policies: EscalationPoliciesTable
  schedules: SchedulesTable
  user_groups: UserGroupsTable
  user_group_members: UserGroupMembersTable
  webhooks: WebhooksTable
  webhook_responses: WebhookResponsesTable
  round_robin_picks: RoundRobinPicksTable
  round_robin_queues: RoundRobinQueuesTable
  incidents: IncidentsTable
  chat_posts: ChatPostsTable
}
