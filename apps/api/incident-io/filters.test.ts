import { V2Error, type V2ErrorItem } from './errors'
import { filterProblems, parseFilters, parseListRequest, type FilterSpec } from './filters'
import { PAGE_SIZE, cursorPage, pageRequestProblems, parsePageRequest } from './pagination'

// The deep-object filters and cursor pagination of /v2 lists, on queries as express's 'extended' parser (qs)
// hands them over.

const spec = {
  status: { kind: 'value', operators: ['one_of', 'not_in'], values: ['triggered', 'acked', 'resolved'] },
  escalation_path: { kind: 'value', operators: ['one_of', 'not_in'] },
  idempotency_key: { kind: 'value', operators: ['is', 'starts_with'] },
  created_at: { kind: 'time', operators: ['gte', 'lte', 'date_range'] },
} as const satisfies FilterSpec

const fieldsOf = (problems: V2ErrorItem[]) => problems.map((p) => [p.source?.field, p.code])

describe('filters', () => {
  test('one_of and not_in take a value, repeated values and comma lists, deduplicated in order', () => {
    expect(parseFilters({ status: { one_of: 'triggered' } }, spec)).toEqual({ status: { one_of: ['triggered'] } })
    expect(parseFilters({ status: { one_of: ['acked', 'triggered,acked'], not_in: 'resolved' } }, spec)).toEqual({
      status: { one_of: ['acked', 'triggered'], not_in: ['resolved'] },
    })
    expect(parseFilters({ escalation_path: { one_of: ' EP1 , EP2,,' } }, spec)).toEqual({ escalation_path: { one_of: ['EP1', 'EP2'] } })
  })

  test('is and starts_with take exactly one value, commas included', () => {
    expect(parseFilters({ idempotency_key: { is: 'a,b', starts_with: 'a' } }, spec)).toEqual({ idempotency_key: { is: 'a,b', starts_with: 'a' } })
    expect(fieldsOf(filterProblems({ idempotency_key: { is: ['a', 'b'] } }, spec).problems)).toEqual([['idempotency_key[is]', 'invalid_value']])
  })

  test('time filters: dates are whole UTC days, date-times are instants, date_range includes both ends', () => {
    expect(parseFilters({ created_at: { date_range: '2025-01-01~2025-01-31' } }, spec)).toEqual({
      created_at: { gte: '2025-01-01T00:00:00.000Z', lt: '2025-02-01T00:00:00.000Z' },
    })
    expect(parseFilters({ created_at: { gte: '2025-01-01T09:00:00+01:00', lte: '2025-01-02T10:00:00Z' } }, spec)).toEqual({
      created_at: { gte: '2025-01-01T08:00:00.000Z', lte: '2025-01-02T10:00:00.000Z' },
    })
    expect(parseFilters({ created_at: { lte: '2025-03-01' } }, spec)).toEqual({ created_at: { lt: '2025-03-02T00:00:00.000Z' } })
    // gte and a range together: the tighter lower bound wins.
    expect(parseFilters({ created_at: { gte: '2025-01-15', date_range: '2025-01-01~2025-01-31' } }, spec)).toEqual({
      created_at: { gte: '2025-01-15T00:00:00.000Z', lt: '2025-02-01T00:00:00.000Z' },
    })
  })

  test('unknown fields and operators, missing operators and bad values are 422s naming the parameter', () => {
    const { problems } = filterProblems(
      {
        status: { between: 'a' },
        nope: { one_of: 'x' },
        escalation_path: 'EP1',
        idempotency_key: {},
        created_at: { date_range: '2025-01-31~2025-01-01', gte: 'yesterday', lte: '2025-02-30' },
      },
      spec,
    )
    expect(fieldsOf(problems)).toEqual([
      ['status[between]', 'unknown_operator'],
      ['nope', 'unknown_field'],
      ['escalation_path', 'invalid_value'],
      ['idempotency_key', 'invalid_value'],
      ['created_at[date_range]', 'invalid_value'],
      ['created_at[gte]', 'invalid_value'],
      ['created_at[lte]', 'invalid_value'],
    ])
    expect(problems[0]?.message).toBe('status[between] is not a filter: status takes the operators one_of, not_in')
    expect(problems[1]?.message).toBe('nope is not a filter of this list: it filters on status, escalation_path, idempotency_key, created_at')
  })

  test('values outside the field’s enum, empty, oversized, with NUL, nested or too many are refused', () => {
    const bad = [
      { status: { one_of: 'nope' } },
      { status: { one_of: '' } },
      { status: { one_of: ',,' } },
      { escalation_path: { one_of: 'x'.repeat(256) } },
      { escalation_path: { one_of: 'EP\u0000' } },
      { escalation_path: { one_of: '\ud800' } },
      { escalation_path: { one_of: { nested: 'x' } } },
      { escalation_path: { one_of: ['a', ['b']] } },
      { escalation_path: { one_of: Array.from({ length: 101 }, (_, i) => `EP${i}`) } },
      { idempotency_key: { is: '' } },
      { created_at: { gte: ['2025-01-01', '2025-01-02'] } },
      { created_at: { date_range: '2025-01-01' } },
      { created_at: { date_range: '2025-01-01~2025-01-02~2025-01-03' } },
    ]
    for (const query of bad) {
      const { problems } = filterProblems(query, spec)
      expect({ query, count: problems.length, code: problems[0]?.code }).toEqual({ query, count: 1, code: 'invalid_value' })
    }
  })

  test('a list without filters refuses any parameter but the pagination ones', () => {
    expect(parseListRequest({ page_size: '10', after: 'EPABC' }, {})).toEqual({ page: { pageSize: 10, after: 'EPABC' }, filters: {} })
    try {
      parseListRequest({ status: { one_of: 'x' }, page_size: '0' }, {})
      throw new Error('accepted')
    } catch (err) {
      expect(err).toBeInstanceOf(V2Error)
      expect((err as V2Error).status).toBe(422)
      expect(fieldsOf([...(err as V2Error).errors])).toEqual([
        ['page_size', 'invalid_value'],
        ['status', 'unknown_field'],
      ])
      expect((err as V2Error).errors[1]?.message).toBe('status: this list takes no filters')
    }
  })

  test('names of Object.prototype are unknown fields, not inherited declarations', () => {
    expect(fieldsOf(filterProblems({ constructor: { one_of: 'x' }, toString: 'x' }, spec).problems)).toEqual([
      ['constructor', 'unknown_field'],
      ['toString', 'unknown_field'],
    ])
  })
})

