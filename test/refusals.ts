import type { ApiResponse } from './stack'

/** A body in OnCall's (DRF's) error shapes: values are strings, lists of strings, or nested such objects. */
export function isErrorBody(body: unknown): boolean {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return false
  const values = Object.values(body)
  return (
    values.length > 0 &&
    values.every(
      (v) =>
        typeof v === 'string' ||
        (Array.isArray(v) && v.length > 0 && v.every((m) => typeof m === 'string')) ||
        (!Array.isArray(v) && isErrorBody(v)),
    )
  )
}

type Call = (method: string, path: string, body?: unknown) => Promise<ApiResponse>

/**
 * Builds the check of a refused write: the exact answer (any error body when `expected` is undefined), in an
 * error shape, and `snapshot` (rows of every organization involved) unchanged. Arguments are read lazily, so
 * a suite can build it before its `beforeAll` has created the organization.
 */
export function refusalCheck(call: () => Call, snapshot: () => Promise<unknown>) {
  return async (method: string, path: string, body: unknown, expected: unknown, status = 400): Promise<void> => {
    const before = await snapshot()
    const response = await call()(method, path, body)
    const shown = typeof body === 'string' ? body.slice(0, 60) : JSON.stringify(body)?.slice(0, 200)
    expect({ method, path, shown, status: response.status, answer: expected === undefined ? 'any' : response.body }).toEqual({
      method,
      path,
      shown,
      status,
      answer: expected === undefined ? 'any' : expected,
    })
    expect(isErrorBody(response.body)).toBe(true)
    expect(await snapshot()).toEqual(before)
  }
}
