import { createHash, randomBytes } from 'node:crypto'
import { issueToken } from '../../db/tokens.repo'
import { caller, createOrg, organizationRows, startStack, type Stack } from '../../test/stack'

// Authentication, RBAC and organization isolation as OnCall answers them: a bad token is 403 "Invalid token.", a
// role too low is 403 before any lookup, and another organization's ids are 404.

type Org = Awaited<ReturnType<typeof createOrg>>

const INVALID_TOKEN = { detail: 'Invalid token.' }
const FORBIDDEN = { detail: 'You do not have permission to perform this action.' }
const NOT_FOUND = { detail: 'Not found.' }

let stack: Stack
let orgA: Org
let orgB: Org
let aUser: { id: string; username: string; email: string }
let aTeam: { id: string; name: string }
let aGroup: { id: string }
let bUser: { id: string }
let viewer: { id: string; token: string }
let editor: { id: string; token: string }
let nobody: { id: string; token: string }

async function userWithToken(org: Org, username: string, role: string) {
  const created = await org.call('POST', '/api/v1/users/', { username, email: `${username}@acme.test`, role })
  expect(created.status).toBe(201)
  const token = await issueToken(stack.db, org.organizationId, created.body.id, `${username} token`)
  return { id: created.body.id as string, token }
}

beforeAll(async () => {
  stack = await startStack('auth_isolation')
  orgA = await createOrg(stack, 'Acme')
  orgB = await createOrg(stack, 'Globex')
  const team = await orgA.call('POST', '/api/v1/teams/', { name: 'Acme SRE' })
  expect(team.status).toBe(201)
  aTeam = team.body
  const user = await orgA.call('POST', '/api/v1/users/', {
    username: 'alice',
    email: 'alice@acme.test',
    role: 'editor',
    teams: [aTeam.id],
  })
  expect(user.status).toBe(201)
  aUser = user.body
  const group = await orgA.call('POST', '/api/v1/escalation/', { title: 'Acme outage', users: [{ id: aUser.id, important: false }] })
  expect(group.status).toBe(200)
  aGroup = group.body
  const b = await orgB.call('POST', '/api/v1/users/', { username: 'bruno', email: 'bruno@globex.test', role: 'viewer' })
  expect(b.status).toBe(201)
  bUser = b.body
  viewer = await userWithToken(orgA, 'victor', 'viewer')
  editor = await userWithToken(orgA, 'edith', 'editor')
  nobody = await userWithToken(orgA, 'nemo', 'none')
})
afterAll(() => stack.stop())

const rowsOfOrg = (organizationId: string) => organizationRows(stack.db, organizationId)

