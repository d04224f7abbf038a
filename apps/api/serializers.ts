import { lifecycleOf, type AlertGroupRow, type AlertRow } from '../../activities/db/alert-groups.repo'
import type { TeamRow } from '../../activities/db/teams.repo'
import type { UserWithTeams } from '../../activities/db/users.repo'
import { publicState } from '../../workflows/core/lifecycle'

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

export function userToWire(user: UserWithTeams, short = false) {
  const base = {
    id: user.id,
    grafana_id: Number(user.pk),
    email: user.email,
    username: user.username,
    role: user.role,
    is_phone_number_verified: user.phone_number !== null,
  }
  if (short) return base
  return {
    ...base,
    slack: user.slack_user_id !== null ? { user_id: user.slack_user_id, team_id: user.slack_team_id } : null,
    timezone: user.timezone,
    teams: user.teams,
    // Tocsin extension: OnCall keeps the number in Grafana; Tocsin needs it to page.
    phone_number: user.phone_number,
  }
}

export function teamToWire(team: TeamRow) {
  return { id: team.id, grafana_id: Number(team.pk), name: team.name, email: team.email, avatar_url: team.avatar_url }
}

function alertToWire(alert: AlertRow) {
  return { id: alert.id, alert_group_id: alert.alert_group_id, created_at: drfDateTime(alert.created_at), payload: alert.payload }
}

export function alertGroupToWire(group: AlertGroupRow, webUrl: string) {
  const state = publicState(lifecycleOf(group))
  return {
    id: group.id,
    integration_id: group.integration_id,
    team_id: group.team_id,
    route_id: group.route_id,
    alerts_count: group.alerts_count,
    state,
    created_at: drfDateTime(group.created_at),
    resolved_at: drfDateTime(group.resolved_at),
    resolved_by: group.resolved_by,
    acknowledged_at: drfDateTime(group.acknowledged_at),
    acknowledged_by: group.acknowledged_by,
    labels: [],
    title: group.title,
    permalinks: {
      slack: null,
      slack_app: null,
      telegram: null,
      web: `${webUrl}/a/grafana-oncall-app/alert-groups/${group.id}`,
    },
    silenced_at: drfDateTime(group.silenced_at),
    last_alert: group.last_alert ? alertToWire(group.last_alert) : null,
  }
}

export function timelineEventToWire(event: { id: string; kind: string; at: string; actor: unknown; detail: unknown }) {
  return { id: Number(event.id), type: event.kind, at: drfDateTime(event.at), actor: event.actor ?? null, ...(event.detail as object) }
}
