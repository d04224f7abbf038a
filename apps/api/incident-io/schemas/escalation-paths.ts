import { z } from 'zod'
import {
  MAX_IF_ELSE_DEPTH,
  REPEAT_TIMES_BOUNDS,
  type DelayNode,
  type IfElseNode,
  type LevelNode,
  type NotifyChannelNode,
  type PathCondition,
  type PathNode,
  type PathNodeType,
  type PathTarget,
  type RepeatNode,
  type WeekdayInterval,
  type WorkingHours,
} from '../../../../workflows/incident-io/path'
import { PATH_SECONDS_BOUNDS, pathProblems } from '../../../services/escalation-paths'
import type { IssueParams } from '../errors'
import { paginationMetaSchema } from './pagination'
import { idString, requiredString, storableString, unsupported } from './common'

// POST and PUT /v2/escalation_paths: incident.io's EscalationPathsCreatePayloadV2 (and its update twin). The
// parsed body is exactly the stored path (workflows/incident-io/path.ts; checked below at compile time), and the
// rules across nodes run on it (pathProblems), so one 422 lists every problem with its field. Fields incident.io
// has and Tocsin does not implement are refused by name, never silently dropped.

const MAX_TARGETS = 50
const MAX_BRANCH_NODES = 100
const MAX_CONDITIONS = 20
const MAX_BINDINGS = 50
const MAX_WORKING_HOURS = 20
const MAX_INTERVALS = 50
const MAX_TEAMS = 50

const oneOf = (values: readonly string[]) => `must be one of ${values.map((v) => (v === '' ? '""' : v)).join(', ')}`
const issue = (params: IssueParams) => params

const seconds = z
  .int()
  .min(PATH_SECONDS_BOUNDS.min, { message: `must be from ${PATH_SECONDS_BOUNDS.min} to ${PATH_SECONDS_BOUNDS.max} seconds` })
  .max(PATH_SECONDS_BOUNDS.max, { message: `must be from ${PATH_SECONDS_BOUNDS.min} to ${PATH_SECONDS_BOUNDS.max} seconds` })

const TARGET_TYPES = ['user', 'schedule', 'slack_channel', 'msteams_channel'] as const satisfies readonly PathTarget['type'][]
const SCHEDULE_MODES = ['currently_on_call', 'next_on_call', ''] as const satisfies ReadonlyArray<NonNullable<PathTarget['schedule_mode']>>

const targetSchema = z
  .object({
    id: idString,
    type: z.enum(TARGET_TYPES, { error: (i) => (i.input === undefined ? undefined : oneOf(TARGET_TYPES)) }),
    urgency: z.enum(['high', 'low'], { error: (i) => (i.input === undefined ? undefined : oneOf(['high', 'low'])) }),
    schedule_mode: z
      .enum(SCHEDULE_MODES, {
        error: (i) =>
          typeof i.input === 'string' && (i.input.endsWith('_for_rota') || i.input === 'all_users')
            ? `${i.input} is not supported: Tocsin pages who is on call in the schedule now (currently_on_call) or in its next shift (next_on_call)`
            : oneOf(SCHEDULE_MODES),
      })
      .optional(),
    selected_rota_id: unsupported('Rotas of a schedule cannot be picked: Tocsin pages from the whole schedule.'),
  })
  .meta({ id: 'EscalationPathTargetV2' })

const ackInterval = unsupported('Acknowledgement windows tied to working hours are not implemented: use an if_else node on the working hours.')

const levelSchema = z
  .object({
    targets: z.array(targetSchema).min(1, { message: 'a level needs at least one target' }).max(MAX_TARGETS),
    time_to_ack_seconds: seconds.optional(),
    ack_mode: z.enum(['all', 'first'], { error: (i) => (i.input === undefined ? undefined : oneOf(['all', 'first'])) }).optional(),
    round_robin_config: z
      .object({
        enabled: z.boolean(),
        rotate_after_seconds: unsupported('Cycling through a level within one escalation is not implemented: round robin picks one user per escalation.'),
      })
      .optional(),
    time_to_ack_interval_condition: ackInterval,
    time_to_ack_weekday_interval_config_id: ackInterval,
    retry_config: unsupported('Re-paging within a level is not implemented: use a repeat node.'),
  })
  .meta({ id: 'EscalationPathNodeLevelV2' })

const notifyChannelSchema = z
  .object({
    targets: z.array(targetSchema).min(1, { message: 'a notify_channel node needs at least one target' }).max(MAX_TARGETS),
    time_to_ack_seconds: seconds.optional(),
    time_to_ack_interval_condition: ackInterval,
    time_to_ack_weekday_interval_config_id: ackInterval,
  })
  .meta({ id: 'EscalationPathNodeNotifyChannelV2' })

const delayWindow = unsupported('Delays until working hours start or end are not implemented: use an if_else node on the working hours.')