describe('authentication', () => {
  // Always three entries: jest hands a test.each callback with a spare parameter a `done` callback.
  const protectedRequests: Array<[string, string, unknown]> = [
    ['GET', '/api/v1/users/', undefined],
    ['GET', '/api/v1/users/current/', undefined],
    ['GET', '/api/v1/teams', undefined],
    ['GET', '/api/v1/alert_groups/', undefined],
    ['POST', '/api/v1/users/', { username: 'intruder', email: 'intruder@evil.test' }],
    ['POST', '/api/v1/escalation/', { users: [] }],
  ]

  test.each(protectedRequests)('%s %s without an Authorization header is 403 "Invalid token."', async (method, path, body) => {
    const response = await caller(stack.baseUrl, null)(method, path, body)
    expect(response.status).toBe(403)
    expect(response.body).toEqual(INVALID_TOKEN)
    expect(response.headers.get('www-authenticate')).toBeNull()
  })

  test('empty, unknown and malformed tokens are all 403 "Invalid token."', async () => {
    const unknown = randomBytes(32).toString('hex')
    const samePrefixOtherToken = orgA.token.slice(0, 8) + randomBytes(28).toString('hex')
    const tokens = [
      '',
      '   ',
      unknown,
      samePrefixOtherToken,
      orgA.token.toUpperCase(),
      orgA.token.slice(0, 63),
      `${orgA.token}0`,
      `Token ${orgA.token}`,
      `Bearer${orgA.token}`,
      'Bearer',
      'Bearer ',
      'not-a-token',
      "' or 1=1 --",
      'x'.repeat(5000),
    ]
    for (const token of tokens) {
      const response = await caller(stack.baseUrl, token)('GET', '/api/v1/users/')
      expect({ token: token.slice(0, 80), status: response.status, body: response.body }).toEqual({
        token: token.slice(0, 80),
        status: 403,
        body: INVALID_TOKEN,
      })
    }
  })

  test('a creation attempt with a bad token writes nothing', async () => {
    const before = await rowsOfOrg(orgA.organizationId)
    const response = await caller(stack.baseUrl, randomBytes(32).toString('hex'))('POST', '/api/v1/teams/', { name: 'Sneaky' })
    expect(response).toMatchObject({ status: 403, body: INVALID_TOKEN })
    expect(await rowsOfOrg(orgA.organizationId)).toEqual(before)
  })

  test('the raw token and "Bearer <token>" (any case of the scheme) both authenticate as the token owner', async () => {
    for (const header of [orgA.token, `Bearer ${orgA.token}`, `bearer ${orgA.token}`, `BEARER   ${orgA.token}`, ` ${orgA.token} `]) {
      const response = await caller(stack.baseUrl, header)('GET', '/api/v1/users/current/')
      expect(response.status).toBe(200)
      expect(response.body).toMatchObject({ id: orgA.adminUserId, username: 'admin', role: 'admin' })
    }
    const asViewer = await caller(stack.baseUrl, `Bearer ${viewer.token}`)('GET', '/api/v1/users/current')
    expect(asViewer.status).toBe(200)
    expect(asViewer.body).toMatchObject({ id: viewer.id, username: 'victor', role: 'viewer' })
  })

  test('tokens are stored hashed: no column of api_tokens holds a raw token', async () => {
    const raw = [orgA.token, orgB.token, viewer.token, editor.token, nobody.token]
    const rows = await stack.db.selectFrom('api_tokens').selectAll().execute()
    expect(rows.length).toBeGreaterThanOrEqual(raw.length)
    for (const row of rows) {
      for (const value of Object.values(row)) {
        for (const token of raw) {
          expect(String(value)).not.toBe(token)
          expect(String(value)).not.toContain(token)
        }
      }
      expect(row.token_hash).toMatch(/^[0-9a-f]{128}$/)
      expect(row.token_prefix).toHaveLength(8)
    }
    const adminRow = rows.find((r) => r.user_id === orgA.adminUserId)
    expect(adminRow?.token_prefix).toBe(orgA.token.slice(0, 8))
    expect(adminRow?.token_hash).not.toBe(createHash('sha256').update(orgA.token).digest('hex'))
  })

  test('a revoked token stops working', async () => {
    const token = await issueToken(stack.db, orgA.organizationId, viewer.id, 'short-lived')
    const call = caller(stack.baseUrl, token)
    expect((await call('GET', '/api/v1/teams/')).status).toBe(200)
    await stack.db
      .updateTable('api_tokens')
      .set({ revoked_at: new Date().toISOString() })
      .where('name', '=', 'short-lived')
      .execute()
    expect(await call('GET', '/api/v1/teams/')).toMatchObject({ status: 403, body: INVALID_TOKEN })
    // The user's other token is untouched.
    expect((await caller(stack.baseUrl, viewer.token)('GET', '/api/v1/teams/')).status).toBe(200)
  })

  test('deleting a user invalidates that user\'s tokens', async () => {
    const temp = await userWithToken(orgA, 'temp', 'admin')
    const call = caller(stack.baseUrl, temp.token)
    expect((await call('GET', '/api/v1/users/current/')).body.id).toBe(temp.id)
    expect((await orgA.call('DELETE', `/api/v1/users/${temp.id}/`)).status).toBe(204)
    expect(await call('GET', '/api/v1/users/current/')).toMatchObject({ status: 403, body: INVALID_TOKEN })
    expect(await stack.db.selectFrom('api_tokens').select('pk').where('user_id', '=', temp.id).execute()).toEqual([])
  })
})

