import { insertAlertGroup } from '../../db/alert-groups.repo'
import type { Db } from '../../db/connect'
import { isArchivedEscalationPath } from '../../db/escalation-paths.repo'
import * as repo from '../../db/escalations.repo'
import type { Escalation, EscalationAlert, EscalationFilter, EscalationStatus, EscalationTimelineEntry } from '../../db/escalations.repo'
import { newPublicId } from '../../db/ids'
import { ensureDirectPagingIntegration } from '../../db/integrations.repo'
import { findUsers, type User } from '../../db/users.repo'
import type { Refusal } from '../../workflows/core/lifecycle'
import type { ChannelTarget, EscalationProgram } from '../../workflows/core/program'
import type { Actor, AlertGroupRecord } from '../../workflows/core/types'
import { compileDirect, compilePath } from '../../workflows/incident-io/compile'
import { DEFAULT_PRIORITY } from '../../workflows/incident-io/path'
import { alertGroupWorkflowId } from '../../workflows/messages'
import type { EscalationAction } from '../escalations'
import type { AlertGroupDeps } from './alert-groups'
import { getEscalationPath } from './escalation-paths'
import { callEngine, ServiceError } from './errors'

// incident.io's escalations: each is an alert group on the organization's direct-paging integration, run by the
// same workflow as any other, with a compiled program instead of an OnCall chain. The escalation row, the alert
// group and the workflow start commit together, so a request either pages or leaves nothing behind.

export type { Escalation, EscalationAlert, EscalationFilter, EscalationStatus }
export { ESCALATION_STATUSES } from '../../db/escalations.repo'

/** How far ahead a snooze may reach. */
export const MAX_SNOOZE_SECONDS = 7 * 24 * 3600

/** Who is asking: the API key's user. */
export type Requester = User

/** Where an escalation pages: exactly one of the two must be given (checked here, after a replay). */
export interface EscalationTarget {
  readonly escalationPathId?: string
  /** Paged in this order; a user named twice is paged once. */
  readonly userIds?: readonly string[]
}

export interface CreateEscalationRequest extends EscalationTarget {
  readonly idempotencyKey: string
  readonly title: string
  readonly description: string
  /** A priority name; absent: DEFAULT_PRIORITY. */
  readonly priority?: string
  readonly incidentId?: string
}

export interface ReassignRequest extends EscalationTarget {
  readonly title?: string
  readonly description?: string
  /** Resolve the original once the new escalation is created (incident.io's default). */
  readonly resolveOriginal: boolean
}

export type EscalationResponse =
  | { readonly kind: 'ack' }
  /** Not me: skip the rest of the wait for an acknowledgement and go on to the next node now. */
  | { readonly kind: 'nack' }
  | { readonly kind: 'snooze'; readonly until: Date }

/** Why a request is refused before anything happens; the API dialect words each and names its field. */
export type EscalationProblem =
  | { readonly kind: 'no_target' }
  | { readonly kind: 'both_targets' }
  /** `index` is the position in the request's `user_ids`. */
  | { readonly kind: 'unknown_user'; readonly index: number; readonly userId: string }
  | { readonly kind: 'unknown_path'; readonly escalationPathId: string }
  | { readonly kind: 'archived_path'; readonly escalationPathId: string }
  | { readonly kind: 'already_reassigned'; readonly reassignedToId: string | null }
  | { readonly kind: 'snooze_not_in_future' }
  | { readonly kind: 'snooze_too_far'; readonly maxSeconds: number }

/** A notified chat channel (incident.io's ChatChannelSlim). */
export interface NotifiedChannel {
  readonly slackTeamId?: string
  readonly slackChannelId?: string
  readonly microsoftTeamsTeamId?: string
  readonly microsoftTeamsChannelId?: string
}

/** What happened to an escalation, from its alert group's timeline. Instants are PostgreSQL's UTC text. */
export type EscalationEvent =
  | { readonly kind: 'triggered'; readonly id: string; readonly at: string }
  | { readonly kind: 'notified_users'; readonly id: string; readonly at: string; readonly urgency: 'high' | 'low'; readonly users: readonly User[] }
  | { readonly kind: 'notified_channels'; readonly id: string; readonly at: string; readonly channels: readonly NotifiedChannel[] }
  | { readonly kind: 'acked'; readonly id: string; readonly at: string; readonly users: readonly User[] }
  | { readonly kind: 'cancelled' | 'resolved' | 'expired'; readonly id: string; readonly at: string }

