import { z } from 'zod'
import { emptyAsNull, httpUrl, text } from './common'

const teamFields = {
  name: text(300),
  email: emptyAsNull(z.email().max(254)),
  avatar_url: emptyAsNull(httpUrl),
}

/** POST /api/v1/teams/ (Tocsin extension: OnCall imports teams from Grafana). */
export const createTeamSchema = z.object({
  ...teamFields,
  email: teamFields.email.default(null),
  avatar_url: teamFields.avatar_url.default(null),
})

export const updateTeamSchema = z.object(teamFields).partial()

export type CreateTeamRequest = z.infer<typeof createTeamSchema>
export type UpdateTeamRequest = z.infer<typeof updateTeamSchema>
