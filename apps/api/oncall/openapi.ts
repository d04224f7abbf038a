import { z } from 'zod'
import { CREATABLE_TYPES } from '../../ingest/formats'
import type { Method } from './router'
import { listAlertGroupsQuery, silenceBody } from './schemas/alert-groups'
import { listAlertsQuery } from './schemas/alerts'
import { createIntegrationSchema, integrationShapeQuery, listIntegrationsQuery, maintenanceStartSchema, updateIntegrationSchema } from './schemas/integrations'
import { createRouteSchema, listRoutesQuery, updateRouteSchema } from './schemas/routes'
import { directPagingSchema } from './schemas/escalation'
import { patchEscalationChainSchema, writeEscalationChainSchema } from './schemas/escalation-chains'
import { chainDaysQuery } from './schemas/escalation-chains-oncall'
import { simulateChainBody } from './schemas/escalation-chain-simulate'
import { policyFieldsSchema, stepTypes } from './schemas/escalation-policies'
import { shiftFieldsSchema } from './schemas/on-call-shifts'
import { listRulesQuery, newRuleSchema, ruleChangeSchema } from './schemas/personal-notification-rules'
import { createScheduleSchemas, finalShiftsQuery, onCallAtQuery, updateScheduleSchemas } from './schemas/schedules'
import { createTeamSchema, updateTeamSchema } from './schemas/teams'
import { createUserGroupSchema, updateUserGroupSchema } from './schemas/user-groups'
import { createWebhookSchema, updateWebhookSchema } from './schemas/webhooks'
import { createUserSchema, listUsersQuery, updateUserSchema, userShapeQuery } from './schemas/users'
import { NOTIFICATION_RULE_TYPES, WAIT_DURATIONS_SECONDS } from '../../../workflows/core/personal-rules'

// The OpenAPI document is generated from the very zod schemas that validate the requests (z.toJSONSchema, whose
// draft 2020-12 output is what OpenAPI 3.1 uses). Every route the app registers must appear here (tested).

