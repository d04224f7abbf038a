import { Router } from 'express'
import {
  createEscalationChain,
  deleteEscalationChain,
  DuplicateChainNameError,
  getEscalationChain,
  listEscalationChains,
  updateEscalationChain,
  type EscalationChainRow,
} from '../../../activities/db/escalation-chains.repo'
import { requirePermission } from '../auth'
import type { ApiDeps } from '../deps'
import { nonFieldError, notFound, parseOrThrow } from '../errors'
import { paginate } from '../pagination'
import { queryString, resolveTeamId, teamIdFilter } from '../relations'
import { resource, type Handler } from '../router'
import { patchEscalationChainSchema, writeEscalationChainSchema } from '../schemas/escalation-chains'

const CHAINS_PAGE_SIZE = 50

export function escalationChainToWire(chain: EscalationChainRow) {
  return { id: chain.id, name: chain.name, team_id: chain.team_id }
}

function reportDuplicate(err: unknown): never {
  // DRF's UniqueTogetherValidator text for OnCall's unique_together (organization, name).
  if (err instanceof DuplicateChainNameError) throw nonFieldError('The fields organization, name must make a unique set.')
  throw err
}

export function escalationChainsRouter(deps: ApiDeps): Router {
  const router = Router()

  resource(router, '/escalation_chains', {
    GET: async (req, res) => {
      const { organizationId } = requirePermission(req, 'read')
      const filter = {
        name: queryString(req.query.name),
        teamId: await teamIdFilter(deps.db, organizationId, queryString(req.query.team_id)),
      }
      res.json(
        await paginate(
          req,
          deps.publicUrl,
          CHAINS_PAGE_SIZE,
          (page) => listEscalationChains(deps.db, organizationId, filter, page),
          escalationChainToWire,
        ),
      )
    },
    POST: async (req, res) => {
      const { organizationId } = requirePermission(req, 'admin')
      const body = parseOrThrow(writeEscalationChainSchema, req.body)
      const teamId = (await resolveTeamId(deps.db, organizationId, body.team_id)) ?? null
      const chain = await createEscalationChain(deps.db, organizationId, { name: body.name, team_id: teamId }).catch(reportDuplicate)
      res.status(201).json(escalationChainToWire(chain))
    },
  })

  const update =
    (schema: typeof writeEscalationChainSchema | typeof patchEscalationChainSchema): Handler =>
    async (req, res) => {
      const { organizationId } = requirePermission(req, 'admin')
      // DRF looks the object up before it validates the body: an unknown id is a 404 whatever the body.
      if (!(await getEscalationChain(deps.db, organizationId, String(req.params.id)))) throw notFound()
      const body = parseOrThrow(schema, req.body)
      const teamId = await resolveTeamId(deps.db, organizationId, body.team_id)
      const fields = { ...(body.name !== undefined ? { name: body.name } : {}), ...(teamId !== undefined ? { team_id: teamId } : {}) }
      const chain = await updateEscalationChain(deps.db, organizationId, String(req.params.id), fields).catch(reportDuplicate)
      if (!chain) throw notFound()
      res.json(escalationChainToWire(chain))
    }

  resource(router, '/escalation_chains/:id', {
    GET: async (req, res) => {
      const { organizationId } = requirePermission(req, 'read')
      const chain = await getEscalationChain(deps.db, organizationId, String(req.params.id))
      if (!chain) throw notFound()
      res.json(escalationChainToWire(chain))
    },
    PUT: update(writeEscalationChainSchema),
    PATCH: update(patchEscalationChainSchema),
    DELETE: async (req, res) => {
      const { organizationId } = requirePermission(req, 'admin')
      if (!(await deleteEscalationChain(deps.db, organizationId, String(req.params.id)))) throw notFound()
      res.status(204).end()
    },
  })

  return router
}
