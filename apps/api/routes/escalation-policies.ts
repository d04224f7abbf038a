import { Router, type Request } from 'express'
import { getEscalationChain } from '../../../activities/db/escalation-chains.repo'
import {
  advanceRoundRobin,
  createEscalationPolicy,
  deleteEscalationPolicy,
  existingIds,
  getEscalationPolicy,
  listEscalationPolicies,
  updateEscalationPolicy,
  type EscalationPolicyRow,
  type PolicySettings,
} from '../../../activities/db/escalation-policies.repo'
import { InvalidPositionError } from '../../../activities/db/ordering'
import { requirePermission } from '../auth'
import type { ApiDeps } from '../deps'
import { ApiError, badRequest, fieldError, notFound, parseOrThrow } from '../errors'
import { paginate } from '../pagination'
import { queryString } from '../relations'
import { resource, type Handler } from '../router'
import {
  fieldsOfType,
  importantTypes,
  policyFieldsSchema,
  stepTypes,
  type PolicyFieldsRequest,
  type StepType,
} from '../schemas/escalation-policies'

const POLICIES_PAGE_SIZE = 50

/** OnCall's per-type response: the four common keys, then only the keys of the step's type (others absent). */
export function escalationPolicyToWire(policy: EscalationPolicyRow): Record<string, unknown> {
  const type = policy.type as StepType
  const values: Record<string, unknown> = {
    duration: policy.duration,
    important: policy.important,
    persons_to_notify: policy.users,
    persons_to_notify_next_each_time: policy.users,
    notify_on_call_from_schedule: policy.schedule_id,
    group_to_notify: policy.group_to_notify,
    team_to_notify: policy.team_to_notify,
    action_to_trigger: policy.action_to_trigger,
    notify_if_time_from: policy.notify_if_time_from,
    notify_if_time_to: policy.notify_if_time_to,
    num_alerts_in_window: policy.num_alerts_in_window,
    num_minutes_in_window: policy.num_minutes_in_window,
    severity: policy.severity,
  }
  const wire: Record<string, unknown> = {
    id: policy.id,
    escalation_chain_id: policy.escalation_chain_id,
    position: policy.position,
    type,
  }
  for (const key of fieldsOfType[type] ?? []) wire[key] = values[key]
  return wire
}

/** The settings columns each type uses; a type change clears the others (OnCall's update serializer). */
const columnsOfType: Record<StepType, ReadonlyArray<keyof PolicySettings>> = {
  wait: ['duration'],
  notify_persons: ['important', 'users'],
  notify_person_next_each_time: ['important', 'users'],
  notify_on_call_from_schedule: ['important', 'schedule_id'],
  notify_next_on_call_from_schedule: ['important', 'schedule_id'],
  notify_user_group: ['important', 'group_to_notify'],
  notify_team_members: ['important', 'team_to_notify'],
  trigger_webhook: ['action_to_trigger'],
  resolve: [],
  notify_whole_channel: [],
  notify_if_time_from_to: ['notify_if_time_from', 'notify_if_time_to'],
  notify_if_num_alerts_in_window: ['num_alerts_in_window', 'num_minutes_in_window'],
  repeat_escalation: [],
  declare_incident: ['severity'],
}

const emptySettings = (type: StepType): PolicySettings => ({
  type,
  important: false,
  duration: null,
  users: [],
  schedule_id: null,
  team_to_notify: null,
  group_to_notify: null,
  action_to_trigger: null,
  notify_if_time_from: null,
  notify_if_time_to: null,
  num_alerts_in_window: null,
  num_minutes_in_window: null,
  severity: null,
})

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
  if (!(stepTypes as readonly string[]).includes(type)) throw badRequest('Invalid escalation step type')
  return type as StepType
}

/** Checks every provided reference against the caller's organization; user lists silently drop unknown ids. */
async function resolveReferences(deps: ApiDeps, organizationId: string, body: PolicyFieldsRequest) {
  const checks: Array<[keyof PolicyFieldsRequest, 'schedules' | 'user_groups' | 'teams' | 'webhooks']> = [
    ['notify_on_call_from_schedule', 'schedules'],
    ['group_to_notify', 'user_groups'],
    ['team_to_notify', 'teams'],
    ['action_to_trigger', 'webhooks'],
  ]
  const errors: Record<string, string[]> = {}
  for (const [field, table] of checks) {
    const id = body[field]
    if (typeof id === 'string' && id !== '' && (await existingIds(deps.db, table, organizationId, [id])).length === 0) {
      errors[field] = ['Object does not exist']
    }
  }
  if (Object.keys(errors).length > 0) throw new ApiError(400, errors)
  // Both list fields write the same list; the round-robin one wins when both are sent, as in OnCall.
  const users = body.persons_to_notify_next_each_time !== undefined ? body.persons_to_notify_next_each_time : body.persons_to_notify
  return users === undefined ? undefined : await existingIds(deps.db, 'users', organizationId, users ?? [])
}

