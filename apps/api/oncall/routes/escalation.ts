import { Router } from 'express'
import { unreachable } from '../../../../workflows/oncall/steps'
import { page, type Pager, type PagingProblem } from '../../../services/paging'
import { requirePermission, type Caller } from '../auth'
import type { ApiDeps } from '../../deps'
import { ApiError, badRequest, nonFieldError, parseOrThrow } from '../errors'
import { resource } from '../router'
import { directPagingSchema, type DirectPagingRequest } from '../schemas/escalation'
import { alertGroupToWire } from '../serializers'

export function userActor(caller: Caller): Pager {
  return { kind: 'user', userId: caller.user.id, username: caller.user.username }
}

/** A refused page in OnCall's words. */
function pagingError(problem: PagingProblem, body: DirectPagingRequest): ApiError {
  switch (problem.kind) {
    case 'unknown_references': {
      const fieldErrors: Record<string, unknown> = {}
      if (problem.unknownUserIds.size > 0) {
        fieldErrors.users = body.users.map((u) => (problem.unknownUserIds.has(u.id) ? { non_field_errors: [`User ${u.id} does not exist`] } : {}))
      }
      if (problem.unknownTeam) fieldErrors.team = ['Object does not exist']
      return new ApiError(400, fieldErrors)
    }
    case 'alert_group_with_content':
      return nonFieldError('alert_group_id and (title, message, source_url) are mutually exclusive')
    case 'users_and_team':
      return nonFieldError('users and team are mutually exclusive')
    case 'unknown_alert_group':
      return nonFieldError(`Alert group ${problem.alertGroupId} does not exist`)
    case 'nobody':
      return badRequest('No team or user(s) specified')
    case 'team_route_without_chain':
      return badRequest("The team's direct paging route has no escalation chain: connect one to its routes, or page users directly.")
    default:
      return unreachable(problem)
  }
}

export function escalationRouter(deps: ApiDeps): Router {
  const router = Router()

  resource(router, '/escalation', {
    POST: async (req, res) => {
      const caller = requirePermission(req, 'write_alert_groups')
      const body = parseOrThrow(directPagingSchema, req.body)
      const outcome = await page(deps, caller.organizationId, userActor(caller), {
        users: body.users.map((u) => ({ userId: u.id, important: u.important })),
        teamId: body.team ?? null,
        importantTeamEscalation: body.important_team_escalation,
        alertGroupId: body.alert_group_id ?? null,
        title: body.title,
        message: body.message ?? null,
        sourceUrl: body.source_url ?? null,
      })
      if (outcome.kind === 'invalid') throw pagingError(outcome.problem, body)
      res.json(alertGroupToWire(outcome.alertGroup, deps.webUrl))
    },
  })

  return router
}
