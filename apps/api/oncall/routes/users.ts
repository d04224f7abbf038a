import { Router } from 'express'
import { existingTeamIds } from '../../../../db/teams.repo'
import type { UserRole } from '../../../../db/schema'
import {
  createUser,
  deleteUser,
  DuplicateUsernameError,
  getUser,
  listUsers,
  updateUser,
  type UserFields,
} from '../../../../db/users.repo'
import { requirePermission } from '../auth'
import type { ApiDeps } from '../../deps'
import { ApiError, fieldError, notFound, parseOrThrow } from '../errors'
import { paginate } from '../pagination'
import { resource, type Handler } from '../router'
import { createUserSchema, listUsersQuery, updateUserSchema, userShapeQuery, type UpdateUserRequest } from '../schemas/users'
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
  if (request.phone_number !== undefined) fields.phoneNumber = request.phone_number
  if (request.slack !== undefined) {
    fields.slack = request.slack === null ? null : { userId: request.slack.user_id, teamId: request.slack.team_id ?? null }
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

/** Whether the caller asked for Tocsin's extension fields (`?extended=true`); checked before the body. */
const extendedOf = (query: unknown): boolean => parseOrThrow(userShapeQuery, query).extended === true

export function usersRouter(deps: ApiDeps): Router {
  const router = Router()

  resource(router, '/users', {
    GET: async (req, res) => {
      const { organizationId } = requirePermission(req, 'read')
      const query = parseOrThrow(listUsersQuery, req.query)
      const roles = query.roles.map((n) => roleByNumber[n]).filter((r): r is UserRole => r !== undefined)
      const shape = { short: query.short === 'true', extended: query.extended === true }
      const filter = { username: query.username, email: query.email, roles }
      res.json(
        await paginate(req, deps.publicUrl, USERS_PAGE_SIZE, (page) => listUsers(deps.db, organizationId, filter, page), (u) =>
          userToWire(u, shape),
        ),
      )
    },
    POST: async (req, res) => {
      const { organizationId } = requirePermission(req, 'admin')
      const extended = extendedOf(req.query)
      const body = parseOrThrow(createUserSchema, req.body)
      await checkTeams(deps, organizationId, body.teams)
      try {
        const user = await createUser(deps.db, organizationId, toFields(body) as UserFields, body.teams)
        res.status(201).json(userToWire(user, { extended }))
      } catch (err) {
        if (err instanceof DuplicateUsernameError) throw duplicateUsername()
        throw err
      }
    },
  })

  resource(router, '/users/current', {
    GET: async (req, res) => {
      const { organizationId, user } = requirePermission(req, 'read')
      const extended = extendedOf(req.query)
      const found = await getUser(deps.db, organizationId, user.id)
      if (!found) throw notFound()
      res.json(userToWire(found, { extended }))
    },
  })

  const update: Handler = async (req, res) => {
    const { organizationId } = requirePermission(req, 'admin')
    const extended = extendedOf(req.query)
    const body = parseOrThrow(updateUserSchema, req.body)
    await checkTeams(deps, organizationId, body.teams)
    try {
      const user = await updateUser(deps.db, organizationId, String(req.params.id), toFields(body), body.teams)
      if (!user) throw notFound()
      res.json(userToWire(user, { extended }))
    } catch (err) {
      if (err instanceof DuplicateUsernameError) throw duplicateUsername()
      throw err
    }
  }

  resource(router, '/users/:id', {
    GET: async (req, res) => {
      const { organizationId } = requirePermission(req, 'read')
      const extended = extendedOf(req.query)
      const user = await getUser(deps.db, organizationId, String(req.params.id))
      if (!user) throw notFound()
      res.json(userToWire(user, { extended }))
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