/** An escalation with its history and the alerts of its alert group. */
export interface EscalationView {
  readonly escalation: Escalation
  readonly events: readonly EscalationEvent[]
  readonly alerts: readonly EscalationAlert[]
}

export type CreateOutcome =
  /** `replayed`: the idempotency key was used before; this is the escalation it created. */
  | { readonly kind: 'created' | 'replayed'; readonly view: EscalationView }
  | { readonly kind: 'invalid'; readonly problems: readonly EscalationProblem[] }

export type ReassignOutcome = { readonly kind: 'reassigned'; readonly view: EscalationView } | { readonly kind: 'invalid'; readonly problems: readonly EscalationProblem[] }

export type ActOutcome = { readonly kind: 'done' } | { readonly kind: 'invalid'; readonly problems: readonly EscalationProblem[] }

interface CheckedTarget {
  readonly escalationPathId: string | null
  readonly userIds: readonly string[] | null
  readonly program: (priority: string) => EscalationProgram
}

/** Exactly one target, of the organization: the problems in field order, or the compiled program. */
async function checkTarget(db: Db, organizationId: string, target: EscalationTarget): Promise<CheckedTarget | EscalationProblem[]> {
  const { escalationPathId, userIds } = target
  if (escalationPathId === undefined && userIds === undefined) return [{ kind: 'no_target' }]
  if (escalationPathId !== undefined && userIds !== undefined) return [{ kind: 'both_targets' }]
  if (userIds !== undefined) {
    const known = new Set((await findUsers(db, organizationId, userIds)).map((u) => u.id))
    const problems = userIds.flatMap((userId, index) => (known.has(userId) ? [] : [{ kind: 'unknown_user' as const, index, userId }]))
    if (problems.length > 0) return problems
    const paged = [...new Set(userIds)]
    return { escalationPathId: null, userIds: paged, program: () => compileDirect(paged) }
  }
  const pathId = escalationPathId as string
  const path = await getEscalationPath(db, organizationId, pathId)
  if (!path) {
    const archived = await isArchivedEscalationPath(db, organizationId, pathId)
    return [{ kind: archived ? 'archived_path' : 'unknown_path', escalationPathId: pathId }]
  }
  return { escalationPathId: pathId, userIds: null, program: (priority) => compilePath(path, { priority }) }
}

function actorOf(requester: Requester): Extract<Actor, { kind: 'user' }> {
  return { kind: 'user', userId: requester.id, username: requester.username }
}

function creatorOf(requester: Requester): repo.EscalationCreator {
  return {
    user: {
      id: requester.id,
      username: requester.username,
      email: requester.email,
      role: requester.role,
      slackUserId: requester.slack?.userId ?? null,
    },
  }
}

/** Thrown inside a transaction to roll it back; never leaves this module. */
class Rollback extends Error {
  override name = 'Rollback'
  constructor(readonly reason: 'duplicate_key' | 'already_reassigned') {
    super(reason)
  }
}

interface Launch {
  readonly organizationId: string
  readonly requester: Requester
  readonly fields: Omit<repo.NewEscalation, 'id' | 'organizationId' | 'alertGroupId' | 'createdAt' | 'creator'>
  readonly program: EscalationProgram
  /** Runs first inside the transaction. */
  readonly beforeInsert?: (trx: Db) => Promise<void>
  /** Runs inside the transaction once the rows are written, before the workflow starts. */
  readonly beforeStart?: (trx: Db, escalationId: string) => Promise<void>
}

/**
 * Writes the alert group and the escalation row and starts the workflow, in one transaction: an engine outage or a
 * rollback leaves nothing. Returns the new escalation's id.
 */
