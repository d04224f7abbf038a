import { z } from 'zod'
import type { Method } from './router'
import { listAlertGroupsQuery } from './schemas/alert-groups'
import { directPagingSchema } from './schemas/escalation'
import { patchEscalationChainSchema, writeEscalationChainSchema } from './schemas/escalation-chains'
import { policyFieldsSchema, stepTypes } from './schemas/escalation-policies'
import { createScheduleSchemas, updateScheduleSchemas } from './schemas/schedules'
import { createTeamSchema, updateTeamSchema } from './schemas/teams'
import { createUserGroupSchema, updateUserGroupSchema } from './schemas/user-groups'
import { createWebhookSchema, updateWebhookSchema } from './schemas/webhooks'
import { createUserSchema, listUsersQuery, updateUserSchema } from './schemas/users'

// The OpenAPI document is generated from the very zod schemas that validate the requests (z.toJSONSchema, whose
// draft 2020-12 output is what OpenAPI 3.1 uses). Every route the app registers must appear here (tested).

interface Operation {
  readonly summary: string
  readonly permission: 'viewer' | 'editor' | 'admin'
  readonly body?: z.ZodType
  readonly query?: z.ZodObject
  /** Status → description; 2xx bodies are OnCall's shapes (see oncall-api.md), errors DRF's. */
  readonly responses: Readonly<Record<string, string>>
  readonly extension?: boolean
}

const list = (what: string) => ({ '200': `A page of ${what}: count, next, previous, results, page_size, current_page_number, total_pages` })
const one = (what: string) => ({ '200': what, '404': 'Not found.' })
const created = (what: string) => ({ '201': what, '400': 'DRF field errors' })
const updated = (what: string) => ({ '200': what, '400': 'DRF field errors', '404': 'Not found.' })
const deleted = { '204': 'Deleted', '404': 'Not found.' }

// `type` is read by the handler (an unknown type is a top-level detail); documented as the enum it accepts.
const policyBody = policyFieldsSchema.extend({ type: z.enum(stepTypes) })

// A schedule's schema depends on its `type` (OnCall's polymorphic serializer).
const scheduleBody = (schemas: typeof createScheduleSchemas | typeof updateScheduleSchemas) =>
  z.union([
    schemas.ical.extend({ type: z.literal('ical') }),
    schemas.calendar.extend({ type: z.literal('calendar') }),
    schemas.web.extend({ type: z.literal('web') }),
  ])

