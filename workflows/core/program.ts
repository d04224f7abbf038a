import type { WeeklyHours } from './working-hours'

// The escalation program: the small language every API dialect compiles its configuration to (OnCall chains in
// workflows/oncall, incident.io paths in workflows/incident-io). The core decides over these nodes only; it knows
// neither dialect. Plain data, carried in workflow inputs and across continue-as-new.

/** Where a node comes from, for the timeline and the status: its position and the dialect's id and type for it. */
export interface NodeRef {
  readonly index: number
  /** The OnCall policy id, or the incident.io path node id. */
  readonly id: string
  /** The dialect's step or node type (e.g. `notify_persons`, `level`), as the timeline reports it. */
  readonly type: string
}

/** Who a page goes to; resolved live when the node runs (schedules at that instant, round robin moved once). */
export type UserSource =
  | { readonly kind: 'users'; readonly userIds: readonly string[] }
  /**
   * One of `userIds` per escalation, rotating; `policyId` keys the rotation. OnCall keeps the queue on its policy
   * row; `queue: 'keyed'` keeps it in a queue of its own under that key (an incident.io path's level).
   */
  | { readonly kind: 'round_robin'; readonly policyId: string; readonly userIds: readonly string[]; readonly queue?: 'keyed' }
  | { readonly kind: 'schedule'; readonly scheduleId: string }
  | { readonly kind: 'next_shift'; readonly scheduleId: string }
  | { readonly kind: 'team'; readonly teamId: string }
  | { readonly kind: 'user_group'; readonly userGroupId: string }

export interface PageTarget {
  readonly source: UserSource
  /** Page with the users' important (high-urgency) notification rules. */
  readonly important: boolean
}

/** A chat channel a node posts to; none named means the organization's default channel. */
export interface ChannelTarget {
  readonly kind: 'slack' | 'msteams'
  readonly id: string
}

/** A condition of a branch, judged when the branch runs. */
export type Condition =
  | { readonly kind: 'within_hours'; readonly label: string; readonly hours: WeeklyHours }
  | { readonly kind: 'priority_in'; readonly names: readonly string[] }
  | { readonly kind: 'not'; readonly condition: Condition }
  | { readonly kind: 'all'; readonly conditions: readonly Condition[] }

/**
 * The node kinds of the program, declared once. `decide` switches over them exhaustively, and so does the
 * workflow's effect table over the commands they emit: a kind added here fails to compile until it is handled.
 */
export type ProgramNode =
  /** Wait `seconds` from when this node was due; `unconfigured` is logged as a skip reason when a default stands in. */
  | { readonly kind: 'wait'; readonly ref: NodeRef; readonly seconds: number; readonly unconfigured?: string }
  | { readonly kind: 'page'; readonly ref: NodeRef; readonly targets: readonly PageTarget[] }
  | { readonly kind: 'webhook'; readonly ref: NodeRef; readonly webhookId: string }
  | { readonly kind: 'notify_channel'; readonly ref: NodeRef; readonly channels: readonly ChannelTarget[] }
  | { readonly kind: 'declare_incident'; readonly ref: NodeRef; readonly severity: string }
  /** Resolve the escalation (and end it). */
  | { readonly kind: 'resolve'; readonly ref: NodeRef }
  /** Continue only inside a daily UTC window (`HH:MM:SSZ`), waiting for it to open. */
  | { readonly kind: 'wait_for_window'; readonly ref: NodeRef; readonly from: string; readonly to: string }
  /** Continue only once more than `count` alerts arrived within `minutes` of the newest; otherwise pause for alerts. */
  | { readonly kind: 'pause_for_alerts'; readonly ref: NodeRef; readonly count: number; readonly minutes: number }
  /** Go back to node `to`, at most `times` times (counted per repeat node). */
  | { readonly kind: 'repeat'; readonly ref: NodeRef; readonly to: number; readonly times: number }
  /** Continue with the next node when `condition` holds, else at `elseTo` (always a later node). */
  | { readonly kind: 'branch'; readonly ref: NodeRef; readonly condition: Condition; readonly elseTo: number }
  /** Continue at `to` (always a later node); the end of a branch's first arm. Not logged. */
  | { readonly kind: 'jump'; readonly ref: NodeRef; readonly to: number }
  /** Page no further: wait for an acknowledgement (or a cancel) however long it takes; the program does not expire. */
  | { readonly kind: 'hold'; readonly ref: NodeRef }
  /** A step that cannot run as configured: logged as skipped with `reason`. */
  | { readonly kind: 'skip'; readonly ref: NodeRef; readonly reason: string }

export type NodeKind = ProgramNode['kind']

export interface EscalationProgram {
  /** The chain or path it was compiled from (the Web UI's EscalationChainId), or `direct` for a page to users. */
  readonly id: string
  readonly name: string
  readonly nodes: readonly ProgramNode[]
  /**
   * When the last node has run and nobody acknowledged: OnCall's alert group stays open (`stay_open`);
   * an incident.io escalation ends as expired (`expire`).
   */
  readonly whenExhausted: 'stay_open' | 'expire'
  /** The escalation's priority name, for priority branches; null when the dialect has none. */
  readonly priority: string | null
}

/** The compile-time end of every exhaustive switch: reaching it means a kind was added and not handled. */
export function unreachable(value: never): never {
  throw new Error(`unhandled kind: ${JSON.stringify(value)}`)
}
