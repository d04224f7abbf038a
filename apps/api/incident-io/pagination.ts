import { V2Error, validationError, type V2ErrorItem } from './errors'

// incident.io's cursor pagination: `page_size` (how many) and `after` (the id of the last item of the previous
// page); the answer's `pagination_meta {after?, page_size}` has no `after` on the last page. Each list defines a
// stable order in which ids are unique (escalation paths: newest first).

/** Bounds of `page_size`, and its value when absent. */
export const PAGE_SIZE = { min: 1, max: 250, default: 25 } as const

/** The query parameters pagination reads; list filters must not use these names. */
export const PAGINATION_PARAMS = ['page_size', 'after'] as const

/** A validated page request. */
export interface PageRequest {
  readonly pageSize: number
  /** The id of the last item already seen; absent for the first page. */
  readonly after?: string
}

export interface PaginationMeta {
  /** The cursor of the next page; absent on the last page. */
  readonly after?: string
  readonly page_size: number
}

// Ids are short ASCII tokens; anything else cannot name an item (and must never reach SQL as text with NUL).
const CURSOR = /^[A-Za-z0-9_-]{1,64}$/

/**
 * Reads `page_size` and `after` from a parsed query: every problem as a 422 item naming its parameter (an
 * out-of-range or non-integer `page_size`, a repeated parameter, a malformed `after`).
 */
export function pageRequestProblems(query: Readonly<Record<string, unknown>>): { page: PageRequest; problems: V2ErrorItem[] } {
  const problems: V2ErrorItem[] = []
  let pageSize: number = PAGE_SIZE.default
  const rawSize = query.page_size
  if (rawSize !== undefined) {
    if (typeof rawSize !== 'string' || !/^\d{1,6}$/.test(rawSize) || Number(rawSize) < PAGE_SIZE.min || Number(rawSize) > PAGE_SIZE.max) {
      problems.push({
        code: 'invalid_value',
        message: `page_size must be one integer from ${PAGE_SIZE.min} to ${PAGE_SIZE.max}`,
        source: { field: 'page_size' },
      })
    } else {
      pageSize = Number(rawSize)
    }
  }
  const rawAfter = query.after
  let after: string | undefined
  if (rawAfter !== undefined && rawAfter !== '') {
    if (typeof rawAfter !== 'string' || !CURSOR.test(rawAfter)) {
      problems.push({ code: 'invalid_value', message: 'after must be one id from a previous page\'s pagination_meta.after', source: { field: 'after' } })
    } else {
      after = rawAfter
    }
  }
  return { page: { pageSize, ...(after !== undefined ? { after } : {}) }, problems }
}

/** `pageRequestProblems`, throwing its problems as one 422. */
export function parsePageRequest(query: Readonly<Record<string, unknown>>): PageRequest {
  const { page, problems } = pageRequestProblems(query)
  if (problems.length > 0) throw new V2Error(422, 'validation_error', problems)
  return page
}

/**
 * Loads one page. `load` returns up to `limit` items following the item `after` in the list's stable order (from
 * the start without `after`), or `undefined` when `after` names no item of the caller's organization (a 422 on
 * `after`). It is asked for one item more than the page holds, to know whether another page follows.
 */
export async function cursorPage<T extends { readonly id: string }>(
  page: PageRequest,
  load: (query: { readonly after?: string; readonly limit: number }) => Promise<readonly T[] | undefined>,
): Promise<{ items: T[]; pagination_meta: PaginationMeta }> {
  const loaded = await load({ ...(page.after !== undefined ? { after: page.after } : {}), limit: page.pageSize + 1 })
  if (loaded === undefined) {
    throw validationError('after', `after names nothing in this list: ${page.after ?? ''}`, 'not_found')
  }
  const items = loaded.slice(0, page.pageSize)
  const last = items[items.length - 1]
  return {
    items,
    pagination_meta: { ...(loaded.length > page.pageSize && last ? { after: last.id } : {}), page_size: page.pageSize },
  }
}