describe('organization isolation', () => {
  test("org B cannot read org A's user, team or alert group by id", async () => {
    for (const path of [
      `/api/v1/users/${aUser.id}/`,
      `/api/v1/users/${aUser.id}`,
      `/api/v1/users/${orgA.adminUserId}/`,
      `/api/v1/teams/${aTeam.id}/`,
      `/api/v1/teams/${aTeam.id}`,
      `/api/v1/alert_groups/${aGroup.id}/`,
      `/api/v1/alert_groups/${aGroup.id}/timeline/`,
    ]) {
      const response = await orgB.call('GET', path)
      expect({ path, status: response.status, body: response.body }).toEqual({ path, status: 404, body: NOT_FOUND })
    }
    // The same ids are visible to their own organization.
    expect((await orgA.call('GET', `/api/v1/users/${aUser.id}/`)).status).toBe(200)
    expect((await orgA.call('GET', `/api/v1/teams/${aTeam.id}/`)).status).toBe(200)
    expect((await orgA.call('GET', `/api/v1/alert_groups/${aGroup.id}/`)).status).toBe(200)
  })

  test("org B cannot change or delete org A's objects, and A's rows stay as they were", async () => {
    const before = await rowsOfOrg(orgA.organizationId)
    const writes: Array<[string, string, unknown?]> = [
      ['PUT', `/api/v1/users/${aUser.id}/`, { username: 'pwned', email: 'pwned@evil.test', role: 'admin' }],
      ['PATCH', `/api/v1/users/${aUser.id}/`, { role: 'admin' }],
      ['PATCH', `/api/v1/users/${aUser.id}/`, {}],
      ['DELETE', `/api/v1/users/${aUser.id}/`],
      ['DELETE', `/api/v1/users/${orgA.adminUserId}`],
      ['PUT', `/api/v1/teams/${aTeam.id}/`, { name: 'Pwned' }],
      ['PATCH', `/api/v1/teams/${aTeam.id}`, { email: 'pwned@evil.test' }],
      ['PATCH', `/api/v1/teams/${aTeam.id}`, {}],
      ['DELETE', `/api/v1/teams/${aTeam.id}/`],
      ['POST', `/api/v1/alert_groups/${aGroup.id}/acknowledge/`],
      ['POST', `/api/v1/alert_groups/${aGroup.id}/resolve`],
    ]
    for (const [method, path, body] of writes) {
      const response = await orgB.call(method, path, body)
      expect({ method, path, status: response.status, body: response.body }).toEqual({
        method,
        path,
        status: 404,
        body: NOT_FOUND,
      })
    }
    expect(await rowsOfOrg(orgA.organizationId)).toEqual(before)
    const group = await orgA.call('GET', `/api/v1/alert_groups/${aGroup.id}/`)
    expect(group.body).toMatchObject({ state: 'firing', acknowledged_at: null, resolved_at: null })
  })

  test("org B's lists and filters never contain org A's objects", async () => {
    const users = await orgB.call('GET', '/api/v1/users/')
    expect(users.status).toBe(200)
    expect(users.body.count).toBe(2)
    expect(users.body.results.map((u: { id: string }) => u.id).sort()).toEqual([orgB.adminUserId, bUser.id].sort())
    for (const query of ['username=alice', 'email=alice@acme.test', 'roles=1', 'short=true&username=ALICE']) {
      const filtered = await orgB.call('GET', `/api/v1/users/?${query}`)
      expect(filtered.status).toBe(200)
      expect(filtered.body.results.map((u: { id: string }) => u.id)).not.toContain(aUser.id)
    }
    expect((await orgB.call('GET', '/api/v1/users/?username=alice')).body.count).toBe(0)

    const teams = await orgB.call('GET', '/api/v1/teams/')
    expect(teams.body).toMatchObject({ count: 0, results: [] })
    expect((await orgB.call('GET', `/api/v1/teams/?name=${encodeURIComponent(aTeam.name)}`)).body).toMatchObject({
      count: 0,
      results: [],
    })

    const groups = await orgB.call('GET', '/api/v1/alert_groups/')
    expect(groups.status).toBe(200)
    expect(groups.body.results.map((g: { id: string }) => g.id)).not.toContain(aGroup.id)
    expect((await orgB.call('GET', `/api/v1/alert_groups/?id=${aGroup.id}`)).body.results).toEqual([])

    // And the other way round: A's list holds A's users only.
    const aUsers = await orgA.call('GET', '/api/v1/users/')
    expect(aUsers.body.results.map((u: { id: string }) => u.id)).not.toContain(bUser.id)
    expect(aUsers.body.results.map((u: { id: string }) => u.id)).not.toContain(orgB.adminUserId)
  })

  test("org B cannot attach org A's team to its users", async () => {
    const beforeA = await rowsOfOrg(orgA.organizationId)
    const beforeB = await rowsOfOrg(orgB.organizationId)
    const expected = { teams: [`Invalid pk "${aTeam.id}" - object does not exist.`] }
    const create = await orgB.call('POST', '/api/v1/users/', { username: 'mole', email: 'mole@globex.test', teams: [aTeam.id] })
    expect(create).toMatchObject({ status: 400, body: expected })
    const patch = await orgB.call('PATCH', `/api/v1/users/${bUser.id}/`, { teams: [aTeam.id] })
    expect(patch).toMatchObject({ status: 400, body: expected })
    const put = await orgB.call('PUT', `/api/v1/users/${bUser.id}/`, { username: 'bruno', teams: [aTeam.id] })
    expect(put).toMatchObject({ status: 400, body: expected })
    expect(await rowsOfOrg(orgA.organizationId)).toEqual(beforeA)
    expect(await rowsOfOrg(orgB.organizationId)).toEqual(beforeB)
  })

  test("org B cannot page org A's users or add responders to A's alert group", async () => {
    const beforeA = await rowsOfOrg(orgA.organizationId)
    const paging = await orgB.call('POST', '/api/v1/escalation/', { users: [{ id: aUser.id, important: false }] })
    expect(paging).toMatchObject({
      status: 400,
      body: { users: [{ non_field_errors: [`User ${aUser.id} does not exist`] }] },
    })
    const responders = await orgB.call('POST', '/api/v1/escalation/', {
      alert_group_id: aGroup.id,
      users: [{ id: bUser.id, important: false }],
    })
    expect(responders).toMatchObject({ status: 400, body: { non_field_errors: [`Alert group ${aGroup.id} does not exist`] } })
    expect(await rowsOfOrg(orgA.organizationId)).toEqual(beforeA)
    expect(await stack.db.selectFrom('alert_groups').select('id').where('organization_id', '=', orgB.organizationId).execute()).toEqual([])
    const ledger = await stack.db.selectFrom('notifications').select('user_id').where('alert_group_id', '=', aGroup.id).execute()
    expect(ledger.map((r) => r.user_id)).not.toContain(bUser.id)
  })

  test('usernames and team names are unique per organization only', async () => {
    const user = await orgB.call('POST', '/api/v1/users/', { username: 'alice', email: 'alice@globex.test' })
    expect(user.status).toBe(201)
    expect(user.body.id).not.toBe(aUser.id)
    const team = await orgB.call('POST', '/api/v1/teams/', { name: aTeam.name })
    expect(team.status).toBe(201)
    expect(team.body.id).not.toBe(aTeam.id)
    // A still sees only its own alice.
    const aAlice = await orgA.call('GET', '/api/v1/users/?username=alice')
    expect(aAlice.body.results.map((u: { id: string }) => u.id)).toEqual([aUser.id])
    expect((await orgB.call('DELETE', `/api/v1/users/${user.body.id}/`)).status).toBe(204)
    expect((await orgB.call('DELETE', `/api/v1/teams/${team.body.id}/`)).status).toBe(204)
  })
})

