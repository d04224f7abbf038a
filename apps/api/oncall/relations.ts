import { getTeam } from '../../../db/teams.repo'
import type { Db } from '../../../db/connect'
import { ApiError, fieldError } from './errors'

/**
 * A team id from a request body: "" and "null" mean no team (the Go client sends ""), anything else must be a
 * team of the caller's organization, else OnCall's `{"<field>": ["Object does not exist"]}`.
 */
export async function resolveTeamId(
  db: Db,
  organizationId: string,
  raw: string | null | undefined,
  field = 'team_id',
): Promise<string | null | undefined> {
  if (raw === undefined) return undefined
  if (raw === null || raw === '' || raw === 'null') return null
  if (!(await getTeam(db, organizationId, raw))) throw fieldError(field, 'Object does not exist')
  return raw
}

/**
 * The `team_id` list filter (django-filter's ModelChoiceFilter): a team of the organization, or "null" for
 * objects without a team; an unknown id is a 400, never an unfiltered list.
 */
export async function teamIdFilter(db: Db, organizationId: string, raw: unknown): Promise<string | null | undefined> {
  if (raw === undefined) return undefined
  if (raw === 'null') return null
  if (typeof raw === 'string' && (await getTeam(db, organizationId, raw))) return raw
  throw new ApiError(400, { team_id: ['Select a valid choice. That choice is not one of the available choices.'] })
}

/** A single string query parameter, or undefined (repeated parameters take the last value, as Django does). */
export function queryString(raw: unknown): string | undefined {
  if (typeof raw === 'string') return raw
  if (Array.isArray(raw) && typeof raw[raw.length - 1] === 'string') return raw[raw.length - 1] as string
  return undefined
}
