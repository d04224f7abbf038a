import { IANAZone } from 'luxon'
import { z } from 'zod'

/** DRF CharField's ProhibitNullCharactersValidator: PostgreSQL cannot store U+0000 in text (it would be a 500). */
export const noNullCharacters = (value: string) => !value.includes('\u0000')
const nullCharacters = { message: 'Null characters are not allowed.' }
export const plainString = () => z.string().refine(noNullCharacters, nullCharacters)

/** DRF CharField: trims, refuses blank unless allowed, bounded so hostile sizes get a 400. */
export const text = (max: number) => plainString().trim().min(1).max(max)

/** DRF BooleanField accepts these spellings as well as JSON booleans. */
export const drfBoolean = z.preprocess((value) => {
  if (value === 'true' || value === 'True' || value === '1' || value === 1) return true
  if (value === 'false' || value === 'False' || value === '0' || value === 0) return false
  return value
}, z.boolean())

export const ianaTimezone = z.string().refine((zone) => IANAZone.isValidZone(zone), { message: 'Invalid timezone' })

export const httpUrl = z.url({ protocol: /^https?$/ }).max(2048).refine(noNullCharacters, nullCharacters)

/** Relation fields treat "" as null, as DRF's RelatedField does (the Go client sends "" for "no team"). */
export const emptyAsNull = <T extends z.ZodType>(schema: T) =>
  z.preprocess((value) => (value === '' ? null : value), schema.nullable())
