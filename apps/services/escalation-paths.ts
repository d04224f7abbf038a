import type { Db } from '../../db/connect'
import * as paths from '../../db/escalation-paths.repo'
import type { EscalationPathRecord } from '../../db/escalation-paths.repo'
import { existingScheduleIds } from '../../db/schedules.repo'
import { existingTeamIds } from '../../db/teams.repo'
import { existingUserIds } from '../../db/users.repo'
import {
  conditionMeaning,
  DEFAULT_PRIORITY,
  MAX_IF_ELSE_DEPTH,
  REPEAT_TIMES_BOUNDS,
  type EscalationPathDefinition,
  type PathNode,
  type PathTarget,
  type WorkingHours,
} from '../../workflows/incident-io/path'
import { compilePath } from '../../workflows/incident-io/compile'
import { workingHoursProblems } from '../../workflows/incident-io/working-hours'
import { ServiceError } from './errors'

// incident.io's escalation paths: a tree of nodes (levels, channel notifications, delays, repeats, if/else
// branches) with the working hours its conditions read. Every rule that makes a stored path compile lives here,
// so the engine can trust what it reads; field names are the node tree's own (it is incident.io's wire shape).

/** A stored path, with the teams that own it. */
export interface EscalationPath extends EscalationPathDefinition {
  readonly teamIds: readonly string[]
  readonly createdAt: string
  readonly updatedAt: string
}

/** What a create or a full replacement sets. */
export interface EscalationPathFields {
  readonly name: string
  readonly path: readonly PathNode[]
  readonly working_hours: readonly WorkingHours[]
  readonly teamIds: readonly string[]
}

/** One thing wrong with a path: `field` is a path into the definition, as `path[1].if_else.then_path[0].id`. */
export interface PathProblem {
  readonly field: string
  readonly message: string
  readonly code?: 'invalid_value' | 'not_supported'
}

/** Most nodes in one path, counting every branch. */
export const MAX_PATH_NODES = 500
/** Bounds of time_to_ack_seconds and delay_seconds: one second to one day. */
export const PATH_SECONDS_BOUNDS = { min: 1, max: 86_400 } as const

const LEVEL_TARGETS: readonly PathTarget['type'][] = ['user', 'schedule']
const CHANNEL_TARGETS: readonly PathTarget['type'][] = ['slack_channel', 'msteams_channel']

// The stored JSON was validated by `pathProblems` before it was written.
function pathOfRecord(record: EscalationPathRecord): EscalationPath {
  return {
    id: record.id,
    name: record.name,
    path: record.path as readonly PathNode[],
    working_hours: record.workingHours as readonly WorkingHours[],
    teamIds: record.teamIds,
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
  }
}

/** Visits every node of a tree, depth first in execution order, with its field. */
function forEachNode(nodes: readonly PathNode[], field: string, visit: (node: PathNode, field: string) => void): void {
  nodes.forEach((node, index) => {
    const nodeField = `${field}[${index}]`
    visit(node, nodeField)
    if (node.type === 'if_else') {
      forEachNode(node.if_else.then_path, `${nodeField}.if_else.then_path`, visit)
      forEachNode(node.if_else.else_path, `${nodeField}.if_else.else_path`, visit)
    }
  })
}

interface BranchContext {
  /** Ids a repeat on this branch may go back to: nodes before the branch on enclosing branches, and the if_else nodes that hold it. */
  readonly scope: ReadonlySet<string>
  /** Whether something runs after the branch ends. */
  readonly followed: boolean
  /** How many if_else nodes enclose the branch. */
  readonly depth: number
}

const relativeField = (base: string, relative: string) => (relative === '' ? base : relative.startsWith('[') ? `${base}${relative}` : `${base}.${relative}`)

/**
 * Every problem of a path's node tree and working hours that needs no database: unique node ids, the node rules
 * (targets per node type, time_to_ack_seconds wherever something follows, repeats going back to an earlier node on
 * their branch or an enclosing one, conditions Tocsin understands over working hours the path defines, if_else
 * nesting), and the working hours themselves. Empty when the path is sound.
 */
