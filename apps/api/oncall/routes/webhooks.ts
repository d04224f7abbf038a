import { Router, type Request } from 'express'
import {
  createWebhook,
  deleteWebhook,
  DuplicateWebhookNameError,
  getWebhook,
  listWebhookResponses,
  listWebhooks,
  updateWebhook,
  type WebhookFields,
  type WebhookResponseRow,
  type WebhookRow,
} from '../../../../db/webhooks.repo'
import { existingIntegrationIds } from '../../../../db/integrations.repo'
import { requirePermission } from '../auth'
import type { ApiDeps } from '../../deps'
import { badRequest, fieldError, nonFieldError, notFound, parseOrThrow } from '../errors'
import { paginate } from '../pagination'
import { queryString, resolveTeamId, teamIdFilter } from '../relations'
import { resource, type Handler } from '../router'
import {
  createWebhookSchema,
  SECRET_MASK,
  TRIGGER_TYPE_MESSAGE,
  TRIGGER_TYPES,
  updateWebhookSchema,
  type UpdateWebhookRequest,
} from '../schemas/webhooks'
import { drfDateTime } from '../serializers'

// OnCall's FiftyPageSizePaginator, for webhooks and their responses alike.
const WEBHOOKS_PAGE_SIZE = 50

export function webhookToWire(webhook: WebhookRow) {
  return {
    id: webhook.id,
    name: webhook.name,
    is_webhook_enabled: webhook.is_webhook_enabled,
    team: webhook.team_id,
    data: webhook.data,
    username: webhook.username,
    password: webhook.password ? SECRET_MASK : webhook.password,
    authorization_header: webhook.authorization_header ? SECRET_MASK : webhook.authorization_header,
    trigger_template: webhook.trigger_template,
    headers: webhook.headers,
    url: webhook.url,
    forward_all: webhook.forward_all,
    http_method: webhook.http_method,
    trigger_type: webhook.trigger_type,
    // OnCall: an empty filter reads null, never [].
    integration_filter:
      webhook.integration_filter && webhook.integration_filter.length > 0 ? webhook.integration_filter : null,
    preset: webhook.preset,
  }
}

function responseToWire(response: WebhookResponseRow) {
  return { ...response, timestamp: drfDateTime(response.timestamp) }
}

/** OnCall's trigger_type field raises its detail ahead of every field error, so it is checked before the schema. */
function checkTriggerType(body: unknown): void {
  if (body === null || typeof body !== 'object' || !('trigger_type' in body)) return
  const value = (body as { trigger_type: unknown }).trigger_type
  if (value === null || value === undefined) return
  if (typeof value !== 'string' || !(TRIGGER_TYPES as readonly string[]).includes(value))
    throw badRequest(TRIGGER_TYPE_MESSAGE)
}

/** Every element an integration id of the organization; [] means no filter, stored as null. */
async function resolveIntegrationFilter(
  deps: ApiDeps,
  organizationId: string,
  raw: unknown[] | undefined,
): Promise<string[] | null | undefined> {
  if (raw === undefined) return undefined
  if (raw.length === 0) return null
  if (raw.some((id) => typeof id !== 'string')) throw fieldError('integration_filter', 'Invalid integration')
  const ids = [...new Set(raw as string[])]
  const known = await existingIntegrationIds(deps.db, organizationId, ids)
  if (ids.some((id) => !known.has(id))) throw fieldError('integration_filter', 'Integration does not exist')
  return ids
}

/** The masked secret sent back keeps what is stored; on create there is nothing to keep. */
function secretField(value: string | null | undefined): string | null | undefined {
  return value === SECRET_MASK ? undefined : value
}