const delaySchema = z
  .object({
    delay_seconds: seconds,
    delay_interval_condition: delayWindow,
    delay_weekday_interval_config_id: delayWindow,
  })
  .meta({ id: 'EscalationPathNodeDelayV2' })

const repeatSchema = z
  .object({
    repeat_times: z
      .int()
      .min(REPEAT_TIMES_BOUNDS.min, { message: `must be from ${REPEAT_TIMES_BOUNDS.min} to ${REPEAT_TIMES_BOUNDS.max}` })
      .max(REPEAT_TIMES_BOUNDS.max, { message: `must be from ${REPEAT_TIMES_BOUNDS.min} to ${REPEAT_TIMES_BOUNDS.max}` }),
    to_node: idString,
  })
  .meta({ id: 'EscalationPathNodeRepeatV2' })

const bindingValueSchema = z.object({ literal: storableString(1000).optional(), reference: storableString(255).optional() })

const conditionSchema = z
  .object({
    subject: requiredString(255),
    operation: requiredString(64),
    param_bindings: z
      .array(z.object({ value: bindingValueSchema.optional(), array_value: z.array(bindingValueSchema).max(MAX_BINDINGS).optional() }))
      .max(MAX_BINDINGS)
      .default([]),
  })
  .meta({ id: 'ConditionV2' })

const ifElseSchema = (branch: z.ZodType<PathNode[], unknown>) =>
  z.object({
    conditions: z.array(conditionSchema).min(1, { message: 'an if_else node needs at least one condition' }).max(MAX_CONDITIONS),
    then_path: branch,
    else_path: branch,
  })

const NODE_TYPES = ['level', 'notify_channel', 'delay', 'repeat', 'if_else'] as const satisfies readonly PathNodeType[]

const otherSubObject = (own: PathNodeType, other: PathNodeType) =>
  z
    .unknown()
    .refine((value) => value === undefined || value === null, { message: `a ${own} node takes only its ${own} object: remove ${other}` })
    .transform((): undefined => undefined)
    .optional()

/** The sub-objects of the other node types, each refused when present: a node has exactly the one of its type. */
function othersThan<T extends PathNodeType>(own: T): Record<Exclude<PathNodeType, T>, ReturnType<typeof otherSubObject>> {
  const shape: Partial<Record<PathNodeType, ReturnType<typeof otherSubObject>>> = {}
  for (const other of NODE_TYPES) if (other !== own) shape[other] = otherSubObject(own, other)
  return shape as Record<Exclude<PathNodeType, T>, ReturnType<typeof otherSubObject>>
}

/** A variant that always fails with one issue on `type`: it only names why the node cannot be taken. */
const refusedVariant = <T extends string>(types: readonly [T, ...T[]], message: (type: T) => string) =>
  z
    .object({ type: z.enum(types) })
    .superRefine((node, ctx) => ctx.addIssue({ code: 'custom', path: ['type'], message: message(node.type), params: issue({ code: 'not_supported' }) }))
    .transform((): never => undefined as never)

const UNSUPPORTED_NODES: Record<'escalation_path' | 'voicemail', string> = {
  escalation_path: 'escalation_path nodes are not supported: Tocsin does not hand over to another path; copy its nodes into this one',
  voicemail: 'voicemail nodes are not supported: they belong to call routes, which Tocsin does not have',
}

/**
 * A node at `depth` (the if_else nodes enclosing it). Unrolled rather than recursive so that parsing stops at
 * MAX_IF_ELSE_DEPTH however deeply a body nests.
 */
