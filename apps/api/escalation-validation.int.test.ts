import { createTeam } from '../../db/teams.repo'
import { createOrg, startStack, type Stack } from '../../test/stack'

// POST /api/v1/escalation/ refusals, in OnCall's order and words.
let stack: Stack
let org: Awaited<ReturnType<typeof createOrg>>
let other: Awaited<ReturnType<typeof createOrg>>
let userId: string
let teamId: string

beforeAll(async () => {
  stack = await startStack('escalation_validation')
  org = await createOrg(stack, 'Validation Co')
  other = await createOrg(stack, 'Other Co')
  userId = (await org.call('POST', '/api/v1/users/', { username: 'fay', email: 'fay@v.test' })).body.id
  teamId = (await createTeam(stack.db, org.organizationId, { name: 'SRE', email: null, avatarUrl: null })).id
})
afterAll(() => stack.stop())

const countGroups = async () =>
  Number((await stack.db.selectFrom('alert_groups').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow()).n)

async function refused(body: unknown, status: number, expected: unknown) {
  const before = await countGroups()
  const response = await org.call('POST', '/api/v1/escalation/', body)
  expect({ status: response.status, body: response.body }).toEqual({ status, body: expected })
  expect(await countGroups()).toBe(before)
}

test('no users and no team', async () => {
  await refused({ team: null, users: [] }, 400, { detail: 'No team or user(s) specified' })
  await refused({}, 400, { detail: 'No team or user(s) specified' })
})

test('users and team are mutually exclusive', async () => {
  await refused({ team: teamId, users: [{ id: userId, important: false }] }, 400, {
    non_field_errors: ['users and team are mutually exclusive'],
  })
})

test('alert_group_id excludes title, message and source_url, before the other checks', async () => {
  for (const extra of [{ title: 'x' }, { message: 'm' }, { source_url: 'https://example.com/' }]) {
    await refused({ team: teamId, alert_group_id: 'IDOESNOTEXIST', ...extra }, 400, {
      non_field_errors: ['alert_group_id and (title, message, source_url) are mutually exclusive'],
    })
  }
})

test('an unknown alert group, and another organization\'s group, do not exist', async () => {
  await refused({ alert_group_id: 'IDOESNOTEXIST1', users: [{ id: userId, important: false }] }, 400, {
    non_field_errors: ['Alert group IDOESNOTEXIST1 does not exist'],
  })
  const otherUser = (await other.call('POST', '/api/v1/users/', { username: 'gus', email: 'gus@o.test' })).body.id
  const otherGroup = (await other.call('POST', '/api/v1/escalation/', { users: [{ id: otherUser, important: false }] })).body.id
  await refused({ alert_group_id: otherGroup, users: [{ id: userId, important: false }] }, 400, {
    non_field_errors: [`Alert group ${otherGroup} does not exist`],
  })
})

test('unknown users (including another organization\'s) get one error entry per item', async () => {
  const otherUser = (await other.call('GET', '/api/v1/users/current/')).body.id
  await refused({ users: [{ id: userId, important: false }, { id: otherUser, important: true }] }, 400, {
    users: [{}, { non_field_errors: [`User ${otherUser} does not exist`] }],
  })
})

test('an unknown team', async () => {
  await refused({ team: 'TNOSUCHTEAM12' }, 400, { team: ['Object does not exist'] })
})

test('field types, nulls and sizes', async () => {
  await refused({ users: [{ id: userId }] }, 400, { users: [{ important: ['This field is required.'] }] })
  await refused({ users: 'everyone' }, 400, { users: ['Expected a list of items but got type "str".'] })
  await refused({ users: [{ id: userId, important: false }], title: null }, 400, { title: ['This field may not be null.'] })
  await refused({ users: [{ id: userId, important: false }], title: 'x'.repeat(100_000) }, 400, {
    title: ['Ensure this field has no more than 1500 characters.'],
  })
  await refused({ users: [{ id: userId, important: false }], source_url: 'javascript:alert(1)' }, 400, {
    source_url: ['Enter a valid URL.'],
  })
  await refused({ users: [{ id: userId, important: 'maybe' }] }, 400, { users: [{ important: ['Must be a valid boolean.'] }] })
})

test('a body that is not a JSON object', async () => {
  for (const body of ['[]', '"page"', '42']) {
    const response = await org.call('POST', '/api/v1/escalation/', body)
    expect(response.status).toBe(400)
    expect(response.body).toEqual({ non_field_errors: ['Invalid data. Expected a dictionary, but got ' + (body === '[]' ? 'list' : body === '42' ? 'int' : 'str') + '.'] })
  }
  const broken = await org.call('POST', '/api/v1/escalation/', '{"users": [')
  expect(broken.status).toBe(400)
  expect(broken.body.detail).toMatch(/^JSON parse error - /)
})

test('a resolved group cannot get more responders', async () => {
  const group = (await org.call('POST', '/api/v1/escalation/', { users: [{ id: userId, important: false }] })).body.id
  expect((await org.call('POST', `/api/v1/alert_groups/${group}/resolve/`)).status).toBe(200)
  await refused({ alert_group_id: group, users: [{ id: userId, important: false }] }, 400, {
    detail: 'Cannot add responders for a resolved alert group',
  })
  await refused({ alert_group_id: group, users: [] }, 400, { detail: 'No team or user(s) specified' })
})

test("a team whose direct-paging route has no escalation chain is refused clearly, and nothing is paged", async () => {
  await refused({ team: teamId }, 400, {
    detail: "The team's direct paging route has no escalation chain: connect one to its routes, or page users directly.",
  })
})