describe('roles', () => {
  test('a viewer reads users, teams and alert groups', async () => {
    const call = caller(stack.baseUrl, viewer.token)
    for (const path of [
      '/api/v1/users/',
      `/api/v1/users/${aUser.id}/`,
      '/api/v1/users/current/',
      '/api/v1/teams/',
      `/api/v1/teams/${aTeam.id}/`,
      '/api/v1/alert_groups/',
      `/api/v1/alert_groups/${aGroup.id}/`,
      `/api/v1/alert_groups/${aGroup.id}/timeline/`,
    ]) {
      const response = await call('GET', path)
      expect({ path, status: response.status }).toEqual({ path, status: 200 })
    }
    expect((await call('GET', '/api/v1/users/current/')).body).toMatchObject({ id: viewer.id, role: 'viewer' })
  })

  test('a viewer cannot write, and the permission is checked before the lookup (403 even for a missing id)', async () => {
    const call = caller(stack.baseUrl, viewer.token)
    const before = await rowsOfOrg(orgA.organizationId)
    const writes: Array<[string, string, unknown?]> = [
      ['POST', '/api/v1/users/', { username: 'viewer-made', email: 'vm@acme.test' }],
      ['POST', '/api/v1/users/', {}],
      ['PATCH', `/api/v1/users/${viewer.id}/`, { role: 'admin' }],
      ['PUT', `/api/v1/users/${aUser.id}/`, { role: 'admin' }],
      ['DELETE', `/api/v1/users/${aUser.id}/`],
      ['DELETE', '/api/v1/users/UNONEXISTENT1/'],
      ['POST', '/api/v1/teams/', { name: 'Viewer team' }],
      ['PATCH', `/api/v1/teams/${aTeam.id}/`, { name: 'Renamed' }],
      ['DELETE', `/api/v1/teams/${aTeam.id}/`],
      ['DELETE', '/api/v1/teams/TNONEXISTENT1/'],
      ['POST', '/api/v1/escalation/', { users: [{ id: aUser.id, important: false }] }],
      ['POST', '/api/v1/escalation/', { users: [] }],
      ['POST', '/api/v1/alert_groups/INONEXISTENT1/acknowledge/'],
      ['POST', '/api/v1/alert_groups/INONEXISTENT1/resolve/'],
      ['POST', `/api/v1/alert_groups/${aGroup.id}/acknowledge/`],
      ['POST', `/api/v1/alert_groups/${aGroup.id}/resolve`],
    ]
    for (const [method, path, body] of writes) {
      const response = await call(method, path, body)
      expect({ method, path, status: response.status, body: response.body }).toEqual({
        method,
        path,
        status: 403,
        body: FORBIDDEN,
      })
    }
    expect(await rowsOfOrg(orgA.organizationId)).toEqual(before)
  })

  test('a user with role "none" cannot even read', async () => {
    const call = caller(stack.baseUrl, nobody.token)
    for (const path of ['/api/v1/users/', '/api/v1/users/current/', '/api/v1/teams/', '/api/v1/alert_groups/']) {
      expect(await call('GET', path)).toMatchObject({ status: 403, body: FORBIDDEN })
    }
  })

  test('an editor pages users and acts on alert groups but cannot manage users or teams', async () => {
    const call = caller(stack.baseUrl, editor.token)
    const paged = await call('POST', '/api/v1/escalation/', { title: 'Editor page', users: [{ id: aUser.id, important: true }] })
    expect(paged.status).toBe(200)
    expect(paged.body).toMatchObject({ state: 'firing', title: 'Editor page' })
    expect(paged.body.id).toMatch(/^I[A-NP-Z1-9]{12}$/)
    const stored = await stack.db.selectFrom('alert_groups').selectAll().where('id', '=', paged.body.id).executeTakeFirst()
    expect(stored?.organization_id).toBe(orgA.organizationId)

    // Editors have the permission, so a missing id now reaches the lookup.
    expect(await call('POST', '/api/v1/alert_groups/INONEXISTENT1/acknowledge/')).toMatchObject({ status: 404, body: NOT_FOUND })
    expect((await call('POST', `/api/v1/alert_groups/${paged.body.id}/acknowledge/`)).status).toBe(200)
    expect((await call('GET', `/api/v1/alert_groups/${paged.body.id}/`)).body).toMatchObject({
      state: 'acknowledged',
      acknowledged_by: editor.id,
    })

    const before = await rowsOfOrg(orgA.organizationId)
    for (const [method, path, body] of [
      ['POST', '/api/v1/users/', { username: 'editor-made', email: 'em@acme.test' }],
      ['PATCH', `/api/v1/users/${editor.id}/`, { role: 'admin' }],
      ['DELETE', `/api/v1/users/${aUser.id}/`],
      ['POST', '/api/v1/teams/', { name: 'Editor team' }],
      ['DELETE', `/api/v1/teams/${aTeam.id}`],
    ] as Array<[string, string, unknown?]>) {
      expect(await call(method, path, body)).toMatchObject({ status: 403, body: FORBIDDEN })
    }
    expect(await rowsOfOrg(orgA.organizationId)).toEqual(before)
  })
})

