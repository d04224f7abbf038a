import { decide, escalateNow, onNewAlert, restartEscalation, startEscalation, type Decision, type EscalationState } from './core/escalation'
import {
  applyAction,
  escalateNowRefusal,
  initialLifecycle,
  publicState,
  refusal,
  type LifecycleAction,
  type LifecycleState,
  type Refusal,
} from './core/lifecycle'
import { chainStop, type ChainStop, type PersonalChain } from './core/personal-rules'
import type { EscalationProgram } from './core/program'
import type { Actor, NewAlert } from './core/types'
import type { AlertGroupWorkflowInput, EscalationStatus } from './messages'
import { compileChain } from './oncall/compile'
import type { ChainSnapshot } from './oncall/steps'

// The state of one alert group's run and the rules that change it, as a plain class: no Temporal calls, no I/O.
// The workflow wires its handlers to these methods and carries out what they return.

const RECENT_ALERTS = 1000

/** What survives continue-as-new: everything the run knows that the input does not. */
export interface CarriedState {
  readonly prefix: string
  readonly lifecycle: LifecycleState
  readonly escalation: EscalationState
  readonly actionCount: number
  readonly pageCount: number
  readonly notificationsSent: number
  readonly alertsCount: number
  readonly alertTimes: readonly string[]
  readonly recentAlertIds: readonly string[]
  readonly restarts: number
}

export interface AlertGroupWorkflowOptions {
  /** State from the previous run of this escalation (continue-as-new). */
  readonly carried?: CarriedState
  /**
   * A new run for a resolved group, started together with its `unresolve` update: it begins resolved, as the
   * group is, and escalates from step 1 once the update unresolves it. The version continues the stored one.
   */
  readonly reopen?: { readonly resolvedAt: string; readonly lifecycleVersion: number }
  /** Continue as new once the history has this many events (tests lower it); Temporal's suggestion applies too. */
  readonly historyLimit?: number
}

export type AlertGroupWorkflowArgs = AlertGroupWorkflowInput & AlertGroupWorkflowOptions

/** An accepted lifecycle action, as the run applied it: what the workflow records and announces. */
export interface AppliedAction {
  readonly action: LifecycleAction
  readonly actor: Actor
  readonly at: string
  readonly delaySeconds: number | null
  readonly lifecycle: LifecycleState
  readonly version: number
  /** The public state right after the action: what its webhooks report, whatever happens next. */
  readonly state: ReturnType<typeof publicState>
  readonly idempotencyKey: string
}

export class AlertGroupRun {
  /** Prefix of every effect's idempotency key: the workflow id and the first run of this execution chain. */
  readonly prefix: string
  lifecycle: LifecycleState
  escalation: EscalationState
  actionCount: number
  pageCount: number
  notificationsSent: number
  alertsCount: number
  readonly alertTimes: string[]
  readonly recentAlertIds: Set<string>
  restarts: number
  /** An un-ack or unsilence asked for a fresh snapshot; the loop takes it before deciding again. */
  restartPending = false
  /** Set until the unresolve update that this reopened run was started for has been accepted. */
  reopenPending: boolean
  /** Bumped by every event that can change what the loop should do next. */
  changes = 0
  nextWakeAt: string | null = null
  /** Each paged user's running personal chain; a fresh page replaces it, so the older one stops at its next rule. */
  private readonly chains = new Map<string, { readonly generation: number; readonly chain: PersonalChain }>()
  private chainsStarted = 0

  constructor(
    readonly input: AlertGroupWorkflowArgs,
    firstExecutionRunId: string,
    now: Date,
  ) {
    const { alertGroup, carried } = input
    this.prefix = carried?.prefix ?? `${alertGroup.workflowId}:${firstExecutionRunId}`
    this.lifecycle =
      carried?.lifecycle ?? (input.reopen ? { ...initialLifecycle, resolvedAt: input.reopen.resolvedAt, resolvedBy: { kind: 'system' } } : initialLifecycle)
    // Deadlines count from when the alert group was created, so a slow first workflow task delays nothing after it.
    const createdAt = Math.min(Date.parse(alertGroup.createdAt), now.getTime())
    this.escalation = carried?.escalation ? upgradeState(carried.escalation) : startEscalation(this.frozenProgram ?? compileChain(input.escalation ?? null), new Date(createdAt))
    this.actionCount = carried?.actionCount ?? input.reopen?.lifecycleVersion ?? 0
    this.pageCount = carried?.pageCount ?? 0
    this.notificationsSent = carried?.notificationsSent ?? 0
    this.alertsCount = carried?.alertsCount ?? 1
    this.alertTimes = [...(carried?.alertTimes ?? [alertGroup.createdAt])]
    this.recentAlertIds = new Set(carried?.recentAlertIds ?? [alertGroup.firstAlert.id])
    this.restarts = carried?.restarts ?? 0
    this.reopenPending = input.reopen !== undefined
  }