/** The settings a request sets for `type`: fields of other types are discarded, as OnCall does. */
function requestedSettings(type: StepType, body: PolicyFieldsRequest, users: string[] | undefined): Partial<PolicySettings> {
  const blank = (value: string | null | undefined) => (value === '' ? null : value)
  const all: Partial<PolicySettings> = {
    important: body.important,
    duration: body.duration,
    users,
    schedule_id: blank(body.notify_on_call_from_schedule),
    group_to_notify: blank(body.group_to_notify),
    team_to_notify: blank(body.team_to_notify),
    action_to_trigger: blank(body.action_to_trigger),
    notify_if_time_from: body.notify_if_time_from,
    notify_if_time_to: body.notify_if_time_to,
    num_alerts_in_window: body.num_alerts_in_window,
    num_minutes_in_window: body.num_minutes_in_window,
    severity: body.severity,
  }
  const settings: Partial<PolicySettings> = {}
  for (const column of columnsOfType[type]) {
    const value = all[column]
    if (value !== undefined) (settings as Record<string, unknown>)[column] = value
  }
  return settings
}

function positionError(err: unknown): never {
  if (err instanceof InvalidPositionError) throw badRequest('Invalid value for position field')
  throw err
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
      const chain = await getEscalationChain(deps.db, organizationId, fields.escalation_chain_id)
      if (!chain) throw fieldError('escalation_chain_id', 'Object does not exist')
      const users = await resolveReferences(deps, organizationId, fields)
      const settings = { ...emptySettings(type), ...requestedSettings(type, fields, users) }
      if (!importantTypes.has(type)) settings.important = false
      const policy = await createEscalationPolicy(
        deps.db,
        organizationId,
        chain.id,
        settings,
        fields.position,
        fields.manual_order ?? false,
      ).catch(positionError)
      res.status(201).json(escalationPolicyToWire(policy))
    },
  })

  // PUT and PATCH behave alike: OnCall's update serializer makes every field optional.
  const update: Handler = async (req, res) => {
    const { organizationId } = requirePermission(req, 'admin')
    const policy = await getEscalationPolicy(deps.db, organizationId, policyId(req))
    if (!policy) throw notFound()
    const body = req.body === undefined ? {} : req.body
    const requestedType = readType(body, false)
    const fields = parseOrThrow(policyFieldsSchema, body)
    const users = await resolveReferences(deps, organizationId, fields)
    const type = requestedType ?? (policy.type as StepType)

    let settings: Partial<PolicySettings> = {}
    if (type !== policy.type) {
      // A new type clears the old type's columns; the user list survives between the two user-list types.
      const cleared = emptySettings(type)
      const kept = new Set(columnsOfType[type])
      for (const column of columnsOfType[policy.type as StepType] ?? []) {
        if (!kept.has(column)) (settings as Record<string, unknown>)[column] = cleared[column]
      }
      settings.type = type
    }
    settings = { ...settings, ...requestedSettings(type, fields, users) }
    // A public type names the base step: sending `type` without `important` drops the importance (OnCall).
    if (requestedType !== undefined && fields.important === undefined) settings.important = false
    if (!importantTypes.has(type)) settings.important = false
    const updated = await updateEscalationPolicy(deps.db, policy, settings, fields.position, fields.manual_order ?? false).catch(
      positionError,
    )
    res.json(escalationPolicyToWire(updated))
  }

  resource(router, '/escalation_policies/:id', {
    GET: async (req, res) => {
      const { organizationId } = requirePermission(req, 'read')
      const policy = await getEscalationPolicy(deps.db, organizationId, policyId(req))
      if (!policy) throw notFound()
      res.json(escalationPolicyToWire(policy))
    },
    PUT: update,
    PATCH: update,
    DELETE: async (req, res) => {
      const { organizationId } = requirePermission(req, 'admin')
      if (!(await deleteEscalationPolicy(deps.db, organizationId, policyId(req)))) throw notFound()
      res.status(204).end()
    },
  })

  resource(router, '/escalation_policies/:id/advance_round_robin', {
    POST: async (req, res) => {
      const { organizationId } = requirePermission(req, 'admin')
      const policy = await getEscalationPolicy(deps.db, organizationId, policyId(req))
      if (!policy) throw notFound()
      const advanced = await advanceRoundRobin(deps.db, policy)
      if (advanced.kind === 'not_round_robin') {
        throw badRequest('Only notify_person_next_each_time policies have a round-robin position')
      }
      if (advanced.kind === 'no_users') throw badRequest('The round-robin queue of this policy has no users')
      res.json({ user_id: advanced.userId, username: advanced.username })
    },
  })

  return router
}
