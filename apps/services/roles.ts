import type { UserRole } from '../../db/schema'

// OnCall's legacy roles, lowest first: every dialect authorizes by the same order.
const rank: Record<UserRole, number> = { none: 0, viewer: 1, editor: 2, admin: 3 }

/** Whether a user with `role` may do what needs `needed`. */
export function hasRole(role: UserRole, needed: UserRole): boolean {
  return rank[role] >= rank[needed]
}
