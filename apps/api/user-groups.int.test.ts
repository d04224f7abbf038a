import { refusalCheck } from '../../test/refusals'
import { issueToken } from '../../db/tokens.repo'
import { caller, createOrg, organizationRows, startStack, type Stack } from '../../test/stack'

// /api/v1/user_groups: OnCall's list plus Tocsin's write extension (there is no Slack import), with members;
// refused writes under hostile input, in DRF's error shapes.

type Org = Awaited<ReturnType<typeof createOrg>>

const PUBLIC_URL = 'https://oncall.example.test'
const GROUP_KEYS = ['id', 'type', 'slack', 'members'].sort()
const GROUP_ID = /^G[A-NP-Z1-9]{12}$/
const NOT_FOUND = { detail: 'Not found.' }
const HUGE = 'x'.repeat(100_000)

let stack: Stack
let org: Org
let other: Org
let alice: { id: string }
let bob: { id: string }
let stranger: { id: string }
let handleSeq = 0

const uniqueHandle = () => `handle-${++handleSeq}`

beforeAll(async () => {
  stack = await startStack('user_groups', { worker: false, publicUrl: PUBLIC_URL })
  org = await createOrg(stack, 'Acme')
  other = await createOrg(stack, 'Globex')
  alice = (await org.call('POST', '/api/v1/users/', { username: 'alice', email: 'alice@acme.test' })).body
  bob = (await org.call('POST', '/api/v1/users/', { username: 'bob', email: 'bob@acme.test' })).body
  stranger = (await other.call('POST', '/api/v1/users/', { username: 'stranger', email: 'stranger@globex.test' })).body
})
afterAll(() => stack.stop())

async function snapshot(organizationId = org.organizationId) {
  const [base, groups, members] = await Promise.all([
    organizationRows(stack.db, organizationId),
    stack.db
      .selectFrom('user_groups')
      .selectAll()
      .where('organization_id', '=', organizationId)
      .orderBy('pk')
      .execute(),
    stack.db
      .selectFrom('user_group_members')
      .innerJoin('user_groups', 'user_groups.id', 'user_group_members.user_group_id')
      .select(['user_group_members.user_group_id', 'user_group_members.user_id'])
      .where('user_groups.organization_id', '=', organizationId)
      .orderBy('user_group_members.user_group_id')
      .orderBy('user_group_members.user_id')
      .execute(),
  ])
  return { ...base, groups, members }
}


/** A refused write: `expected` exactly (or any error body when undefined), nothing moved in either organization. */
const expectRejected = refusalCheck(
  () => org.call,
  async () => [await snapshot(), await snapshot(other.organizationId)],
)

async function createGroup(body: Record<string, unknown> = {}, as: Org = org) {
  const response = await as.call('POST', '/api/v1/user_groups/', { name: 'Group', handle: uniqueHandle(), ...body })
  expect(response.status).toBe(201)
  return response.body
}