interface Operation {
  readonly summary: string
  readonly permission: 'viewer' | 'editor' | 'admin'
  readonly body?: z.ZodType
  readonly query?: z.ZodObject
  /** Status → description; 2xx bodies are OnCall's shapes, errors DRF's. */
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

// A rule's `type` is checked by the handler and its `duration` read as OnCall reads it: documented as what they accept.
const ruleDocumented = { type: z.enum(NOTIFICATION_RULE_TYPES), duration: z.literal(WAIT_DURATIONS_SECONDS).optional() }
const newRuleBody = newRuleSchema.extend({ ...ruleDocumented, user_id: z.string() })
const ruleChangeBody = ruleChangeSchema.extend({ ...ruleDocumented, type: ruleDocumented.type.optional() })

const actionResponses = { '200': 'Empty body', '400': "Refused, in OnCall's words", '404': 'Not found.' }

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
    POST: { summary: 'Create a user', permission: 'admin', query: userShapeQuery, body: createUserSchema, responses: created('The user'), extension: true },
  },
  '/users/current': { GET: { summary: 'The calling user', permission: 'viewer', query: userShapeQuery, responses: one('The user') } },
  '/users/{id}': {
    GET: { summary: 'Get a user', permission: 'viewer', query: userShapeQuery, responses: one('The user') },
    PUT: { summary: 'Update a user', permission: 'admin', query: userShapeQuery, body: updateUserSchema, responses: updated('The user'), extension: true },
    PATCH: { summary: 'Update a user', permission: 'admin', query: userShapeQuery, body: updateUserSchema, responses: updated('The user'), extension: true },
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
  '/personal_notification_rules': {
    GET: {
      summary: "List personal notification rules: by user, the default list before the important one, then position",
      permission: 'viewer',
      query: listRulesQuery,
      responses: { ...list('personal notification rules'), '400': 'User not found., or Important is not bool' },
    },
    POST: {
      summary: "Add a rule to a user's default or important list",
      permission: 'editor',
      body: newRuleBody,
      responses: created('The rule; duration only on a wait'),
    },
  },
  '/personal_notification_rules/{id}': {
    GET: { summary: 'Get a personal notification rule', permission: 'viewer', query: listRulesQuery, responses: one('The rule') },
    PUT: { summary: 'Update a personal notification rule (user and importance stay)', permission: 'editor', query: listRulesQuery, body: ruleChangeBody, responses: updated('The rule') },
    PATCH: { summary: 'Update a personal notification rule (user and importance stay)', permission: 'editor', query: listRulesQuery, body: ruleChangeBody, responses: updated('The rule') },
    DELETE: { summary: 'Delete a personal notification rule', permission: 'editor', query: listRulesQuery, responses: deleted },
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
  '/schedules/{id}/final_shifts': {
    GET: {
      summary: 'The final schedule over a range, one row per (shift, user)',
      permission: 'viewer',
      query: finalShiftsQuery,
      responses: { '200': 'One page: user_pk, user_email, user_username, shift_start, shift_end', '400': 'DRF errors', '404': 'Not found.' },
    },
  },
  '/schedules/{id}/oncall': {
    GET: {
      summary: 'Who is on call at an instant, and why (layer or override)',
      permission: 'viewer',
      query: onCallAtQuery,
      responses: { '200': '{"schedule_id", "at", "users", "reasons", "stale_ical_copy", ...}', '400': 'DRF errors', '404': 'Not found.' },
      extension: true,
    },
  },
  '/on_call_shifts': {
    GET: { summary: 'List on-call shifts', permission: 'viewer', responses: list('on-call shifts') },
    POST: { summary: 'Create an on-call shift', permission: 'editor', body: shiftFieldsSchema, responses: created('The shift, with only its type\'s keys') },
  },
  '/on_call_shifts/{id}': {
    GET: { summary: 'Get an on-call shift', permission: 'viewer', responses: one('The shift') },
    PUT: { summary: 'Update an on-call shift', permission: 'editor', body: shiftFieldsSchema, responses: updated('The shift') },
    PATCH: { summary: 'Update an on-call shift', permission: 'editor', body: shiftFieldsSchema, responses: updated('The shift') },
    DELETE: { summary: 'Delete an on-call shift', permission: 'editor', responses: deleted },
  },
  '/escalation_chains/{id}/current_oncall': {
    GET: { summary: 'Users the chain would page now (steps before the first wait)', permission: 'viewer', responses: one('{"count", "users", "shifts"}') },
  },
  '/escalation_chains/{id}/previous_oncall': {
    GET: {
      summary: 'Users of the last completed shift of the chain\'s first schedule step',
      permission: 'viewer',
      query: chainDaysQuery,
      responses: { '200': '{"count", "users", "shifts"}', '400': 'days above 30 or not an integer', '404': 'Not found.' },
    },
  },
  '/escalation_chains/{id}/next_oncall': {
    GET: {
      summary: 'Users of the next shift of the chain\'s first schedule step',
      permission: 'viewer',
      query: chainDaysQuery,
      responses: { '200': '{"count", "users", "shifts"}', '400': 'days above 30 or not an integer', '404': 'Not found.' },
    },
  },
  '/escalation_chains/{id}/simulate': {
    POST: {
      summary:
        'Dry run: what the engine would do for an alert group escalating through this chain (each page with its users at that instant, each wait and repeat, and the outcome); nothing is paged, written or started',
      permission: 'viewer',
      body: simulateChainBody,
      responses: { '200': '{"chain_id", "start", "until", "entries", "outcome"}', '400': 'DRF field errors', '404': 'Not found.' },
      extension: true,
    },
  },
  // ingestion issue: integrations, routes and alerts go here
  '/integrations': {
    GET: { summary: 'List integrations, oldest first', permission: 'viewer', query: listIntegrationsQuery, responses: list('integrations') },
    POST: {
      summary: 'Create an integration (not direct_paging)',
      permission: 'admin',
      query: integrationShapeQuery,
      body: createIntegrationSchema.extend({ type: z.enum(CREATABLE_TYPES) }),
      responses: created('The integration, with its link and default route'),
    },
  },
  '/integrations/{id}': {
    GET: { summary: 'Get an integration', permission: 'viewer', query: integrationShapeQuery, responses: one('The integration') },
    PUT: {
      summary: 'Update an integration (type is read-only)',
      permission: 'admin',
      query: integrationShapeQuery,
      body: updateIntegrationSchema,
      responses: updated('The integration'),
    },
    PATCH: {
      summary: 'Update an integration (type is read-only)',
      permission: 'admin',
      query: integrationShapeQuery,
      body: updateIntegrationSchema,
      responses: updated('The integration'),
    },
    DELETE: { summary: 'Delete an integration (not direct_paging); its URL answers 403', permission: 'admin', responses: deleted },
  },
  '/integrations/{id}/maintenance_start': {
    POST: {
      summary: 'Start maintenance (alerts join one group, nobody is paged) or debug mode (groups, no paging)',
      permission: 'admin',
      body: maintenanceStartSchema.extend({ mode: z.enum(['maintenance', 'debug']), duration: z.int().min(1).max(86_400) }),
      responses: { '200': 'The integration', '400': '{"mode": ["Unknown mode"]} or {"duration": ["Invalid duration"]}', '404': 'Not found.' },
    },
  },
  '/integrations/{id}/maintenance_stop': {
    POST: { summary: 'Stop maintenance; the maintenance group is resolved', permission: 'admin', responses: one('The integration') },
  },
  '/routes': {
    GET: { summary: 'List routes: per integration by position, the default route last', permission: 'viewer', query: listRoutesQuery, responses: list('routes') },
    POST: {
      summary: 'Create a route (regex or jinja2)',
      permission: 'admin',
      body: createRouteSchema.extend({ routing_type: z.enum(['regex', 'jinja2']).optional() }),
      responses: created('The route'),
    },
  },
  '/routes/{id}': {
    GET: { summary: 'Get a route', permission: 'viewer', responses: one('The route') },
    PUT: { summary: 'Update a route', permission: 'admin', body: updateRouteSchema.extend({ routing_type: z.enum(['regex', 'jinja2']).optional() }), responses: updated('The route') },
    PATCH: { summary: 'Update a route', permission: 'admin', body: updateRouteSchema.extend({ routing_type: z.enum(['regex', 'jinja2']).optional() }), responses: updated('The route') },
    DELETE: { summary: 'Delete a route (not the default route)', permission: 'admin', responses: deleted },
  },
  '/alerts': {
    GET: { summary: 'List alerts, newest first', permission: 'viewer', query: listAlertsQuery, responses: list('alerts') },
  },
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
  '/alert_groups/{id}': {
    GET: { summary: 'Get an alert group', permission: 'viewer', responses: one('The alert group') },
    DELETE: {
      summary: 'Stop the escalation and wipe (default) or delete the alert group; body {"mode": "wipe" | "delete"}',
      permission: 'editor',
      responses: { '204': 'Done', '400': 'A bad mode', '404': 'Not found.' },
    },
  },
  '/alert_groups/{id}/acknowledge': {
    POST: { summary: 'Acknowledge: stops the escalation', permission: 'editor', responses: actionResponses },
  },
  '/alert_groups/{id}/unacknowledge': {
    POST: { summary: 'Unacknowledge: restarts the escalation from step 1', permission: 'editor', responses: actionResponses },
  },
  '/alert_groups/{id}/resolve': {
    POST: { summary: 'Resolve: ends the escalation', permission: 'editor', responses: actionResponses },
  },
  '/alert_groups/{id}/unresolve': {
    POST: { summary: "Unresolve: a new escalation from step 1 on the route's current chain", permission: 'editor', responses: actionResponses },
  },
  '/alert_groups/{id}/silence': {
    POST: { summary: 'Silence for `delay` seconds (-1: forever); the end of a timed silence restarts the escalation', permission: 'editor', body: silenceBody, responses: actionResponses },
  },
  '/alert_groups/{id}/unsilence': {
    POST: { summary: 'Unsilence: restarts the escalation from step 1', permission: 'editor', responses: actionResponses },
  },
  '/alert_groups/{id}/escalation': {
    GET: { summary: 'Where the escalation is: current step, next wake-up, counters', permission: 'viewer', responses: one('The escalation state'), extension: true },
  },
  '/alert_groups/{id}/incident': {
    GET: { summary: 'The incident a declare_incident step recorded', permission: 'viewer', responses: one('The incident'), extension: true },
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
