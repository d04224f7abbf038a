import type { Request } from 'express'

export interface PageRequest {
  readonly page: number
  readonly perPage: number
}

export interface Paginated<T> {
  count: number
  next: string | null
  previous: string | null
  results: T[]
  page_size: number
  current_page_number: number
  total_pages: number
}

// DRF's page_size cutoff: a larger perpage still slices, but the reported page_size stops here.
const MAX_REPORTED_PAGE_SIZE = 100

function positiveInt(raw: unknown): number | undefined {
  if (typeof raw !== 'string' || !/^\d+$/.test(raw)) return undefined
  const n = Number(raw)
  return n >= 1 && Number.isSafeInteger(n) ? n : undefined
}

/** OnCall's lenient paging: bad `page` → 1, bad `perpage` → the resource's default. */
export function pageRequest(req: Request, defaultPerPage: number): PageRequest {
  return { page: positiveInt(req.query.page) ?? 1, perPage: positiveInt(req.query.perpage) ?? defaultPerPage }
}

/** The page actually served: past the end means the last page (200, not 404). */
export function clampPage(request: PageRequest, count: number): { page: number; offset: number; limit: number; totalPages: number } {
  const totalPages = Math.max(1, Math.ceil(count / request.perPage))
  const page = Math.min(request.page, totalPages)
  return { page, offset: (page - 1) * request.perPage, limit: request.perPage, totalPages }
}

/**
 * Lists one page: `load` runs with the clamped page; a page past the end is loaded again as the last page.
 * Links are absolute, from the configured public URL, with the query sorted by key as DRF writes it.
 */
export async function paginate<Row, Out>(
  req: Request,
  publicUrl: string,
  defaultPerPage: number,
  load: (page: { offset: number; limit: number }) => Promise<{ rows: Row[]; count: number }>,
  serialize: (row: Row) => Out,
): Promise<Paginated<Out>> {
  const request = pageRequest(req, defaultPerPage)
  let result = await load({ offset: (request.page - 1) * request.perPage, limit: request.perPage })
  const served = clampPage(request, result.count)
  if (served.page !== request.page) result = await load({ offset: served.offset, limit: served.limit })
  return {
    count: result.count,
    next: served.page < served.totalPages ? pageLink(req, publicUrl, served.page + 1) : null,
    previous: served.page > 1 ? pageLink(req, publicUrl, served.page - 1) : null,
    results: result.rows.map(serialize),
    page_size: Math.min(request.perPage, MAX_REPORTED_PAGE_SIZE),
    current_page_number: served.page,
    total_pages: served.totalPages,
  }
}

function pageLink(req: Request, publicUrl: string, page: number): string {
  const original = new URL(req.originalUrl, 'http://placeholder')
  const params = new URLSearchParams(original.search)
  params.delete('page')
  // DRF drops `page` from the link to page 1.
  if (page > 1) params.set('page', String(page))
  params.sort()
  const query = params.toString()
  return `${publicUrl}${original.pathname}${query ? `?${query}` : ''}`
}