describe('user groups', () => {
  test('POST creates a group in OnCall item shape plus members; GET by id and list return the same object', async () => {
    const created = await org.call('POST', '/api/v1/user_groups/', {
      name: 'SRE',
      handle: 'sre',
      members: [bob.id, alice.id, bob.id],
    })
    expect(created.status).toBe(201)
    expect(Object.keys(created.body).sort()).toEqual(GROUP_KEYS)
    expect(created.body).toEqual({
      id: expect.stringMatching(GROUP_ID),
      type: 'slack_based',
      slack: { id: created.body.id, name: 'SRE', handle: 'sre' },
      // In user creation order, each once.
      members: [alice.id, bob.id],
    })
    const members = await stack.db
      .selectFrom('user_group_members')
      .select('user_id')
      .where('user_group_id', '=', created.body.id)
      .execute()
    expect(members.map((m) => m.user_id).sort()).toEqual([alice.id, bob.id].sort())
    expect((await org.call('GET', `/api/v1/user_groups/${created.body.id}/`)).body).toEqual(created.body)
    expect((await org.call('GET', `/api/v1/user_groups/${created.body.id}`)).body).toEqual(created.body)
    const listed = await org.call('GET', '/api/v1/user_groups?slack_handle=sre')
    expect(listed.body.results).toEqual([created.body])
    const empty = await createGroup({ name: 'Nobody' })
    expect(empty.members).toEqual([])
  })

  test('list: envelope with page size 50, creation order, exact slack_handle filter, empty list is page 1 of 1', async () => {
    const listOrg = await createOrg(stack, 'Listing')
    const emptyList = await listOrg.call('GET', '/api/v1/user_groups/')
    expect(emptyList.body).toEqual({
      count: 0,
      next: null,
      previous: null,
      results: [],
      page_size: 50,
      current_page_number: 1,
      total_pages: 1,
    })
    const ids: string[] = []
    for (const handle of ['ops', 'dev', 'Ops2', 'qa']) ids.push((await createGroup({ handle }, listOrg)).id)
    const all = await listOrg.call('GET', '/api/v1/user_groups/')
    expect(all.body).toMatchObject({ count: 4, page_size: 50, next: null })
    expect(all.body.results.map((g: { id: string }) => g.id)).toEqual(ids)
    for (const item of all.body.results) expect(Object.keys(item).sort()).toEqual(GROUP_KEYS)
    expect(
      (await listOrg.call('GET', '/api/v1/user_groups/?slack_handle=ops')).body.results.map(
        (g: { id: string }) => g.id,
      ),
    ).toEqual([ids[0]])
    expect((await listOrg.call('GET', '/api/v1/user_groups/?slack_handle=OPS')).body.count).toBe(0)
    expect((await listOrg.call('GET', '/api/v1/user_groups/?slack_handle=op')).body.count).toBe(0)
    const page = await listOrg.call('GET', '/api/v1/user_groups/?perpage=3')
    expect(page.body).toMatchObject({
      count: 4,
      total_pages: 2,
      next: `${PUBLIC_URL}/api/v1/user_groups/?page=2&perpage=3`,
    })
    // Another organization's groups never show.
    expect((await org.call('GET', '/api/v1/user_groups/?slack_handle=dev')).body.count).toBe(0)
  })

  test('PATCH and PUT change the given fields; members are replaced as a whole; DELETE is 204 then 404', async () => {
    const group = await createGroup({ name: 'Before', members: [alice.id] })
    const patched = await org.call('PATCH', `/api/v1/user_groups/${group.id}/`, { name: 'After' })
    expect(patched).toMatchObject({ status: 200, body: { ...group, slack: { ...group.slack, name: 'After' } } })
    const put = await org.call('PUT', `/api/v1/user_groups/${group.id}`, {
      handle: 'renamed-handle',
      members: [bob.id],
    })
    expect(put.body).toEqual({
      ...group,
      slack: { id: group.id, name: 'After', handle: 'renamed-handle' },
      members: [bob.id],
    })
    const cleared = await org.call('PATCH', `/api/v1/user_groups/${group.id}/`, { members: [] })
    expect(cleared.body.members).toEqual([])
    expect(
      await stack.db.selectFrom('user_group_members').selectAll().where('user_group_id', '=', group.id).execute(),
    ).toEqual([])
    expect((await org.call('PATCH', `/api/v1/user_groups/${group.id}/`, {})).body).toEqual(cleared.body)

    const deleted = await org.call('DELETE', `/api/v1/user_groups/${group.id}/`)
    expect(deleted.status).toBe(204)
    expect(deleted.text).toBe('')
    expect(await org.call('GET', `/api/v1/user_groups/${group.id}/`)).toMatchObject({ status: 404, body: NOT_FOUND })
    expect(await stack.db.selectFrom('user_groups').select('id').where('id', '=', group.id).execute()).toEqual([])
  })

  test('a deleted user leaves the groups they were in', async () => {
    const temp = (await org.call('POST', '/api/v1/users/', { username: 'temp', email: 'temp@acme.test' })).body
    const group = await createGroup({ members: [alice.id, temp.id] })
    expect(group.members).toEqual([alice.id, temp.id])
    expect((await org.call('DELETE', `/api/v1/users/${temp.id}/`)).status).toBe(204)
    expect((await org.call('GET', `/api/v1/user_groups/${group.id}/`)).body.members).toEqual([alice.id])
  })

  test('handles are unique per organization; another organization may reuse one', async () => {
    const group = await createGroup({ handle: 'oncall' })
    const duplicate = { handle: ['A user group with this handle already exists.'] }
    await expectRejected('POST', '/api/v1/user_groups/', { name: 'Again', handle: 'oncall' }, duplicate)
    const second = await createGroup({ handle: 'oncall-2' })
    await expectRejected('PATCH', `/api/v1/user_groups/${second.id}/`, { handle: 'oncall' }, duplicate)
    expect((await org.call('PATCH', `/api/v1/user_groups/${group.id}/`, { handle: 'oncall' })).status).toBe(200)
    expect((await createGroup({ handle: 'oncall' }, other)).slack.handle).toBe('oncall')
  })

  test('members must be users of the organization: unknown and foreign ids are refused by name', async () => {
    const invalid = (id: string) => ({ members: [`Invalid pk "${id}" - object does not exist.`] })
    await expectRejected(
      'POST',
      '/api/v1/user_groups/',
      { name: 'X', handle: uniqueHandle(), members: [alice.id, stranger.id] },
      invalid(stranger.id),
    )
    await expectRejected(
      'POST',
      '/api/v1/user_groups/',
      { name: 'X', handle: uniqueHandle(), members: ['UNOPE'] },
      invalid('UNOPE'),
    )
    const group = await createGroup({ members: [alice.id] })
    await expectRejected(
      'PUT',
      `/api/v1/user_groups/${group.id}/`,
      { members: [bob.id, stranger.id] },
      invalid(stranger.id),
    )
    await expectRejected(
      'PATCH',
      `/api/v1/user_groups/${group.id}/`,
      { members: 'not-a-list' },
      {
        members: ['Expected a list of items but got type "str".'],
      },
    )
    await expectRejected(
      'POST',
      '/api/v1/user_groups/',
      { handle: uniqueHandle() },
      { name: ['This field is required.'] },
    )
    await expectRejected('POST', '/api/v1/user_groups/', { name: 'X' }, { handle: ['This field is required.'] })
  })

  test("another organization's group ids are 404 on every route, and nothing changes", async () => {
    const theirs = await createGroup({ name: 'Theirs', members: [stranger.id] }, other)
    for (const [method, body] of [
      ['GET', undefined],
      ['PUT', { name: 'pwned' }],
      ['PATCH', { members: [alice.id] }],
      ['DELETE', undefined],
    ] as const) {
      await expectRejected(method, `/api/v1/user_groups/${theirs.id}/`, body, NOT_FOUND, 404)
    }
    await expectRejected('PATCH', '/api/v1/user_groups/GNONEXISTENT1/', { name: 'x' }, NOT_FOUND, 404)
    expect((await other.call('GET', `/api/v1/user_groups/${theirs.id}/`)).body).toEqual(theirs)
  })

  test('viewers and editors read; only admins write', async () => {
    const group = await createGroup()
    for (const role of ['viewer', 'editor']) {
      const user = (
        await org.call('POST', '/api/v1/users/', { username: `ug-${role}`, email: `ug-${role}@acme.test`, role })
      ).body
      const call = caller(stack.baseUrl, await issueToken(stack.db, org.organizationId, user.id, role))
      expect((await call('GET', `/api/v1/user_groups/${group.id}/`)).body).toEqual(group)
      expect((await call('GET', '/api/v1/user_groups/')).status).toBe(200)
      const before = await snapshot()
      for (const [method, path, body] of [
        ['POST', '/api/v1/user_groups/', { name: 'N', handle: uniqueHandle() }],
        ['PATCH', `/api/v1/user_groups/${group.id}/`, { name: 'N' }],
        ['PUT', '/api/v1/user_groups/GNONEXISTENT1/', { name: 'N' }],
        ['DELETE', `/api/v1/user_groups/${group.id}/`, undefined],
      ] as const) {
        expect(await call(method, path, body)).toMatchObject({
          status: 403,
          body: { detail: 'You do not have permission to perform this action.' },
        })
      }
      expect(await snapshot()).toEqual(before)
    }
  })

  test('hostile input on every write route: 400 in DRF shape, database unchanged', async () => {
    const group = await createGroup({ members: [alice.id] })
    const hostile: unknown[] = [
      [],
      42,
      null,
      'not json',
      { name: HUGE, handle: 'h' },
      { name: null, handle: 'h' },
      { name: 7, handle: 'h' },
      { name: '   ', handle: 'h' },
      { name: 'N', handle: HUGE },
      { name: 'N', handle: ['h'] },
      { name: 'N', handle: 'h', members: [HUGE] },
      { name: 'N', handle: 'h', members: [5] },
      { name: 'N', handle: 'h', members: null },
      { name: 'N', handle: 'h', members: { id: alice.id } },
      { name: 'N', handle: 'h', members: Array.from({ length: 1001 }, () => alice.id) },
      { name: 'N', handle: 'h', members: [stranger.id] },
      { name: 'nul\u0000', handle: 'h' },
    ]
    for (const body of hostile) {
      await expectRejected('POST', '/api/v1/user_groups/', body, undefined)
      const update =
        body !== null && typeof body === 'object' && !Array.isArray(body)
          ? Object.fromEntries(
              Object.entries(body).filter(
                ([key, value]) => !(key === 'name' && value === 'N') && !(key === 'handle' && value === 'h'),
              ),
            )
          : body
      await expectRejected('PATCH', `/api/v1/user_groups/${group.id}/`, update, undefined)
      await expectRejected('PUT', `/api/v1/user_groups/${group.id}/`, update, undefined)
    }
    expect((await org.call('GET', `/api/v1/user_groups/${group.id}/`)).body).toEqual(group)
  })
})