export function pathProblems(definition: Pick<EscalationPathDefinition, 'path' | 'working_hours'>): PathProblem[] {
  const problems: PathProblem[] = []
  const problem = (field: string, message: string, code?: PathProblem['code']) => problems.push({ field, message, ...(code ? { code } : {}) })

  const hoursIds = new Set<string>()
  definition.working_hours.forEach((hours, index) => {
    const field = `working_hours[${index}]`
    if (hoursIds.has(hours.id)) problem(`${field}.id`, `working hours id "${hours.id}" is used twice: give each set its own id`)
    hoursIds.add(hours.id)
    for (const found of workingHoursProblems(hours)) problem(relativeField(field, found.field), found.message)
  })

  if (definition.path.length === 0) problem('path', 'a path needs at least one node')
  const allIds = new Set<string>()
  let count = 0
  forEachNode(definition.path, 'path', (node, field) => {
    count++
    if (allIds.has(node.id)) problem(`${field}.id`, `node id "${node.id}" is used twice: node ids are unique in the whole path`)
    allIds.add(node.id)
  })
  if (count > MAX_PATH_NODES) problem('path', `a path has at most ${MAX_PATH_NODES} nodes; this one has ${count}`)

  const targetProblems = (targets: readonly PathTarget[], field: string, allowed: readonly PathTarget['type'][], nodeType: string) => {
    if (targets.length === 0) problem(field, `a ${nodeType} node needs at least one target`)
    const seen = new Set<string>()
    targets.forEach((target, index) => {
      const targetField = `${field}[${index}]`
      if (!allowed.includes(target.type)) {
        problem(
          `${targetField}.type`,
          nodeType === 'level'
            ? `${target.type} targets belong in notify_channel nodes: a level pages users and schedules`
            : `notify_channel nodes notify slack_channel and msteams_channel targets: page a ${target.type} from a level`,
        )
      }
      if (target.schedule_mode && target.type !== 'schedule') {
        problem(`${targetField}.schedule_mode`, 'schedule_mode applies to schedule targets only')
      }
      const key = `${target.type}:${target.id}`
      if (seen.has(key)) problem(`${targetField}.id`, `${target.type} ${target.id} is listed twice in this node`)
      seen.add(key)
    })
  }

  const seconds = (value: number | undefined, field: string) => {
    if (value !== undefined && (!Number.isInteger(value) || value < PATH_SECONDS_BOUNDS.min || value > PATH_SECONDS_BOUNDS.max)) {
      problem(field, `must be a whole number of seconds from ${PATH_SECONDS_BOUNDS.min} to ${PATH_SECONDS_BOUNDS.max}`)
    }
  }

  const checkBranch = (nodes: readonly PathNode[], field: string, context: BranchContext) => {
    const before = new Set(context.scope)
    nodes.forEach((node, index) => {
      const nodeField = `${field}[${index}]`
      const followed = index < nodes.length - 1 || context.followed
      switch (node.type) {
        case 'level':
        case 'notify_channel': {
          const settings = node.type === 'level' ? node.level : node.notify_channel
          const settingsField = `${nodeField}.${node.type}`
          targetProblems(settings.targets, `${settingsField}.targets`, node.type === 'level' ? LEVEL_TARGETS : CHANNEL_TARGETS, node.type)
          seconds(settings.time_to_ack_seconds, `${settingsField}.time_to_ack_seconds`)
          if (followed && settings.time_to_ack_seconds === undefined) {
            problem(
              `${settingsField}.time_to_ack_seconds`,
              `a ${node.type} node followed by another node needs time_to_ack_seconds: how long to wait for an acknowledgement before moving on`,
            )
          }
          break
        }
        case 'delay':
          seconds(node.delay.delay_seconds, `${nodeField}.delay.delay_seconds`)
          break
        case 'repeat': {
          const { repeat_times: times, to_node: target } = node.repeat
          if (!Number.isInteger(times) || times < REPEAT_TIMES_BOUNDS.min || times > REPEAT_TIMES_BOUNDS.max) {
            problem(`${nodeField}.repeat.repeat_times`, `must be a whole number from ${REPEAT_TIMES_BOUNDS.min} to ${REPEAT_TIMES_BOUNDS.max}`)
          }
          if (!before.has(target)) {
            problem(
              `${nodeField}.repeat.to_node`,
              target === node.id
                ? 'a repeat cannot go back to itself: name a node before it'
                : allIds.has(target)
                  ? `node "${target}" does not come before this repeat on its branch or an enclosing one: a repeat goes back to an earlier node it passed through, not to a later node or into another branch`
                  : `no node "${target}" in this path`,
            )
          }
          break
        }
        case 'if_else': {
          const depth = context.depth + 1
          if (depth > MAX_IF_ELSE_DEPTH) {
            problem(`${nodeField}.type`, `if_else nodes nest at most ${MAX_IF_ELSE_DEPTH} deep; this one is nested ${depth} deep`)
            break
          }
          if (node.if_else.conditions.length === 0) problem(`${nodeField}.if_else.conditions`, 'an if_else node needs at least one condition')
          node.if_else.conditions.forEach((condition, conditionIndex) => {
            const conditionField = `${nodeField}.if_else.conditions[${conditionIndex}]`
            const meaning = conditionMeaning(condition)
            if ('problem' in meaning) problem(conditionField, meaning.problem)
            else if (meaning.kind === 'working_hours' && !hoursIds.has(meaning.workingHoursId)) {
              problem(`${conditionField}.subject`, `no working hours "${meaning.workingHoursId}" in this path's working_hours`)
            }
          })
          const inner = new Set(before).add(node.id)
          const branch = { scope: inner, followed, depth }
          checkBranch(node.if_else.then_path, `${nodeField}.if_else.then_path`, branch)
          checkBranch(node.if_else.else_path, `${nodeField}.if_else.else_path`, branch)
          break
        }
      }
      before.add(node.id)
    })
  }
  checkBranch(definition.path, 'path', { scope: new Set(), followed: false, depth: 0 })
  if (problems.length === 0) problems.push(...loopsWithoutWaiting(definition))
  return problems
}