function nodeSchema(depth: number): z.ZodType<PathNode, unknown> {
  const ifElse =
    depth < MAX_IF_ELSE_DEPTH
      ? z.object({
          id: idString,
          type: z.literal('if_else'),
          if_else: ifElseSchema(z.array(nodeSchema(depth + 1)).max(MAX_BRANCH_NODES)),
          ...othersThan('if_else'),
        })
      : refusedVariant(['if_else'], () => `if_else nodes nest at most ${MAX_IF_ELSE_DEPTH} deep`)
  const node = z.discriminatedUnion(
    'type',
    [
      z.object({ id: idString, type: z.literal('level'), level: levelSchema, ...othersThan('level') }),
      z.object({ id: idString, type: z.literal('notify_channel'), notify_channel: notifyChannelSchema, ...othersThan('notify_channel') }),
      z.object({ id: idString, type: z.literal('delay'), delay: delaySchema, ...othersThan('delay') }),
      z.object({ id: idString, type: z.literal('repeat'), repeat: repeatSchema, ...othersThan('repeat') }),
      ifElse,
      refusedVariant(['escalation_path', 'voicemail'], (type) => UNSUPPORTED_NODES[type]),
    ],
    {
      error: (i) => {
        if (i.code !== 'invalid_union' || !isObject(i.input)) return undefined
        if (i.input.type === undefined) return 'This field is required.'
        return `unknown node type ${JSON.stringify(i.input.type)?.slice(0, 80)}: use ${NODE_TYPES.join(', ')}`
      },
    },
  )
  return node.meta({ id: depth === 0 ? 'EscalationPathNodeV2' : `EscalationPathNodeV2AtDepth${depth}` })
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null

const WEEKDAYS = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'] as const satisfies readonly WeekdayInterval['weekday'][]

const weekdayIntervalSchema = z
  .object({
    weekday: z.enum(WEEKDAYS, { error: (i) => (i.input === undefined ? undefined : oneOf(WEEKDAYS)) }),
    start_time: storableString(16),
    end_time: storableString(16),
  })
  .meta({ id: 'WeekdayIntervalV2' })

const workingHoursSchema = z
  .object({
    id: idString,
    name: requiredString(255),
    timezone: storableString(64),
    weekday_intervals: z.array(weekdayIntervalSchema).max(MAX_INTERVALS),
  })
  .meta({ id: 'WeekdayIntervalConfigV2' })

const topLevelNode = nodeSchema(0)

/** The body of POST /v2/escalation_paths and PUT /v2/escalation_paths/{id} (a full replacement). */
export const escalationPathBodySchema = z
  .object({
    name: requiredString(255),
    path: z.array(topLevelNode).min(1, { message: 'a path needs at least one node' }).max(MAX_BRANCH_NODES),
    working_hours: z.array(workingHoursSchema).max(MAX_WORKING_HOURS).default([]),
    team_ids: z.array(idString).max(MAX_TEAMS).default([]),
    kind: z
      .enum(['standalone', 'templated'], { error: (i) => (i.input === undefined ? undefined : 'must be standalone') })
      .superRefine((kind, ctx) => {
        if (kind === 'templated') {
          ctx.addIssue({
            code: 'custom',
            message: 'templated paths are not supported: send kind standalone (or no kind) with the nodes in path',
            params: issue({ code: 'not_supported' }),
          })
        }
      })
      .transform((): undefined => undefined)
      .optional()
      .meta({ description: 'Only standalone paths: templated paths are not supported.' }),
    template_id: unsupported('Templated paths are not supported: send the nodes in path.'),
    param_bindings: unsupported('Templated paths are not supported: send the nodes in path.'),
    repeat_config: unsupported(
      'Re-running a path after an acknowledgement while the alert is unresolved is not supported: end the path with a repeat node to page again while nobody acknowledges.',
    ),
  })
  .superRefine(
    (body, ctx) => {
      for (const found of pathProblems(body)) {
        ctx.addIssue({ code: 'custom', message: found.message, params: issue({ field: found.field, code: found.code }) })
      }
    },
    // The rules across nodes read a well-formed tree only: they run once every field has parsed.
    { when: (payload) => payload.issues.length === 0 },
  )

export type EscalationPathBody = z.output<typeof escalationPathBodySchema>

/** incident.io's EscalationPathV2, echoing the stored path (documentation of the answers). */
export const escalationPathV2Schema = z
  .object({
    id: z.string(),
    name: z.string(),
    kind: z.literal('standalone'),
    path: z.array(topLevelNode),
    team_ids: z.array(z.string()),
    working_hours: z.array(workingHoursSchema).optional(),
  })
  .meta({ id: 'EscalationPathV2' })

export const escalationPathResponseSchema = z.object({ escalation_path: escalationPathV2Schema })
export const escalationPathListResponseSchema = z.object({ escalation_paths: z.array(escalationPathV2Schema), pagination_meta: paginationMetaSchema })

// Compile-time: the parsed body is exactly the stored types (readonly aside). A field added to path.ts, or a schema
// that drifts from it, fails the build here.
type Writable<T> = T extends readonly (infer U)[] ? Writable<U>[] : T extends object ? { -readonly [K in keyof T]: Writable<T[K]> } : T
type Same<A, B> = [Writable<A>] extends [Writable<B>] ? ([Writable<B>] extends [Writable<A>] ? true : false) : false
const matchesStoredTypes: [
  Same<z.output<typeof targetSchema>, PathTarget>,
  Same<z.output<typeof levelSchema>, LevelNode>,
  Same<z.output<typeof notifyChannelSchema>, NotifyChannelNode>,
  Same<z.output<typeof delaySchema>, DelayNode>,
  Same<z.output<typeof repeatSchema>, RepeatNode>,
  Same<z.output<typeof conditionSchema>, PathCondition>,
  Same<z.output<ReturnType<typeof ifElseSchema>>, IfElseNode>,
  Same<(typeof NODE_TYPES)[number], PathNodeType>,
  Same<z.output<typeof workingHoursSchema>, WorkingHours>,
  Same<Pick<EscalationPathBody, 'name' | 'path' | 'working_hours'>, { name: string; path: readonly PathNode[]; working_hours: readonly WorkingHours[] }>,
] = [true, true, true, true, true, true, true, true, true, true]
void matchesStoredTypes
