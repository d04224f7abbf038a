import { createEngineActivities } from '../activities/engine'
import { createTestDatabase } from '../test/stack'
import type { Db } from './connect'
import { newPublicId } from './ids'
import { createOrganization } from './organizations.repo'
import { teamMemberIds } from './teams.repo'
import { getUserGroup } from './user-groups.repo'
import { existingUserIds } from './users.repo'

// The membership lookups the API and the engine share: scoped to the caller's organization whatever the ids say.

let db: Db
let orgA: string
let orgB: string

beforeAll(async () => {
  ;({ db } = await createTestDatabase('lookups'))
  orgA = (await createOrganization(db, 'A')).organizationId
  orgB = (await createOrganization(db, 'B')).organizationId
})

afterAll(async () => {
  await db.destroy()
})

async function user(organizationId: string, username: string): Promise<string> {
  const id = newPublicId('U')
  await db.insertInto('users').values({ id, organization_id: organizationId, username, email: `${username}@example.com`, role: 'viewer' }).execute()
  return id
}

async function team(organizationId: string, name: string, members: readonly string[]): Promise<string> {
  const id = newPublicId('T')
  await db.insertInto('teams').values({ id, organization_id: organizationId, name, email: null, avatar_url: null }).execute()
  // Written directly, as a bad import or a future bug could: the lookups must not trust the membership rows.
  if (members.length > 0) await db.insertInto('team_members').values(members.map((user_id) => ({ team_id: id, user_id }))).execute()
  return id
}

async function userGroup(organizationId: string, handle: string, members: readonly string[]): Promise<string> {
  const id = newPublicId('G')
  await db.insertInto('user_groups').values({ id, organization_id: organizationId, name: handle, handle }).execute()
  if (members.length > 0) {
    await db.insertInto('user_group_members').values(members.map((user_id) => ({ user_group_id: id, user_id }))).execute()
  }
  return id
}

test('existingUserIds keeps the caller order and drops repeats, unknown ids and other organizations\' users', async () => {
  const first = await user(orgA, 'ids-first')
  const second = await user(orgA, 'ids-second')
  const foreign = await user(orgB, 'ids-foreign')
  expect(await existingUserIds(db, orgA, [second, 'UNKNOWN', first, foreign, second])).toEqual([second, first])
  expect(await existingUserIds(db, orgA, [])).toEqual([])
})

test('teamMemberIds lists members in creation order, within the organization only', async () => {
  const late = await user(orgA, 'team-late')
  const early = await user(orgA, 'team-early')
  const ownTeam = await team(orgA, 'own', [early, late])
  expect(await teamMemberIds(db, orgA, ownTeam)).toEqual([late, early])
  // A team id of organization A asked for by organization B yields nobody.
  expect(await teamMemberIds(db, orgB, ownTeam)).toEqual([])
  // A user of another organization in the team is never a member.
  const intruder = await user(orgB, 'team-intruder')
  const mixed = await team(orgA, 'mixed', [intruder, early])
  expect(await teamMemberIds(db, orgA, mixed)).toEqual([early])
})

test("a user group's members are listed in creation order, within the organization only", async () => {
  const member = await user(orgA, 'group-member')
  const intruder = await user(orgB, 'group-intruder')
  const group = await userGroup(orgA, 'group', [intruder, member])
  expect((await getUserGroup(db, orgA, group))?.members ?? []).toEqual([member])
  expect((await getUserGroup(db, orgB, group))?.members ?? []).toEqual([])
})

describe('the engine resolves recipients through the same lookups', () => {
  const engine = () =>
    createEngineActivities({
      db,
      renderTemplate: async () => '',
      chatWebhookUrl: null,
      httpTimeoutMs: 1000,
      now: () => new Date(),
    })

  test('a team step pages the organization\'s members only', async () => {
    const own = await user(orgB, 'engine-own')
    const intruder = await user(orgA, 'engine-intruder')
    const teamId = await team(orgB, 'engine', [intruder, own])
    const recipients = await engine().resolveRecipients({ organizationId: orgB, source: { kind: 'team', teamId }, stepKey: 'k1' })
    expect(recipients.userIds).toEqual([own])
  })

  test('a users step pages existing users of the organization, once each, in the step\'s order', async () => {
    const first = await user(orgB, 'engine-first')
    const second = await user(orgB, 'engine-second')
    const foreign = await user(orgA, 'engine-foreign')
    const recipients = await engine().resolveRecipients({
      organizationId: orgB,
      source: { kind: 'users', userIds: [second, foreign, first, second] },
      stepKey: 'k2',
    })
    expect(recipients.userIds).toEqual([second, first])
  })
})
