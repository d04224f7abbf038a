import { callEngine } from '../../../services/errors'
import { Router, type Request, type Response } from 'express'
import { getEscalationChain } from '../../../../db/escalation-chains.repo'
import {
  createIntegration,
  DuplicateIntegrationNameError,
  getIntegration,
  listIntegrations,
  softDeleteIntegration,
  updateIntegration,
  type Integration,
  type IntegrationFields,
} from '../../../../db/integrations.repo'
import { CREATABLE_TYPES, LINKLESS_TYPES, type StoredTemplates } from '../../../ingest/formats'
import type { IntegrationTokenCache } from '../../../ingest/integration-cache'
import { startMaintenance, stopMaintenance } from '../../../ingest/maintenance'
import { sharedTemplateEngine } from '../../../ingest/templates'
import { requirePermission, type Caller } from '../auth'
import type { ApiDeps } from '../../deps'
import { ApiError, badRequest, fieldError, notFound, parseOrThrow } from '../errors'
import { paginate } from '../pagination'
import { queryString, resolveTeamId, teamIdFilter } from '../relations'
import { resource } from '../router'
import {
  createIntegrationSchema,
  integrationShapeQuery,
  maintenanceStartSchema,
  updateIntegrationSchema,
  type UpdateIntegrationRequest,
} from '../schemas/integrations'
import { syncHeartbeatOf } from '../../../services/heartbeats'
import { drfDateTime } from '../serializers'
import { userActor } from './escalation'

const INTEGRATIONS_PAGE_SIZE = 50

// Behaviour templates are strings; the others are per channel, with these attributes (OnCall's public shape).
const BEHAVIOUR_TEMPLATES = ['grouping_key', 'resolve_signal', 'acknowledge_signal', 'source_link'] as const
const CHANNEL_TEMPLATES: Record<string, readonly string[]> = {
  slack: ['title', 'message', 'image_url'],
  web: ['title', 'message', 'image_url'],
  telegram: ['title', 'message', 'image_url'],
  sms: ['title'],
  phone_call: ['title'],
  email: ['title', 'message'],
  mobile_app: ['title', 'message'],
}

/** OnCall's `maintenance_started_at` format: seconds, no fraction. */
function maintenanceTime(pgText: string | null): string | null {
  const iso = drfDateTime(pgText)
  return iso === null ? null : iso.replace(/\.\d+Z$/, 'Z')
}

export function integrationLink(publicUrl: string, integration: Pick<Integration, 'type' | 'token'>): string | null {
  return LINKLESS_TYPES.has(integration.type) ? null : `${publicUrl}/integrations/v1/${integration.type}/${integration.token}/`
}

function templatesToWire(stored: StoredTemplates) {
  const wire: Record<string, unknown> = {}
  for (const key of BEHAVIOUR_TEMPLATES) wire[key] = typeof stored[key] === 'string' ? stored[key] : null
  for (const [channel, attrs] of Object.entries(CHANNEL_TEMPLATES)) {
    const own = stored[channel]
    wire[channel] = Object.fromEntries(
      attrs.map((attr) => [attr, own && typeof own === 'object' && typeof (own as Record<string, unknown>)[attr] === 'string' ? (own as Record<string, unknown>)[attr] : null]),
    )
  }
  return wire
}

/** OnCall's integration object; with `extended`, Tocsin's extension fields too. */
export function integrationToWire(integration: Integration, publicUrl: string, { extended = false }: { extended?: boolean } = {}) {
  const link = integrationLink(publicUrl, integration)
  const route = integration.defaultRoute
  const oncall = {
    id: integration.id,
    name: integration.name,
    description_short: integration.descriptionShort,
    team_id: integration.teamId,
    link,
    inbound_email: null,
    type: integration.type,
    default_route: {
      id: route.id,
      escalation_chain_id: route.escalationChainId,
      slack: { channel_id: route.slackChannelId, enabled: route.slackEnabled },
      telegram: { id: route.telegramId, enabled: route.telegramEnabled },
    },
    templates: templatesToWire(integration.templates as StoredTemplates),
    heartbeat: link === null ? null : { link: `${link}heartbeat/` },
    maintenance_mode: integration.maintenance.mode,
    maintenance_started_at: maintenanceTime(integration.maintenance.startedAt),
    maintenance_end_at: maintenanceTime(integration.maintenance.endAt),
  }
  return extended ? { ...oncall, heartbeat_timeout_seconds: integration.heartbeatTimeoutSeconds } : oncall
}

/** Whether the caller asked for Tocsin's extension fields (`?extended=true`); checked before the body. */
const extendedOf = (query: unknown): boolean => parseOrThrow(integrationShapeQuery, query).extended === true

/**
 * Tells the heartbeat workflow of a new timeout or a deletion. The change is stored already: if Temporal cannot be
 * told now, the ingestion sweep tells it, so the answer does not depend on it.
 */