  get alertGroup() {
    return this.input.alertGroup
  }

  /** The program the caller compiled (an incident.io path, a page to users): restarts run it again. */
  get frozenProgram(): EscalationProgram | null {
    return this.input.program ?? null
  }

  /** Whether a restart reads the route's current chain (OnCall) rather than running the frozen program again. */
  get restartsFromRoute(): boolean {
    return !this.input.program
  }

  get resolved(): boolean {
    return this.lifecycle.resolvedAt !== null
  }

  /** Why the lifecycle refuses `action` now, or null. */
  refusalOf(action: LifecycleAction): Refusal | null {
    return refusal(this.lifecycle, action, { maintenance: this.alertGroup.isMaintenance === true })
  }

  /** Why the pending unresolve cannot be taken: only the run started for it accepts it. */
  unresolveRefusal(): Refusal | null {
    if (this.reopenPending) return null
    return { code: this.resolved ? 'still_finishing' : 'not_resolved', action: 'unresolve' }
  }

  /** Applies an allowed action: state first (so a concurrent duplicate is refused), then the caller records it. */
  apply(action: LifecycleAction, actor: Actor, at: string, delaySeconds?: number): AppliedAction {
    if (action === 'unresolve') this.reopenPending = false
    this.lifecycle = applyAction(this.lifecycle, { action, actor, at, delaySeconds })
    this.actionCount += 1
    this.changes += 1
    if (action === 'unacknowledge' || action === 'unsilence') this.restartPending = true
    if (action === 'unresolve') this.escalation = startEscalation(this.escalation.program, new Date(at))
    return {
      action,
      actor,
      at,
      delaySeconds: delaySeconds ?? null,
      lifecycle: this.lifecycle,
      version: this.actionCount,
      state: publicState(this.lifecycle),
      idempotencyKey: `${this.prefix}:action:${this.actionCount}`,
    }
  }

  /** Counts a new alert once (signals may be redelivered); a paused escalation becomes due. */
  addAlert({ alertId, receivedAt }: NewAlert, now: Date): void {
    if (this.recentAlertIds.has(alertId)) return
    this.recentAlertIds.add(alertId)
    if (this.recentAlertIds.size > RECENT_ALERTS) this.recentAlertIds.delete(this.recentAlertIds.values().next().value as string)
    this.alertsCount += 1
    this.alertTimes.push(receivedAt)
    if (this.alertTimes.length > RECENT_ALERTS) this.alertTimes.shift()
    this.escalation = onNewAlert(this.escalation, now)
    this.changes += 1
  }

  /** Why a nack is refused now, or null. */
  escalateNowRefusal(): Refusal | null {
    return escalateNowRefusal(this.lifecycle)
  }

  /** Nack: the pending wait ends now, so the next node runs at once. */
  escalateNow(now: Date): void {
    this.escalation = escalateNow(this.escalation, now)
    this.changes += 1
  }

  /** The key prefix and step name of the next batch of added responders. */
  nextResponders(): { step: string; keyPrefix: string } {
    this.pageCount += 1
    return { step: `responders-${this.pageCount}`, keyPrefix: `${this.prefix}:responders-${this.pageCount}` }
  }

  /** Starts a user's personal chain (replacing one already running) and returns its generation. */
  startChain(userId: string, direct: boolean, at: string): number {
    this.chainsStarted += 1
    this.chains.set(userId, { generation: this.chainsStarted, chain: { userId, direct, startedAt: at } })
    return this.chainsStarted
  }

