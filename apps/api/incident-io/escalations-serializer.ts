import type { UserRole } from '../../../db/schema'
import type { User } from '../../../db/users.repo'
import type { EscalationAlert, EscalationEvent, EscalationView, NotifiedChannel } from '../../services/escalations'

// incident.io's EscalationV2 and its parts, from the service's escalation view. Optional keys are left out
// rather than sent as null, as incident.io does.

/** PostgreSQL's UTC text (`2021-08-17 13:28:57.801578+00`) as incident.io writes instants: RFC 3339, microseconds. */
export function rfc3339(pgText: string): string {
  const match = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})(?:\.(\d+))?(?:\+00(?::?00)?|Z)$/.exec(pgText)
  if (!match) throw new Error(`unexpected timestamp ${pgText}: sessions must run in UTC`)
  const [, date, time, fraction] = match
  return `${date}T${time}.${(fraction ?? '').padEnd(6, '0').slice(0, 6)}Z`
}

/** Tocsin's roles in incident.io's (deprecated) user role enum. */
const roleOf: Record<UserRole, 'administrator' | 'responder' | 'viewer' | 'unset'> = {
  admin: 'administrator',
  editor: 'responder',
  viewer: 'viewer',
  none: 'unset',
}

export interface UserV2 {
  id: string
  name: string
  email?: string
  role: 'viewer' | 'responder' | 'administrator' | 'owner' | 'unset'
  slack_user_id?: string
}

function userV2(user: { id: string; username: string; email: string; role: UserRole; slackUserId: string | null }): UserV2 {
  return {
    id: user.id,
    name: user.username,
    ...(user.email !== '' ? { email: user.email } : {}),
    role: roleOf[user.role],
    ...(user.slackUserId !== null ? { slack_user_id: user.slackUserId } : {}),
  }
}

export function userToV2(user: User): UserV2 {
  return userV2({ ...user, slackUserId: user.slack?.userId ?? null })
}

function channelToWire(channel: NotifiedChannel) {
  return {
    ...(channel.slackTeamId !== undefined ? { slack_team_id: channel.slackTeamId } : {}),
    ...(channel.slackChannelId !== undefined ? { slack_channel_id: channel.slackChannelId } : {}),
    ...(channel.microsoftTeamsTeamId !== undefined ? { microsoft_teams_team_id: channel.microsoftTeamsTeamId } : {}),
    ...(channel.microsoftTeamsChannelId !== undefined ? { microsoft_teams_channel_id: channel.microsoftTeamsChannelId } : {}),
  }
}

export function escalationEventToWire(event: EscalationEvent) {
  const base = { id: event.id, event: event.kind, occurred_at: rfc3339(event.at) }
  switch (event.kind) {
    case 'notified_users':
      return { ...base, urgency: event.urgency, users: event.users.map(userToV2) }
    case 'notified_channels':
      return { ...base, channels: event.channels.map(channelToWire) }
    case 'acked':
      return { ...base, users: event.users.map(userToV2) }
    default:
      return base
  }
}

/** incident.io's AlertSlim: an alert of the escalation's alert group, which shares the escalation's title. */
export function alertToSlim(alert: EscalationAlert, escalation: { title: string; description: string }) {
  return {
    id: alert.id,
    alert_source_id: alert.integrationId,
    title: escalation.title,
    ...(escalation.description !== '' ? { description: escalation.description } : {}),
    status: alert.resolvedAt === null ? 'firing' : 'resolved',
    deduplication_key: alert.id,
    created_at: rfc3339(alert.createdAt),
    updated_at: rfc3339(alert.resolvedAt ?? alert.createdAt),
    ...(alert.resolvedAt !== null ? { resolved_at: rfc3339(alert.resolvedAt) } : {}),
    alert_group_ids: [alert.alertGroupId],
  }
}

/** incident.io's EscalationV2. */
export function escalationToWire({ escalation, events, alerts }: EscalationView) {
  return {
    id: escalation.id,
    title: escalation.title,
    description: escalation.description,
    status: escalation.status,
    ...(escalation.escalationPathId !== null ? { escalation_path_id: escalation.escalationPathId } : {}),
    priority: { name: escalation.priority },
    creator: { user: userV2(escalation.creator.user) },
    events: events.map(escalationEventToWire),
    related_alerts: alerts.map((alert) => alertToSlim(alert, escalation)),
    // Tocsin keeps no incidents by incident.io id: a linked incident_id filters, it is not described.
    related_incidents: [] as never[],
    created_at: rfc3339(escalation.createdAt),
    updated_at: rfc3339(escalation.updatedAt),
  }
}

export type EscalationV2 = ReturnType<typeof escalationToWire>
