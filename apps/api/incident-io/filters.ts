import { V2Error, type V2ErrorItem } from './errors'
import { PAGINATION_PARAMS, pageRequestProblems, type PageRequest } from './pagination'
import { isStorable } from './schemas/common'

// incident.io's list filters are deep-object query parameters, `field[operator]=value`, all ANDed:
// `status[one_of]=triggered&status[one_of]=acked`, `created_at[date_range]=2025-01-01~2025-01-31`. The app parses
// queries with qs ('extended'), so `req.query` holds `{ status: { one_of: [...] } }`. Each list declares which fields
// take which operators; anything else (an unknown field or operator, a value of the wrong form) is a 422 naming
// the parameter, never silently ignored.

/** Operators on values: `one_of` / `not_in` take a list, `is` / `starts_with` one string. */
export type ValueOperator = 'one_of' | 'not_in' | 'is' | 'starts_with'
/** Operators on instants: `gte`, `lte`, and `date_range` written `A~B` (both ends included). */
export type TimeOperator = 'gte' | 'lte' | 'date_range'
export type FilterOperator = ValueOperator | TimeOperator

/** A field filtered by string values. */
export interface ValueFilterField {
  readonly kind: 'value'
  readonly operators: readonly ValueOperator[]
  /** The values accepted (an enum); absent: any string without NUL, up to 255 characters. */
  readonly values?: readonly string[]
  readonly description?: string
}

/** A field filtered by instants: a date `YYYY-MM-DD` (a whole UTC day) or an RFC 3339 date-time with offset. */
export interface TimeFilterField {
  readonly kind: 'time'
  readonly operators: readonly TimeOperator[]
  readonly description?: string
}

/** Which filters a list takes: field name → declaration. */
export type FilterSpec = Readonly<Record<string, ValueFilterField | TimeFilterField>>

/** What a value field's parameters asked for; lists are deduplicated, in the order given. */
export interface ValueFilter {
  readonly one_of?: readonly string[]
  readonly not_in?: readonly string[]
  readonly is?: string
  readonly starts_with?: string
}

/**
 * A time field's bounds as ISO 8601 UTC instants, all to be applied: `gte` (inclusive), `lte` (inclusive, from a
 * date-time) and `lt` (exclusive, from a date: the start of the next day).
 */
export interface TimeFilter {
  readonly gte?: string
  readonly lte?: string
  readonly lt?: string
}

/** The parsed filters of a spec: only the fields the request filtered on are present. */
export type Filters<S extends FilterSpec> = {
  readonly [K in keyof S]?: S[K] extends TimeFilterField ? TimeFilter : ValueFilter
}

/** Most values a list operator takes. */
export const MAX_FILTER_VALUES = 100
const MAX_VALUE_LENGTH = 255

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/i

/** An RFC 3339 date-time → its UTC instant; a date → its UTC day [start, next day); otherwise null. */
function instantOf(raw: string): { at: string; dayEnd?: string } | null {
  const date = DATE.exec(raw)
  if (date) {
    const start = new Date(`${raw}T00:00:00Z`)
    // Date normalises 2025-02-30 to March: refuse it instead.
    if (Number.isNaN(start.getTime()) || start.toISOString().slice(0, 10) !== raw) return null
    return { at: start.toISOString(), dayEnd: new Date(start.getTime() + 86_400_000).toISOString() }
  }
  if (!DATE_TIME.test(raw)) return null
  const at = new Date(raw)
  return Number.isNaN(at.getTime()) ? null : { at: at.toISOString() }
}

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

function stringProblem(value: string): string | null {
  if (value === '') return 'needs a value'
  if (value.length > MAX_VALUE_LENGTH) return `values are at most ${MAX_VALUE_LENGTH} characters`
  if (!isStorable(value)) return 'values may not contain NUL or unpaired surrogate characters'
  return null
}

/** The strings of a repeated or comma-separated parameter, or a reason it is not one. */
function listOf(raw: unknown): string[] | string {
  const parts = typeof raw === 'string' ? [raw] : Array.isArray(raw) && raw.every((v) => typeof v === 'string') ? (raw as string[]) : null
  if (parts === null) return 'must be a value or a list of values (repeat the parameter or separate values with commas)'
  const values = [...new Set(parts.flatMap((part) => part.split(',')).map((v) => v.trim()).filter((v) => v !== ''))]
  if (values.length === 0) return 'needs at least one value'
  if (values.length > MAX_FILTER_VALUES) return `takes at most ${MAX_FILTER_VALUES} values`
  return values
}

interface Parsed {
  filters: Record<string, ValueFilter | TimeFilter>
  problems: V2ErrorItem[]
}

/** Reports a problem of `name[operator]`, naming it as the field. */
function problemReporter(name: string, operator: string, out: Parsed) {
  const source = { field: `${name}[${operator}]` }
  return (message: string, code = 'invalid_value') => out.problems.push({ code, message: `${name}[${operator}] ${message}`, source })
}

