import type { EscalationProgram, NodeRef, ProgramNode, UserSource } from '../core/program'
import { DEFAULT_WAIT_SECONDS, MAX_REPEATS_PER_STEP, unreachable, type ChainSnapshot, type StepSnapshot } from './steps'

// OnCall's escalation chain as the engine's program: one node per step, at the step's own index, so idempotency
// keys, repeat counters and the status's current step are the same as when the engine decided over steps.

/** The program of a frozen chain (null: nothing escalates). */
export function compileChain(chain: ChainSnapshot | null): EscalationProgram | null {
  if (chain === null) return null
  return {
    id: chain.chainId,
    name: chain.chainName,
    nodes: chain.steps.map((step, index) => compileStep(step, { index, id: step.policyId, type: step.type })),
    whenExhausted: 'stay_open',
    priority: null,
  }
}

function page(step: StepSnapshot, ref: NodeRef, source: UserSource): ProgramNode {
  return { kind: 'page', ref, targets: [{ source, important: step.important }] }
}

function compileStep(step: StepSnapshot, ref: NodeRef): ProgramNode {
  const skip = (reason: string): ProgramNode => ({ kind: 'skip', ref, reason })
  switch (step.type) {
    case 'wait':
      return step.durationSeconds === null
        ? { kind: 'wait', ref, seconds: DEFAULT_WAIT_SECONDS, unconfigured: 'wait step is not configured: default delay is 5 minutes' }
        : { kind: 'wait', ref, seconds: step.durationSeconds }
    case 'notify_persons':
      return step.userIds.length === 0 ? skip('no users to notify') : page(step, ref, { kind: 'users', userIds: step.userIds })
    case 'notify_person_next_each_time':
      return step.userIds.length === 0
        ? skip('the round-robin queue has no users')
        : page(step, ref, { kind: 'round_robin', policyId: step.policyId, userIds: step.userIds })
    case 'notify_on_call_from_schedule':
      return step.scheduleId === null ? skip('no schedule is configured') : page(step, ref, { kind: 'schedule', scheduleId: step.scheduleId })
    case 'notify_next_on_call_from_schedule':
      return step.scheduleId === null ? skip('no schedule is configured') : page(step, ref, { kind: 'next_shift', scheduleId: step.scheduleId })
    case 'notify_team_members':
      return step.teamId === null ? skip('no team is configured') : page(step, ref, { kind: 'team', teamId: step.teamId })
    case 'notify_user_group':
      return step.userGroupId === null ? skip('no user group is configured') : page(step, ref, { kind: 'user_group', userGroupId: step.userGroupId })
    case 'trigger_webhook':
      return step.webhookId === null ? skip('no webhook is configured') : { kind: 'webhook', ref, webhookId: step.webhookId }
    case 'notify_whole_channel':
      return { kind: 'notify_channel', ref, channels: [] }
    case 'declare_incident':
      return { kind: 'declare_incident', ref, severity: step.severity ?? 'pending' }
    case 'resolve':
      return { kind: 'resolve', ref }
    case 'notify_if_time_from_to':
      return step.timeFrom === null || step.timeTo === null
        ? skip('the time window is not configured')
        : { kind: 'wait_for_window', ref, from: step.timeFrom, to: step.timeTo }
    case 'notify_if_num_alerts_in_window':
      return step.numAlertsInWindow === null || step.numMinutesInWindow === null
        ? skip('the alert-count window is not configured')
        : { kind: 'pause_for_alerts', ref, count: step.numAlertsInWindow, minutes: step.numMinutesInWindow }
    case 'repeat_escalation':
      // OnCall repeats from the first step, at most five times per repeat step.
      return { kind: 'repeat', ref, to: 0, times: MAX_REPEATS_PER_STEP }
    default:
      return unreachable(step.type)
  }
}
