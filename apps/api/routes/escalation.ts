import { randomUUID } from 'node:crypto'
import { Router } from 'express'
import { getAlertGroup, insertAlertGroup } from '../../../activities/db/alert-groups.repo'
import { newPublicId } from '../../../activities/db/ids'
import { ensureDirectPagingIntegration } from '../../../activities/db/integrations.repo'
import { getTeam } from '../../../activities/db/teams.repo'
import { findUsers, type UserRow } from '../../../activities/db/users.repo'
import type { Actor, AlertGroupRecord, ChainSnapshot, DirectPage } from '../../../workflows/core/types'
import { loadChainSnapshot } from '../../../activities/db/escalation-policies.repo'
import { routesOfIntegration } from '../../../activities/db/routes.repo'
import { evaluateAlerts, type StoredTemplates } from '../../ingest/formats'
import { sharedTemplateEngine } from '../../ingest/templates'
import { alertGroupWorkflowId } from '../../../workflows/messages'
import { requirePermission, type Caller } from '../auth'
import type { ApiDeps } from '../deps'
import { ApiError, badRequest, nonFieldError, parseOrThrow } from '../errors'
import { resource } from '../router'
import { directPagingSchema, type DirectPagingRequest } from '../schemas/escalation'
import { alertGroupToWire } from '../serializers'

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
export function pagingTitle(caller: string, names: readonly string[]): string {
  const joined = names.length <= 1 ? (names[0] ?? '') : `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`
  return `${caller} is paging ${joined} to join escalation`
}

/** The route of the team's direct-paging integration that the paging payload selects (first match wins). */
async function teamRoute(deps: ApiDeps, organizationId: string, integrationId: string, payload: unknown) {
  const routes = await routesOfIntegration(deps.db, organizationId, integrationId)
  const integration = await deps.db
    .selectFrom('integrations')
    .select(['type', 'name', 'templates'])
    .where('organization_id', '=', organizationId)
    .where('id', '=', integrationId)
    .executeTakeFirstOrThrow()
  const [facts] = await evaluateAlerts(
    sharedTemplateEngine(),
    {
      type: integration.type,
      name: integration.name,
      templates: integration.templates as StoredTemplates,
      routes: routes.map((r) => ({ id: r.id, isDefault: r.is_default, routingType: r.routing_type, routingRegex: r.routing_regex })),
    },
    [payload],
  )
  const route = routes.find((r) => r.id === facts?.routeId) ?? routes.find((r) => r.is_default)
  if (!route) throw new Error(`direct paging integration ${integrationId} has no default route`)
  return route
}

export function userActor(caller: Caller): Actor {
  return { kind: 'user', userId: caller.user.id, username: caller.user.username }
}

const engineUnavailable = () =>
  new ApiError(503, { detail: 'The escalation engine is unavailable; nothing was paged. Retry shortly.' })

/** Validates in OnCall's order (oncall-api.md 2.3) and returns the users to page, deduplicated. */
async function validatePage(deps: ApiDeps, caller: Caller, body: DirectPagingRequest) {
  const { organizationId } = caller
  const requestedIds = body.users.map((u) => u.id)
  const known = new Map((await findUsers(deps.db, organizationId, requestedIds)).map((u) => [u.id, u]))
  const fieldErrors: Record<string, unknown> = {}
  if (requestedIds.some((id) => !known.has(id))) {
    fieldErrors.users = body.users.map((u) => (known.has(u.id) ? {} : { non_field_errors: [`User ${u.id} does not exist`] }))
  }
  const teamId = body.team ?? null
  if (teamId !== null && !(await getTeam(deps.db, organizationId, teamId))) fieldErrors.team = ['Object does not exist']
  if (Object.keys(fieldErrors).length > 0) throw new ApiError(400, fieldErrors)

  const alertGroupId = body.alert_group_id ?? null
  if (alertGroupId !== null && (body.title !== undefined || body.message != null || body.source_url != null)) {
    throw nonFieldError('alert_group_id and (title, message, source_url) are mutually exclusive')
  }
  if (body.users.length > 0 && teamId !== null) throw nonFieldError('users and team are mutually exclusive')
  const existing = alertGroupId === null ? undefined : await getAlertGroup(deps.db, organizationId, alertGroupId)
  if (alertGroupId !== null && !existing) throw nonFieldError(`Alert group ${alertGroupId} does not exist`)
  if (body.users.length === 0 && teamId === null) throw badRequest('No team or user(s) specified')
  if (existing?.resolved_at) throw badRequest('Cannot add responders for a resolved alert group')

  const pages = new Map<string, DirectPage & { user: UserRow }>()
  for (const { id, important } of body.users) {
    const previous = pages.get(id)
    pages.set(id, { userId: id, important: important || (previous?.important ?? false), user: known.get(id) as UserRow })
  }
  return { teamId, existing, pages: [...pages.values()] }
}