const operations: Record<string, Partial<Record<Method, Operation>>> = {
  '/users': {
    GET: { summary: 'List users', permission: 'viewer', query: listUsersQuery, responses: list('users') },
    POST: { summary: 'Create a user', permission: 'admin', body: createUserSchema, responses: created('The user'), extension: true },
  },
  '/users/current': { GET: { summary: 'The calling user', permission: 'viewer', responses: one('The user') } },
  '/users/{id}': {
    GET: { summary: 'Get a user', permission: 'viewer', responses: one('The user') },
    PUT: { summary: 'Update a user', permission: 'admin', body: updateUserSchema, responses: updated('The user'), extension: true },
    PATCH: { summary: 'Update a user', permission: 'admin', body: updateUserSchema, responses: updated('The user'), extension: true },
    DELETE: { summary: 'Delete a user', permission: 'admin', responses: deleted, extension: true },
  },
  '/teams': {
    GET: { summary: 'List teams', permission: 'viewer', responses: list('teams') },
    POST: { summary: 'Create a team', permission: 'admin', body: createTeamSchema, responses: created('The team'), extension: true },
  },
  '/teams/{id}': {
    GET: { summary: 'Get a team', permission: 'viewer', responses: one('The team') },
    PUT: { summary: 'Update a team', permission: 'admin', body: updateTeamSchema, responses: updated('The team'), extension: true },
    PATCH: { summary: 'Update a team', permission: 'admin', body: updateTeamSchema, responses: updated('The team'), extension: true },
    DELETE: { summary: 'Delete a team', permission: 'admin', responses: deleted, extension: true },
  },
  '/escalation_chains': {
    GET: { summary: 'List escalation chains', permission: 'viewer', responses: list('escalation chains') },
    POST: { summary: 'Create an escalation chain', permission: 'admin', body: writeEscalationChainSchema, responses: created('The chain') },
  },
  '/escalation_chains/{id}': {
    GET: { summary: 'Get an escalation chain', permission: 'viewer', responses: one('The chain') },
    PUT: { summary: 'Update an escalation chain', permission: 'admin', body: writeEscalationChainSchema, responses: updated('The chain') },
    PATCH: { summary: 'Update an escalation chain', permission: 'admin', body: patchEscalationChainSchema, responses: updated('The chain') },
    DELETE: { summary: 'Delete an escalation chain and its policies', permission: 'admin', responses: deleted },
  },
  '/escalation_policies': {
    GET: { summary: 'List escalation policies', permission: 'viewer', responses: list('escalation policies') },
    POST: { summary: 'Create an escalation policy', permission: 'admin', body: policyBody, responses: created('The policy, with only its type\'s keys') },
  },
  '/escalation_policies/{id}': {
    GET: { summary: 'Get an escalation policy', permission: 'viewer', responses: one('The policy') },
    PUT: { summary: 'Update an escalation policy', permission: 'admin', body: policyBody.partial(), responses: updated('The policy') },
    PATCH: { summary: 'Update an escalation policy', permission: 'admin', body: policyBody.partial(), responses: updated('The policy') },
    DELETE: { summary: 'Delete an escalation policy', permission: 'admin', responses: deleted },
  },
  '/escalation_policies/{id}/advance_round_robin': {
    POST: {
      summary: 'Move a round-robin step to its next user',
      permission: 'admin',
      responses: { '200': '{"user_id", "username"} of the user now at the head', '400': 'Not a round-robin step, or no users', '404': 'Not found.' },
    },
  },
  '/webhooks': {
    GET: { summary: 'List outgoing webhooks', permission: 'viewer', responses: list('webhooks') },
    POST: { summary: 'Create an outgoing webhook', permission: 'admin', body: createWebhookSchema, responses: created('The webhook, secrets masked') },
  },
  '/webhooks/{id}': {
    GET: { summary: 'Get an outgoing webhook', permission: 'viewer', responses: one('The webhook, secrets masked') },
    PUT: { summary: 'Update an outgoing webhook', permission: 'admin', body: updateWebhookSchema, responses: updated('The webhook') },
    PATCH: { summary: 'Update an outgoing webhook', permission: 'admin', body: updateWebhookSchema, responses: updated('The webhook') },
    DELETE: { summary: 'Delete an outgoing webhook', permission: 'admin', responses: deleted },
  },
  '/webhooks/{id}/responses': {
    GET: { summary: 'What the webhook answered, newest first', permission: 'viewer', responses: list('webhook responses') },
  },
  '/user_groups': {
    GET: { summary: 'List user groups', permission: 'viewer', responses: list('user groups') },
    POST: { summary: 'Create a user group', permission: 'admin', body: createUserGroupSchema, responses: created('The group'), extension: true },
  },
  '/user_groups/{id}': {
    GET: { summary: 'Get a user group', permission: 'viewer', responses: one('The group'), extension: true },
    PUT: { summary: 'Update a user group', permission: 'admin', body: updateUserGroupSchema, responses: updated('The group'), extension: true },
    PATCH: { summary: 'Update a user group', permission: 'admin', body: updateUserGroupSchema, responses: updated('The group'), extension: true },
    DELETE: { summary: 'Delete a user group', permission: 'admin', responses: deleted, extension: true },
  },
  '/schedules': {
    GET: { summary: 'List schedules', permission: 'viewer', responses: list('schedules') },
    POST: { summary: 'Create a schedule', permission: 'editor', body: scheduleBody(createScheduleSchemas), responses: created('The schedule') },
  },
  '/schedules/{id}': {
    GET: { summary: 'Get a schedule', permission: 'viewer', responses: one('The schedule') },
    PUT: { summary: 'Update a schedule (not web schedules)', permission: 'editor', body: scheduleBody(updateScheduleSchemas), responses: updated('The schedule') },
    PATCH: { summary: 'Update a schedule (not web schedules)', permission: 'editor', body: scheduleBody(updateScheduleSchemas), responses: updated('The schedule') },
    DELETE: { summary: 'Delete a schedule', permission: 'editor', responses: deleted },
  },
  // schedules issue: on-call shifts, final_shifts, on-call views go here
  // ingestion issue: integrations, routes and alerts go here
  '/escalation': {
    POST: {
      summary: 'Page users directly, or add responders to an alert group',
      permission: 'editor',
      body: directPagingSchema,
      responses: { '200': 'The alert group', '400': 'DRF errors in OnCall\'s order', '503': 'Escalation engine unavailable; nothing was paged' },
    },
  },
  '/alert_groups': {
    GET: { summary: 'List alert groups, newest first', permission: 'viewer', query: listAlertGroupsQuery, responses: list('alert groups') },
  },
  '/alert_groups/{id}': { GET: { summary: 'Get an alert group', permission: 'viewer', responses: one('The alert group') } },
  '/alert_groups/{id}/acknowledge': {
    POST: { summary: 'Acknowledge', permission: 'editor', responses: { '200': 'Empty body', '400': 'Refused, in OnCall\'s words', '404': 'Not found.' } },
  },
  '/alert_groups/{id}/resolve': {
    POST: { summary: 'Resolve', permission: 'editor', responses: { '200': 'Empty body', '400': 'Refused, in OnCall\'s words', '404': 'Not found.' } },
  },
  '/alert_groups/{id}/timeline': {
    GET: { summary: 'What happened to the alert group, in order', permission: 'viewer', responses: one('{"alert_group_id", "events"}'), extension: true },
  },
}