function parseValueField(name: string, field: ValueFilterField, operators: Record<string, unknown>, out: Parsed): void {
  const filter: { -readonly [K in keyof ValueFilter]: ValueFilter[K] } = {}
  for (const [operator, raw] of Object.entries(operators)) {
    const problem = problemReporter(name, operator, out)
    if (!(field.operators as readonly string[]).includes(operator)) {
      problem(`is not a filter: ${name} takes the operators ${field.operators.join(', ')}`, 'unknown_operator')
      continue
    }
    let values: string[]
    if (operator === 'one_of' || operator === 'not_in') {
      const list = listOf(raw)
      if (typeof list === 'string') {
        problem(list)
        continue
      }
      values = list
    } else {
      if (typeof raw !== 'string') {
        problem('takes exactly one value')
        continue
      }
      values = [raw]
    }
    const bad = values.map((v) => [v, stringProblem(v)] as const).find(([, p]) => p !== null)
    if (bad) {
      problem(bad[1] as string)
      continue
    }
    const unknown = field.values ? values.filter((v) => !field.values?.includes(v)) : []
    if (unknown.length > 0) {
      problem(`has unknown values ${unknown.map((v) => JSON.stringify(v)).join(', ')}: use ${field.values?.join(', ')}`)
      continue
    }
    if (operator === 'one_of' || operator === 'not_in') filter[operator] = values
    else filter[operator as 'is' | 'starts_with'] = values[0]
  }
  if (Object.keys(filter).length > 0) out.filters[name] = filter
}

function parseTimeField(name: string, field: TimeFilterField, operators: Record<string, unknown>, out: Parsed): void {
  const bounds: { gte?: string; lte?: string; lt?: string } = {}
  const lower = (at: string) => (bounds.gte = bounds.gte === undefined || at > bounds.gte ? at : bounds.gte)
  const upper = (instant: { at: string; dayEnd?: string }) => {
    if (instant.dayEnd !== undefined) bounds.lt = bounds.lt === undefined || instant.dayEnd < bounds.lt ? instant.dayEnd : bounds.lt
    else bounds.lte = bounds.lte === undefined || instant.at < bounds.lte ? instant.at : bounds.lte
  }
  for (const [operator, raw] of Object.entries(operators)) {
    const problem = problemReporter(name, operator, out)
    if (!(field.operators as readonly string[]).includes(operator)) {
      problem(`is not a filter: ${name} takes the operators ${field.operators.join(', ')}`, 'unknown_operator')
      continue
    }
    if (typeof raw !== 'string') {
      problem('takes exactly one value')
      continue
    }
    const when = 'a date (YYYY-MM-DD) or an RFC 3339 date-time such as 2025-01-31T09:00:00Z'
    if (operator === 'date_range') {
      const ends = raw.split('~')
      const from = ends.length === 2 ? instantOf(ends[0] as string) : null
      const to = ends.length === 2 ? instantOf(ends[1] as string) : null
      if (!from || !to) {
        problem(`must be two instants separated by ~, each ${when}`)
        continue
      }
      if ((to.dayEnd ?? to.at) < from.at) {
        problem('ends before it starts')
        continue
      }
      lower(from.at)
      upper(to)
      continue
    }
    const instant = instantOf(raw)
    if (!instant) {
      problem(`must be ${when}`)
      continue
    }
    if (operator === 'gte') lower(instant.at)
    else upper(instant)
  }
  if (Object.keys(bounds).length > 0) out.filters[name] = bounds
}

/**
 * Reads the filters of `spec` from a parsed query (`req.query`). Parameters named in `reserved` (by default the
 * pagination parameters) are left to their own parser; every other parameter must be a declared `field[operator]`.
 * All problems are collected into one 422, each naming its parameter (`status[between]`, `foo`).
 */
export function filterProblems<S extends FilterSpec>(
  query: Readonly<Record<string, unknown>>,
  spec: S,
  reserved: readonly string[] = PAGINATION_PARAMS,
): { filters: Filters<S>; problems: V2ErrorItem[] } {
  const out: Parsed = { filters: {}, problems: [] }
  for (const [name, raw] of Object.entries(query)) {
    if (reserved.includes(name)) continue
    const field = Object.hasOwn(spec, name) ? spec[name] : undefined
    if (!field) {
      const known = Object.keys(spec)
      out.problems.push({
        code: 'unknown_field',
        message: known.length > 0 ? `${name} is not a filter of this list: it filters on ${known.join(', ')}` : `${name}: this list takes no filters`,
        source: { field: name },
      })
      continue
    }
    if (!isPlainObject(raw) || Object.keys(raw).length === 0) {
      out.problems.push({
        code: 'invalid_value',
        message: `${name} needs an operator, as in ${name}[${field.operators[0]}]=…`,
        source: { field: name },
      })
      continue
    }
    if (field.kind === 'value') parseValueField(name, field, raw, out)
    else parseTimeField(name, field, raw, out)
  }
  return { filters: out.filters as Filters<S>, problems: out.problems }
}

/** `filterProblems`, throwing its problems as one 422. */
export function parseFilters<S extends FilterSpec>(query: Readonly<Record<string, unknown>>, spec: S, reserved?: readonly string[]): Filters<S> {
  const { filters, problems } = filterProblems(query, spec, reserved)
  if (problems.length > 0) throw new V2Error(422, 'validation_error', problems)
  return filters
}

/** A list request: its page and its filters; every problem with either in one 422. */
export interface ListRequest<S extends FilterSpec> {
  readonly page: PageRequest
  readonly filters: Filters<S>
}

/** Reads a list endpoint's whole query: `page_size`, `after` and the filters of `spec`, nothing else. */
export function parseListRequest<S extends FilterSpec>(query: Readonly<Record<string, unknown>>, spec: S): ListRequest<S> {
  const paging = pageRequestProblems(query)
  const filtering = filterProblems(query, spec)
  const problems = [...paging.problems, ...filtering.problems]
  if (problems.length > 0) throw new V2Error(422, 'validation_error', problems)
  return { page: paging.page, filters: filtering.filters }
}
