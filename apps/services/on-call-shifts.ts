import type { Db } from '../../db/connect'
import * as repo from '../../db/on-call-shifts.repo'
import type { OnCallShift, ShiftFilter, ShiftFrequency, ShiftSettings, ShiftType } from '../../db/on-call-shifts.repo'
import { getSchedule } from '../../db/schedules.repo'
import { existingUserIds } from '../../db/users.repo'
import { parseNaive } from '../../workflows/core/schedule/time'
import { ServiceError } from './errors'

// On-call shifts: OnCall's rules for combining a shift's fields (what each type needs, what it clears) and for the
// users it names. Formats (dates, durations, enums) are the API dialect's to check before calling here.

export type { OnCallShift, ShiftFilter, ShiftFrequency, ShiftSettings, ShiftType }

/** Where a shift was made, as OnCall records it; anything else counts as the API. */
export const SHIFT_SOURCE = { web: 0, api: 1, terraform: 3 } as const
// A web override outranks every layer (OnCall's web UI).
const WEB_OVERRIDE_LEVEL = 99

/** A create or an update: absent fields keep their stored value (or the default); null clears where allowed. */
export interface ShiftInput {
  readonly teamId?: string | null
  readonly name?: string | null
  readonly type?: ShiftType
  readonly timeZone?: string | null
  readonly level?: number
  readonly start?: string
  readonly rotationStart?: string
  readonly until?: string | null
  /** Seconds. */
  readonly duration?: number
  readonly frequency?: ShiftFrequency | null
  readonly interval?: number | null
  readonly weekStart?: string
  readonly byDay?: string[] | null
  readonly byMonth?: number[] | null
  readonly byMonthday?: number[] | null
  /** Unknown users are dropped. */
  readonly users?: string[] | null
  /** Unknown users are refused (`unknown_rolling_users`). */
  readonly rollingUsers?: string[][] | null
  readonly startRotationFromUserIndex?: number | null
  readonly source?: number
}

/** Why a shift is refused, in OnCall's order; the API dialect words each. */
export type ShiftProblem =
  | { readonly kind: 'required'; readonly field: 'type' | 'start' | 'duration' }
  /** Recurring shifts need a frequency. */
  | { readonly kind: 'frequency_required' }
  /** A weekly frequency needs its week start, given with it. */
  | { readonly kind: 'week_start_required' }
  | { readonly kind: 'interval_not_positive' }
  | { readonly kind: 'rotation_index_required' }
  /** Rolling users with a daily frequency take no month days (OnCall disables them). */
  | { readonly kind: 'daily_month_days' }
  /** Rolling users with a daily frequency cannot skip more days than they have. */
  | { readonly kind: 'interval_above_days' }
  | { readonly kind: 'until_before_start' }
  /** Per index of `rollingUsers`, the ids that are not users of the organization. */
  | { readonly kind: 'unknown_rolling_users'; readonly unknown: ReadonlyMap<number, readonly string[]> }

export type ShiftOutcome = { readonly kind: 'saved'; readonly shift: OnCallShift } | { readonly kind: 'invalid'; readonly problem: ShiftProblem }

/** One page of the organization's shifts: by linked schedule (unlinked last), then creation. */
export async function listShifts(
  db: Db,
  organizationId: string,
  filter: ShiftFilter,
  page: { offset: number; limit: number },
): Promise<{ rows: OnCallShift[]; count: number }> {
  // An unknown (or another organization's) schedule filters to nothing, never to everything.
  const unknownSchedule = filter.scheduleId !== undefined && !(await getSchedule(db, organizationId, filter.scheduleId))
  return repo.listShifts(db, organizationId, unknownSchedule ? { ...filter, scheduleId: '' } : filter, page)
}

/** The shift, or `not_found`. */
export async function getShift(db: Db, organizationId: string, id: string): Promise<OnCallShift> {
  const shift = await repo.getShift(db, organizationId, id)
  if (!shift) throw new ServiceError('not_found', `no on-call shift ${id}`)
  return shift
}

export async function createShift(db: Db, organizationId: string, input: ShiftInput): Promise<ShiftOutcome> {
  const settings = await resolveSettings(db, organizationId, input, undefined)
  if ('kind' in settings) return { kind: 'invalid', problem: settings }
  return { kind: 'saved', shift: await repo.createShift(db, organizationId, settings) }
}

/** Applies `input` over the stored shift (a PUT and a PATCH alike); `not_found` if it was deleted meanwhile. */
export async function updateShift(db: Db, existing: OnCallShift, input: ShiftInput): Promise<ShiftOutcome> {
  const settings = await resolveSettings(db, existing.organizationId, input, existing)
  if ('kind' in settings) return { kind: 'invalid', problem: settings }
  const shift = await repo.updateShift(db, existing.organizationId, existing.id, settings)
  if (!shift) throw new ServiceError('not_found', `no on-call shift ${existing.id}`)
  return { kind: 'saved', shift }
}

export async function deleteShift(db: Db, organizationId: string, id: string): Promise<void> {
  if (!(await repo.deleteShift(db, organizationId, id))) throw new ServiceError('not_found', `no on-call shift ${id}`)
}

/** Rolling users must be users of the organization; each group keeps its first mention of a user. */
async function checkRollingUsers(db: Db, organizationId: string, groups: string[][]): Promise<string[][] | ShiftProblem> {
  const known = new Set(await existingUserIds(db, organizationId, groups.flat()))
  const unknown = new Map<number, string[]>()
  groups.forEach((group, index) => {
    const missing = group.filter((id) => !known.has(id))
    if (missing.length > 0) unknown.set(index, missing)
  })
  if (unknown.size > 0) return { kind: 'unknown_rolling_users', unknown }
  return groups.map((group) => [...new Set(group)])
}