async function heartbeatChanged(deps: ApiDeps, organizationId: string, integrationId: string): Promise<void> {
  await syncHeartbeatOf(deps.db, deps.escalations, organizationId, integrationId).catch((err: unknown) =>
    deps.logger.warn({ err, integrationId }, 'heartbeat setting stored; its workflow will be told later'),
  )
}

/** Merges written templates into the stored ones: null resets to the default; invalid data is OnCall's detail. */
async function mergeTemplates(stored: StoredTemplates, raw: unknown): Promise<StoredTemplates> {
  if (raw === undefined || raw === null) return raw === null ? {} : stored
  if (typeof raw !== 'object' || Array.isArray(raw)) throw badRequest('Invalid templates data')
  const engine = sharedTemplateEngine()
  const merged: StoredTemplates = structuredClone(stored)
  for (const [key, value] of Object.entries(raw as Record<string, unknown>)) {
    if ((BEHAVIOUR_TEMPLATES as readonly string[]).includes(key)) {
      if (value === null) {
        delete merged[key]
        continue
      }
      if (typeof value !== 'string' || value.includes('\u0000')) throw badRequest(`Invalid ${key} template data`)
      if (await engine.compileError(value)) throw badRequest(`invalid ${key} template`)
      merged[key] = value
    } else if (key in CHANNEL_TEMPLATES) {
      if (value === null) {
        delete merged[key]
        continue
      }
      if (typeof value !== 'object' || Array.isArray(value)) throw badRequest(`Invalid ${key} template data`)
      const channel = { ...((merged[key] as Record<string, string | null> | undefined) ?? {}) }
      for (const [attr, source] of Object.entries(value as Record<string, unknown>)) {
        if (!(CHANNEL_TEMPLATES[key] as readonly string[]).includes(attr)) continue
        if (source === null) {
          delete channel[attr]
          continue
        }
        if (typeof source !== 'string' || source.includes('\u0000')) throw badRequest(`invalid ${key} ${attr} template`)
        if (await engine.compileError(source)) throw badRequest(`invalid ${key} ${attr} template`)
        channel[attr] = source
      }
      merged[key] = channel
    }
    // Unknown keys are ignored, as DRF ignores unknown fields.
  }
  return merged
}

async function resolveChain(deps: ApiDeps, organizationId: string, raw: string | null | undefined): Promise<string | null | undefined> {
  if (raw === undefined || raw === null) return raw
  if (!(await getEscalationChain(deps.db, organizationId, raw))) {
    throw new ApiError(400, { default_route: { escalation_chain_id: ['Object does not exist'] } })
  }
  return raw
}

async function findOr404(deps: ApiDeps, req: Request, organizationId: string): Promise<Integration> {
  const integration = await getIntegration(deps.db, organizationId, String(req.params.id))
  if (!integration) throw notFound()
  return integration
}

const duplicateName = () => badRequest('An integration with this name already exists for this team')

async function toFields(deps: ApiDeps, caller: Caller, body: UpdateIntegrationRequest, stored: StoredTemplates) {
  const fields: Partial<IntegrationFields> = {}
  if (body.name !== undefined) fields.name = body.name
  if (body.description_short !== undefined) fields.descriptionShort = body.description_short
  const team = await resolveTeamId(deps.db, caller.organizationId, body.team_id)
  if (team !== undefined) fields.teamId = team
  if (body.templates !== undefined) fields.templates = (await mergeTemplates(stored, body.templates)) as Record<string, unknown>
  if (body.heartbeat_timeout_seconds !== undefined) fields.heartbeatTimeoutSeconds = body.heartbeat_timeout_seconds
  if (body.default_route?.slack?.channel_id) {
    throw new ApiError(400, { default_route: { slack: { channel_id: ['Slack channel does not exist'] } } })
  }
  const chain = await resolveChain(deps, caller.organizationId, body.default_route?.escalation_chain_id)
  return { fields, chain }
}

