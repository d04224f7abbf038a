import { randomUUID } from 'node:crypto'
import { getAlertGroup, insertAlertGroup, type AlertGroup } from '../../db/alert-groups.repo'
import type { Db } from '../../db/connect'
import { loadChainSnapshot } from '../../db/escalation-policies.repo'
import { newPublicId } from '../../db/ids'
import { ensureDirectPagingIntegration, getIntegration } from '../../db/integrations.repo'
import { routesOfIntegration, type Route } from '../../db/routes.repo'
import { getTeam } from '../../db/teams.repo'
import { findUsers, type User } from '../../db/users.repo'
import type { Refusal } from '../../workflows/core/lifecycle'
import type { Actor, AlertGroupRecord, DirectPage } from '../../workflows/core/types'
import type { ChainSnapshot } from '../../workflows/oncall/steps'
import { alertGroupWorkflowId } from '../../workflows/messages'
import { evaluateAlerts, type StoredTemplates } from '../ingest/formats'
import { sharedTemplateEngine } from '../ingest/templates'
import type { AlertGroupDeps } from './alert-groups'
import { callEngine, ServiceError } from './errors'

// Direct paging: a new alert group on the organization's (or the team's) direct-paging integration, or more
// responders on an open one. The checks run in OnCall's order, so the first problem reported is OnCall's.

/** A user paging others. */
export type Pager = Extract<Actor, { kind: 'user' }>

export interface PageRequest {
  /** In the caller's order; a user named twice is paged once, important if either entry is. */
  readonly users: readonly DirectPage[]
  readonly teamId: string | null
  /** Offered to the team's routes as `payload.oncall.important`. */
  readonly importantTeamEscalation: boolean
  /** Page more responders on this open group instead of creating one. */
  readonly alertGroupId: string | null
  /** Absent: "<pager> is paging <names> to join escalation". */
  readonly title?: string
  readonly message: string | null
  readonly sourceUrl: string | null
}

/** Why a page is refused before anything happens; the API dialect words each. */
export type PagingProblem =
  /** Users or the team are not the organization's (reported together). */
  | { readonly kind: 'unknown_references'; readonly unknownUserIds: ReadonlySet<string>; readonly unknownTeam: boolean }
  /** More responders for a group cannot come with a title, message or source URL of their own. */
  | { readonly kind: 'alert_group_with_content' }
  | { readonly kind: 'users_and_team' }
  | { readonly kind: 'unknown_alert_group'; readonly alertGroupId: string }
  | { readonly kind: 'nobody' }
  /** The route the team's direct-paging integration picked has no escalation chain to page with. */
  | { readonly kind: 'team_route_without_chain' }

export type PageOutcome =
  | { readonly kind: 'paged'; readonly alertGroup: AlertGroup }
  | { readonly kind: 'invalid'; readonly problem: PagingProblem }

/** Python's html.escape, which OnCall applies to paging titles and messages before storing them. */
export function htmlEscape(value: string): string {
  return value
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#x27;')
}

/** OnCall's generated title: "alice is paging bob, carol and dave to join escalation". */
export function pagingTitle(pager: string, names: readonly string[]): string {
  const joined = names.length <= 1 ? (names[0] ?? '') : `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`
  return `${pager} is paging ${joined} to join escalation`
}

interface CheckedPage {
  readonly existing: AlertGroup | undefined
  readonly pages: ReadonlyArray<DirectPage & { readonly user: User }>
}

/** OnCall's checks in its order; the users to page, deduplicated, or the first problem. */
async function checkPage(db: Db, organizationId: string, request: PageRequest): Promise<CheckedPage | PagingProblem> {
  const requestedIds = request.users.map((u) => u.userId)
  const known = new Map((await findUsers(db, organizationId, requestedIds)).map((u) => [u.id, u]))
  const unknownUserIds = new Set(requestedIds.filter((id) => !known.has(id)))
  const unknownTeam = request.teamId !== null && !(await getTeam(db, organizationId, request.teamId))
  if (unknownUserIds.size > 0 || unknownTeam) return { kind: 'unknown_references', unknownUserIds, unknownTeam }

  const { alertGroupId } = request
  if (alertGroupId !== null && (request.title !== undefined || request.message !== null || request.sourceUrl !== null)) {
    return { kind: 'alert_group_with_content' }
  }
  if (request.users.length > 0 && request.teamId !== null) return { kind: 'users_and_team' }
  const existing = alertGroupId === null ? undefined : await getAlertGroup(db, organizationId, alertGroupId)
  if (alertGroupId !== null && !existing) return { kind: 'unknown_alert_group', alertGroupId }
  if (request.users.length === 0 && request.teamId === null) return { kind: 'nobody' }
  if (existing?.resolvedAt) throw refused({ code: 'resolved', action: 'add_responders' })

  const pages = new Map<string, DirectPage & { user: User }>()
  for (const { userId, important } of request.users) {
    const previous = pages.get(userId)
    pages.set(userId, { userId, important: important || (previous?.important ?? false), user: known.get(userId) as User })
  }
  return { existing, pages: [...pages.values()] }
}