/**
 * A repeat must go back over something that waits (a delay, or a level with time_to_ack_seconds): a loop that
 * waits for nothing would page everyone on it in the same instant, again and again.
 */
function loopsWithoutWaiting(definition: Pick<EscalationPathDefinition, 'path' | 'working_hours'>): PathProblem[] {
  const program = compilePath({ id: 'validation', name: 'validation', ...definition }, { priority: DEFAULT_PRIORITY })
  const fields = new Map<string, string>()
  forEachNode(definition.path, 'path', (node, field) => fields.set(node.id, field))
  return program.nodes.flatMap((node, index): PathProblem[] => {
    if (node.kind !== 'repeat') return []
    const loop = program.nodes.slice(node.to, index)
    if (loop.some((n) => n.kind === 'wait' || n.kind === 'hold')) return []
    return [{ field: `${fields.get(node.ref.id)}.repeat.to_node`, message: 'the nodes this repeat goes back over wait for nothing: add a delay or a level with time_to_ack_seconds to the loop' }]
  })
}

/** The first field (in the caller's order) whose id is not among `found`, as an `invalid_reference`. */
function firstMissing(references: ReadonlyArray<{ id: string; field: string }>, found: ReadonlySet<string>, what: string): ServiceError | undefined {
  const missing = references.find((reference) => !found.has(reference.id))
  return missing && new ServiceError('invalid_reference', `no ${what} ${missing.id} in this organization`, { field: missing.field })
}

