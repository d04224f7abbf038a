import { Router } from 'express'
import {
  createTeam,
  deleteTeam,
  DuplicateTeamNameError,
  getTeam,
  listTeams,
  updateTeam,
  type TeamFields,
} from '../../../../db/teams.repo'
import { ensureDirectPagingIntegration } from '../../../../db/integrations.repo'
import { requirePermission } from '../auth'
import type { ApiDeps } from '../../deps'
import { fieldError, notFound, parseOrThrow } from '../errors'
import { paginate } from '../pagination'
import { resource, type Handler } from '../router'
import { createTeamSchema, updateTeamSchema, type UpdateTeamRequest } from '../schemas/teams'
import { teamToWire } from '../serializers'

const TEAMS_PAGE_SIZE = 50

function toFields(request: UpdateTeamRequest): Partial<TeamFields> {
  const fields: Partial<TeamFields> = {}
  if (request.name !== undefined) fields.name = request.name
  if (request.email !== undefined) fields.email = request.email
  if (request.avatar_url !== undefined) fields.avatarUrl = request.avatar_url
  return fields
}

function reportDuplicate(err: unknown): never {
  if (err instanceof DuplicateTeamNameError) throw fieldError('name', 'A team with this name already exists.')
  throw err
}

export function teamsRouter(deps: ApiDeps): Router {
  const router = Router()

  resource(router, '/teams', {
    GET: async (req, res) => {
      const { organizationId } = requirePermission(req, 'read')
      const name = typeof req.query.name === 'string' ? req.query.name : undefined
      res.json(await paginate(req, deps.publicUrl, TEAMS_PAGE_SIZE, (page) => listTeams(deps.db, organizationId, { name }, page), teamToWire))
    },
    POST: async (req, res) => {
      const { organizationId } = requirePermission(req, 'admin')
      const body = parseOrThrow(createTeamSchema, req.body)
      const fields = { name: body.name, email: body.email, avatarUrl: body.avatar_url }
      const team = await createTeam(deps.db, organizationId, fields).catch(reportDuplicate)
      // As in OnCall, a team comes with its direct-paging integration, so its routes can be set up before a page.
      await ensureDirectPagingIntegration(deps.db, organizationId, team.id)
      res.status(201).json(teamToWire(team))
    },
  })

  const update: Handler = async (req, res) => {
    const { organizationId } = requirePermission(req, 'admin')
    const body = parseOrThrow(updateTeamSchema, req.body)
    const team = await updateTeam(deps.db, organizationId, String(req.params.id), toFields(body)).catch(reportDuplicate)
    if (!team) throw notFound()
    res.json(teamToWire(team))
  }

  resource(router, '/teams/:id', {
    GET: async (req, res) => {
      const { organizationId } = requirePermission(req, 'read')
      const team = await getTeam(deps.db, organizationId, String(req.params.id))
      if (!team) throw notFound()
      res.json(teamToWire(team))
    },
    PUT: update,
    PATCH: update,
    DELETE: async (req, res) => {
      const { organizationId } = requirePermission(req, 'admin')
      if (!(await deleteTeam(deps.db, organizationId, String(req.params.id)))) throw notFound()
      res.status(204).end()
    },
  })

  return router
}