async function launch(deps: AlertGroupDeps, { organizationId, requester, fields, program, beforeInsert, beforeStart }: Launch): Promise<string> {
  const target = await ensureDirectPagingIntegration(deps.db, organizationId, null)
  const id = repo.newUlid()
  const alertGroupId = newPublicId('I')
  const createdAt = new Date().toISOString()
  const record: AlertGroupRecord = {
    id: alertGroupId,
    organizationId,
    integrationId: target.integrationId,
    routeId: target.routeId,
    teamId: null,
    title: fields.title,
    message: fields.description === '' ? null : fields.description,
    sourceUrl: null,
    workflowId: alertGroupWorkflowId(alertGroupId),
    createdAt,
    firstAlert: {
      id: newPublicId('A'),
      payload: {
        escalation: {
          id,
          title: fields.title,
          description: fields.description,
          priority: fields.priority,
          idempotency_key: fields.idempotencyKey,
          ...(fields.escalationPathId !== null ? { escalation_path_id: fields.escalationPathId } : { user_ids: fields.userIds }),
          ...(fields.incidentId !== null ? { incident_id: fields.incidentId } : {}),
        },
      },
    },
  }
  const actor = actorOf(requester)
  await deps.db.transaction().execute(async (trx) => {
    await beforeInsert?.(trx)
    await insertAlertGroup(trx, record)
    const inserted = await repo.insertEscalation(trx, { ...fields, id, organizationId, alertGroupId, createdAt, creator: creatorOf(requester) })
    if (!inserted) throw new Rollback('duplicate_key')
    await beforeStart?.(trx, id)
    await callEngine(deps.logger, 'start escalation', () => deps.escalations.start({ alertGroup: record, createdBy: actor, directPages: [], escalation: null, program }), {
      nothingPaged: true,
    })
  })
  return id
}

/**
 * Creates an escalation, or returns the one its idempotency key created before (whatever the body says now).
 * Concurrent requests with one key create exactly one: the second waits on the first's row and replays it.
 */
export async function createEscalation(deps: AlertGroupDeps, organizationId: string, requester: Requester, request: CreateEscalationRequest): Promise<CreateOutcome> {
  const replay = async () => {
    const existing = await repo.getEscalationByKey(deps.db, organizationId, request.idempotencyKey)
    return existing && { kind: 'replayed' as const, view: (await viewsOf(deps.db, organizationId, [existing]))[0] as EscalationView }
  }
  const replayed = await replay()
  if (replayed) return replayed
  const checked = await checkTarget(deps.db, organizationId, request)
  if (Array.isArray(checked)) return { kind: 'invalid', problems: checked }
  const priority = request.priority ?? DEFAULT_PRIORITY
  let id: string
  try {
    id = await launch(deps, {
      organizationId,
      requester,
      program: checked.program(priority),
      fields: {
        idempotencyKey: request.idempotencyKey,
        escalationPathId: checked.escalationPathId,
        userIds: checked.userIds,
        title: request.title,
        description: request.description,
        priority,
        incidentId: request.incidentId ?? null,
        reassignedFromId: null,
      },
    })
  } catch (err) {
    if (!(err instanceof Rollback)) throw err
    // Another request with this key committed first.
    const raced = await replay()
    if (!raced) throw new Error(`escalation with idempotency key ${request.idempotencyKey} vanished after a conflict`, { cause: err })
    return raced
  }
  return { kind: 'created', view: await getEscalationView(deps.db, organizationId, id) }
}

/** The organization's escalation; `not_found` for an unknown id or another organization's. */
export async function getEscalation(db: Db, organizationId: string, id: string): Promise<Escalation> {
  const escalation = await repo.getEscalation(db, organizationId, id)
  if (!escalation) throw new ServiceError('not_found', `escalation ${id} not found`)
  return escalation
}

export async function getEscalationView(db: Db, organizationId: string, id: string): Promise<EscalationView> {
  const escalation = await getEscalation(db, organizationId, id)
  return (await viewsOf(db, organizationId, [escalation]))[0] as EscalationView
}

/**
 * Up to `limit` of the organization's escalations, newest first, after the escalation `after`; undefined when `after`
 * is not one of the organization's escalations.
 */
export async function listEscalations(
  db: Db,
  organizationId: string,
  filter: EscalationFilter,
  page: { readonly after?: string; readonly limit: number },
): Promise<EscalationView[] | undefined> {
  const found = await repo.listEscalations(db, organizationId, filter, page)
  return found && viewsOf(db, organizationId, found)
}

/**
 * Ack, nack or snooze. A refusal (`refused`, with the lifecycle's code) changes nothing; so does a snooze that is
 * not in the future or reaches too far (`invalid`).
 */
export async function respondToEscalation(
  deps: AlertGroupDeps,
  organizationId: string,
  requester: Requester,
  id: string,
  response: EscalationResponse,
  now: Date = new Date(),
): Promise<ActOutcome> {
  const escalation = await getEscalation(deps.db, organizationId, id)
  switch (response.kind) {
    case 'ack':
      await act(deps, escalation, 'acknowledge', requester)
      return { kind: 'done' }
    case 'nack':
      await act(deps, escalation, 'escalate_now', requester)
      return { kind: 'done' }
    case 'snooze': {
      const seconds = Math.ceil((response.until.getTime() - now.getTime()) / 1000)
      if (seconds <= 0) return { kind: 'invalid', problems: [{ kind: 'snooze_not_in_future' }] }
      if (seconds > MAX_SNOOZE_SECONDS) return { kind: 'invalid', problems: [{ kind: 'snooze_too_far', maxSeconds: MAX_SNOOZE_SECONDS }] }
      await act(deps, escalation, 'silence', requester, seconds)
      return { kind: 'done' }
    }
  }
}

