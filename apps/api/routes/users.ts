import { Router } from 'express'
import { existingTeamIds } from '../../../activities/db/teams.repo'
import type { UserRole } from '../../../activities/db/schema'
import {
  createUser,
  deleteUser,
  DuplicateUsernameError,
  getUser,
  listUsers,
  updateUser,
  type UserFields,
} from '../../../activities/db/users.repo'
import { requirePermission } from '../auth'
import type { ApiDeps } from '../deps'
import { ApiError, fieldError, notFound, parseOrThrow } from '../errors'
import { paginate } from '../pagination'
import { resource, type Handler } from '../router'
import { createUserSchema, listUsersQuery, updateUserSchema, type UpdateUserRequest } from '../schemas/users'
import { userToWire } from '../serializers'

const USERS_PAGE_SIZE = 100
// OnCall's numeric role filter: ?roles=0 is admin … 3 is none.
const roleByNumber: Record<string, UserRole> = { '0': 'admin', '1': 'editor', '2': 'viewer', '3': 'none' }

function toFields(request: UpdateUserRequest): Partial<UserFields> {
  const fields: Partial<UserFields> = {}
  if (request.username !== undefined) fields.username = request.username
  if (request.email !== undefined) fields.email = request.email
  if (request.role !== undefined) fields.role = request.role
  if (request.timezone !== undefined) fields.timezone = request.timezone
  if (request.phone_number !== undefined) fields.phone_number = request.phone_number
  if (request.slack !== undefined) {
    fields.slack_user_id = request.slack?.user_id ?? null
    fields.slack_team_id = request.slack?.team_id ?? null
  }
  return fields
}

async function checkTeams(deps: ApiDeps, organizationId: string, teams: readonly string[] | undefined): Promise<void> {
  if (!teams) return
  const known = await existingTeamIds(deps.db, organizationId, teams)
  const missing = teams.find((id) => !known.has(id))
  if (missing !== undefined) throw fieldError('teams', `Invalid pk "${missing}" - object does not exist.`)
}

const duplicateUsername = () => fieldError('username', 'A user with that username already exists.')

export function usersRouter(deps: ApiDeps): Router {
  const router = Router()

  resource(router, '/users', {
    GET: async (req, res) => {
      const { organizationId } = requirePermission(req, 'read')
      const query = parseOrThrow(listUsersQuery, req.query)
      const roles = query.roles.map((n) => roleByNumber[n]).filter((r): r is UserRole => r !== undefined)
      const short = query.short === 'true'
      const filter = { username: query.username, email: query.email, roles }
      res.json(
        await paginate(req, deps.publicUrl, USERS_PAGE_SIZE, (page) => listUsers(deps.db, organizationId, filter, page), (u) =>
          userToWire(u, short),
        ),
      )
    },
    POST: async (req, res) => {
      const { organizationId } = requirePermission(req, 'admin')
      const body = parseOrThrow(createUserSchema, req.body)
      await checkTeams(deps, organizationId, body.teams)
      try {
        const user = await createUser(deps.db, organizationId, toFields(body) as UserFields, body.teams)
        res.status(201).json(userToWire(user))
      } catch (err) {
        if (err instanceof DuplicateUsernameError) throw duplicateUsername()
        throw err
      }
    },
  })

  resource(router, '/users/current', {
    GET: async (req, res) => {
      const { organizationId, user } = requirePermission(req, 'read')
      const found = await getUser(deps.db, organizationId, user.id)
      if (!found) throw notFound()
      res.json(userToWire(found))
    },
  })

  const update: Handler = async (req, res) => {
    const { organizationId } = requirePermission(req, 'admin')
    const body = parseOrThrow(updateUserSchema, req.body)
    await checkTeams(deps, organizationId, body.teams)
    try {
      const user = await updateUser(deps.db, organizationId, String(req.params.id), toFields(body), body.teams)
      if (!user) throw notFound()
      res.json(userToWire(user))
    } catch (err) {
      if (err instanceof DuplicateUsernameError) throw duplicateUsername()
      throw err
    }
  }

  resource(router, '/users/:id', {
    GET: async (req, res) => {
      const { organizationId } = requirePermission(req, 'read')
      const user = await getUser(deps.db, organizationId, String(req.params.id))
      if (!user) throw notFound()
      res.json(userToWire(user))
    },
    PUT: update,
    PATCH: update,
    DELETE: async (req, res) => {
      const { organizationId, user } = requirePermission(req, 'admin')
      if (req.params.id === user.id) throw new ApiError(400, { detail: 'You cannot delete yourself.' })
      if (!(await deleteUser(deps.db, organizationId, String(req.params.id)))) throw notFound()
      res.status(204).end()
    },
  })

  return router
}
