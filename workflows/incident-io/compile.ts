import type { ChannelTarget, Condition, EscalationProgram, NodeRef, PageTarget, ProgramNode, UserSource } from '../core/program'
import { unreachable } from '../core/program'
import { conditionMeaning, type EscalationPathDefinition, type PathCondition, type PathNode, type PathTarget } from './path'
import { weeklyHoursOf } from './working-hours'

// incident.io's escalation path as the engine's program. The tree is laid out flat: an if_else becomes a branch
// (to the else arm), its then arm, a jump over the else arm, and the else arm; a repeat jumps back to the first
// node compiled for its target. A level pages its targets, then waits its time to acknowledge; a level without
// one holds there until somebody acknowledges. Running off the end expires the escalation.

/** The id a page to users directly runs under (the Web UI's EscalationChainId for such escalations). */
export const DIRECT_PROGRAM_ID = 'direct'

/** A page to users directly: everyone at high urgency, then wait for an acknowledgement. */
export function compileDirect(userIds: readonly string[]): EscalationProgram {
  const ref = (index: number, type: string): NodeRef => ({ index, id: DIRECT_PROGRAM_ID, type })
  return {
    id: DIRECT_PROGRAM_ID,
    name: 'direct page',
    nodes: [
      { kind: 'page', ref: ref(0, 'users'), targets: [{ source: { kind: 'users', userIds }, important: true }] },
      { kind: 'hold', ref: ref(1, 'users') },
    ],
    whenExhausted: 'stay_open',
    priority: null,
  }
}

/** The program of a stored (validated) path; `priority` is the escalation's, for priority branches. */
export function compilePath(path: EscalationPathDefinition, options: { readonly priority: string }): EscalationProgram {
  const nodes: ProgramNode[] = []
  /** Where each path node starts in the program, for repeats. */
  const starts = new Map<string, number>()
  const ref = (node: PathNode): NodeRef => ({ index: nodes.length, id: node.id, type: node.type })
  const push = (node: ProgramNode) => nodes.push(node)

  const condition = (conditions: readonly PathCondition[]): Condition => {
    const understood = conditions.map((c): Condition => {
      const meaning = conditionMeaning(c)
      if ('problem' in meaning) throw new Error(`path ${path.id}: ${meaning.problem}`)
      if (meaning.kind === 'priority') {
        const inList: Condition = { kind: 'priority_in', names: meaning.names }
        return meaning.negated ? { kind: 'not', condition: inList } : inList
      }
      const hours = path.working_hours.find((h) => h.id === meaning.workingHoursId)
      if (!hours) throw new Error(`path ${path.id}: working hours ${meaning.workingHoursId} are not defined`)
      const within: Condition = { kind: 'within_hours', label: hours.name, hours: weeklyHoursOf(hours) }
      return meaning.active ? within : { kind: 'not', condition: within }
    })
    return understood.length === 1 ? (understood[0] as Condition) : { kind: 'all', conditions: understood }
  }

  const afterPage = (node: PathNode, timeToAck: number | undefined) => {
    if (timeToAck === undefined) push({ kind: 'hold', ref: ref(node) })
    else push({ kind: 'wait', ref: ref(node), seconds: timeToAck })
  }

  const compileList = (list: readonly PathNode[]): void => {
    for (const node of list) {
      starts.set(node.id, nodes.length)
      switch (node.type) {
        case 'level':
          push({ kind: 'page', ref: ref(node), targets: levelTargets(path.id, node.id, node.level.targets, node.level.round_robin_config?.enabled === true) })
          afterPage(node, node.level.time_to_ack_seconds)
          break
        case 'notify_channel':
          push({ kind: 'notify_channel', ref: ref(node), channels: node.notify_channel.targets.flatMap(channelOf) })
          afterPage(node, node.notify_channel.time_to_ack_seconds)
          break
        case 'delay':
          push({ kind: 'wait', ref: ref(node), seconds: node.delay.delay_seconds })
          break
        case 'repeat': {
          const to = starts.get(node.repeat.to_node)
          if (to === undefined) throw new Error(`path ${path.id}: repeat ${node.id} goes to ${node.repeat.to_node}, which does not come before it`)
          push({ kind: 'repeat', ref: ref(node), to, times: node.repeat.repeat_times })
          break
        }
        case 'if_else': {
          const branchAt = nodes.length
          push({ kind: 'branch', ref: ref(node), condition: condition(node.if_else.conditions), elseTo: -1 })
          compileList(node.if_else.then_path)
          const jumpAt = nodes.length
          push({ kind: 'jump', ref: ref(node), to: -1 })
          const elseAt = nodes.length
          compileList(node.if_else.else_path)
          // Both targets are known only now; they always point forward.
          nodes[branchAt] = { ...(nodes[branchAt] as Extract<ProgramNode, { kind: 'branch' }>), elseTo: elseAt }
          nodes[jumpAt] = { ...(nodes[jumpAt] as Extract<ProgramNode, { kind: 'jump' }>), to: nodes.length }
          break
        }
        default:
          return unreachable(node)
      }
    }
  }
  compileList(path.path)
  return { id: path.id, name: path.name, nodes, whenExhausted: 'expire', priority: options.priority }
}

/**
 * A level's targets as page targets. With round robin on, its users form one rotation (one of them per escalation,
 * rotating across the path's escalations); schedules are paged as they are.
 */
function levelTargets(pathId: string, nodeId: string, targets: readonly PathTarget[], roundRobin: boolean): PageTarget[] {
  const users = targets.filter((t) => t.type === 'user')
  const rotation: PageTarget[] =
    roundRobin && users.length > 0
      ? [
          {
            source: { kind: 'round_robin', policyId: `${pathId}:${nodeId}`, userIds: users.map((u) => u.id), queue: 'keyed' },
            important: users.some((u) => u.urgency === 'high'),
          },
        ]
      : []
  const others = targets
    .filter((t) => !(roundRobin && t.type === 'user'))
    .flatMap((t): PageTarget[] => {
      const source = sourceOf(t)
      return source ? [{ source, important: t.urgency === 'high' }] : []
    })
  return [...rotation, ...others]
}

function sourceOf(target: PathTarget): UserSource | null {
  switch (target.type) {
    case 'user':
      return { kind: 'users', userIds: [target.id] }
    case 'schedule':
      return target.schedule_mode === 'next_on_call' ? { kind: 'next_shift', scheduleId: target.id } : { kind: 'schedule', scheduleId: target.id }
    case 'slack_channel':
    case 'msteams_channel':
      return null
    default:
      return unreachable(target.type)
  }
}

function channelOf(target: PathTarget): ChannelTarget[] {
  if (target.type === 'slack_channel') return [{ kind: 'slack', id: target.id }]
  if (target.type === 'msteams_channel') return [{ kind: 'msteams', id: target.id }]
  return []
}
