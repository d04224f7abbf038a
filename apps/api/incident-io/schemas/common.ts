import { z } from 'zod'
import type { IssueParams } from '../errors'

// Building blocks of the /v2 request schemas.

// PostgreSQL stores neither U+0000 nor unpaired surrogates (in text or jsonb): refusing them is a 422, not a 500.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

/** True when PostgreSQL can store the string as text or in jsonb. */
export const isStorable = (value: string) => !value.includes('\u0000') && !LONE_SURROGATE.test(value)

/** A string up to `max` characters that PostgreSQL can store; may be empty. */
export const storableString = (max: number) =>
  z
    .string()
    .max(max, { message: `must be at most ${max} characters` })
    .refine(isStorable, { message: 'may not contain NUL or unpaired surrogate characters' })

/** A non-blank storable string up to `max` characters. */
export const requiredString = (max: number) =>
  storableString(max).refine((value) => value.trim() !== '', { message: 'must not be blank' })

/** An id: of a node, a target, a working-hours set, a team. */
export const idString = requiredString(255)

/**
 * A field incident.io defines and Tocsin does not implement: absent or null, otherwise a 422 `not_supported`
 * with `message` (what it would do, what to do instead). Its output is always undefined, so it never reaches storage.
 */
export const unsupported = (message: string) =>
  z
    .unknown()
    .refine((value) => value === undefined || value === null, { message, params: { code: 'not_supported' } satisfies IssueParams })
    .transform((): undefined => undefined)
    .optional()
    .meta({ description: `Not supported by Tocsin: omit it or send null. ${message}` })
