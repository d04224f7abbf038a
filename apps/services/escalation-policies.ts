import type { Db } from '../../db/connect'
import { getEscalationChain } from '../../db/escalation-chains.repo'
import * as policies from '../../db/escalation-policies.repo'
import type { EscalationPolicy } from '../../db/escalation-policies.repo'
import { InvalidPositionError } from '../../db/ordering'
import { getSchedule } from '../../db/schedules.repo'
import { getTeam } from '../../db/teams.repo'
import { getUserGroup } from '../../db/user-groups.repo'
import { existingUserIds } from '../../db/users.repo'
import { getWebhook } from '../../db/webhooks.repo'
import {
  emptySettings,
  settingsAfterTypeChange,
  settingsOfType,
  stepRegistry,
  type StepField,
  type StepSettings,
  type StepType,
} from '../../workflows/oncall/steps'
import { ServiceError } from './errors'

export type { EscalationPolicy }

/** What a write asks for. Settings the step's type does not use are ignored (but their references are checked). */
export interface PolicyRequest {
  readonly settings: Partial<StepSettings>
  /** OnCall's ordering: insert and shift, -1 for the end, or under `manualOrder` swap with the holder. */
  readonly position?: number
  readonly manualOrder: boolean
}

export interface NewPolicy extends PolicyRequest {
  readonly chainId: string
  readonly type: StepType
}

export interface PolicyChange extends PolicyRequest {
  /** A type sent, even the current one, names the base step: without `important` it drops the importance. */
  readonly type?: StepType
}

export type RoundRobinAdvance =
  | { readonly kind: 'advanced'; readonly userId: string; readonly username: string }
  | { readonly kind: 'not_round_robin' }
  | { readonly kind: 'no_users' }

/** How each setting that names another object of the organization is looked up, in the order they are checked. */
const referenceLookups = {
  scheduleId: getSchedule,
  userGroupId: getUserGroup,
  teamId: getTeam,
  webhookId: getWebhook,
} as const satisfies Partial<Record<StepField, (db: Db, organizationId: string, id: string) => Promise<unknown>>>

const referenceFields = Object.keys(referenceLookups) as Array<keyof typeof referenceLookups>

/** Every setting of a request that names nothing in the organization (`details.field` is the first of `fields`). */
export class UnknownReferencesError extends ServiceError {
  override name = 'UnknownReferencesError'
  constructor(readonly fields: readonly [StepField, ...StepField[]]) {
    super('invalid_reference', `unknown ${fields.join(', ')}`, { field: fields[0] })
  }
}

/**
 * Checks every reference a request sends, whether its type uses it or not (OnCall validates every field); user
 * lists keep only the organization's users, silently.
 */
async function checkedSettings(db: Db, organizationId: string, settings: Partial<StepSettings>): Promise<Partial<StepSettings>> {
  const unknown: StepField[] = []
  for (const field of referenceFields) {
    const id = settings[field]
    if (typeof id === 'string' && !(await referenceLookups[field](db, organizationId, id))) unknown.push(field)
  }
  if (unknown.length > 0) throw new UnknownReferencesError(unknown as [StepField, ...StepField[]])
  if (settings.userIds === undefined) return settings
  return { ...settings, userIds: await existingUserIds(db, organizationId, settings.userIds) }
}

/** The settings of `requested` that `type` uses, `important` only where the type has the variant. */
function requestedOfType(type: StepType, requested: Partial<StepSettings>): Partial<StepSettings> {
  const keys: Array<keyof StepSettings> = [
    ...(stepRegistry[type].hasImportantVariant ? (['important'] as const) : []),
    ...stepRegistry[type].fields,
  ]
  const own: Record<string, unknown> = {}
  for (const key of keys) if (requested[key] !== undefined) own[key] = requested[key]
  return own as Partial<StepSettings>
}

function sameSetting(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((item, i) => item === b[i])
  return a === b
}

/** A new step's settings: what the request sets for its type, the rest empty. */
export function settingsOfNewStep(type: StepType, requested: Partial<StepSettings>): StepSettings {
  return settingsOfType(type, { ...emptySettings(), ...requestedOfType(type, requested) })
}

