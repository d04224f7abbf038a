import { z } from 'zod'
import { plainString, text } from './common'

const userGroupFields = {
  name: text(150),
  // Slack's handle limit is far lower; this only bounds hostile sizes.
  handle: text(100),
  members: z.array(plainString().max(100)).max(1000),
}

/** POST /api/v1/user_groups/ (Tocsin extension: OnCall imports user groups from Slack). */
export const createUserGroupSchema = z.object({ ...userGroupFields, members: userGroupFields.members.default([]) })

export const updateUserGroupSchema = z.object(userGroupFields).partial()

export type UpdateUserGroupRequest = z.infer<typeof updateUserGroupSchema>
