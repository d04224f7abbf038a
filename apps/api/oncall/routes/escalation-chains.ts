import { Router } from 'express'
import { ServiceError } from '../../../services/errors'
import {
  createEscalationChain,
  deleteEscalationChain,
  getEscalationChain,
  listEscalationChains,
  updateEscalationChain,
  type EscalationChain,
} from '../../../services/escalation-chains'
import { requirePermission } from '../auth'
import type { ApiDeps } from '../../deps'
import { fieldError, nonFieldError, parseOrThrow } from '../errors'
import { paginate } from '../pagination'
import { queryString, teamIdFilter } from '../relations'
import { resource, type Handler } from '../router'
import { patchEscalationChainSchema, writeEscalationChainSchema } from '../schemas/escalation-chains'

const CHAINS_PAGE_SIZE = 50

export function escalationChainToWire(chain: EscalationChain) {
  return { id: chain.id, name: chain.name, team_id: chain.teamId }
}

/** `team_id` as the Go client sends it: "" and "null" mean no team. */
function teamIdOfWire(raw: string | null | undefined): string | null | undefined {
  return raw === '' || raw === 'null' ? null : raw
}

/** The service's refusals in OnCall's words. */
function inOnCallWords(err: unknown): never {
  if (err instanceof ServiceError && err.code === 'invalid_reference' && err.details.field === 'teamId') {
    throw fieldError('team_id', 'Object does not exist')
  }
  if (err instanceof ServiceError && err.code === 'invalid_value' && err.details.field === 'name') {
    // DRF's UniqueTogetherValidator text for OnCall's unique_together (organization, name).
    throw nonFieldError('The fields organization, name must make a unique set.')
  }
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
      const chain = await createEscalationChain(deps.db, organizationId, {
        name: body.name,
        teamId: teamIdOfWire(body.team_id) ?? null,
      }).catch(inOnCallWords)
      res.status(201).json(escalationChainToWire(chain))
    },
  })

  const update =
    (schema: typeof writeEscalationChainSchema | typeof patchEscalationChainSchema): Handler =>
    async (req, res) => {
      const { organizationId } = requirePermission(req, 'admin')
      const id = String(req.params.id)
      // DRF looks the object up before it validates the body: an unknown id is a 404 whatever the body.
      await getEscalationChain(deps.db, organizationId, id)
      const body = parseOrThrow(schema, req.body)
      const chain = await updateEscalationChain(deps.db, organizationId, id, {
        name: body.name,
        teamId: teamIdOfWire(body.team_id),
      }).catch(inOnCallWords)
      res.json(escalationChainToWire(chain))
    }

  resource(router, '/escalation_chains/:id', {
    GET: async (req, res) => {
      const { organizationId } = requirePermission(req, 'read')
      res.json(escalationChainToWire(await getEscalationChain(deps.db, organizationId, String(req.params.id))))
    },
    PUT: update(writeEscalationChainSchema),
    PATCH: update(patchEscalationChainSchema),
    DELETE: async (req, res) => {
      const { organizationId } = requirePermission(req, 'admin')
      await deleteEscalationChain(deps.db, organizationId, String(req.params.id))
      res.status(204).end()
    },
  })

  return router
}