async function toFields(
  deps: ApiDeps,
  organizationId: string,
  body: UpdateWebhookRequest,
): Promise<Partial<WebhookFields>> {
  const fields: Partial<WebhookFields> = {}
  const team = await resolveTeamId(deps.db, organizationId, body.team, 'team')
  if (team !== undefined) fields.team_id = team
  const integrationFilter = await resolveIntegrationFilter(deps, organizationId, body.integration_filter)
  if (integrationFilter !== undefined) fields.integration_filter = integrationFilter
  if (body.name !== undefined) fields.name = body.name
  if (body.is_webhook_enabled !== undefined) fields.is_webhook_enabled = body.is_webhook_enabled
  if (body.url !== undefined) fields.url = body.url
  if (body.http_method !== undefined) fields.http_method = body.http_method
  if (body.trigger_type !== undefined) fields.trigger_type = body.trigger_type as string
  if (body.data !== undefined) fields.data = body.data
  if (body.headers !== undefined) fields.headers = body.headers
  if (body.trigger_template !== undefined) fields.trigger_template = body.trigger_template
  if (body.username !== undefined) fields.username = body.username
  if (body.forward_all !== undefined) fields.forward_all = body.forward_all
  const password = secretField(body.password)
  if (password !== undefined) fields.password = password
  const authorizationHeader = secretField(body.authorization_header)
  if (authorizationHeader !== undefined) fields.authorization_header = authorizationHeader
  return fields
}

function reportDuplicate(err: unknown): never {
  if (err instanceof DuplicateWebhookNameError)
    throw nonFieldError('The fields name, organization must make a unique set.')
  throw err
}

async function findOr404(deps: ApiDeps, req: Request, organizationId: string): Promise<WebhookRow> {
  const webhook = await getWebhook(deps.db, organizationId, String(req.params.id))
  if (!webhook) throw notFound()
  return webhook
}

export function webhooksRouter(deps: ApiDeps): Router {
  const router = Router()

  resource(router, '/webhooks', {
    GET: async (req, res) => {
      const { organizationId } = requirePermission(req, 'read')
      // OnCall filters by name only when it is non-empty.
      const name = queryString(req.query.name) || undefined
      const teamId = await teamIdFilter(deps.db, organizationId, queryString(req.query.team_id))
      res.json(
        await paginate(
          req,
          deps.publicUrl,
          WEBHOOKS_PAGE_SIZE,
          (page) => listWebhooks(deps.db, organizationId, { name, teamId }, page),
          webhookToWire,
        ),
      )
    },
    POST: async (req, res) => {
      const { organizationId } = requirePermission(req, 'admin')
      checkTriggerType(req.body)
      const body = parseOrThrow(createWebhookSchema, req.body)
      const fields = await toFields(deps, organizationId, body)
      const webhook = await createWebhook(deps.db, organizationId, {
        team_id: null,
        integration_filter: null,
        password: null,
        authorization_header: null,
        ...fields,
      } as WebhookFields).catch(reportDuplicate)
      res.status(201).json(webhookToWire(webhook))
    },
  })

  const update: Handler = async (req, res) => {
    const { organizationId } = requirePermission(req, 'admin')
    await findOr404(deps, req, organizationId)
    checkTriggerType(req.body)
    const body = parseOrThrow(updateWebhookSchema, req.body)
    const fields = await toFields(deps, organizationId, body)
    const webhook = await updateWebhook(deps.db, organizationId, String(req.params.id), fields).catch(reportDuplicate)
    if (!webhook) throw notFound()
    res.json(webhookToWire(webhook))
  }

  resource(router, '/webhooks/:id', {
    GET: async (req, res) => {
      const { organizationId } = requirePermission(req, 'read')
      res.json(webhookToWire(await findOr404(deps, req, organizationId)))
    },
    PUT: update,
    PATCH: update,
    DELETE: async (req, res) => {
      const { organizationId } = requirePermission(req, 'admin')
      if (!(await deleteWebhook(deps.db, organizationId, String(req.params.id)))) throw notFound()
      res.status(204).end()
    },
  })

  resource(router, '/webhooks/:id/responses', {
    GET: async (req, res) => {
      const { organizationId } = requirePermission(req, 'read')
      const webhook = await findOr404(deps, req, organizationId)
      res.json(
        await paginate(
          req,
          deps.publicUrl,
          WEBHOOKS_PAGE_SIZE,
          (page) => listWebhookResponses(deps.db, organizationId, webhook.id, page),
          responseToWire,
        ),
      )
    },
  })

  return router
}
