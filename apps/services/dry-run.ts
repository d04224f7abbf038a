import type { Db } from '../../db/connect'
import { loadChainSnapshot } from '../../db/escalation-policies.repo'
import { resolveRecipients, type Recipients, type RecipientShifts } from '../../db/recipients'
import type { IcalOptions } from '../../db/schedule-ical'
import { findUsers } from '../../db/users.repo'
import type { Command } from '../../workflows/core/escalation'
import { unreachable, type EscalationProgram, type NodeRef, type ProgramNode, type UserSource } from '../../workflows/core/program'
import { simulate, type SimulatedDecision } from '../../workflows/core/simulate'
import { compilePath } from '../../workflows/incident-io/compile'
import { compileChain } from '../../workflows/oncall/compile'
import { getEscalationPath } from './escalation-paths'
import { ServiceError } from './errors'

// The dry run: what the live engine would do for a chain or a path, from a start instant, given alert arrivals and
// perhaps an acknowledgement. The engine's own decide() runs through workflows/core/simulate.ts, and every page is
// resolved by the engine's resolver in read-only mode at the instant the engine would page: schedules as they
// stand then, round-robin queues peeked and never moved. Nothing is written and no workflow is started.

const DAY_MS = 86_400_000

/** How far a dry run looks ahead by default, and at most. */
export const DRY_RUN_DAYS = { default: 7, max: 30 } as const
/** Most alert arrivals a request may name. */
export const MAX_ALERT_TIMES = 1000
/** Decisions and entries a dry run computes at most: a path's repeats may page hundreds of times. */
export const MAX_DRY_RUN_DECISIONS = 1000
export const MAX_DRY_RUN_ENTRIES = 5000

export interface DryRunRequest {
  /** When the escalation starts (its first alert, unless `alertTimes` say otherwise). */
  readonly start: Date
  /** Alert arrivals, any order, none before `start`; default one at `start`. */
  readonly alertTimes?: readonly Date[]
  /** Somebody acknowledges then: nothing is decided from that instant on. */
  readonly acknowledgedAt?: Date
  /** Nothing after this instant is decided; default `start` + 7 days, at most 30 days after it. */
  readonly until?: Date
}

/** What an entry does, in the engine's terms; the dialects show the step or node type beside it. */
export const DRY_RUN_ACTIONS = [
  'page',
  'wait',
  'wait_for_window',
  'alerts_in_window',
  'paused',
  'hold',
  'repeat',
  'branch',
  'skip',
  'webhook',
  'notify_channel',
  'declare_incident',
  'resolve',
  'expire',
  'finished',
] as const
export type DryRunAction = (typeof DRY_RUN_ACTIONS)[number]

export interface DryRunUser {
  readonly id: string
  readonly username: string
  /** Paged with the user's important (high-urgency) rules. */
  readonly important: boolean
}

/** One thing the engine would do. */
export interface DryRunEntry {
  /** ISO instant the engine would decide it (and, for a page, resolve whom it reaches). */
  readonly at: string
  /** ISO instant the node was due (earlier than `at` only after a pause). */
  readonly dueAt: string
  /** The node it comes from; null for the end of the escalation. */
  readonly step: NodeRef | null
  readonly action: DryRunAction
  /** Who a page reaches (empty for any other action). */
  readonly users: readonly DryRunUser[]
  /** For a branch: which arm runs. */
  readonly branch?: 'then' | 'else'
  /** Why, in a sentence. */
  readonly why: string
}

export const DRY_RUN_STATUSES = ['acknowledged', 'expired', 'resolved', 'waiting_for_acknowledgement', 'paused', 'cut'] as const
export type DryRunStatus = (typeof DRY_RUN_STATUSES)[number]

/** How the dry run ends. */
export interface DryRunOutcome {
  readonly status: DryRunStatus
  /** ISO instant it ends at: the acknowledgement, the expiry, the resolution, the last decision, or `until`. */
  readonly at: string
  readonly why: string
}

