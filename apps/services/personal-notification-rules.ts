import type { Db } from '../../db/connect'
import { InvalidPositionError } from '../../db/ordering'
import * as rules from '../../db/personal-notification-rules.repo'
import type { PersonalNotificationRule, RuleFilter } from '../../db/personal-notification-rules.repo'
import { findUsers } from '../../db/users.repo'
import { DEFAULT_WAIT_SECONDS, WAIT_DURATIONS_SECONDS, type NotificationRuleType } from '../../workflows/core/personal-rules'
import { ServiceError } from './errors'

export type { PersonalNotificationRule, RuleFilter }

/** What a write asks for; the position follows OnCall's ordering within the (user, importance) list. */
interface RuleRequest {
  /** Seconds, for a wait only: one of WAIT_DURATIONS_SECONDS. */
  readonly durationSeconds?: number
  /** Insert and shift, -1 for the end, or under `manualOrder` swap with the holder. */
  readonly position?: number
  readonly manualOrder: boolean
}

export interface NewRule extends RuleRequest {
  readonly userId: string
  readonly important: boolean
  readonly type: NotificationRuleType
}

export interface RuleChange extends RuleRequest {
  /** A type sent, even the current one, names the rule afresh: a wait without a duration waits the default. */
  readonly type?: NotificationRuleType
}

const noSuchRule = (id: string) => new ServiceError('not_found', `no personal notification rule ${id}`)

function invalidPosition(err: unknown): never {
  if (err instanceof InvalidPositionError) throw new ServiceError('invalid_value', err.message, { field: 'position' })
  throw err
}

function checkDuration(seconds: number): void {
  if (!(WAIT_DURATIONS_SECONDS as readonly number[]).includes(seconds)) {
    throw new ServiceError('invalid_value', `a wait lasts one of ${WAIT_DURATIONS_SECONDS.join(', ')} seconds`, { field: 'durationSeconds' })
  }
}

/** A duration on a rule that is not a wait. */
export class DurationNotAllowedError extends ServiceError {
  override name = 'DurationNotAllowedError'
  constructor() {
    super('invalid_value', 'only a wait has a duration', { field: 'durationSeconds' })
  }
}

const noSuchUser = (userId: string) => new ServiceError('invalid_reference', `no user ${userId}`, { field: 'userId' })

/** `invalid_reference` on `userId` unless the user is one of the organization's (rules and filters name only those). */
export async function checkRuleOwner(db: Db, organizationId: string, userId: string): Promise<void> {
  // PostgreSQL cannot compare text holding U+0000: such an id names nobody.
  if (userId.includes('\u0000') || (await findUsers(db, organizationId, [userId])).length === 0) throw noSuchUser(userId)
}

/** One page of the organization's rules, by user, the default list first, then position. */
export async function listPersonalNotificationRules(
  db: Db,
  organizationId: string,
  filter: RuleFilter,
  page: { offset: number; limit: number },
): Promise<{ rows: PersonalNotificationRule[]; count: number }> {
  return rules.listPersonalNotificationRules(db, organizationId, filter, page)
}

/** The rule, if it passes `filter` (OnCall's detail routes read through the list's filters), or `not_found`. */
export async function getPersonalNotificationRule(db: Db, organizationId: string, id: string, filter: RuleFilter = {}): Promise<PersonalNotificationRule> {
  const rule = await rules.getPersonalNotificationRule(db, organizationId, id, filter)
  if (!rule) throw noSuchRule(id)
  return rule
}

/**
 * Adds a rule to one of a user's lists: `invalid_reference` on `userId` for a user outside the organization,
 * `invalid_value` on `durationSeconds` for a duration on anything but a wait (a wait without one waits 5 minutes),
 * `invalid_value` on `position` when OnCall's ordering refuses it. Nothing is written on a refusal.
 */
export async function createPersonalNotificationRule(db: Db, organizationId: string, request: NewRule): Promise<PersonalNotificationRule> {
  // The insert finds the user (and holds it) itself; only an id PostgreSQL cannot compare is refused up front.
  if (request.userId.includes('\u0000')) throw noSuchUser(request.userId)
  if (request.type !== 'wait' && request.durationSeconds !== undefined) throw new DurationNotAllowedError()
  if (request.durationSeconds !== undefined) checkDuration(request.durationSeconds)
  const created = await rules
    .createPersonalNotificationRule(db, organizationId, {
      userId: request.userId,
      important: request.important,
      type: request.type,
      durationSeconds: request.type === 'wait' ? (request.durationSeconds ?? DEFAULT_WAIT_SECONDS) : null,
      position: request.position,
      manualOrder: request.manualOrder,
    })
    .catch(invalidPosition)
  if (!created) throw noSuchUser(request.userId)
  return created
}

/**
 * Changes a rule's type or duration and moves it when `position` is given, all or nothing; its user and list stay.
 * A duration is refused on anything but a wait; a new type clears the duration or, for a wait, sets the default.
 */
export async function updatePersonalNotificationRule(db: Db, rule: PersonalNotificationRule, change: RuleChange): Promise<PersonalNotificationRule> {
  const type = change.type ?? rule.type
  if (type !== 'wait' && change.durationSeconds !== undefined) throw new DurationNotAllowedError()
  if (change.durationSeconds !== undefined) checkDuration(change.durationSeconds)
  let durationSeconds: number | null | undefined = change.durationSeconds
  if (change.type !== undefined) durationSeconds = type === 'wait' ? (change.durationSeconds ?? DEFAULT_WAIT_SECONDS) : null
  const updated = await rules
    .updatePersonalNotificationRule(db, rule, {
      type: change.type,
      durationSeconds,
      position: change.position,
      manualOrder: change.manualOrder,
    })
    .catch(invalidPosition)
  if (!updated) throw noSuchRule(rule.id)
  return updated
}

/** Deletes a rule that passes `filter`; the others keep their positions (OnCall leaves the gap). */
export async function deletePersonalNotificationRule(db: Db, organizationId: string, id: string, filter: RuleFilter = {}): Promise<void> {
  const rule = await getPersonalNotificationRule(db, organizationId, id, filter)
  if (!(await rules.deletePersonalNotificationRule(db, organizationId, rule.id))) throw noSuchRule(id)
}