describe('routing and request errors', () => {
  test('unknown paths under /api/v1 answer 404 JSON', async () => {
    for (const path of [
      '/api/v1/',
      '/api/v1/nope/',
      '/api/v1/userz',
      `/api/v1/users/${aUser.id}/extra/`,
      `/api/v1/teams/${aTeam.id}/members/`,
      '/api/v1/alert_groups/INONEXISTENT1/explode/',
    ]) {
      const response = await orgA.call('GET', path)
      expect({ path, status: response.status, body: response.body }).toEqual({ path, status: 404, body: NOT_FOUND })
      expect(response.headers.get('content-type')).toMatch(/^application\/json/)
    }
  })

  test('a method a resource does not support is 405 in DRF wording, with Allow', async () => {
    const cases: Array<[string, string, string]> = [
      ['DELETE', '/api/v1/users/', 'GET, POST'],
      ['PUT', '/api/v1/users', 'GET, POST'],
      ['PATCH', '/api/v1/teams/', 'GET, POST'],
      ['POST', `/api/v1/teams/${aTeam.id}/`, 'GET, PUT, PATCH, DELETE'],
      ['POST', '/api/v1/users/current/', 'GET'],
      ['GET', '/api/v1/escalation/', 'POST'],
      ['GET', `/api/v1/alert_groups/${aGroup.id}/acknowledge/`, 'POST'],
    ]
    const before = await rowsOfOrg(orgA.organizationId)
    for (const [method, path, allow] of cases) {
      const response = await orgA.call(method, path)
      expect({ method, path, status: response.status, body: response.body }).toEqual({
        method,
        path,
        status: 405,
        body: { detail: `Method "${method}" not allowed.` },
      })
      expect(response.headers.get('allow')).toBe(allow)
    }
    expect(await rowsOfOrg(orgA.organizationId)).toEqual(before)
  })

  test('an invalid JSON body is 400 "JSON parse error - …" and changes nothing', async () => {
    const before = await rowsOfOrg(orgA.organizationId)
    for (const [method, path] of [
      ['POST', '/api/v1/users/'],
      ['PATCH', `/api/v1/users/${aUser.id}/`],
      ['POST', '/api/v1/teams/'],
      ['PUT', `/api/v1/teams/${aTeam.id}/`],
      ['POST', '/api/v1/escalation/'],
    ]) {
      for (const raw of ['{"username": ', '{username: "x"}', "{'a': 1}", '[1, 2', 'undefined']) {
        const response = await orgA.call(method!, path!, raw)
        expect({ method, path, raw, status: response.status }).toEqual({ method, path, raw, status: 400 })
        expect(Object.keys(response.body)).toEqual(['detail'])
        expect(response.body.detail).toMatch(/^JSON parse error - /)
      }
    }
    expect(await rowsOfOrg(orgA.organizationId)).toEqual(before)
  })
})