export interface DryRun {
  /** The chain or path id. */
  readonly programId: string
  readonly start: string
  readonly until: string
  readonly entries: readonly DryRunEntry[]
  readonly outcome: DryRunOutcome
}

/** A problem with a request, naming its field as both dialects spell it. */
export interface DryRunProblem {
  readonly field: 'alert_times' | 'acknowledged_at' | 'until'
  readonly message: string
}

/** The rules between a request's instants; each dialect words them in its own error shape. */
export function dryRunProblems(request: DryRunRequest): DryRunProblem[] {
  const start = request.start.getTime()
  const problems: DryRunProblem[] = []
  const early = (request.alertTimes ?? []).findIndex((t) => t.getTime() < start)
  if (early >= 0) problems.push({ field: 'alert_times', message: `alert_times[${early}] is before start: every alert comes at or after start` })
  if ((request.alertTimes?.length ?? 0) > MAX_ALERT_TIMES) {
    problems.push({ field: 'alert_times', message: `at most ${MAX_ALERT_TIMES} alert times` })
  }
  if (request.acknowledgedAt && request.acknowledgedAt.getTime() < start) {
    problems.push({ field: 'acknowledged_at', message: 'must not be before start' })
  }
  if (request.until) {
    if (request.until.getTime() <= start) problems.push({ field: 'until', message: 'must be after start' })
    else if (request.until.getTime() > start + DRY_RUN_DAYS.max * DAY_MS) {
      problems.push({ field: 'until', message: `must be at most ${DRY_RUN_DAYS.max} days after start` })
    }
  }
  return problems
}

/** The reads a dry run makes: the resolver in peek mode, and the paged users' names. */
export interface DryRunReads {
  recipients(source: UserSource, at: Date): Promise<Recipients & { readonly shifts?: RecipientShifts }>
  users(ids: readonly string[]): Promise<ReadonlyArray<{ readonly id: string; readonly username: string }>>
}

function readsOf(db: Db, organizationId: string, ical: IcalOptions): DryRunReads {
  return {
    recipients: (source, at) => resolveRecipients(db, organizationId, source, { now: at, roundRobin: { mode: 'peek' }, ical }),
    users: (ids) => findUsers(db, organizationId, ids),
  }
}

/** The dry run of an escalation chain of the organization (`not_found` otherwise). */
export async function dryRunChain(db: Db, organizationId: string, chainId: string, request: DryRunRequest, ical: IcalOptions): Promise<DryRun> {
  const snapshot = await loadChainSnapshot(db, organizationId, chainId)
  if (!snapshot) throw new ServiceError('not_found', `escalation chain ${chainId} not found`)
  const program = compileChain(snapshot) as EscalationProgram
  return dryRun(program, request, readsOf(db, organizationId, ical))
}

/** The dry run of a live escalation path of the organization, for an escalation of `priority` (`not_found` otherwise). */
export async function dryRunPath(
  db: Db,
  organizationId: string,
  pathId: string,
  request: DryRunRequest & { readonly priority: string },
  ical: IcalOptions,
): Promise<DryRun> {
  const path = await getEscalationPath(db, organizationId, pathId)
  if (!path) throw new ServiceError('not_found', `escalation path ${pathId} not found`)
  return dryRun(compilePath(path, { priority: request.priority }), request, readsOf(db, organizationId, ical))
}

