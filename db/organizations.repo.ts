import type { Db } from './connect'
import { newPublicId } from './ids'
import { issueToken } from './tokens.repo'

export interface CreatedOrganization {
  organizationId: string
  adminUserId: string
  token: string
}

/** Creates an organization with its first admin user and that user's API token (returned once). */
export async function createOrganization(db: Db, name: string): Promise<CreatedOrganization> {
  const organizationId = newPublicId('O')
  const adminUserId = newPublicId('U')
  return db.transaction().execute(async (trx) => {
    await trx.insertInto('organizations').values({ id: organizationId, name }).execute()
    await trx
      .insertInto('users')
      .values({ id: adminUserId, organization_id: organizationId, username: 'admin', email: 'admin@localhost', role: 'admin' })
      .execute()
    const token = await issueToken(trx, organizationId, adminUserId, 'initial admin token')
    return { organizationId, adminUserId, token }
  })
}
