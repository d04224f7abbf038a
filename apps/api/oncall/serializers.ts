import { lifecycleOf, type AlertGroup, type Incident, type RecordedEvent } from '../../../db/alert-groups.repo'
import type { Alert } from '../../../db/alerts.repo'
import type { Team } from '../../../db/teams.repo'
import type { UserWithTeams } from '../../../db/users.repo'
import { publicState } from '../../../workflows/core/lifecycle'
import type { EscalationStatus } from '../../../workflows/messages'

/**
 * PostgreSQL's UTC text (`2024-08-15 18:05:36.801215+00`) in DRF's rendering: ISO with `Z`, six-digit
 * microseconds when non-zero, none when zero (OnCall clients compare these strings).
 */
export function drfDateTime(pgText: string): string
export function drfDateTime(pgText: string | null): string | null
export function drfDateTime(pgText: string | null): string | null {
  if (pgText === null) return null
  const match = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})(?:\.(\d+))?(?:\+00(?::?00)?|Z)$/.exec(pgText)
  if (!match) throw new Error(`unexpected timestamp ${pgText}: sessions must run in UTC`)
  const [, date, time, fraction] = match
  const micros = (fraction ?? '').padEnd(6, '0').slice(0, 6)
  return `${date}T${time}${/^0*$/.test(micros) ? '' : `.${micros}`}Z`
}

export interface UserShape {
  /** OnCall's `?short=true`: only the identifying keys. */
  readonly short?: boolean
  /** Adds Tocsin's extension fields, which OnCall's user object does not have. */
  readonly extended?: boolean
}

/** OnCall's user object (or its short form), with Tocsin's extension fields only when asked for. */
export function userToWire(user: UserWithTeams, { short = false, extended = false }: UserShape = {}) {
  const base = {
    id: user.id,
    grafana_id: user.numericId,
    email: user.email,
    username: user.username,
    role: user.role,
    is_phone_number_verified: user.phoneNumber !== null,
  }
  const oncall = short
    ? base
    : {
        ...base,
        slack: user.slack !== null ? { user_id: user.slack.userId, team_id: user.slack.teamId } : null,
        timezone: user.timezone,
        teams: user.teams,
      }
  // OnCall keeps the number in Grafana; Tocsin needs it to page.
  return extended ? { ...oncall, phone_number: user.phoneNumber } : oncall
}

export function teamToWire(team: Team) {
  return { id: team.id, grafana_id: team.numericId, name: team.name, email: team.email, avatar_url: team.avatarUrl }
}

export function alertToWire(alert: Alert) {
  return { id: alert.id, alert_group_id: alert.alertGroupId, created_at: drfDateTime(alert.createdAt), payload: alert.payload }
}

export function alertGroupToWire(group: AlertGroup, webUrl: string) {
  const state = publicState(lifecycleOf(group))
  return {
    id: group.id,
    integration_id: group.integrationId,
    team_id: group.teamId,
    route_id: group.routeId,
    alerts_count: group.alertsCount,
    state,
    created_at: drfDateTime(group.createdAt),
    resolved_at: drfDateTime(group.resolvedAt),
    resolved_by: group.resolvedBy,
    acknowledged_at: drfDateTime(group.acknowledgedAt),
    acknowledged_by: group.acknowledgedBy,
    labels: [],
    title: group.title,
    permalinks: {
      slack: null,
      slack_app: null,
      telegram: null,
      web: `${webUrl}/a/grafana-oncall-app/alert-groups/${group.id}`,
    },
    silenced_at: drfDateTime(group.silencedAt),
    last_alert: group.lastAlert ? alertToWire(group.lastAlert) : null,
  }
}

export function timelineEventToWire(event: RecordedEvent) {
  return { id: Number(event.id), type: event.kind, at: drfDateTime(event.at), actor: event.actor ?? null, ...(event.detail as object) }
}

export function incidentToWire(alertGroupId: string, incident: Incident) {
  return { alert_group_id: alertGroupId, severity: incident.severity, policy_id: incident.policyId, declared_at: drfDateTime(incident.declaredAt) }
}

/** The escalation query (Tocsin extension) in the API's snake_case; `running: false` when no run is going. */
export function escalationStatusToWire(alertGroupId: string, status: EscalationStatus | null) {
  if (status === null) return { alert_group_id: alertGroupId, running: false }
  return {
    alert_group_id: alertGroupId,
    running: true,
    state: status.state,
    chain_id: status.chainId,
    current_step: status.currentStep && { index: status.currentStep.index, policy_id: status.currentStep.policyId, type: status.currentStep.type },
    next_wake_at: status.nextWakeAt,
    paused: status.paused,
    finished: status.finished,
    repeats: status.repeats,
    steps_executed: status.stepsExecuted,
    restarts: status.restarts,
    alerts_count: status.alertsCount,
    notifications_sent: status.notificationsSent,
    pending_notifications: status.pendingNotifications,
  }
}