describe('pagination', () => {
  test('page_size defaults to 25 and takes 1 to 250; after is an id', () => {
    expect(parsePageRequest({})).toEqual({ pageSize: PAGE_SIZE.default })
    expect(parsePageRequest({ page_size: '1', after: '' })).toEqual({ pageSize: 1 })
    expect(parsePageRequest({ page_size: '250', after: '01H0J1EXE7AXZ2C93K61WBPYEH' })).toEqual({ pageSize: 250, after: '01H0J1EXE7AXZ2C93K61WBPYEH' })
  })

  test('out of range, non-integer, repeated or nested values are 422s naming the parameter', () => {
    for (const page_size of ['0', '251', '-1', '2.5', '1e2', 'ten', '', ['5', '6'], { x: '1' }, '9'.repeat(400)]) {
      expect(fieldsOf(pageRequestProblems({ page_size }).problems)).toEqual([['page_size', 'invalid_value']])
    }
    for (const after of ['a b', 'EP\u0000', 'x'.repeat(65), ['EP1', 'EP2'], { x: '1' }, '../etc']) {
      expect(fieldsOf(pageRequestProblems({ after }).problems)).toEqual([['after', 'invalid_value']])
    }
  })

  test('cursorPage asks for one more than a page, gives after only when another page follows', async () => {
    const items = Array.from({ length: 5 }, (_, i) => ({ id: `I${i}` }))
    const load = async ({ after, limit }: { after?: string; limit: number }) => {
      const start = after === undefined ? 0 : items.findIndex((item) => item.id === after) + 1
      return after !== undefined && start === 0 ? undefined : items.slice(start, start + limit)
    }
    const first = await cursorPage({ pageSize: 2 }, load)
    expect(first).toEqual({ items: [{ id: 'I0' }, { id: 'I1' }], pagination_meta: { after: 'I1', page_size: 2 } })
    const last = await cursorPage({ pageSize: 2, after: 'I3' }, load)
    expect(last).toEqual({ items: [{ id: 'I4' }], pagination_meta: { page_size: 2 } })
    const exact = await cursorPage({ pageSize: 5 }, load)
    expect(exact.pagination_meta).toEqual({ page_size: 5 })
    await expect(cursorPage({ pageSize: 2, after: 'NOPE' }, load)).rejects.toMatchObject({
      status: 422,
      errors: [{ code: 'not_found', source: { field: 'after' } }],
    })
  })
})
