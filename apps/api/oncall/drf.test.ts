import { type z } from 'zod'
import { drfErrors } from './drf'
import { directPagingSchema } from './schemas/escalation'
import { createUserSchema } from './schemas/users'

function errorsOf(schema: z.ZodType, input: unknown) {
  const result = schema.safeParse(input)
  if (result.success) throw new Error('expected a validation failure')
  return drfErrors(result.error, input)
}

test('missing, null and wrong-typed fields read as DRF says them', () => {
  expect(errorsOf(createUserSchema, { username: null, email: 5 })).toEqual({
    username: ['This field may not be null.'],
    email: ['Not a valid string.'],
  })
  expect(errorsOf(createUserSchema, {})).toEqual({
    username: ['This field is required.'],
    email: ['This field is required.'],
  })
})

test('list items get one entry each, {} for the valid ones', () => {
  expect(errorsOf(directPagingSchema, { users: [{ id: 'U1', important: true }, { id: 7, important: true }, { id: 'U3' }] })).toEqual({
    users: [{}, { id: ['Not a valid string.'] }, { important: ['This field is required.'] }],
  })
})

test('sizes, formats and choices', () => {
  expect(errorsOf(createUserSchema, { username: 'a'.repeat(151), email: 'not-an-email', role: 'root' })).toEqual({
    username: ['Ensure this field has no more than 150 characters.'],
    email: ['Enter a valid email address.'],
    role: ['"root" is not a valid choice.'],
  })
  expect(errorsOf(createUserSchema, { username: '   ', email: 'a@b.test', timezone: 'Mars/Olympus' })).toEqual({
    username: ['This field may not be blank.'],
    timezone: ['Invalid timezone'],
  })
})

test('a body that is not an object is a non-field error', () => {
  expect(errorsOf(createUserSchema, ['x'])).toEqual({ non_field_errors: ['Invalid data. Expected a dictionary, but got list.'] })
})
