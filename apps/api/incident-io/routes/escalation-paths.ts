import { Router } from 'express'
import {
  archiveEscalationPath,
  createEscalationPath,
  listEscalationPaths,
  showEscalationPath,
  updateEscalationPath,
  type EscalationPath,
  type EscalationPathFields,
} from '../../../services/escalation-paths'
import type { ApiDeps } from '../../deps'
import { cursorPage } from '../pagination'
import { operation, resource } from '../resource'
import {
  escalationPathBodySchema,
  escalationPathListResponseSchema,
  escalationPathResponseSchema,
  type EscalationPathBody,
} from '../schemas/escalation-paths'

/** incident.io's EscalationPathV2: the stored path as it was written, with the teams that still exist. */
export function escalationPathToWire(path: EscalationPath) {
  return {
    id: path.id,
    name: path.name,
    kind: 'standalone' as const,
    path: path.path,
    team_ids: path.teamIds,
    ...(path.working_hours.length > 0 ? { working_hours: path.working_hours } : {}),
  }
}

const fieldsOf = (body: EscalationPathBody): EscalationPathFields => ({
  name: body.name,
  path: body.path,
  working_hours: body.working_hours,
  teamIds: body.team_ids,
})

const notFound = { '404': 'No live escalation path with this id in the organization' }
const invalid = { '422': 'validation_error: one entry per problem, each naming its field' }

export function escalationPathsRouter(deps: ApiDeps): Router {
  const router = Router()

  resource(router, '/escalation_paths', {
    GET: operation({
      summary: 'List escalation paths, newest first',
      role: 'viewer',
      list: {},
      response: escalationPathListResponseSchema,
      responses: { '200': 'A page of escalation paths' },
      handler: async ({ res, caller, list }) => {
        const { items, pagination_meta } = await cursorPage(list.page, (page) => listEscalationPaths(deps.db, caller.organizationId, page))
        res.json({ escalation_paths: items.map(escalationPathToWire), pagination_meta })
      },
    }),
    POST: operation({
      summary: 'Create an escalation path',
      description: 'Standalone paths only; the nodes level, notify_channel, delay, repeat and if_else.',
      role: 'admin',
      body: escalationPathBodySchema,
      response: escalationPathResponseSchema,
      responses: { '201': 'The escalation path', ...invalid },
      handler: async ({ res, caller, body }) => {
        const path = await createEscalationPath(deps.db, caller.organizationId, fieldsOf(body))
        res.status(201).json({ escalation_path: escalationPathToWire(path) })
      },
    }),
  })

  resource(router, '/escalation_paths/:id', {
    GET: operation({
      summary: 'Show an escalation path',
      role: 'viewer',
      response: escalationPathResponseSchema,
      responses: { '200': 'The escalation path', ...notFound },
      handler: async ({ req, res, caller }) => {
        const path = await showEscalationPath(deps.db, caller.organizationId, String(req.params.id))
        res.json({ escalation_path: escalationPathToWire(path) })
      },
    }),
    PUT: operation({
      summary: 'Replace an escalation path (every field)',
      role: 'admin',
      body: escalationPathBodySchema,
      response: escalationPathResponseSchema,
      responses: { '200': 'The escalation path', ...notFound, ...invalid },
      handler: async ({ req, res, caller, body }) => {
        const path = await updateEscalationPath(deps.db, caller.organizationId, String(req.params.id), fieldsOf(body))
        res.json({ escalation_path: escalationPathToWire(path) })
      },
    }),
    DELETE: operation({
      summary: 'Archive an escalation path: it is gone from the API and cannot be escalated to',
      role: 'admin',
      responses: { '204': 'Archived', ...notFound },
      handler: async ({ req, res, caller }) => {
        await archiveEscalationPath(deps.db, caller.organizationId, String(req.params.id))
        res.status(204).end()
      },
    }),
  })

  return router
}
