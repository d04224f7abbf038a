import { z } from 'zod'
import { parseOrThrow, type ApiError } from '../errors'
import { openApiDocument } from '../openapi'
import { parseSilenceDelay, silenceBody } from './alert-groups'
import { chainDaysQuery } from './escalation-chains-oncall'

// The schemas below validate requests and are what the OpenAPI document shows: one definition, no drift.

const documented = openApiDocument('https://oncall.example.test') as { paths: Record<string, Record<string, any>> }
const inputSchema = (schema: z.ZodType) => {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>
  return rest
}

describe('silence delay', () => {
  test.each([
    [undefined, 'missing'],
    [null, 'missing'],
    [[], 'missing'],
    ['600', 'missing'],
    [{}, 'missing'],
    [{ delay: -2 }, 'invalid'],
    [{ delay: 'fuzz' }, 'invalid'],
    [{ delay: 1.5 }, 'invalid'],
    [{ delay: null }, 'invalid'],
    [{ delay: '-2' }, 'invalid'],
    [{ delay: 2 ** 60 }, 'invalid'],
    [{ delay: -1 }, -1],
    [{ delay: 0 }, 0],
    [{ delay: 60 }, 60],
    [{ delay: '600' }, 600],
  ])('%j reads as %j', (body, expected) => {
    expect(parseSilenceDelay(body)).toBe(expected)
  })

  test('the document shows the validating schema', () => {
    const body = documented.paths['/api/v1/alert_groups/{id}/silence/']?.post.requestBody.content['application/json'].schema
    expect(body).toEqual(inputSchema(silenceBody))
  })
})

describe('chain views days', () => {
  const errorOf = (days: string) => {
    try {
      parseOrThrow(chainDaysQuery, { days })
    } catch (err) {
      return (err as ApiError).body
    }
    throw new Error(`${days} was accepted`)
  }

  test('omitted is 7; integers from 1 to 30, spaces around allowed', () => {
    expect(parseOrThrow(chainDaysQuery, {}).days).toBe(7)
    expect(parseOrThrow(chainDaysQuery, { days: undefined }).days).toBe(7)
    expect(parseOrThrow(chainDaysQuery, { days: ' 12 ' }).days).toBe(12)
    expect(parseOrThrow(chainDaysQuery, { days: '30' }).days).toBe(30)
    expect(parseOrThrow(chainDaysQuery, { days: '1' }).days).toBe(1)
  })

  test.each([
    ['abc', 'A valid integer is required.'],
    ['', 'A valid integer is required.'],
    ['1.5', 'A valid integer is required.'],
    ['1234567', 'A valid integer is required.'],
    ['31', 'Ensure this value is less than or equal to 30.'],
    ['0', 'Ensure this value is greater than or equal to 1.'],
    ['-3', 'Ensure this value is greater than or equal to 1.'],
  ])('%j: DRF text %j', (days, text) => {
    expect(errorOf(days)).toEqual({ days: [text] })
  })

  test('the document shows the validating schema', () => {
    for (const view of ['previous_oncall', 'next_oncall']) {
      const parameters = documented.paths[`/api/v1/escalation_chains/{id}/${view}/`]?.get.parameters as Array<{ name: string; schema: unknown }>
      expect(parameters.find((p) => p.name === 'days')?.schema).toEqual(inputSchema(chainDaysQuery.shape.days))
    }
  })
})