/** Runs the engine's decisions over `program` and tells each command as an entry; reads go through `reads` only. */
export async function dryRun(program: EscalationProgram, request: DryRunRequest, reads: DryRunReads): Promise<DryRun> {
  const [problem] = dryRunProblems(request)
  if (problem) throw new ServiceError('invalid_value', problem.message, { field: problem.field })
  const start = request.start
  const until = request.until ?? new Date(start.getTime() + DRY_RUN_DAYS.default * DAY_MS)
  const decisions = simulate(program, start, {
    alertTimes: (request.alertTimes ?? [start]).map((t) => t.toISOString()),
    ...(request.acknowledgedAt ? { acknowledgedAt: request.acknowledgedAt } : {}),
    until,
    maxDecisions: MAX_DRY_RUN_DECISIONS,
  })
  const commands = decisions.flatMap((decision) => decision.commands.map((command) => ({ command, decision })))
  const teller = new Teller(program, reads)
  const entries: DryRunEntry[] = []
  for (const { command, decision } of commands.slice(0, MAX_DRY_RUN_ENTRIES)) entries.push(await teller.entryOf(command, decision))
  const outcome: DryRunOutcome =
    commands.length > MAX_DRY_RUN_ENTRIES
      ? { status: 'cut', at: entries[entries.length - 1]?.at ?? start.toISOString(), why: `stopped after ${MAX_DRY_RUN_ENTRIES} entries` }
      : outcomeOf(decisions, { until, acknowledgedAt: request.acknowledgedAt })
  return { programId: program.id, start: start.toISOString(), until: until.toISOString(), entries, outcome }
}

/** How the simulation ended: what stopped it (the program, an acknowledgement, until, the bound) and when. */
function outcomeOf(decisions: readonly SimulatedDecision[], bounds: { readonly until: Date; readonly acknowledgedAt: Date | undefined }): DryRunOutcome {
  const ack = bounds.acknowledgedAt && bounds.acknowledgedAt.getTime() <= bounds.until.getTime() ? bounds.acknowledgedAt : undefined
  const acknowledged: DryRunOutcome | undefined = ack && { status: 'acknowledged', at: ack.toISOString(), why: 'acknowledged: nothing more is paged' }
  const last = decisions[decisions.length - 1]
  if (!last) return acknowledged ?? { status: 'cut', at: bounds.until.toISOString(), why: 'nothing is decided before until' }
  if (last.finished) {
    const commands = last.commands
    if (commands.some((c) => c.kind === 'expire')) return { status: 'expired', at: last.at, why: 'every node ran and nobody acknowledged: the escalation expires' }
    if (commands.some((c) => c.kind === 'resolve')) return { status: 'resolved', at: last.at, why: 'a resolve step ended the escalation' }
    if (acknowledged) return acknowledged
    // A hold node, or an OnCall chain run out: either way nothing more is paged and nothing expires.
    const held = commands.some((c) => c.kind === 'log' && c.event === 'escalation_waiting')
    return {
      status: 'waiting_for_acknowledgement',
      at: last.at,
      why: held ? 'nothing more is paged until somebody acknowledges' : 'every step ran: the alert group stays open, nothing more is paged',
    }
  }
  if (decisions.length >= MAX_DRY_RUN_DECISIONS) return { status: 'cut', at: last.at, why: `stopped after ${MAX_DRY_RUN_DECISIONS} decisions` }
  // The simulation stopped at the acknowledgement, unless the next decision was due after until anyway.
  if (acknowledged && (last.wakeAt === null || acknowledged.at <= last.wakeAt)) return acknowledged
  if (last.wakeAt !== null) {
    return { status: 'cut', at: bounds.until.toISOString(), why: `the next decision, at ${last.wakeAt}, comes after until` }
  }
  return { status: 'paused', at: last.at, why: 'paused until more alerts arrive' }
}

/** Tells commands as entries, in order; keeps what the engine would have moved by then (round-robin picks). */
class Teller {
  /** Pages made so far per round-robin queue: the engine moves a queue once per page, a dry run only counts. */
  private readonly picks = new Map<string, number>()

  constructor(
    private readonly program: EscalationProgram,
    private readonly reads: DryRunReads,
  ) {}

  async entryOf(command: Command, decision: SimulatedDecision): Promise<DryRunEntry> {
    const base = { at: decision.at, dueAt: command.dueAt, step: command.step, users: [] }
    switch (command.kind) {
      case 'notify':
        return { ...base, ...(await this.page(command.targets, new Date(decision.at))) }
      case 'webhook':
        return { ...base, action: 'webhook', why: `call outgoing webhook ${command.webhookId}` }
      case 'notify_channel':
        return {
          ...base,
          action: 'notify_channel',
          why:
            command.channels.length === 0
              ? "post to the organization's default channel"
              : `post to ${command.channels.map((c) => `${c.kind === 'slack' ? 'Slack' : 'Microsoft Teams'} channel ${c.id}`).join(', ')}`,
        }
      case 'declare_incident':
        return { ...base, action: 'declare_incident', why: `declare an incident of severity ${command.severity}` }
      case 'resolve':
        return { ...base, action: 'resolve', why: 'resolve: the escalation ends' }
      case 'expire':
        return { ...base, action: 'expire', why: 'nobody acknowledged: the escalation expires' }
      case 'log':
        return { ...base, ...this.logged(command, decision) }
      default:
        return unreachable(command)
    }
  }