/**
 * A step after a change: a new type keeps the settings both types use and clears the others (the registry's rule),
 * then the request's settings for the type apply. A type sent, even the current one, names OnCall's base step, so
 * without `important` it drops the importance. `written` is what to store: what changes and what the request sets.
 */
export function stepAfterChange(
  current: { readonly type: StepType; readonly settings: StepSettings },
  requestedType: StepType | undefined,
  requested: Partial<StepSettings>,
): { type: StepType; settings: StepSettings; written: Partial<StepSettings> } {
  const type = requestedType ?? current.type
  const base = type === current.type ? current.settings : settingsAfterTypeChange(current.settings, current.type, type)
  const own = requestedOfType(type, requested)
  let next: StepSettings = { ...base, ...own }
  if (requestedType !== undefined && requested.important === undefined) next = { ...next, important: false }
  next = settingsOfType(type, next)
  const written: Record<string, unknown> = {}
  for (const key of Object.keys(next) as Array<keyof StepSettings>) {
    if (key in own || !sameSetting(current.settings[key], next[key])) written[key] = next[key]
  }
  return { type, settings: next, written: written as Partial<StepSettings> }
}

function invalidPosition(err: unknown): never {
  if (err instanceof InvalidPositionError) throw new ServiceError('invalid_value', err.message, { field: 'position' })
  throw err
}

export function listEscalationPolicies(
  db: Db,
  organizationId: string,
  filter: { chainId?: string },
  page: { offset: number; limit: number },
): Promise<{ rows: EscalationPolicy[]; count: number }> {
  return policies.listEscalationPolicies(db, organizationId, filter, page)
}

/** The policy, or `not_found`. */
export async function getEscalationPolicy(db: Db, organizationId: string, id: string): Promise<EscalationPolicy> {
  const policy = await policies.getEscalationPolicy(db, organizationId, id)
  if (!policy) throw new ServiceError('not_found', `no escalation policy ${id}`)
  return policy
}

/**
 * Adds a step to a chain of the organization (`invalid_reference` on `chainId` otherwise) with the settings its
 * type uses; `invalid_value` on `position` when OnCall's ordering refuses the position.
 */
export async function createEscalationPolicy(db: Db, organizationId: string, request: NewPolicy): Promise<EscalationPolicy> {
  const chain = await getEscalationChain(db, organizationId, request.chainId)
  if (!chain) throw new ServiceError('invalid_reference', `no escalation chain ${request.chainId}`, { field: 'chainId' })
  const settings = settingsOfNewStep(request.type, await checkedSettings(db, organizationId, request.settings))
  return policies
    .createEscalationPolicy(db, organizationId, {
      chainId: chain.id,
      type: request.type,
      settings,
      position: request.position,
      manualOrder: request.manualOrder,
    })
    .catch(invalidPosition)
}

/** Changes a step's type and settings (see `stepAfterChange`) and moves it when `position` is given, all or nothing. */
export async function updateEscalationPolicy(db: Db, policy: EscalationPolicy, change: PolicyChange): Promise<EscalationPolicy> {
  const requested = await checkedSettings(db, policy.organizationId, change.settings)
  const next = stepAfterChange(policy, change.type, requested)
  return policies
    .updateEscalationPolicy(db, policy, {
      type: next.type !== policy.type ? next.type : undefined,
      settings: next.written,
      position: change.position,
      manualOrder: change.manualOrder,
    })
    .catch(invalidPosition)
}

/** Deletes a step; the others keep their positions (OnCall leaves the gap). */
export async function deleteEscalationPolicy(db: Db, organizationId: string, id: string): Promise<void> {
  if (!(await policies.deleteEscalationPolicy(db, organizationId, id))) {
    throw new ServiceError('not_found', `no escalation policy ${id}`)
  }
}

/** Moves a round-robin step's pointer to the next user of its queue and says who is now at the head. */
export async function advanceRoundRobin(db: Db, organizationId: string, id: string): Promise<RoundRobinAdvance> {
  const policy = await getEscalationPolicy(db, organizationId, id)
  if (policy.type !== 'notify_person_next_each_time') return { kind: 'not_round_robin' }
  const head = await policies.advanceRoundRobinPointer(db, policy)
  return head ? { kind: 'advanced', userId: head.userId, username: head.username } : { kind: 'no_users' }
}
