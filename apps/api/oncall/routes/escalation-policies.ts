import { Router, type Request } from 'express'
import { ServiceError } from '../../../services/errors'
import {
  advanceRoundRobin,
  createEscalationPolicy,
  deleteEscalationPolicy,
  getEscalationPolicy,
  listEscalationPolicies,
  UnknownReferencesError,
  updateEscalationPolicy,
  type EscalationPolicy,
} from '../../../services/escalation-policies'
import { isStepType, stepRegistry, unreachable, type StepSettings, type StepType } from '../../../../workflows/oncall/steps'
import { requirePermission } from '../auth'
import type { ApiDeps } from '../../deps'
import { ApiError, badRequest, fieldError, parseOrThrow } from '../errors'
import { paginate } from '../pagination'
import { queryString } from '../relations'
import { resource, type Handler } from '../router'
import { policyFieldsSchema, wireKeyOf, type PolicyFieldsRequest } from '../schemas/escalation-policies'

const POLICIES_PAGE_SIZE = 50

/** OnCall's per-type response: the four common keys, then only the keys of the step's type (others absent). */
export function escalationPolicyToWire(policy: EscalationPolicy): Record<string, unknown> {
  const wire: Record<string, unknown> = {
    id: policy.id,
    escalation_chain_id: policy.chainId,
    position: policy.position,
    type: policy.type,
  }
  const step = stepRegistry[policy.type]
  if (step.hasImportantVariant) wire.important = policy.settings.important
  for (const field of step.fields) wire[wireKeyOf(policy.type, field)] = policy.settings[field]
  return wire
}

/**
 * `type` as OnCall reads it: a string (numbers are stringified, as DRF's CharField does); an unknown value is a
 * top-level detail, checked before the other fields. Undefined when absent (or null on update).
 */
function readType(body: unknown, creating: boolean): StepType | undefined {
  // A body that is not an object gets DRF's non-field error from the schema first.
  if (body === null || typeof body !== 'object' || Array.isArray(body)) parseOrThrow(policyFieldsSchema, body)
  const raw = (body as { type?: unknown }).type
  if (raw === undefined || (raw === null && !creating)) {
    if (creating) throw fieldError('type', 'This field is required.')
    return undefined
  }
  if (raw === null) throw fieldError('type', 'This field may not be null.')
  if (typeof raw !== 'string' && typeof raw !== 'number') throw fieldError('type', 'Not a valid string.')
  const type = String(raw).trim()
  if (!isStepType(type)) throw badRequest('Invalid escalation step type')
  return type
}

/** The settings a request sends, in the registry's shape: "" names nothing, a null user list is empty. */
function requestedSettings(body: PolicyFieldsRequest): Partial<StepSettings> {
  const blank = (value: string | null | undefined) => (value === '' ? null : value)
  // Both list keys write the same list; the round-robin one wins when both are sent, as in OnCall.
  const users = body.persons_to_notify_next_each_time !== undefined ? body.persons_to_notify_next_each_time : body.persons_to_notify
  const sent: { [K in keyof StepSettings]: StepSettings[K] | undefined } = {
    important: body.important,
    durationSeconds: body.duration,
    userIds: users === undefined ? undefined : (users ?? []),
    scheduleId: blank(body.notify_on_call_from_schedule),
    userGroupId: blank(body.group_to_notify),
    teamId: blank(body.team_to_notify),
    webhookId: blank(body.action_to_trigger),
    timeFrom: body.notify_if_time_from,
    timeTo: body.notify_if_time_to,
    numAlertsInWindow: body.num_alerts_in_window,
    numMinutesInWindow: body.num_minutes_in_window,
    severity: body.severity,
  }
  return Object.fromEntries(Object.entries(sent).filter(([, value]) => value !== undefined)) as Partial<StepSettings>
}