  private node(ref: NodeRef | null): ProgramNode | undefined {
    return ref === null ? undefined : this.program.nodes[ref.index]
  }

  private logged(command: Extract<Command, { kind: 'log' }>, decision: SimulatedDecision): Pick<DryRunEntry, 'action' | 'why' | 'branch'> {
    const node = this.node(command.step)
    const detail = command.detail
    const unexpected = () => new Error(`dry run: ${command.event} from a ${node?.kind ?? 'missing'} node`)
    switch (command.event) {
      case 'step_triggered':
        switch (node?.kind) {
          case 'wait':
            return { action: 'wait', why: `wait ${node.seconds} s` }
          case 'wait_for_window':
            return { action: 'wait_for_window', why: `inside the daily window ${node.from}–${node.to}: go on at once` }
          case 'pause_for_alerts':
            return {
              action: 'alerts_in_window',
              why: `${String(detail.alerts_in_window)} alerts within ${node.minutes} min, more than ${node.count}: go on`,
            }
          case 'branch': {
            const branch = detail.branch === 'then' ? 'then' : 'else'
            return { action: 'branch', branch, why: `${branch}: ${String(detail.reason)}` }
          }
          default:
            throw unexpected()
        }
      case 'step_skipped':
        if (node?.kind === 'wait') return { action: 'wait', why: `wait ${node.seconds} s: ${String(detail.reason)}` }
        if (node?.kind === 'skip') return { action: 'skip', why: `skipped: ${node.reason}` }
        throw unexpected()
      case 'escalation_paused':
        return {
          action: 'paused',
          why: `${String(detail.alerts_in_window)} alerts within ${String(detail.minutes)} min, more than ${String(detail.needed_more_than)} needed: paused until more alerts`,
        }
      case 'escalation_waiting':
        if (node?.kind === 'hold') return { action: 'hold', why: 'page no further: wait for an acknowledgement' }
        if (node?.kind === 'wait_for_window') {
          return { action: 'wait_for_window', why: `outside the daily window ${node.from}–${node.to}: wait until ${String(detail.until)}` }
        }
        throw unexpected()
      case 'escalation_repeated':
        return { action: 'repeat', why: `repeat ${String(detail.repeat)} of ${String(detail.of)}` }
      case 'escalation_finished':
        return {
          action: 'finished',
          why: decision.commands.some((c) => c.kind === 'resolve')
            ? 'resolved: nothing more runs'
            : this.program.whenExhausted === 'expire'
              ? 'the last node ran and nobody acknowledged'
              : 'the last step ran: the alert group stays open and nothing more is paged',
        }
      default:
        return unreachable(command.event)
    }
  }

  /** Who a page reaches at `at`, target by target as the engine resolves them; a user reached twice is paged once. */
  private async page(targets: Extract<Command, { kind: 'notify' }>['targets'], at: Date): Promise<Pick<DryRunEntry, 'action' | 'users' | 'why'>> {
    const paged = new Map<string, boolean>()
    const reached: string[] = []
    const empty: string[] = []
    for (const target of targets) {
      const found = await this.resolve(target.source, at)
      for (const id of found.userIds) paged.set(id, (paged.get(id) ?? false) || target.important)
      const reasons = found.userIds.length > 0 ? reached : empty
      if (!reasons.includes(found.why)) reasons.push(found.why)
    }
    if (paged.size === 0) return { action: 'skip', users: [], why: `skipped: ${empty.join('; ') || 'no targets'}` }
    const names = new Map((await this.reads.users([...paged.keys()])).map((u) => [u.id, u.username]))
    const users = [...paged].map(([id, important]) => ({ id, username: names.get(id) ?? id, important }))
    return { action: 'page', users, why: reached.join('; ') }
  }