/** Stops all paging. Cancelling a cancelled escalation succeeds and changes nothing; a resolved or expired one is refused. */
export async function cancelEscalation(deps: AlertGroupDeps, organizationId: string, requester: Requester, id: string): Promise<void> {
  const escalation = await getEscalation(deps.db, organizationId, id)
  if (escalation.status === 'cancelled') return
  await act(deps, escalation, 'cancel', requester)
}

/**
 * A new escalation for the original's title, description, priority and incident (title and description may be
 * replaced), linked both ways; then the original is resolved when asked. At most once per escalation: the original's
 * row, locked and then updated only while unclaimed in the creating transaction, makes one of parallel reassigns win.
 */
export async function reassignEscalation(
  deps: AlertGroupDeps,
  organizationId: string,
  requester: Requester,
  id: string,
  request: ReassignRequest,
): Promise<ReassignOutcome> {
  const original = await getEscalation(deps.db, organizationId, id)
  const alreadyReassigned = (reassignedToId: string | null) => ({ kind: 'invalid' as const, problems: [{ kind: 'already_reassigned' as const, reassignedToId }] })
  if (original.reassignedToId !== null) return alreadyReassigned(original.reassignedToId)
  const checked = await checkTarget(deps.db, organizationId, request)
  if (Array.isArray(checked)) return { kind: 'invalid', problems: checked }
  let newId: string
  try {
    newId = await launch(deps, {
      organizationId,
      requester,
      program: checked.program(original.priority),
      fields: {
        idempotencyKey: null,
        escalationPathId: checked.escalationPathId,
        userIds: checked.userIds,
        title: request.title ?? original.title,
        description: request.description ?? original.description,
        priority: original.priority,
        incidentId: original.incidentId,
        reassignedFromId: original.id,
      },
      // The original's row lock comes first: a parallel reassign waits on it, then finds the original taken. (Taken
      // after the insert, the new row's reference to the original would lock it first in both, and deadlock.)
      beforeInsert: async (trx) => {
        if (!(await repo.lockUnreassigned(trx, organizationId, original.id))) throw new Rollback('already_reassigned')
      },
      beforeStart: async (trx, escalationId) => {
        if (!(await repo.claimReassignment(trx, organizationId, original.id, escalationId))) throw new Rollback('already_reassigned')
        // Before the new workflow starts: if the engine fails here, the rollback undoes the claim and a retry can
        // reassign again, instead of leaving a second escalation paging next to the original.
        if (request.resolveOriginal) await resolveOriginal(deps, original, requester)
      },
    })
  } catch (err) {
    if (!(err instanceof Rollback)) throw err
    return alreadyReassigned((await repo.getEscalation(deps.db, organizationId, original.id))?.reassignedToId ?? null)
  }
  return { kind: 'reassigned', view: await getEscalationView(deps.db, organizationId, newId) }
}

/** An original that has already ended needs no resolving. */
async function resolveOriginal(deps: AlertGroupDeps, original: Escalation, requester: Requester): Promise<void> {
  if (original.status === 'resolved' || original.status === 'cancelled' || original.status === 'expired') return
  const outcome = await callEngine(deps.logger, 'resolve reassigned escalation', () => deps.escalations.act(original.alertGroupId, 'resolve', actorOf(requester)))
  if (outcome.kind === 'refused' && outcome.refusal.code !== 'resolved') throw refused(outcome.refusal)
}

/**
 * Runs an action on the escalation's workflow. Once the workflow has ended (or when the engine calls a cancelled
 * escalation merely resolved), the stored status says why the action is refused.
 */
async function act(deps: AlertGroupDeps, escalation: Escalation, action: EscalationAction, requester: Requester, delaySeconds?: number): Promise<void> {
  const outcome = await callEngine(deps.logger, action, () => deps.escalations.act(escalation.alertGroupId, action, actorOf(requester), delaySeconds))
  if (outcome.kind === 'done') return
  if (outcome.kind === 'refused' && outcome.refusal.code !== 'resolved') throw refused(outcome.refusal)
  const stored = await getEscalation(deps.db, escalation.organizationId, escalation.id)
  if (outcome.kind === 'closed' && action === 'cancel' && stored.status === 'cancelled') return
  throw refused(endedRefusal(stored.status, action))
}