/** The service's refusals in OnCall's words: settings by their wire keys, a refused position as DRF's detail. */
function inOnCallWords(type: StepType) {
  return (err: unknown): never => {
    if (err instanceof UnknownReferencesError) {
      throw new ApiError(400, Object.fromEntries(err.fields.map((field) => [wireKeyOf(type, field), ['Object does not exist']])))
    }
    if (err instanceof ServiceError && err.code === 'invalid_reference' && err.details.field === 'chainId') {
      throw fieldError('escalation_chain_id', 'Object does not exist')
    }
    if (err instanceof ServiceError && err.code === 'invalid_value' && err.details.field === 'position') {
      throw badRequest('Invalid value for position field')
    }
    throw err
  }
}

function policyId(req: Request): string {
  return String(req.params.id)
}

export function escalationPoliciesRouter(deps: ApiDeps): Router {
  const router = Router()

  resource(router, '/escalation_policies', {
    GET: async (req, res) => {
      const { organizationId } = requirePermission(req, 'read')
      const filter = { chainId: queryString(req.query.escalation_chain_id) }
      res.json(
        await paginate(
          req,
          deps.publicUrl,
          POLICIES_PAGE_SIZE,
          (page) => listEscalationPolicies(deps.db, organizationId, filter, page),
          escalationPolicyToWire,
        ),
      )
    },
    POST: async (req, res) => {
      const { organizationId } = requirePermission(req, 'admin')
      const body = req.body === undefined ? {} : req.body
      const type = readType(body, true) as StepType
      const fields = parseOrThrow(policyFieldsSchema, body)
      if (fields.escalation_chain_id === undefined) throw fieldError('escalation_chain_id', 'This field is required.')
      const policy = await createEscalationPolicy(deps.db, organizationId, {
        chainId: fields.escalation_chain_id,
        type,
        settings: requestedSettings(fields),
        position: fields.position,
        manualOrder: fields.manual_order ?? false,
      }).catch(inOnCallWords(type))
      res.status(201).json(escalationPolicyToWire(policy))
    },
  })

  // PUT and PATCH behave alike: OnCall's update serializer makes every field optional.
  const update: Handler = async (req, res) => {
    const { organizationId } = requirePermission(req, 'admin')
    // DRF looks the object up before it validates the body: an unknown id is a 404 whatever the body.
    const policy = await getEscalationPolicy(deps.db, organizationId, policyId(req))
    const body = req.body === undefined ? {} : req.body
    const type = readType(body, false)
    const fields = parseOrThrow(policyFieldsSchema, body)
    const updated = await updateEscalationPolicy(deps.db, policy, {
      type,
      settings: requestedSettings(fields),
      position: fields.position,
      manualOrder: fields.manual_order ?? false,
    }).catch(inOnCallWords(type ?? policy.type))
    res.json(escalationPolicyToWire(updated))
  }

  resource(router, '/escalation_policies/:id', {
    GET: async (req, res) => {
      const { organizationId } = requirePermission(req, 'read')
      res.json(escalationPolicyToWire(await getEscalationPolicy(deps.db, organizationId, policyId(req))))
    },
    PUT: update,
    PATCH: update,
    DELETE: async (req, res) => {
      const { organizationId } = requirePermission(req, 'admin')
      await deleteEscalationPolicy(deps.db, organizationId, policyId(req))
      res.status(204).end()
    },
  })

  resource(router, '/escalation_policies/:id/advance_round_robin', {
    POST: async (req, res) => {
      const { organizationId } = requirePermission(req, 'admin')
      const advanced = await advanceRoundRobin(deps.db, organizationId, policyId(req))
      switch (advanced.kind) {
        case 'advanced':
          res.json({ user_id: advanced.userId, username: advanced.username })
          return
        case 'not_round_robin':
          throw badRequest('Only notify_person_next_each_time policies have a round-robin position')
        case 'no_users':
          throw badRequest('The round-robin queue of this policy has no users')
        default:
          unreachable(advanced)
      }
    },
  })

  return router
}