  private async resolve(source: UserSource, at: Date): Promise<{ userIds: readonly string[]; why: string }> {
    if (source.kind === 'round_robin') return this.roundRobin(source, at)
    const found = await this.reads.recipients(source, at)
    const schedule = found.shifts?.schedule.name
    const reasons = layerReasons(found.detail)
    if (found.userIds.length === 0) {
      if (source.kind === 'schedule' && schedule !== undefined) return { userIds: [], why: `nobody is on call in schedule ${schedule}` }
      return { userIds: [], why: schedule !== undefined ? `schedule ${schedule}: ${found.emptyReason ?? 'nobody'}` : (found.emptyReason ?? 'nobody to page') }
    }
    switch (source.kind) {
      case 'users':
        return { userIds: found.userIds, why: 'named users' }
      case 'schedule':
        return { userIds: found.userIds, why: `on call in schedule ${schedule ?? source.scheduleId}${reasons}` }
      case 'next_shift':
        return { userIds: found.userIds, why: `the next shift of schedule ${schedule ?? source.scheduleId}${reasons}` }
      case 'team':
        return { userIds: found.userIds, why: `members of team ${String(found.detail?.team ?? source.teamId)}` }
      case 'user_group':
        return { userIds: found.userIds, why: `user group @${String(found.detail?.user_group ?? source.userGroupId)}` }
      default:
        return unreachable(source)
    }
  }

  /**
   * The engine pages the head of the queue and moves it; a dry run reads the head and counts its own pages, so the
   * k-th page of a queue goes to the k-th user after the head, as it would live (other escalations aside).
   */
  private async roundRobin(source: Extract<UserSource, { kind: 'round_robin' }>, at: Date): Promise<{ userIds: readonly string[]; why: string }> {
    const k = this.picks.get(source.policyId) ?? 0
    this.picks.set(source.policyId, k + 1)
    const head = await this.reads.recipients(source, at)
    const headId = head.userIds[0]
    if (headId === undefined) {
      // No queue to read: the engine's pick falls back to the first of the step's users that still exists.
      const first = (await this.reads.recipients({ kind: 'users', userIds: source.userIds }, at)).userIds.slice(0, 1)
      return first.length > 0
        ? { userIds: first, why: 'round robin: the first of its users (no queue is kept)' }
        : { userIds: [], why: head.emptyReason ?? 'the round-robin queue has no users' }
    }
    const position = source.userIds.indexOf(headId)
    if (k === 0 || position < 0) return { userIds: [headId], why: 'round robin: the head of the queue' }
    const next = source.userIds[(position + k) % source.userIds.length] as string
    const exists = (await this.reads.recipients({ kind: 'users', userIds: [next] }, at)).userIds
    return exists.length > 0
      ? { userIds: exists, why: `round robin: ${ordinal(k + 1)} in the queue from its head (a dry run does not move the queue)` }
      : { userIds: [], why: 'round robin: the next user in the queue no longer exists' }
  }
}

/** ` (layer 0, override)` from a schedule resolution's detail, or nothing. */
function layerReasons(detail: Readonly<Record<string, unknown>> | undefined): string {
  const reasons = Array.isArray(detail?.reasons) ? (detail.reasons as unknown[]) : []
  const names = [...new Set(reasons.flatMap((r) => (r !== null && typeof r === 'object' && typeof (r as { reason?: unknown }).reason === 'string' ? [(r as { reason: string }).reason] : [])))]
  return names.length > 0 ? ` (${names.join(', ')})` : ''
}

function ordinal(n: number): string {
  const tens = n % 100
  const suffix = tens >= 11 && tens <= 13 ? 'th' : (['th', 'st', 'nd', 'rd'][n % 10] ?? 'th')
  return `${n}${suffix}`
}
