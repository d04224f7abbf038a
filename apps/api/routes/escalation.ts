import { randomUUID } from 'node:crypto'
import { Router } from 'express'
import { getAlertGroup, insertAlertGroup } from '../../../activities/db/alert-groups.repo'
import { newPublicId } from '../../../activities/db/ids'
import { ensureDirectPagingIntegration } from '../../../activities/db/integrations.repo'
import { getTeam } from '../../../activities/db/teams.repo'
import { findUsers, type UserRow } from '../../../activities/db/users.repo'
import type { Actor, AlertGroupRecord, DirectPage } from '../../../workflows/core/types'
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

      if (teamId !== null) {
        // @TODO Team paging goes through the team's direct-paging routes and escalation chains (engine issue).
        throw badRequest('Paging a team is not available yet: page its users directly.')
      }

      const target = await ensureDirectPagingIntegration(deps.db, caller.organizationId, null)
      const id = newPublicId('I')
      const title = htmlEscape(parsed.title ?? pagingTitle(caller.user.username, pages.map((p) => p.user.username)))
      const message = parsed.message == null ? null : htmlEscape(parsed.message)
      const record: AlertGroupRecord = {
        id,
        organizationId: caller.organizationId,
        integrationId: target.integrationId,
        routeId: target.routeId,
        teamId: null,
        title,
        message,
        sourceUrl: parsed.source_url ?? null,
        workflowId: alertGroupWorkflowId(id),
        createdAt: new Date().toISOString(),
        firstAlert: {
          id: newPublicId('A'),
          payload: {
            oncall: {
              title,
              message,
              uid: randomUUID(),
              author_username: caller.user.username,
              permalink: parsed.source_url ?? null,
              important: parsed.important_team_escalation,
            },
          },
        },
      }
      // The row and the workflow start commit together: if Temporal refuses, nothing is half-created.
      await deps.db.transaction().execute(async (trx) => {
        await insertAlertGroup(trx, record)
        await deps.escalations
          .start({ alertGroup: record, createdBy: userActor(caller), directPages })
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