/** `integrationTokens`: the alert endpoint's token cache, emptied on every delete or change. */
export function integrationsRouter(deps: ApiDeps, integrationTokens: Pick<IntegrationTokenCache, 'invalidate'>): Router {
  const router = Router()

  resource(router, '/integrations', {
    GET: async (req, res) => {
      const { organizationId } = requirePermission(req, 'read')
      const extended = extendedOf(req.query)
      const name = queryString(req.query.name) || undefined
      const teamId = await teamIdFilter(deps.db, organizationId, queryString(req.query.team_id))
      res.json(
        await paginate(
          req,
          deps.publicUrl,
          INTEGRATIONS_PAGE_SIZE,
          (page) => listIntegrations(deps.db, organizationId, { name, teamId }, page),
          (row) => integrationToWire(row, deps.publicUrl, { extended }),
        ),
      )
    },
    POST: async (req, res) => {
      const caller = requirePermission(req, 'admin')
      const extended = extendedOf(req.query)
      const body = parseOrThrow(createIntegrationSchema, req.body)
      const type = body.type
      if (typeof type === 'string' && type.startsWith('legacy_')) throw badRequest('This integration type is deprecated')
      if (type === 'direct_paging') throw badRequest("Direct paging integrations can't be created")
      if (type === undefined) throw fieldError('type', 'This field is required.')
      if (typeof type !== 'string' || !(CREATABLE_TYPES as readonly string[]).includes(type)) throw badRequest('Invalid integration type')
      const { fields, chain } = await toFields(deps, caller, body, {})
      const created = await createIntegration(
        deps.db,
        caller.organizationId,
        type,
        {
          name: fields.name ?? `${type} integration`,
          teamId: fields.teamId ?? null,
          descriptionShort: fields.descriptionShort ?? null,
          templates: fields.templates ?? {},
          heartbeatTimeoutSeconds: fields.heartbeatTimeoutSeconds ?? null,
        },
        chain ?? null,
      ).catch((err: unknown) => Promise.reject(err instanceof DuplicateIntegrationNameError ? duplicateName() : err))
      res.status(201).json(integrationToWire(created, deps.publicUrl, { extended }))
    },
  })

  const update = async (req: Request, res: Response) => {
    const caller = requirePermission(req, 'admin')
    const integration = await findOr404(deps, req, caller.organizationId)
    const extended = extendedOf(req.query)
    const body = parseOrThrow(updateIntegrationSchema, req.body)
    const { fields, chain } = await toFields(deps, caller, body, integration.templates as StoredTemplates)
    await updateIntegration(deps.db, caller.organizationId, integration.id, fields, chain).catch((err: unknown) =>
      Promise.reject(err instanceof DuplicateIntegrationNameError ? duplicateName() : err),
    )
    integrationTokens.invalidate()
    if (fields.heartbeatTimeoutSeconds !== undefined) await heartbeatChanged(deps, caller.organizationId, integration.id)
    res.json(integrationToWire((await getIntegration(deps.db, caller.organizationId, integration.id)) as Integration, deps.publicUrl, { extended }))
  }

  resource(router, '/integrations/:id', {
    GET: async (req, res) => {
      const { organizationId } = requirePermission(req, 'read')
      const extended = extendedOf(req.query)
      res.json(integrationToWire(await findOr404(deps, req, organizationId), deps.publicUrl, { extended }))
    },
    PUT: update,
    PATCH: update,
    DELETE: async (req, res) => {
      const { organizationId } = requirePermission(req, 'admin')
      const integration = await findOr404(deps, req, organizationId)
      if (integration.type === 'direct_paging') throw badRequest("Direct paging integrations can't be deleted")
      await softDeleteIntegration(deps.db, organizationId, integration.id)
      integrationTokens.invalidate()
      if (integration.heartbeatTimeoutSeconds !== null) await heartbeatChanged(deps, organizationId, integration.id)
      res.status(204).end()
    },
  })

  resource(router, '/integrations/:id/maintenance_start', {
    POST: async (req, res) => {
      const caller = requirePermission(req, 'admin')
      const integration = await findOr404(deps, req, caller.organizationId)
      const body = parseOrThrow(maintenanceStartSchema, req.body)
      const mode = typeof body.mode === 'string' ? body.mode.toLowerCase() : undefined
      if (mode !== 'maintenance' && mode !== 'debug') throw new ApiError(400, { mode: ['Unknown mode'] })
      const duration = typeof body.duration === 'string' && /^\d+$/.test(body.duration) ? Number(body.duration) : body.duration
      // Tocsin accepts any duration up to a day (OnCall offers 1, 3, 6, 12 and 24 hours).
      if (typeof duration !== 'number' || !Number.isInteger(duration) || duration < 1 || duration > 86_400) {
        throw new ApiError(400, { duration: ['Invalid duration'] })
      }
      if (integration.maintenance.mode !== null) throw badRequest('Maintenance is already active for this integration')
      await callEngine(deps.logger, 'start maintenance', () => startMaintenance(deps.db, deps.escalations, integration, mode, duration, userActor(caller)))
      res.json(integrationToWire((await getIntegration(deps.db, caller.organizationId, integration.id)) as Integration, deps.publicUrl))
    },
  })

  resource(router, '/integrations/:id/maintenance_stop', {
    POST: async (req, res) => {
      const caller = requirePermission(req, 'admin')
      const integration = await findOr404(deps, req, caller.organizationId)
      if (integration.maintenance.mode !== null) {
        await stopMaintenance(deps.db, deps.escalations, caller.organizationId, integration.id, integration.maintenance.groupId)
      }
      res.json(integrationToWire((await getIntegration(deps.db, caller.organizationId, integration.id)) as Integration, deps.publicUrl))
    },
  })

  return router
}