/** The path's rules, then its references: users, schedules and teams must be the organization's. */
async function validate(db: Db, organizationId: string, fields: EscalationPathFields): Promise<void> {
  const [first] = pathProblems(fields)
  if (first) throw new ServiceError('invalid_value', first.message, { field: first.field })
  const users: Array<{ id: string; field: string }> = []
  const schedules: Array<{ id: string; field: string }> = []
  forEachNode(fields.path, 'path', (node, field) => {
    if (node.type !== 'level') return
    node.level.targets.forEach((target, index) => {
      const reference = { id: target.id, field: `${field}.level.targets[${index}].id` }
      if (target.type === 'user') users.push(reference)
      if (target.type === 'schedule') schedules.push(reference)
    })
  })
  const teams = fields.teamIds.map((id, index) => ({ id, field: `team_ids[${index}]` }))
  const [foundUsers, foundSchedules, foundTeams] = await Promise.all([
    existingUserIds(db, organizationId, [...new Set(users.map((u) => u.id))]),
    existingScheduleIds(db, organizationId, [...new Set(schedules.map((s) => s.id))]),
    existingTeamIds(db, organizationId, [...new Set(fields.teamIds)]),
  ])
  const refused =
    firstMissing(users, new Set(foundUsers), 'user') ??
    firstMissing(schedules, foundSchedules, 'schedule') ??
    firstMissing(teams, foundTeams, 'team')
  if (refused) throw refused
}

const writeOf = (fields: EscalationPathFields): paths.EscalationPathWrite => ({
  name: fields.name,
  path: fields.path,
  workingHours: fields.working_hours,
  teamIds: [...new Set(fields.teamIds)],
})

/** Stores a new path once it is sound and refers only to the organization's users, schedules and teams. */
export async function createEscalationPath(db: Db, organizationId: string, fields: EscalationPathFields): Promise<EscalationPath> {
  await validate(db, organizationId, fields)
  return pathOfRecord(await paths.insertEscalationPath(db, organizationId, writeOf(fields)))
}

/** Replaces the whole path (incident.io's PUT), with the rules of a create; `not_found` when there is none. */
export async function updateEscalationPath(db: Db, organizationId: string, id: string, fields: EscalationPathFields): Promise<EscalationPath> {
  if (!(await paths.findEscalationPath(db, organizationId, id))) throw new ServiceError('not_found', `no escalation path ${id}`)
  await validate(db, organizationId, fields)
  const record = await paths.replaceEscalationPath(db, organizationId, id, writeOf(fields))
  if (!record) throw new ServiceError('not_found', `no escalation path ${id}`)
  return pathOfRecord(record)
}

/** Archives the path: it is gone from the API (`not_found` afterwards) and cannot be escalated to. */
export async function archiveEscalationPath(db: Db, organizationId: string, id: string): Promise<void> {
  if (!(await paths.archiveEscalationPath(db, organizationId, id))) throw new ServiceError('not_found', `no escalation path ${id}`)
}

/** The live path, or `not_found`. */
export async function showEscalationPath(db: Db, organizationId: string, id: string): Promise<EscalationPath> {
  const record = await paths.findEscalationPath(db, organizationId, id)
  if (!record) throw new ServiceError('not_found', `no escalation path ${id}`)
  return pathOfRecord(record)
}

/** A page of live paths, newest first; undefined when `after` is not a path of the organization. */
export async function listEscalationPaths(
  db: Db,
  organizationId: string,
  page: { readonly after?: string; readonly limit: number },
): Promise<EscalationPath[] | undefined> {
  return (await paths.listEscalationPaths(db, organizationId, page))?.map(pathOfRecord)
}

/** The definition the engine compiles, for a live path of the organization; undefined otherwise. */
export async function getEscalationPath(db: Db, organizationId: string, id: string): Promise<EscalationPathDefinition | undefined> {
  const record = await paths.findEscalationPath(db, organizationId, id)
  if (!record) return undefined
  const { id: pathId, name, path, working_hours } = pathOfRecord(record)
  return { id: pathId, name, path, working_hours }
}
