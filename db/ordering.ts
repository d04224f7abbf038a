// OnCall's ordered-model rules for escalation policies (and later routes), as pure functions over
// (id, order) pairs: positions are not renumbered, gaps stay, `manual_order` swaps instead of moving.

export interface Ordered {
  readonly id: string
  readonly order: number
}

/** The largest order a position may take: OnCall's PositiveIntegerField bound. */
export const MAX_ORDER = 2147483647

export class InvalidPositionError extends Error {
  override name = 'InvalidPositionError'
}

/** Changes to apply: the new order of every row whose order changes. */
export type Reordering = Map<string, number>

function check(position: number): void {
  if (!Number.isInteger(position) || position < 0 || position > MAX_ORDER) throw new InvalidPositionError('invalid position')
}

function maxOrder(rows: readonly Ordered[]): number {
  return rows.reduce((max, row) => Math.max(max, row.order), -1)
}

/**
 * Where a new row goes. It is first appended (max + 1); then, with a position, moved there (rows at or after it
 * shift down by one) or, under manual_order, swapped with whichever row holds that position.
 */
export function placeNew(
  existing: readonly Ordered[],
  newId: string,
  position: number | undefined,
  manualOrder: boolean,
): Reordering {
  const appended = maxOrder(existing) + 1
  const changes: Reordering = new Map([[newId, appended]])
  if (position === undefined || (position === -1 && !manualOrder)) return withinBounds(changes)
  check(position)
  if (manualOrder) return withinBounds(swapInto([...existing, { id: newId, order: appended }], newId, position))
  return withinBounds(moveTo([...existing, { id: newId, order: appended }], newId, position))
}

/**
 * A chain whose last row holds MAX_ORDER has no room to append (or to shift that row down): refused as an invalid
 * position instead of overflowing the integer column. (Moving existing rows never passes their largest order.)
 */
function withinBounds(changes: Reordering): Reordering {
  for (const order of changes.values()) if (order > MAX_ORDER) throw new InvalidPositionError('no position left')
  return changes
}

/** Moving an existing row to `position` (-1 means the current last place), or swapping it under manual_order. */
export function reposition(rows: readonly Ordered[], id: string, position: number, manualOrder: boolean): Reordering {
  if (position === -1 && !manualOrder) position = maxOrder(rows)
  check(position)
  return manualOrder ? swapInto(rows, id, position) : moveTo(rows, id, position)
}

function moveTo(rows: readonly Ordered[], id: string, position: number): Reordering {
  const current = rows.find((row) => row.id === id)
  if (!current) throw new Error(`row ${id} is not in the ordering`)
  const changes: Reordering = new Map()
  const from = current.order
  if (position === from) return new Map([[id, from]])
  for (const row of rows) {
    if (row.id === id) continue
    if (position > from && row.order > from && row.order <= position) changes.set(row.id, row.order - 1)
    if (position < from && row.order >= position && row.order < from) changes.set(row.id, row.order + 1)
  }
  changes.set(id, position)
  return changes
}

function swapInto(rows: readonly Ordered[], id: string, position: number): Reordering {
  const current = rows.find((row) => row.id === id)
  if (!current) throw new Error(`row ${id} is not in the ordering`)
  const holder = rows.find((row) => row.order === position && row.id !== id)
  const changes: Reordering = new Map([[id, position]])
  if (holder) changes.set(holder.id, current.order)
  return changes
}

/** Applies a reordering to rows, for callers (and tests) that want the resulting orders. */
export function applyReordering(rows: readonly Ordered[], changes: Reordering): Ordered[] {
  const known = new Set(rows.map((row) => row.id))
  const result = rows.map((row) => ({ id: row.id, order: changes.get(row.id) ?? row.order }))
  for (const [id, order] of changes) if (!known.has(id)) result.push({ id, order })
  return result
}