export function escalationRouter(deps: ApiDeps): Router {
  const router = Router()

  resource(router, '/escalation', {
    POST: async (req, res) => {
      const caller = requirePermission(req, 'write_alert_groups')
      const parsed = parseOrThrow(directPagingSchema, req.body)
      const { teamId, existing, pages } = await validatePage(deps, caller, parsed)
      const directPages = pages.map(({ userId, important }) => ({ userId, important }))

      if (existing) {
        const outcome = await deps.escalations
          .addResponders(existing.id, { actor: userActor(caller), users: directPages })
          .catch(() => Promise.reject(engineUnavailable()))
        if (outcome.kind === 'refused') throw badRequest(outcome.reason)
        if (outcome.kind === 'closed') throw badRequest('Cannot add responders for a resolved alert group')
        res.json(alertGroupToWire(existing, deps.webUrl))
        return
      }

      const target = await ensureDirectPagingIntegration(deps.db, caller.organizationId, teamId)
      const id = newPublicId('I')
      const team = teamId === null ? undefined : await getTeam(deps.db, caller.organizationId, teamId)
      const names = [...(team ? [team.name] : []), ...pages.map((p) => p.user.username)]
      const title = htmlEscape(parsed.title ?? pagingTitle(caller.user.username, names))
      const message = parsed.message == null ? null : htmlEscape(parsed.message)
      const payload = {
        oncall: {
          title,
          message,
          uid: randomUUID(),
          author_username: caller.user.username,
          permalink: parsed.source_url ?? null,
          important: parsed.important_team_escalation,
        },
      }
      // A team is paged through its direct-paging integration: its routes (e.g. on payload.oncall.important)
      // choose the escalation chain, exactly as for an alert from an integration.
      let routeId = target.routeId
      let escalation: ChainSnapshot | null = null
      if (teamId !== null) {
        const route = await teamRoute(deps, caller.organizationId, target.integrationId, payload)
        if (!route.escalation_chain_id) {
          throw badRequest("The team's direct paging route has no escalation chain: connect one to its routes, or page users directly.")
        }
        routeId = route.id
        escalation = await loadChainSnapshot(deps.db, caller.organizationId, route.escalation_chain_id)
      }
      const record: AlertGroupRecord = {
        id,
        organizationId: caller.organizationId,
        integrationId: target.integrationId,
        routeId,
        teamId,
        title,
        message,
        sourceUrl: parsed.source_url ?? null,
        workflowId: alertGroupWorkflowId(id),
        createdAt: new Date().toISOString(),
        firstAlert: { id: newPublicId('A'), payload },
      }
      // The row and the workflow start commit together: if Temporal refuses, nothing is half-created.
      await deps.db.transaction().execute(async (trx) => {
        await insertAlertGroup(trx, record)
        await deps.escalations
          .start({ alertGroup: record, createdBy: userActor(caller), directPages, escalation })
          .catch((err: unknown) => {
            deps.log('starting the escalation workflow failed', err)
            return Promise.reject(engineUnavailable())
          })
      })
      const group = await getAlertGroup(deps.db, caller.organizationId, id)
      if (!group) throw new Error(`alert group ${id} missing right after its creation`)
      res.json(alertGroupToWire(group, deps.webUrl))
    },
  })

  return router
}