  /** Why the chain of `generation` must not run its next rule, or null. */
  chainStopReason(userId: string, generation: number): ChainStop | 'superseded' | 'unpaged' | null {
    const current = this.chains.get(userId)
    if (!current) return 'unpaged'
    if (current.generation !== generation) return 'superseded'
    return chainStop(this.lifecycle, current.chain)
  }

  /** Ends one user's chain; true when one was running. */
  unpage(userId: string): boolean {
    const running = this.chains.delete(userId)
    if (running) this.changes += 1
    return running
  }

  /** Escalation runs only while nobody acknowledged, nothing silenced it and steps remain. */
  get escalating(): boolean {
    return this.lifecycle.acknowledgedAt === null && this.lifecycle.silencedAt === null && !this.escalation.finished
  }

  /** Decides which steps run now and remembers when to wake up. */
  decideNow(now: Date): Decision {
    const decision = decide(this.escalation, now, this.alertTimes, this.prefix)
    this.escalation = decision.state
    return decision
  }

  /** Takes a pending restart request; another one arriving while the fresh snapshot loads asks again. */
  takeRestart(): boolean {
    if (!this.restartPending) return false
    this.restartPending = false
    this.restarts += 1
    return true
  }

  /** A restart (un-ack, unsilence, end of a silence) on a fresh program: the route's chain now, or the frozen one. */
  restartOn(fresh: EscalationProgram | null, now: Date): void {
    this.escalation = restartEscalation(this.escalation, fresh, now)
  }

  /** The earliest instant the loop must wake up at by itself (next step or end of a timed silence), or null. */
  wakeDeadline(): number | null {
    const deadlines = [this.nextWakeAt, this.lifecycle.silencedUntil].filter((d): d is string => d !== null).map(Date.parse)
    return deadlines.length > 0 ? Math.min(...deadlines) : null
  }

  /** True once a timed silence that the loop slept on has run out (OnCall's auto-unsilence). */
  silenceRanOut(silenceEnds: string | null, now: Date): boolean {
    return (
      silenceEnds !== null &&
      this.lifecycle.silencedAt !== null &&
      this.lifecycle.silencedUntil === silenceEnds &&
      now.getTime() >= Date.parse(silenceEnds)
    )
  }

  status(pendingNotifications: number): EscalationStatus {
    const { escalation } = this
    const node = escalation.program?.nodes[escalation.nextIndex]
    return {
      alertGroupId: this.alertGroup.id,
      state: publicState(this.lifecycle),
      lifecycle: this.lifecycle,
      notificationsSent: this.notificationsSent,
      pendingNotifications,
      alertsCount: this.alertsCount,
      chainId: escalation.program?.id ?? null,
      currentStep: node && !escalation.finished ? { index: escalation.nextIndex, policyId: node.ref.id, type: node.ref.type } : null,
      nextWakeAt: this.nextWakeAt,
      paused: escalation.paused,
      finished: escalation.finished,
      repeats: escalation.repeats,
      stepsExecuted: escalation.executed,
      restarts: this.restarts,
    }
  }

  /** The input of the next run when the history grows long. */
  continuation(): AlertGroupWorkflowArgs {
    return {
      alertGroup: this.alertGroup,
      createdBy: this.input.createdBy,
      directPages: [],
      escalation: null,
      program: this.input.program ?? null,
      historyLimit: this.input.historyLimit,
      carried: {
        prefix: this.prefix,
        lifecycle: this.lifecycle,
        escalation: this.escalation,
        actionCount: this.actionCount,
        pageCount: this.pageCount,
        notificationsSent: this.notificationsSent,
        alertsCount: this.alertsCount,
        alertTimes: this.alertTimes,
        recentAlertIds: [...this.recentAlertIds],
        restarts: this.restarts,
      },
    }
  }
}

/** A state carried from a run that decided over OnCall's steps (before programs): the same state over its program. */
function upgradeState(state: EscalationState | (Omit<EscalationState, 'program'> & { snapshot: ChainSnapshot | null })): EscalationState {
  if ('program' in state) return state
  const { snapshot, ...rest } = state
  return { ...rest, program: compileChain(snapshot) }
}
