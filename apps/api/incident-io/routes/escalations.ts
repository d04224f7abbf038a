import { Router } from 'express'
import type { Refusal } from '../../../../workflows/core/lifecycle'
import { unreachable } from '../../../../workflows/core/program'
import { ServiceError } from '../../../services/errors'
import {
  cancelEscalation,
  createEscalation,
  getEscalationView,
  listEscalations,
  reassignEscalation,
  respondToEscalation,
  type EscalationFilter,
  type EscalationProblem,
  type EscalationStatus,
} from '../../../services/escalations'
import type { ApiDeps } from '../../deps'
import { V2Error, validationErrors } from '../errors'
import { escalationToWire } from '../escalations-serializer'
import type { Filters } from '../filters'
import { cursorPage } from '../pagination'
import { operation, resource } from '../resource'
import {
  cancelEscalationSchema,
  createEscalationSchema,
  escalationFilterSpec,
  escalationListResponseSchema,
  escalationResponseSchema,
  reassignEscalationSchema,
  respondEscalationSchema,
} from '../schemas/escalations'

// incident.io's /v2/escalations: create (idempotent), show, list with filters, and the respond, cancel and reassign
// actions. A refused action answers at once and changes nothing.

const TARGET_FIELDS = ['escalation_path_id', 'user_ids'] as const

/** A problem the service found, in incident.io's words, naming its field. */
function problemItems(problem: EscalationProblem): Array<{ field?: string; message: string; code: string }> {
  switch (problem.kind) {
    case 'no_target':
      return TARGET_FIELDS.map((field) => ({ field, code: 'is_required', message: 'Give exactly one of escalation_path_id and user_ids.' }))
    case 'both_targets':
      return TARGET_FIELDS.map((field) => ({ field, code: 'invalid_value', message: 'Give only one of escalation_path_id and user_ids, not both.' }))
    case 'unknown_user':
      return [{ field: `user_ids[${problem.index}]`, code: 'not_found', message: `No user ${problem.userId} in this organization.` }]
    case 'unknown_path':
      return [{ field: 'escalation_path_id', code: 'not_found', message: `No escalation path ${problem.escalationPathId} in this organization.` }]
    case 'archived_path':
      return [{ field: 'escalation_path_id', code: 'invalid_value', message: `The escalation path ${problem.escalationPathId} is archived.` }]
    case 'already_reassigned':
      return [
        {
          code: 'already_reassigned',
          message: `This escalation was already reassigned${problem.reassignedToId ? ` (to ${problem.reassignedToId})` : ''}: an escalation is reassigned at most once.`,
        },
      ]
    case 'snooze_not_in_future':
      return [{ field: 'snooze_details.snooze_until', code: 'invalid_value', message: 'must be in the future' }]
    case 'snooze_too_far':
      return [{ field: 'snooze_details.snooze_until', code: 'invalid_value', message: `must be at most ${problem.maxSeconds / 86_400} days ahead` }]
    default:
      return unreachable(problem)
  }
}

const invalid = (problems: readonly EscalationProblem[]) => validationErrors(problems.flatMap(problemItems))

const VERB: Record<string, string> = { acknowledge: 'acknowledge', escalate_now: 'nack', silence: 'snooze', cancel: 'cancel', resolve: 'resolve' }
const STATE: Record<string, string> = {
  acknowledged: 'an acknowledged',
  resolved: 'a resolved',
  cancelled: 'a cancelled',
  expired: 'an expired',
  maintenance: 'a maintenance',
}

/** A lifecycle refusal as incident.io's 422: "Can't snooze an acknowledged escalation." */
export function refusalError(refusal: Refusal): V2Error {
  const verb = VERB[refusal.action] ?? refusal.action
  const state = STATE[refusal.code]
  const message = state ? `Can't ${verb} ${state} escalation.` : `Can't ${verb} this escalation now (${refusal.code}).`
  return new V2Error(422, 'validation_error', [{ code: 'refused', message }])
}

/** Runs a service action, wording its lifecycle refusal. */
async function refusing<T>(action: () => Promise<T>): Promise<T> {
  try {
    return await action()
  } catch (err) {
    if (err instanceof ServiceError && err.code === 'refused' && err.details.refusal) throw refusalError(err.details.refusal)
    throw err
  }
}

function filterOf(filters: Filters<typeof escalationFilterSpec>): EscalationFilter {
  const set = <T extends string>(f: { one_of?: readonly string[]; not_in?: readonly string[] } | undefined) =>
    f && { ...(f.one_of ? { oneOf: f.one_of as readonly T[] } : {}), ...(f.not_in ? { notIn: f.not_in as readonly T[] } : {}) }
  return {
    ...(filters.status ? { status: set<EscalationStatus>(filters.status) } : {}),
    ...(filters.escalation_path ? { escalationPath: set(filters.escalation_path) } : {}),
    ...(filters.alert ? { alert: set(filters.alert) } : {}),
    ...(filters.incident ? { incident: set(filters.incident) } : {}),
    ...(filters.created_at ? { createdAt: filters.created_at } : {}),
    ...(filters.updated_at ? { updatedAt: filters.updated_at } : {}),
    ...(filters.idempotency_key
      ? {
          idempotencyKey: {
            ...(filters.idempotency_key.is !== undefined ? { is: filters.idempotency_key.is } : {}),
            ...(filters.idempotency_key.starts_with !== undefined ? { startsWith: filters.idempotency_key.starts_with } : {}),
          },
        }
      : {}),
  }
}

