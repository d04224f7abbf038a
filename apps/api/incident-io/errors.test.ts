import type { Request } from 'express'
import { z } from 'zod'
import { ServiceError } from '../../services/errors'
import { fieldPath, joinField, parseBody, V2Error, v2ErrorOf } from './errors'
import { rateLimit } from './rate-limit'

// incident.io's error object: field paths, the codes of zod issues, service refusals, and the 429 of a rate limit.

const failureOf = (run: () => unknown): V2Error => {
  try {
    run()
  } catch (err) {
    if (err instanceof V2Error) return err
    throw err
  }
  throw new Error('no failure')
}

test('field paths: names joined by dots, indexes in brackets', () => {
  expect(fieldPath(['path', 1, 'if_else', 'then_path', 0, 'level', 'targets'])).toBe('path[1].if_else.then_path[0].level.targets')
  expect(fieldPath([0, 'x'])).toBe('[0].x')
  expect(fieldPath([])).toBe('')
  expect(joinField('working_hours[0]', 'weekday_intervals[2].start_time')).toBe('working_hours[0].weekday_intervals[2].start_time')
  expect(joinField('team_ids', '[3]')).toBe('team_ids[3]')
  expect(joinField('working_hours[0]', '')).toBe('working_hours[0]')
})

test('a failed parse is a 422 validation_error with one entry per issue, coded by what was wrong', () => {
  const schema = z
    .object({
      name: z.string(),
      count: z.int().min(1),
      nested: z.object({ list: z.array(z.string()) }),
      legacy: z
        .unknown()
        .refine((v) => v === undefined, { message: 'legacy is not supported', params: { code: 'not_supported' } })
        .optional(),
    })
    .superRefine((_body, ctx) => ctx.addIssue({ code: 'custom', message: 'whole-body rule', params: { field: 'nested.list[0]' } }))
  const error = failureOf(() => parseBody(schema, { count: 'x', nested: { list: [1] }, legacy: 1 }))
  expect(error.status).toBe(422)
  expect(error.type).toBe('validation_error')
  expect(error.errors).toEqual([
    { code: 'is_required', message: 'This field is required.', source: { field: 'name' } },
    { code: 'invalid_type', message: 'must be a number, not a string', source: { field: 'count' } },
    { code: 'invalid_type', message: 'must be a string, not an integer', source: { field: 'nested.list[0]' } },
    { code: 'not_supported', message: 'legacy is not supported', source: { field: 'legacy' } },
  ])
  const refined = failureOf(() => parseBody(schema, { name: 'n', count: 0, nested: { list: [] } }))
  expect(refined.errors).toEqual([
    { code: 'invalid_value', message: expect.any(String), source: { field: 'count' } },
    { code: 'invalid_value', message: 'whole-body rule', source: { field: 'nested.list[0]' } },
  ])
})

test('no body at all is a 400 invalid_request_error; a body that is not an object a 422 without a field', () => {
  const schema = z.object({ name: z.string() })
  expect(failureOf(() => parseBody(schema, undefined))).toMatchObject({ status: 400, type: 'invalid_request_error' })
  expect(failureOf(() => parseBody(schema, [])).errors).toEqual([{ code: 'invalid_type', message: 'must be an object, not a list' }])
})

test('service refusals in incident.io words', () => {
  expect(v2ErrorOf(new ServiceError('not_found', 'no escalation path EP1'))).toMatchObject({ status: 404, type: 'not_found' })
  expect(v2ErrorOf(new ServiceError('invalid_reference', 'no team T1', { field: 'team_ids[0]' }))).toMatchObject({
    status: 422,
    type: 'validation_error',
    errors: [{ code: 'not_found', message: 'no team T1', source: { field: 'team_ids[0]' } }],
  })
  expect(v2ErrorOf(new ServiceError('invalid_value', 'bad', { field: 'name' })).errors).toEqual([{ code: 'invalid_value', message: 'bad', source: { field: 'name' } }])
  expect(v2ErrorOf(new ServiceError('invalid_request', 'whole'))).toMatchObject({ status: 422, errors: [{ code: 'invalid_request', message: 'whole' }] })
  expect(v2ErrorOf(new ServiceError('refused', 'already resolved'))).toMatchObject({ status: 422, errors: [{ code: 'refused', message: 'already resolved' }] })
  const engine = v2ErrorOf(new ServiceError('engine_unavailable', 'down', { nothingPaged: true }))
  expect(engine).toMatchObject({ status: 503, type: 'api_error', extra: { headers: { 'Retry-After': '5' } } })
  expect(engine.errors[0]?.message).toContain('nobody was paged')
})

describe('rate limits', () => {
  const requestOf = (key: string) => ({ key }) as unknown as Request
  const keyOf = (req: Request) => (req as unknown as { key: string }).key

  function run(limiter: ReturnType<typeof rateLimit>, key: string): V2Error | 'passed' {
    let outcome: V2Error | 'passed' | undefined
    try {
      limiter(requestOf(key), {} as never, () => (outcome = 'passed'))
    } catch (err) {
      outcome = err as V2Error
    }
    if (outcome === undefined) throw new Error('neither passed nor refused')
    return outcome
  }

  test('counts per key in a window: over the limit is 429 too_many_requests with rate_limit and Retry-After', () => {
    let now = Date.parse('2026-12-06T10:00:00.000Z')
    const limiter = rateLimit({ name: 'create_escalation', limit: 2 }, { now: () => now, keyOf })
    expect([run(limiter, 'a'), run(limiter, 'a'), run(limiter, 'b')]).toEqual(['passed', 'passed', 'passed'])
    now += 20_000
    const refused = run(limiter, 'a') as V2Error
    expect(refused).toBeInstanceOf(V2Error)
    expect(refused.status).toBe(429)
    expect(refused.type).toBe('too_many_requests')
    expect(refused.extra).toEqual({
      rateLimit: { name: 'create_escalation', limit: 2, remaining: 0, retry_after: '2026-12-06T10:01:00.000Z' },
      headers: { 'Retry-After': '40' },
    })
    // The window closes a minute after it opened; the key starts afresh.
    now += 40_000
    expect(run(limiter, 'a')).toBe('passed')
  })
})
