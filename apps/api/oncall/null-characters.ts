import type { RequestHandler } from 'express'
import { noNullCharacters } from './schemas/common'

/**
 * PostgreSQL cannot even compare text holding U+0000, so such a path names nothing (404) and such a query
 * parameter is refused in DRF's words (400), before any handler queries with it. Bodies are checked by the schemas.
 */
export const refuseNullCharacters: RequestHandler = (req, res, next) => {
  // The path is still percent-encoded here; route parameters are decoded later.
  if (/%00/.test(req.path) || !noNullCharacters(req.path)) return void res.status(404).json({ detail: 'Not found.' })
  const errors: Record<string, string[]> = {}
  for (const [name, value] of Object.entries(req.query)) {
    const values = Array.isArray(value) ? value : [value]
    if (values.some((v) => typeof v === 'string' && !noNullCharacters(v))) errors[name] = ['Null characters are not allowed.']
  }
  if (Object.keys(errors).length > 0) return void res.status(400).json(errors)
  next()
}