/** The refusal of `action` on an escalation that has ended, by how it ended. */
function endedRefusal(status: EscalationStatus, action: EscalationAction): Refusal {
  return { code: status === 'cancelled' || status === 'expired' ? status : 'resolved', action }
}

function refused(reason: Refusal): ServiceError {
  return new ServiceError('refused', `${reason.action} refused: ${reason.code}`, { refusal: reason })
}

/** The escalations' histories and alerts, read in three queries whatever the page size. */
async function viewsOf(db: Db, organizationId: string, escalations: readonly Escalation[]): Promise<EscalationView[]> {
  const groupIds = escalations.map((e) => e.alertGroupId)
  const [timelines, alerts] = await Promise.all([repo.timelinesOf(db, organizationId, groupIds), repo.alertsOf(db, organizationId, groupIds)])
  const userIds = new Set<string>()
  for (const entry of timelines) for (const userId of usersOfEntry(entry)) userIds.add(userId)
  const users = new Map((await findUsers(db, organizationId, [...userIds])).map((u) => [u.id, u]))
  // Triggered when created: shown at once, before the workflow has recorded anything.
  return escalations.map((escalation) => ({
    escalation,
    events: [
      { kind: 'triggered' as const, id: `${escalation.id}-0`, at: escalation.createdAt },
      ...timelines.filter((t) => t.alertGroupId === escalation.alertGroupId).flatMap((t) => eventOf(escalation.id, t, users)),
    ],
    alerts: alerts.filter((a) => a.alertGroupId === escalation.alertGroupId),
  }))
}

function stringArray(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : []
}

function detailOf(entry: EscalationTimelineEntry): Record<string, unknown> {
  return typeof entry.detail === 'object' && entry.detail !== null ? (entry.detail as Record<string, unknown>) : {}
}

function actingUserId(entry: EscalationTimelineEntry): string | null {
  const actor = entry.actor as { kind?: unknown; userId?: unknown } | null
  return actor?.kind === 'user' && typeof actor.userId === 'string' ? actor.userId : null
}

/** The users a timeline entry names (paged or acknowledging). */
function usersOfEntry(entry: EscalationTimelineEntry): string[] {
  if (entry.kind === 'step_triggered') return stringArray(detailOf(entry).user_ids)
  if (entry.kind === 'acknowledged') return [actingUserId(entry)].filter((id): id is string => id !== null)
  return []
}

/** A channel as the engine records it (the program's ChannelTarget, `{kind, id}`). */
function channelOf(value: unknown): NotifiedChannel | null {
  const channel = value as Partial<ChannelTarget> | null
  if (typeof channel?.id !== 'string') return null
  if (channel.kind === 'slack') return { slackChannelId: channel.id }
  if (channel.kind === 'msteams') return { microsoftTeamsChannelId: channel.id }
  return null
}

/**
 * The escalation event a timeline entry is, if any (entries such as silenced have none). Event ids are the
 * escalation's id and the entry's sequence number, so they stay the same on every read.
 */
function eventOf(escalationId: string, entry: EscalationTimelineEntry, users: ReadonlyMap<string, User>): EscalationEvent[] {
  const id = `${escalationId}-${entry.id}`
  const { at } = entry
  const known = (ids: readonly string[]) => ids.flatMap((userId) => users.get(userId) ?? [])
  switch (entry.kind) {
    case 'step_triggered': {
      // A wait records step_triggered too, without users: only a page notifies anyone.
      const detail = detailOf(entry)
      if (!Array.isArray(detail.user_ids)) return []
      return [{ kind: 'notified_users', id, at, urgency: detail.important === false ? 'low' : 'high', users: known(usersOfEntry(entry)) }]
    }
    case 'channel_notified': {
      const { channels } = detailOf(entry)
      return [{ kind: 'notified_channels', id, at, channels: (Array.isArray(channels) ? channels : []).flatMap((c) => channelOf(c) ?? []) }]
    }
    case 'acknowledged':
      return [{ kind: 'acked', id, at, users: known(usersOfEntry(entry)) }]
    case 'cancelled':
    case 'resolved':
    case 'expired':
      return [{ kind: entry.kind, id, at }]
    default:
      return []
  }
}
