import type { z } from 'zod'

// Turns zod issues into Django REST Framework's error bodies, because OnCall clients (and Terraform users)
// read those texts. The texts are DRF 3.15's; custom refinements carry their own OnCall text.

export type DrfErrors = { [field: string]: DrfErrorValue }
type DrfErrorValue = string[] | DrfErrors | DrfErrorValue[]

function pythonType(value: unknown): string {
  if (value === null) return 'NoneType'
  if (Array.isArray(value)) return 'list'
  switch (typeof value) {
    case 'string':
      return 'str'
    case 'number':
      return Number.isInteger(value) ? 'int' : 'float'
    case 'boolean':
      return 'bool'
    default:
      return 'dict'
  }
}

function valueAt(input: unknown, path: readonly PropertyKey[]): { present: boolean; value: unknown } {
  let current: unknown = input
  for (const key of path) {
    if (current === null || typeof current !== 'object' || !(key in (current as object))) {
      return { present: false, value: undefined }
    }
    current = (current as Record<PropertyKey, unknown>)[key]
  }
  return { present: true, value: current }
}

/** DRF's message for one zod issue, judged against the raw input so "missing" and "null" read as DRF says. */
export function drfMessage(issue: z.core.$ZodIssue, input: unknown): string {
  const { present, value } = valueAt(input, issue.path)
  switch (issue.code) {
    case 'invalid_type':
      if (!present || value === undefined) return 'This field is required.'
      if (value === null) return 'This field may not be null.'
      // A schema that names its own text (e.g. OnCall's time format message) keeps it.
      if (!issue.message.startsWith('Invalid input')) return issue.message
      switch (issue.expected) {
        case 'string':
          return 'Not a valid string.'
        case 'boolean':
          return 'Must be a valid boolean.'
        case 'number':
        case 'int':
          return 'A valid integer is required.'
        case 'array':
          return `Expected a list of items but got type "${pythonType(value)}".`
        case 'object':
          return `Invalid data. Expected a dictionary, but got ${pythonType(value)}.`
        default:
          return 'Invalid value.'
      }
    case 'too_big':
      if (issue.origin === 'string') return `Ensure this field has no more than ${issue.maximum} characters.`
      if (issue.origin === 'array') return `Ensure this field has no more than ${issue.maximum} elements.`
      return `Ensure this value is less than or equal to ${issue.maximum}.`
    case 'too_small':
      if (issue.origin === 'string') return 'This field may not be blank.'
      if (issue.origin === 'array') return 'This list may not be empty.'
      return `Ensure this value is greater than or equal to ${issue.minimum}.`
    case 'invalid_value':
      if (value === null) return 'This field may not be null.'
      return `"${String(value)}" is not a valid choice.`
    case 'invalid_format':
      if (issue.format === 'email') return 'Enter a valid email address.'
      if (issue.format === 'url') return 'Enter a valid URL.'
      return issue.message
    case 'unrecognized_keys':
      return issue.message
    default:
      return issue.message
  }
}

/**
 * Groups issues by field into DRF's nested shape: items of a list of objects get one entry each (`{}` for valid
 * ones); a bad item of a list of plain values is reported under its index as a string, as DRF's ListField does.
 */
export function drfErrors(error: z.ZodError, input: unknown): DrfErrors {
  const body: DrfErrors = {}
  // DRF validates a value only once it has the field's type; zod still runs length checks on anything that has a
  // length (`"name": []` would add "This list may not be empty."), so a type error is its path's only error.
  const pathKey = (path: readonly PropertyKey[]) => JSON.stringify(path.map(String))
  const mistyped = new Set(error.issues.filter((i) => i.code === 'invalid_type').map((i) => pathKey(i.path)))
  for (const issue of error.issues) {
    if (issue.code !== 'invalid_type' && mistyped.has(pathKey(issue.path))) continue
    const path = issue.path.length === 0 ? ['non_field_errors'] : issue.path
    insert(body, path, drfMessage(issue, input), input)
  }
  return body
}

function insert(container: DrfErrors | DrfErrorValue[], path: readonly PropertyKey[], message: string, input: unknown) {
  const [head, ...rest] = path
  const key = typeof head === 'number' ? head : String(head)
  const target = container as Record<string | number, DrfErrorValue>
  if (rest.length === 0) {
    const existing = target[key]
    if (Array.isArray(existing) && existing.every((m) => typeof m === 'string')) {
      if (!existing.includes(message)) (existing as string[]).push(message)
    } else if (existing === undefined) {
      target[key] = [message]
    }
    return
  }
  if (target[key] === undefined) {
    // A list of objects gets one entry per item; a list of plain values (DRF ListField) is keyed by index.
    if (typeof rest[0] === 'number' && rest.length > 1) {
      const list = valueAt(input, [head as PropertyKey])
      const length = Array.isArray(list.value) ? list.value.length : 0
      target[key] = Array.from({ length }, () => ({}))
    } else {
      target[key] = {}
    }
  }
  insert(target[key] as DrfErrors | DrfErrorValue[], rest, message, input)
}