const notFound = { '404': 'No escalation with this id in the organization' }
const invalidResponse = { '422': 'validation_error: a bad field, a reference to nothing, or an action the escalation refuses now' }
const unavailable = { '503': 'api_error: the escalation engine is unavailable; nothing was created or changed' }

export function escalationsRouter(deps: ApiDeps): Router {
  const router = Router()

  resource(router, '/escalations', {
    GET: operation({
      summary: 'List escalations, newest first',
      role: 'viewer',
      list: escalationFilterSpec,
      response: escalationListResponseSchema,
      responses: { '200': 'A page of escalations' },
      handler: async ({ res, caller, list }) => {
        const filter = filterOf(list.filters)
        const { items, pagination_meta } = await cursorPage(list.page, async (page) =>
          (await listEscalations(deps.db, caller.organizationId, filter, page))?.map((view) => ({ id: view.escalation.id, view })),
        )
        res.json({ escalations: items.map(({ view }) => escalationToWire(view)), pagination_meta })
      },
    }),
    POST: operation({
      summary: 'Create an escalation: page an escalation path, or users directly',
      description:
        'At most 60 a minute per API key. A used idempotency_key answers 201 with the escalation it created, whatever the body says now.',
      role: 'editor',
      body: createEscalationSchema,
      response: escalationResponseSchema,
      responses: { '201': 'The escalation (new, or the one the idempotency key created)', ...invalidResponse, ...unavailable },
      handler: async ({ res, caller, body }) => {
        const outcome = await createEscalation(deps, caller.organizationId, caller.user, {
          idempotencyKey: body.idempotency_key,
          title: body.title,
          description: body.description,
          ...(body.escalation_path_id !== undefined ? { escalationPathId: body.escalation_path_id } : {}),
          ...(body.user_ids !== undefined ? { userIds: body.user_ids } : {}),
          ...(body.priority !== undefined ? { priority: body.priority } : {}),
          ...(body.incident_id !== undefined ? { incidentId: body.incident_id } : {}),
        })
        if (outcome.kind === 'invalid') throw invalid(outcome.problems)
        res.status(201).json({ escalation: escalationToWire(outcome.view) })
      },
    }),
  })

  resource(router, '/escalations/:id', {
    GET: operation({
      summary: 'Show an escalation',
      role: 'viewer',
      response: escalationResponseSchema,
      responses: { '200': 'The escalation', ...notFound },
      handler: async ({ req, res, caller }) => {
        res.json({ escalation: escalationToWire(await getEscalationView(deps.db, caller.organizationId, String(req.params.id))) })
      },
    }),
  })

  resource(router, '/escalations/:id/actions/respond', {
    POST: operation({
      summary: 'Acknowledge (ack), decline and escalate now (nack), or snooze an escalation',
      description: 'A snooze ends at snooze_until (at most 7 days ahead); paging then resumes unless the escalation was acknowledged or ended.',
      role: 'editor',
      body: respondEscalationSchema,
      responses: { '204': 'Done', ...notFound, ...invalidResponse, ...unavailable },
      handler: async ({ req, res, caller, body }) => {
        const response =
          body.response === 'snooze' ? { kind: 'snooze' as const, until: new Date(body.snooze_details?.snooze_until as string) } : { kind: body.response }
        const outcome = await refusing(() => respondToEscalation(deps, caller.organizationId, caller.user, String(req.params.id), response))
        if (outcome.kind === 'invalid') throw invalid(outcome.problems)
        res.status(204).end()
      },
    }),
  })

  resource(router, '/escalations/:id/actions/cancel', {
    POST: operation({
      summary: 'Cancel an escalation: stop all paging',
      description: 'Cancelling a cancelled escalation succeeds and changes nothing; a resolved or expired one is refused.',
      role: 'editor',
      body: cancelEscalationSchema,
      optionalBody: true,
      responses: { '204': 'Cancelled', ...notFound, ...invalidResponse, ...unavailable },
      handler: async ({ req, res, caller }) => {
        await refusing(() => cancelEscalation(deps, caller.organizationId, caller.user, String(req.params.id)))
        res.status(204).end()
      },
    }),
  })

  resource(router, '/escalations/:id/actions/reassign', {
    POST: operation({
      summary: 'Reassign an escalation: a new escalation to another path or users, once per escalation',
      description:
        "The new escalation copies the original's title, description, priority and incident unless replaced; with resolve_original (default true) the original is resolved.",
      role: 'editor',
      body: reassignEscalationSchema,
      response: escalationResponseSchema,
      responses: { '201': 'The new escalation', ...notFound, ...invalidResponse, ...unavailable },
      handler: async ({ req, res, caller, body }) => {
        const outcome = await refusing(() =>
          reassignEscalation(deps, caller.organizationId, caller.user, String(req.params.id), {
            ...(body.escalation_path_id !== undefined ? { escalationPathId: body.escalation_path_id } : {}),
            ...(body.user_ids !== undefined ? { userIds: body.user_ids } : {}),
            ...(body.title !== undefined ? { title: body.title } : {}),
            ...(body.description !== undefined ? { description: body.description } : {}),
            resolveOriginal: body.resolve_original,
          }),
        )
        if (outcome.kind === 'invalid') throw invalid(outcome.problems)
        res.status(201).json({ escalation: escalationToWire(outcome.view) })
      },
    }),
  })

  return router
}
