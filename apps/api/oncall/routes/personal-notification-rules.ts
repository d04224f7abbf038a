import { Router, type Request } from 'express'
import { ServiceError } from '../../../services/errors'
import {
  checkRuleOwner,
  createPersonalNotificationRule,
  deletePersonalNotificationRule,
  DurationNotAllowedError,
  getPersonalNotificationRule,
  listPersonalNotificationRules,
  updatePersonalNotificationRule,
  type PersonalNotificationRule,
  type RuleFilter,
} from '../../../services/personal-notification-rules'
import { hasRole } from '../../../services/roles'
import { NOTIFICATION_RULE_TYPES, type NotificationRuleType } from '../../../../workflows/core/personal-rules'
import { requirePermission, type Caller } from '../auth'
import type { ApiDeps } from '../../deps'
import { ApiError, badRequest, parseOrThrow } from '../errors'
import { paginate } from '../pagination'
import { queryString } from '../relations'
import { resource, type Handler } from '../router'
import { durationText, importantFilter, newRuleSchema, ruleChangeSchema } from '../schemas/personal-notification-rules'

// OnCall's FiftyPageSizePaginator.
const RULES_PAGE_SIZE = 50

/** OnCall's object: `duration` (seconds) only on a wait. */
export function personalNotificationRuleToWire(rule: PersonalNotificationRule): Record<string, unknown> {
  return {
    id: rule.id,
    user_id: rule.userId,
    position: rule.position,
    type: rule.type,
    ...(rule.type === 'wait' ? { duration: rule.durationSeconds } : {}),
    important: rule.important,
  }
}

/**
 * OnCall's user-settings permissions: viewers read, editors write (any user's rules of the organization, as its
 * public API allows). Checked before any lookup.
 */
function requireUserSettings(req: Request, access: 'read' | 'write'): Caller {
  const caller = requirePermission(req, 'read')
  if (access === 'write' && !hasRole(caller.user.role, 'editor')) {
    throw new ApiError(403, { detail: 'You do not have permission to perform this action.' })
  }
  return caller
}

const userNotFound = () => badRequest('User not found.')

/**
 * The `user_id` and `important` filters, which OnCall applies to the detail routes as well: an unknown user is
 * `User not found.` (checked first), an importance other than `true`/`false` is `Important is not bool`.
 */
async function filterOf(req: Request, deps: ApiDeps, organizationId: string): Promise<RuleFilter> {
  const userId = queryString(req.query.user_id)
  if (userId !== undefined) await checkRuleOwner(deps.db, organizationId, userId).catch(inOnCallWords(userNotFound))
  const important = importantFilter.safeParse(queryString(req.query.important))
  if (!important.success) throw badRequest('Important is not bool')
  return {
    ...(userId !== undefined ? { userId } : {}),
    ...(important.data !== undefined ? { important: important.data === 'true' } : {}),
  }
}

/** The service's refusals in OnCall's words; `unknownUser` differs between filters and bodies. */
function inOnCallWords(unknownUser: () => ApiError) {
  return (err: unknown): never => {
    if (err instanceof DurationNotAllowedError) throw new ApiError(400, { duration: "Duration can't be set" })
    if (err instanceof ServiceError && err.code === 'invalid_reference' && err.details.field === 'userId') throw unknownUser()
    if (err instanceof ServiceError && err.code === 'invalid_value' && err.details.field === 'position') {
      throw badRequest('Invalid value for position field')
    }
    throw err
  }
}

const isPlainObject = (body: unknown): body is Record<string, unknown> =>
  typeof body === 'object' && body !== null && !Array.isArray(body)

/** OnCall reads `duration` before any field: what is neither a number nor a clock string is a top-level detail. */
function checkDurationFormat(body: unknown): void {
  if (isPlainObject(body) && 'duration' in body && durationText(body.duration) === undefined) {
    throw badRequest('Invalid duration format')
  }
}

