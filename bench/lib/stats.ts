// Figures the benchmarks print.

/** The nearest-rank quantile (`q` from 0 to 1) of values sorted in ascending order; NaN when there are none. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] as number
}

/** A sorted copy, for `quantile`. */
export function ascending(values: readonly number[]): number[] {
  return [...values].sort((a, b) => a - b)
}