type Merged = Omit<ShiftSettings, 'rotationStart' | 'duration' | 'type'> & {
  type: ShiftType | undefined
  rotationStart: string | null
  duration: number | null
}

/** OnCall's checks of the merged shift, in its order. */
function combinationProblem(merged: Merged, input: ShiftInput, creating: boolean, frequencyChanged: boolean): ShiftProblem | null {
  const { type } = merged
  if (creating && type === undefined) return { kind: 'required', field: 'type' }
  if (creating && !merged.start) return { kind: 'required', field: 'start' }
  if (creating && merged.duration === null) return { kind: 'required', field: 'duration' }
  const recurring = type === 'recurrent_event' || type === 'rolling_users'
  if (recurring && (creating || frequencyChanged)) {
    if (merged.frequency === null) return { kind: 'frequency_required' }
    if (merged.frequency === 'weekly' && input.weekStart === undefined) return { kind: 'week_start_required' }
  }
  if (recurring && input.interval === null) return { kind: 'interval_not_positive' }
  if (type === 'rolling_users' && merged.startRotationFromUserIndex === null) return { kind: 'rotation_index_required' }
  if (type === 'rolling_users' && merged.frequency === 'daily') {
    if (merged.byMonthday && merged.byMonthday.length > 0) return { kind: 'daily_month_days' }
    if (merged.byDay && merged.byDay.length > 0 && (merged.interval ?? 1) > merged.byDay.length) return { kind: 'interval_above_days' }
  }
  if (merged.until !== null && merged.start && (parseNaive(merged.until) as number) < (parseNaive(merged.start) as number)) {
    return { kind: 'until_before_start' }
  }
  return null
}

/** The settings to store for a create (no `existing`) or an update, or the first problem. */
async function resolveSettings(
  db: Db,
  organizationId: string,
  input: ShiftInput,
  existing: OnCallShift | undefined,
): Promise<ShiftSettings | ShiftProblem> {
  const creating = existing === undefined
  const emptyAsNull = <T>(list: T[] | null | undefined, previous: T[] | null): T[] | null =>
    list === undefined ? previous : list === null || list.length === 0 ? null : list
  const frequency = input.frequency !== undefined ? input.frequency : (existing?.frequency ?? null)
  const users = input.users !== undefined ? await existingUserIds(db, organizationId, input.users ?? []) : (existing?.users ?? [])
  let rollingUsers = existing?.rollingUsers ?? null
  if (input.rollingUsers !== undefined) {
    const checked = await checkRollingUsers(db, organizationId, input.rollingUsers ?? [])
    if ('kind' in checked) return checked
    rollingUsers = emptyAsNull(checked, null)
  }
  const source =
    input.source === SHIFT_SOURCE.web || input.source === SHIFT_SOURCE.terraform ? input.source : (existing?.source ?? SHIFT_SOURCE.api)
  const merged: Merged = {
    teamId: input.teamId !== undefined ? input.teamId : (existing?.teamId ?? null),
    name: input.name !== undefined ? input.name : (existing?.name ?? null),
    type: input.type ?? existing?.type,
    timeZone: input.timeZone !== undefined ? input.timeZone : (existing?.timeZone ?? null),
    level: input.level ?? existing?.level ?? 0,
    start: input.start ?? existing?.start ?? '',
    rotationStart: input.rotationStart ?? (input.start !== undefined && creating ? input.start : (existing?.rotationStart ?? null)),
    until: input.until !== undefined ? input.until : (existing?.until ?? null),
    duration: input.duration ?? existing?.duration ?? null,
    frequency,
    interval: input.interval !== undefined && input.interval !== null ? input.interval : (existing?.interval ?? null),
    weekStart: input.weekStart ?? existing?.weekStart ?? 'SU',
    byDay: emptyAsNull(input.byDay, existing?.byDay ?? null),
    byMonth: emptyAsNull(input.byMonth, existing?.byMonth ?? null),
    byMonthday: emptyAsNull(input.byMonthday, existing?.byMonthday ?? null),
    users,
    rollingUsers,
    startRotationFromUserIndex:
      input.startRotationFromUserIndex !== undefined ? input.startRotationFromUserIndex : (existing?.startRotationFromUserIndex ?? null),
    source,
  }
  const problem = combinationProblem(merged, input, creating, frequency !== (existing?.frequency ?? null))
  if (problem) return problem
  const settings: ShiftSettings = {
    ...merged,
    type: merged.type as ShiftType,
    duration: merged.duration as number,
    rotationStart: merged.rotationStart ?? merged.start,
    // An omitted interval with a frequency is 1 (OnCall's test); no frequency, no interval.
    interval: merged.frequency === null ? null : (merged.interval ?? 1),
  }
  // OnCall clears what the type does not use.
  if (settings.type === 'single_event' || settings.type === 'override') {
    Object.assign(settings, { frequency: null, interval: null, byDay: null, byMonth: null, byMonthday: null })
    Object.assign(settings, { rollingUsers: null, startRotationFromUserIndex: null })
    if (settings.type === 'override') Object.assign(settings, { until: null, level: 0 })
  }
  if (settings.type === 'recurrent_event') Object.assign(settings, { rollingUsers: null, startRotationFromUserIndex: null })
  if (settings.type === 'rolling_users') settings.users = []
  // A web override: top priority, rotating from its start, rolling users from users (OnCall's web UI).
  if (settings.type === 'override' && settings.source === SHIFT_SOURCE.web) {
    settings.level = WEB_OVERRIDE_LEVEL
    settings.rotationStart = settings.start
    settings.rollingUsers = settings.users.length > 0 ? settings.users.map((u) => [u]) : null
  }
  return settings
}