function jsonSchema(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>
  return rest
}

/** The OpenAPI 3.1 document of `/api/v1`, with links to `publicUrl`. */
export function openApiDocument(publicUrl: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {}
  for (const [path, methods] of Object.entries(operations)) {
    const item: Record<string, unknown> = {}
    for (const [method, op] of Object.entries(methods) as Array<[Method, Operation]>) {
      const parameters: unknown[] = path.includes('{id}') ? [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }] : []
      if (op.query) {
        for (const [name, field] of Object.entries(op.query.shape)) {
          parameters.push({ name, in: 'query', required: false, schema: jsonSchema(field as z.ZodType) })
        }
      }
      if (method === 'GET' && path !== '/users/current' && !path.includes('{id}')) {
        parameters.push({ name: 'page', in: 'query', required: false, schema: { type: 'integer', minimum: 1 } })
        parameters.push({ name: 'perpage', in: 'query', required: false, schema: { type: 'integer', minimum: 1 } })
      }
      item[method.toLowerCase()] = {
        summary: op.summary,
        description: `Needs role ${op.permission} or above.${op.extension ? ' Tocsin extension (not in Grafana OnCall).' : ''}`,
        parameters,
        ...(op.body ? { requestBody: { required: true, content: { 'application/json': { schema: jsonSchema(op.body) } } } } : {}),
        responses: Object.fromEntries(
          Object.entries({ ...op.responses, '403': 'Invalid token, or not permitted' }).map(([status, description]) => [status, { description }]),
        ),
        security: [{ apiToken: [] }],
      }
    }
    paths[`/api/v1${path}/`] = item
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Tocsin API (Grafana OnCall-compatible)',
      version: '1',
      description: 'Trailing slashes are optional on every path. Errors use Django REST Framework shapes.',
    },
    servers: [{ url: publicUrl }],
    components: {
      securitySchemes: { apiToken: { type: 'apiKey', in: 'header', name: 'Authorization', description: 'The raw token, or "Bearer <token>"' } },
    },
    paths,
  }
}

/** The documented (path, method) pairs, in Express's path syntax, for the coverage test. */
export function documentedRoutes(): Array<[string, Method]> {
  return Object.entries(operations).flatMap(([path, methods]) =>
    Object.keys(methods).map((method) => [path.replace(/\{(\w+)\}/g, ':$1'), method as Method] as [string, Method]),
  )
}