/** The user a create names, as OnCall reads it: any value that is not null or blank names a user (or nobody). */
function sentUserId(body: unknown): string | undefined {
  if (!isPlainObject(body)) return undefined
  const raw = body.user_id
  if (raw === undefined || raw === null) return undefined
  const text = typeof raw === 'string' ? raw.trim() : JSON.stringify(raw)
  return text === '' ? undefined : text
}

/** `type` as OnCall maps it to a rule; anything else is a bare string under `type`. */
function ruleType(type: string): NotificationRuleType {
  if (!(NOTIFICATION_RULE_TYPES as readonly string[]).includes(type)) throw new ApiError(400, { type: 'Invalid type' })
  return type as NotificationRuleType
}

function ruleId(req: Request): string {
  return String(req.params.id)
}

export function personalNotificationRulesRouter(deps: ApiDeps): Router {
  const router = Router()
  const userDoesNotExist = () => badRequest('User does not exist')

  resource(router, '/personal_notification_rules', {
    GET: async (req, res) => {
      const { organizationId } = requireUserSettings(req, 'read')
      const filter = await filterOf(req, deps, organizationId)
      res.json(
        await paginate(
          req,
          deps.publicUrl,
          RULES_PAGE_SIZE,
          (page) => listPersonalNotificationRules(deps.db, organizationId, filter, page),
          personalNotificationRuleToWire,
        ),
      )
    },
    POST: async (req, res) => {
      const { organizationId } = requireUserSettings(req, 'write')
      const body = req.body === undefined ? {} : req.body
      checkDurationFormat(body)
      // OnCall looks the user up while it validates the fields, and that refusal replaces every field error.
      const named = sentUserId(body)
      if (named !== undefined) await checkRuleOwner(deps.db, organizationId, named).catch(inOnCallWords(userDoesNotExist))
      const fields = parseOrThrow(newRuleSchema, body)
      if (fields.type === undefined) throw new ApiError(400, { type: 'Type is required' })
      const rule = await createPersonalNotificationRule(deps.db, organizationId, {
        userId: fields.user_id,
        important: fields.important ?? false,
        type: ruleType(fields.type),
        durationSeconds: fields.duration,
        position: fields.position,
        manualOrder: fields.manual_order ?? false,
      }).catch(inOnCallWords(userDoesNotExist))
      res.status(201).json(personalNotificationRuleToWire(rule))
    },
  })

  // PUT and PATCH behave alike: every field of OnCall's update serializer is optional; user and importance stay.
  const update: Handler = async (req, res) => {
    const { organizationId } = requireUserSettings(req, 'write')
    // DRF looks the object up (through the list's filters) before it validates the body.
    const rule = await getPersonalNotificationRule(deps.db, organizationId, ruleId(req), await filterOf(req, deps, organizationId))
    const body = req.body === undefined ? {} : req.body
    checkDurationFormat(body)
    const fields = parseOrThrow(ruleChangeSchema, body)
    const updated = await updatePersonalNotificationRule(deps.db, rule, {
      type: fields.type === undefined ? undefined : ruleType(fields.type),
      durationSeconds: fields.duration,
      position: fields.position,
      manualOrder: fields.manual_order ?? false,
    }).catch(inOnCallWords(userDoesNotExist))
    res.json(personalNotificationRuleToWire(updated))
  }

  resource(router, '/personal_notification_rules/:id', {
    GET: async (req, res) => {
      const { organizationId } = requireUserSettings(req, 'read')
      const filter = await filterOf(req, deps, organizationId)
      res.json(personalNotificationRuleToWire(await getPersonalNotificationRule(deps.db, organizationId, ruleId(req), filter)))
    },
    PUT: update,
    PATCH: update,
    DELETE: async (req, res) => {
      const { organizationId } = requireUserSettings(req, 'write')
      await deletePersonalNotificationRule(deps.db, organizationId, ruleId(req), await filterOf(req, deps, organizationId))
      res.status(204).end()
    },
  })

  return router
}