/** The route of the team's direct-paging integration that the paging payload selects (first match wins). */
async function teamRoute(db: Db, organizationId: string, integrationId: string, payload: unknown): Promise<Route> {
  const [routes, integration] = await Promise.all([
    routesOfIntegration(db, organizationId, integrationId),
    getIntegration(db, organizationId, integrationId),
  ])
  if (!integration) throw new Error(`direct paging integration ${integrationId} vanished`)
  const [facts] = await evaluateAlerts(
    sharedTemplateEngine(),
    {
      type: integration.type,
      name: integration.name,
      templates: integration.templates as StoredTemplates,
      routes: routes.map((r) => ({ id: r.id, isDefault: r.isDefault, routingType: r.routingType, routingRegex: r.routingRegex })),
    },
    [payload],
  )
  const route = routes.find((r) => r.id === facts?.routeId) ?? routes.find((r) => r.isDefault)
  if (!route) throw new Error(`direct paging integration ${integrationId} has no default route`)
  return route
}

/**
 * Pages users (or a team, through its direct-paging integration's routes) on a new alert group, or adds responders
 * to an open one. The new group's row and its escalation start commit together: when the engine is unavailable,
 * nothing is created and nobody is paged (`engine_unavailable`).
 */
export async function page(deps: AlertGroupDeps, organizationId: string, pager: Pager, request: PageRequest): Promise<PageOutcome> {
  const checked = await checkPage(deps.db, organizationId, request)
  if ('kind' in checked) return { kind: 'invalid', problem: checked }
  const { existing, pages } = checked
  const directPages = pages.map(({ userId, important }) => ({ userId, important }))
  const engineCall = <T>(what: string, call: () => Promise<T>) => callEngine(deps.logger, what, call, { nothingPaged: true })

  if (existing) {
    const outcome = await engineCall('add responders', () => deps.escalations.addResponders(existing.id, { actor: pager, users: directPages }))
    if (outcome.kind === 'refused') throw refused(outcome.refusal)
    // The workflow ends on resolve.
    if (outcome.kind === 'closed') throw refused({ code: 'resolved', action: 'add_responders' })
    return { kind: 'paged', alertGroup: existing }
  }

  const { teamId } = request
  const target = await ensureDirectPagingIntegration(deps.db, organizationId, teamId)
  const team = teamId === null ? undefined : await getTeam(deps.db, organizationId, teamId)
  const names = [...(team ? [team.name] : []), ...pages.map((p) => p.user.username)]
  const title = htmlEscape(request.title ?? pagingTitle(pager.username, names))
  const message = request.message === null ? null : htmlEscape(request.message)
  const payload = {
    oncall: {
      title,
      message,
      uid: randomUUID(),
      author_username: pager.username,
      permalink: request.sourceUrl,
      important: request.importantTeamEscalation,
    },
  }
  // A team is paged through its direct-paging integration: its routes (e.g. on payload.oncall.important) choose the
  // escalation chain, exactly as for an alert from an integration.
  let routeId = target.routeId
  let escalation: ChainSnapshot | null = null
  if (teamId !== null) {
    const route = await teamRoute(deps.db, organizationId, target.integrationId, payload)
    if (!route.escalationChainId) return { kind: 'invalid', problem: { kind: 'team_route_without_chain' } }
    routeId = route.id
    escalation = await loadChainSnapshot(deps.db, organizationId, route.escalationChainId)
  }
  const id = newPublicId('I')
  const record: AlertGroupRecord = {
    id,
    organizationId,
    integrationId: target.integrationId,
    routeId,
    teamId,
    title,
    message,
    sourceUrl: request.sourceUrl,
    workflowId: alertGroupWorkflowId(id),
    createdAt: new Date().toISOString(),
    firstAlert: { id: newPublicId('A'), payload },
  }
  // The row and the workflow start commit together: if Temporal refuses, nothing is half-created.
  await deps.db.transaction().execute(async (trx) => {
    await insertAlertGroup(trx, record)
    await engineCall('start escalation', () => deps.escalations.start({ alertGroup: record, createdBy: pager, directPages, escalation }))
  })
  const alertGroup = await getAlertGroup(deps.db, organizationId, id)
  if (!alertGroup) throw new Error(`alert group ${id} missing right after its creation`)
  return { kind: 'paged', alertGroup }
}

function refused(reason: Refusal): ServiceError {
  return new ServiceError('refused', `${reason.action} refused: ${reason.code}`, { refusal: reason })
}
