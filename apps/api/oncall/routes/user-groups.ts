import { Router } from 'express'
import {
  createUserGroup,
  deleteUserGroup,
  DuplicateUserGroupHandleError,
  getUserGroup,
  listUserGroups,
  updateUserGroup,
  type UserGroup,
  type UserGroupFields,
} from '../../../../db/user-groups.repo'
import { existingUserIds } from '../../../../db/users.repo'
import { requirePermission } from '../auth'
import type { ApiDeps } from '../../deps'
import { fieldError, notFound, parseOrThrow } from '../errors'
import { paginate } from '../pagination'
import { queryString } from '../relations'
import { resource, type Handler } from '../router'
import { createUserGroupSchema, updateUserGroupSchema, type UpdateUserGroupRequest } from '../schemas/user-groups'

const USER_GROUPS_PAGE_SIZE = 50

export function userGroupToWire(group: UserGroup) {
  return {
    id: group.id,
    type: 'slack_based',
    // OnCall's slack.id is Slack's own id; Tocsin's groups have none, so it is the group's id.
    slack: { id: group.id, name: group.name, handle: group.handle },
    // Tocsin extension: who the group pages.
    members: group.members,
  }
}

async function checkMembers(
  deps: ApiDeps,
  organizationId: string,
  members: readonly string[] | undefined,
): Promise<void> {
  if (!members || members.length === 0) return
  const known = new Set(await existingUserIds(deps.db, organizationId, members))
  const missing = members.find((id) => !known.has(id))
  if (missing !== undefined) throw fieldError('members', `Invalid pk "${missing}" - object does not exist.`)
}

function toFields(body: UpdateUserGroupRequest): Partial<UserGroupFields> {
  const fields: Partial<UserGroupFields> = {}
  if (body.name !== undefined) fields.name = body.name
  if (body.handle !== undefined) fields.handle = body.handle
  return fields
}

function reportDuplicate(err: unknown): never {
  if (err instanceof DuplicateUserGroupHandleError)
    throw fieldError('handle', 'A user group with this handle already exists.')
  throw err
}

export function userGroupsRouter(deps: ApiDeps): Router {
  const router = Router()

  resource(router, '/user_groups', {
    GET: async (req, res) => {
      const { organizationId } = requirePermission(req, 'read')
      const handle = queryString(req.query.slack_handle)
      res.json(
        await paginate(
          req,
          deps.publicUrl,
          USER_GROUPS_PAGE_SIZE,
          (page) => listUserGroups(deps.db, organizationId, { handle }, page),
          userGroupToWire,
        ),
      )
    },
    POST: async (req, res) => {
      const { organizationId } = requirePermission(req, 'admin')
      const body = parseOrThrow(createUserGroupSchema, req.body)
      await checkMembers(deps, organizationId, body.members)
      const group = await createUserGroup(
        deps.db,
        organizationId,
        toFields(body) as UserGroupFields,
        body.members,
      ).catch(reportDuplicate)
      res.status(201).json(userGroupToWire(group))
    },
  })

  const update: Handler = async (req, res) => {
    const { organizationId } = requirePermission(req, 'admin')
    // DRF looks the object up before validating: an unknown id is a 404 whatever the body.
    if (!(await getUserGroup(deps.db, organizationId, String(req.params.id)))) throw notFound()
    const body = parseOrThrow(updateUserGroupSchema, req.body)
    await checkMembers(deps, organizationId, body.members)
    const group = await updateUserGroup(
      deps.db,
      organizationId,
      String(req.params.id),
      toFields(body),
      body.members,
    ).catch(reportDuplicate)
    if (!group) throw notFound()
    res.json(userGroupToWire(group))
  }

  resource(router, '/user_groups/:id', {
    GET: async (req, res) => {
      const { organizationId } = requirePermission(req, 'read')
      const group = await getUserGroup(deps.db, organizationId, String(req.params.id))
      if (!group) throw notFound()
      res.json(userGroupToWire(group))
    },
    PUT: update,
    PATCH: update,
    DELETE: async (req, res) => {
      const { organizationId } = requirePermission(req, 'admin')
      if (!(await deleteUserGroup(deps.db, organizationId, String(req.params.id)))) throw notFound()
      res.status(204).end()
    },
  })

  return router
}
