import { createOrg, organizationRows, startStack, type ApiResponse, type Stack } from '../../test/stack'

// /api/v1/users and /api/v1/teams: OnCall's read shapes, its pagination envelope, and Tocsin's write extensions
// under hostile input, in DRF's error shapes.

type Org = Awaited<ReturnType<typeof createOrg>>

const PUBLIC_URL = 'https://oncall.example.test'
// OnCall's user object, exactly; Tocsin's extension fields only with ?extended=true.
const USER_KEYS = ['id', 'grafana_id', 'email', 'slack', 'username', 'role', 'is_phone_number_verified', 'timezone', 'teams'].sort()
const SHORT_USER_KEYS = ['id', 'grafana_id', 'email', 'username', 'role', 'is_phone_number_verified'].sort()
const EXTENSION_USER_KEYS = ['phone_number']
const EXTENDED_USER_KEYS = [...USER_KEYS, ...EXTENSION_USER_KEYS].sort()
const TEAM_KEYS = ['id', 'grafana_id', 'name', 'email', 'avatar_url'].sort()
const USER_ID = /^U[A-NP-Z1-9]{12}$/
const TEAM_ID = /^T[A-NP-Z1-9]{12}$/
const NOT_FOUND = { detail: 'Not found.' }
const HUGE = 'x'.repeat(100_000)

let stack: Stack
let org: Org
let other: Org
let otherTeam: { id: string; name: string }

beforeAll(async () => {
  stack = await startStack('users_teams', { worker: false, publicUrl: PUBLIC_URL })
  org = await createOrg(stack, 'Acme')
  other = await createOrg(stack, 'Globex')
  otherTeam = (await other.call('POST', '/api/v1/teams/', { name: 'Globex Ops' })).body
})
afterAll(() => stack.stop())

const snapshot = (organizationId = org.organizationId) => organizationRows(stack.db, organizationId)

/** DRF's error body: every value a list of strings, or a nested object of the same kind. */
function isDrfShaped(body: unknown): boolean {
  if (body === null || typeof body !== 'object') return false
  const values = Array.isArray(body) ? body : Object.values(body)
  if (Array.isArray(body)) return values.every((v) => typeof v === 'object' && v !== null && isDrfShaped(v))
  return (
    values.length > 0 &&
    values.every(
      (v) =>
        (Array.isArray(v) && v.length > 0 && v.every((m) => typeof m === 'string')) ||
        (Array.isArray(v) && v.every((m) => typeof m === 'object' && m !== null && (Object.keys(m).length === 0 || isDrfShaped(m)))) ||
        (!Array.isArray(v) && isDrfShaped(v)),
    )
  )
}

/** Sends a hostile write; expects exactly `expected` with `status`, and that nothing in the database moved. */
async function expectRejected(method: string, path: string, body: unknown, expected: unknown, status = 400) {
  const before = await snapshot()
  const beforeOther = await snapshot(other.organizationId)
  const response = await org.call(method, path, body)
  expect({ method, path, status: response.status, body: response.body }).toEqual({ method, path, status, body: expected })
  expect(isDrfShaped(response.body)).toBe(true)
  expect(await snapshot()).toEqual(before)
  expect(await snapshot(other.organizationId)).toEqual(beforeOther)
}

async function createUser(body: Record<string, unknown>, query = '') {
  const response = await org.call('POST', `/api/v1/users/${query}`, body)
  expect(response.status).toBe(201)
  return response.body
}

async function createTeam(body: Record<string, unknown>) {
  const response = await org.call('POST', '/api/v1/teams/', body)
  expect(response.status).toBe(201)
  return response.body
}

/** A GET without following redirects: a redirect would show as 3xx here. */
async function rawGet(path: string) {
  const response = await fetch(`${stack.baseUrl}${path}`, { headers: { authorization: org.token }, redirect: 'manual' })
  return { status: response.status, location: response.headers.get('location'), text: await response.text() }
}

describe('users', () => {
  test('POST creates a user with defaults and the full OnCall shape; GET by id returns the same object', async () => {
    const created = await org.call('POST', '/api/v1/users/?extended=true', { username: 'dora', email: 'dora@acme.test', unknown_key: 'ignored' })
    expect(created.status).toBe(201)
    expect(Object.keys(created.body).sort()).toEqual(EXTENDED_USER_KEYS)
    expect(created.body).toMatchObject({
      username: 'dora',
      email: 'dora@acme.test',
      role: 'viewer',
      slack: null,
      timezone: null,
      teams: [],
      phone_number: null,
      is_phone_number_verified: false,
    })
    expect(created.body.id).toMatch(USER_ID)
    expect(Number.isInteger(created.body.grafana_id)).toBe(true)
    const row = await stack.db.selectFrom('users').selectAll().where('id', '=', created.body.id).executeTakeFirstOrThrow()
    expect(row).toMatchObject({ organization_id: org.organizationId, username: 'dora', role: 'viewer' })
    expect(created.body.grafana_id).toBe(Number(row.pk))

    const fetched = await org.call('GET', `/api/v1/users/${created.body.id}/?extended=true`)
    expect(fetched.status).toBe(200)
    expect(fetched.body).toEqual(created.body)
  })

  test("OnCall's user object has no phone_number: every read and write leaves extension fields out unless ?extended=true", async () => {
    const created = await org.call('POST', '/api/v1/users/', { username: 'olga', email: 'olga@acme.test', phone_number: '+15550001111' })
    expect(created.status).toBe(201)
    expect(Object.keys(created.body).sort()).toEqual(USER_KEYS)
    expect(created.body.is_phone_number_verified).toBe(true)
    const id = created.body.id as string
    const oncallShape = { ...created.body }
    const extendedShape = { ...oncallShape, phone_number: '+15550001111' }

    for (const path of [`/api/v1/users/${id}/`, `/api/v1/users/${id}`, `/api/v1/users/${id}/?extended=false`]) {
      expect({ path, body: (await org.call('GET', path)).body }).toEqual({ path, body: oncallShape })
    }
    for (const path of [`/api/v1/users/${id}/?extended=true`, `/api/v1/users/${id}?extended=True`, `/api/v1/users/${id}/?extended=1`]) {
      expect({ path, body: (await org.call('GET', path)).body }).toEqual({ path, body: extendedShape })
    }
    const listed = await org.call('GET', `/api/v1/users/?username=olga`)
    expect(listed.body.results).toEqual([oncallShape])
    expect((await org.call('GET', `/api/v1/users/?username=olga&extended=true`)).body.results).toEqual([extendedShape])
    // ?short=true picks OnCall's short shape; ?extended=true adds the extension fields to it.
    const short = (await org.call('GET', `/api/v1/users/?username=olga&short=true&extended=true`)).body.results[0]
    expect(Object.keys(short).sort()).toEqual([...SHORT_USER_KEYS, ...EXTENSION_USER_KEYS].sort())
    expect(short.phone_number).toBe('+15550001111')

    const current = await org.call('GET', '/api/v1/users/current/')
    expect(Object.keys(current.body).sort()).toEqual(USER_KEYS)
    expect(Object.keys((await org.call('GET', '/api/v1/users/current/?extended=true')).body).sort()).toEqual(EXTENDED_USER_KEYS)

    const patched = await org.call('PATCH', `/api/v1/users/${id}/`, { timezone: 'UTC' })
    expect(patched.body).toEqual({ ...oncallShape, timezone: 'UTC' })
    const patchedExtended = await org.call('PATCH', `/api/v1/users/${id}/?extended=true`, { timezone: 'UTC' })
    expect(patchedExtended.body).toEqual({ ...extendedShape, timezone: 'UTC' })

    // A value that is not a boolean is a field error, not a silently ignored parameter.
    for (const path of [`/api/v1/users/${id}/?extended=yes`, '/api/v1/users/?extended=yes', '/api/v1/users/current/?extended=yes']) {
      expect({ path, ...(await org.call('GET', path)) }).toMatchObject({ path, status: 400, body: { extended: ['Must be a valid boolean.'] } })
    }
  })

  test('POST with every field echoes them, trimmed, and links the teams', async () => {
    const red = await createTeam({ name: 'Red' })
    const blue = await createTeam({ name: 'Blue' })
    const user = await createUser({
      username: '  erin  ',
      email: 'erin@acme.test',
      role: 'editor',
      timezone: 'Europe/Berlin',
      phone_number: '+4915112345678',
      slack: { user_id: 'U0SLACK', team_id: 'T0SLACK' },
      teams: [blue.id, red.id, blue.id],
    }, '?extended=true')
    expect(user).toMatchObject({
      username: 'erin',
      role: 'editor',
      timezone: 'Europe/Berlin',
      phone_number: '+4915112345678',
      is_phone_number_verified: true,
      slack: { user_id: 'U0SLACK', team_id: 'T0SLACK' },
    })
    // Teams in team creation order, each once.
    expect(user.teams).toEqual([red.id, blue.id])
    const members = await stack.db.selectFrom('team_members').select('team_id').where('user_id', '=', user.id).execute()
    expect(members.map((m) => m.team_id).sort()).toEqual([red.id, blue.id].sort())
  })

  test('GET /users/current is the caller, identical to GET /users/<own id>', async () => {
    const current = await org.call('GET', '/api/v1/users/current/')
    expect(current.status).toBe(200)
    expect(Object.keys(current.body).sort()).toEqual(USER_KEYS)
    expect(current.body).toMatchObject({ id: org.adminUserId, username: 'admin', role: 'admin' })
    expect((await org.call('GET', `/api/v1/users/${org.adminUserId}/`)).body).toEqual(current.body)
    expect((await org.call('GET', '/api/v1/users/current')).body).toEqual(current.body)
    expect((await other.call('GET', '/api/v1/users/current/')).body.id).toBe(other.adminUserId)
  })

  test('?short=true drops slack, timezone and teams', async () => {
    const short = await org.call('GET', '/api/v1/users/?short=true')
    expect(short.status).toBe(200)
    expect(short.body.page_size).toBe(100)
    expect(short.body.results.length).toBeGreaterThan(0)
    for (const user of short.body.results) expect(Object.keys(user).sort()).toEqual(SHORT_USER_KEYS)
    const full = await org.call('GET', '/api/v1/users/')
    for (const user of full.body.results) expect(Object.keys(user).sort()).toEqual(USER_KEYS)
    expect(short.body.results.map((u: { id: string }) => u.id)).toEqual(full.body.results.map((u: { id: string }) => u.id))
    const notShort = await org.call('GET', '/api/v1/users/?short=false')
    expect(notShort.body.results).toEqual(full.body.results)
  })

  test('GET of an unknown user id is 404', async () => {
    for (const id of ['UNONEXISTENT1', 'U', 'x'.repeat(300), other.adminUserId]) {
      expect(await org.call('GET', `/api/v1/users/${id}/`)).toMatchObject({ status: 404, body: NOT_FOUND })
    }
  })

  test('filters: username and email are case-insensitive exact, roles is numeric and repeatable', async () => {
    const frank = await createUser({ username: 'Frank', email: 'Frank.Smith@Acme.test', role: 'admin' })
    const grace = await createUser({ username: 'grace', email: 'grace@acme.test', role: 'none' })
    const ids = (r: ApiResponse) => r.body.results.map((u: { id: string }) => u.id)

    expect(ids(await org.call('GET', '/api/v1/users/?username=frank'))).toEqual([frank.id])
    expect(ids(await org.call('GET', '/api/v1/users/?username=FRANK'))).toEqual([frank.id])
    expect(ids(await org.call('GET', '/api/v1/users/?username=fran'))).toEqual([])
    expect(ids(await org.call('GET', '/api/v1/users/?email=frank.smith@acme.TEST'))).toEqual([frank.id])
    expect(ids(await org.call('GET', '/api/v1/users/?email=frank'))).toEqual([])
    expect(ids(await org.call('GET', '/api/v1/users/?username=frank&email=grace@acme.test'))).toEqual([])

    const all = (await org.call('GET', '/api/v1/users/?perpage=100')).body.results as Array<{ id: string; role: string }>
    const byRole = (role: string) => all.filter((u) => u.role === role).map((u) => u.id)
    expect(byRole('admin')).toEqual(expect.arrayContaining([org.adminUserId, frank.id]))
    expect(ids(await org.call('GET', '/api/v1/users/?roles=0'))).toEqual(byRole('admin'))
    expect(ids(await org.call('GET', '/api/v1/users/?roles=1'))).toEqual(byRole('editor'))
    expect(ids(await org.call('GET', '/api/v1/users/?roles=2'))).toEqual(byRole('viewer'))
    expect(ids(await org.call('GET', '/api/v1/users/?roles=3'))).toEqual([grace.id])
    const adminsAndNone = ids(await org.call('GET', '/api/v1/users/?roles=0&roles=3'))
    expect(adminsAndNone).toEqual(all.filter((u) => u.role === 'admin' || u.role === 'none').map((u) => u.id))
    const count = (await org.call('GET', '/api/v1/users/?roles=0&roles=3')).body.count
    expect(count).toBe(adminsAndNone.length)
  })

  test('an unknown roles value is a 400, not an unfiltered list', async () => {
    for (const value of ['9', 'admin', '-1']) {
      const response = await org.call('GET', `/api/v1/users/?roles=${value}`)
      expect(response).toMatchObject({
        status: 400,
        body: { roles: [`Select a valid choice. ${value} is not one of the available choices.`] },
      })
    }
    expect(await org.call('GET', '/api/v1/users/?roles=0&roles=7')).toMatchObject({
      status: 400,
      body: { roles: ['Select a valid choice. 7 is not one of the available choices.'] },
    })
  })

  test('PATCH changes only the given fields; PUT with a subset behaves the same; both reach the database', async () => {
    const team = await createTeam({ name: 'Patchers' })
    const user = await createUser({ username: 'heidi', email: 'heidi@acme.test', timezone: 'UTC', teams: [team.id] }, '?extended=true')
    const patched = await org.call('PATCH', `/api/v1/users/${user.id}/?extended=true`, { role: 'editor', phone_number: '+15551234567' })
    expect(patched.status).toBe(200)
    expect(patched.body).toEqual({ ...user, role: 'editor', phone_number: '+15551234567', is_phone_number_verified: true })

    const put = await org.call('PUT', `/api/v1/users/${user.id}?extended=true`, {
      username: 'heidi2',
      timezone: '',
      phone_number: null,
      slack: { user_id: 'UHEIDI' },
      teams: [],
    })
    expect(put.status).toBe(200)
    expect(put.body).toEqual({
      ...patched.body,
      username: 'heidi2',
      timezone: null,
      phone_number: null,
      is_phone_number_verified: false,
      slack: { user_id: 'UHEIDI', team_id: null },
      teams: [],
    })
    const row = await stack.db.selectFrom('users').selectAll().where('id', '=', user.id).executeTakeFirstOrThrow()
    expect(row).toMatchObject({ username: 'heidi2', role: 'editor', timezone: null, slack_user_id: 'UHEIDI', phone_number: null })
    expect(await stack.db.selectFrom('team_members').selectAll().where('user_id', '=', user.id).execute()).toEqual([])

    const cleared = await org.call('PATCH', `/api/v1/users/${user.id}/?extended=true`, { slack: null })
    expect(cleared.body.slack).toBeNull()
    const empty = await org.call('PATCH', `/api/v1/users/${user.id}/?extended=true`, {})
    expect(empty.status).toBe(200)
    expect(empty.body).toEqual(cleared.body)
    expect((await org.call('GET', `/api/v1/users/${user.id}/?extended=true`)).body).toEqual(cleared.body)
  })

  test('PUT/PATCH/DELETE of an unknown user is 404 and changes nothing', async () => {
    const before = await snapshot()
    for (const [method, body] of [
      ['PUT', { username: 'ghost' }],
      ['PATCH', { role: 'admin' }],
      ['PATCH', {}],
      ['DELETE', undefined],
    ] as Array<[string, unknown]>) {
      expect(await org.call(method, '/api/v1/users/UNONEXISTENT1/', body)).toMatchObject({ status: 404, body: NOT_FOUND })
    }
    expect(await snapshot()).toEqual(before)
  })

  test('DELETE removes the user and its memberships (204, empty body); deleting yourself is refused', async () => {
    const team = await createTeam({ name: 'Leavers' })
    const user = await createUser({ username: 'ivan', email: 'ivan@acme.test', teams: [team.id] })
    const deleted = await org.call('DELETE', `/api/v1/users/${user.id}/`)
    expect(deleted.status).toBe(204)
    expect(deleted.text).toBe('')
    expect(await org.call('GET', `/api/v1/users/${user.id}/`)).toMatchObject({ status: 404, body: NOT_FOUND })
    expect(await org.call('DELETE', `/api/v1/users/${user.id}`)).toMatchObject({ status: 404, body: NOT_FOUND })
    expect(await stack.db.selectFrom('users').select('id').where('id', '=', user.id).execute()).toEqual([])
    expect(await stack.db.selectFrom('team_members').select('team_id').where('user_id', '=', user.id).execute()).toEqual([])
    expect((await org.call('GET', `/api/v1/teams/${team.id}/`)).status).toBe(200)

    const before = await snapshot()
    expect(await org.call('DELETE', `/api/v1/users/${org.adminUserId}/`)).toMatchObject({
      status: 400,
      body: { detail: 'You cannot delete yourself.' },
    })
    expect(await snapshot()).toEqual(before)
  })
})

describe('teams', () => {
  test('POST creates a team with exactly id, grafana_id, name, email, avatar_url; GET returns the same', async () => {
    const created = await org.call('POST', '/api/v1/teams', {
      name: '  Platform  ',
      email: 'platform@acme.test',
      avatar_url: 'https://avatars.example.test/platform.png',
      id: 'TCHOSENBYME1',
    })
    expect(created.status).toBe(201)
    expect(Object.keys(created.body).sort()).toEqual(TEAM_KEYS)
    expect(created.body).toMatchObject({
      name: 'Platform',
      email: 'platform@acme.test',
      avatar_url: 'https://avatars.example.test/platform.png',
    })
    expect(created.body.id).toMatch(TEAM_ID)
    expect(created.body.id).not.toBe('TCHOSENBYME1')
    const row = await stack.db.selectFrom('teams').selectAll().where('id', '=', created.body.id).executeTakeFirstOrThrow()
    expect(created.body.grafana_id).toBe(Number(row.pk))
    expect(row.organization_id).toBe(org.organizationId)
    for (const path of [`/api/v1/teams/${created.body.id}/`, `/api/v1/teams/${created.body.id}`]) {
      const fetched = await org.call('GET', path)
      expect(fetched.status).toBe(200)
      expect(fetched.body).toEqual(created.body)
    }
  })

  test('email and avatar_url default to null and "" means null', async () => {
    const bare = await createTeam({ name: 'Bare' })
    expect(bare).toMatchObject({ name: 'Bare', email: null, avatar_url: null })
    const blank = await createTeam({ name: 'Blank', email: '', avatar_url: '' })
    expect(blank).toMatchObject({ email: null, avatar_url: null })
  })

  test('?name= filters by exact name', async () => {
    const team = await createTeam({ name: 'Exact Name' })
    const hit = await org.call('GET', '/api/v1/teams/?name=Exact%20Name')
    expect(hit.body).toMatchObject({ count: 1, results: [team] })
    expect((await org.call('GET', '/api/v1/teams/?name=Exact')).body).toMatchObject({ count: 0, results: [] })
    expect((await org.call('GET', `/api/v1/teams/?name=${encodeURIComponent(otherTeam.name)}`)).body.count).toBe(0)
  })

  test('PUT and PATCH update, DELETE removes the team and its memberships', async () => {
    const team = await createTeam({ name: 'Mutable', email: 'm@acme.test' })
    const member = await createUser({ username: 'judy', email: 'judy@acme.test', teams: [team.id] })
    const put = await org.call('PUT', `/api/v1/teams/${team.id}/`, { name: 'Mutated', avatar_url: 'http://a.test/x.png' })
    expect(put.status).toBe(200)
    expect(put.body).toEqual({ ...team, name: 'Mutated', avatar_url: 'http://a.test/x.png' })
    const patch = await org.call('PATCH', `/api/v1/teams/${team.id}`, { email: null })
    expect(patch.body).toEqual({ ...put.body, email: null })
    expect((await org.call('PATCH', `/api/v1/teams/${team.id}/`, {})).body).toEqual(patch.body)
    expect(await stack.db.selectFrom('teams').selectAll().where('id', '=', team.id).executeTakeFirst()).toMatchObject({
      name: 'Mutated',
      email: null,
      avatar_url: 'http://a.test/x.png',
    })
    // Renaming to its own name is not a duplicate.
    expect((await org.call('PATCH', `/api/v1/teams/${team.id}/`, { name: 'Mutated' })).status).toBe(200)

    const deleted = await org.call('DELETE', `/api/v1/teams/${team.id}/`)
    expect(deleted.status).toBe(204)
    expect(deleted.text).toBe('')
    expect(await org.call('GET', `/api/v1/teams/${team.id}/`)).toMatchObject({ status: 404, body: NOT_FOUND })
    expect((await org.call('GET', `/api/v1/users/${member.id}/`)).body.teams).toEqual([])
    for (const [method, body] of [
      ['PUT', { name: 'Ghost' }],
      ['PATCH', {}],
      ['DELETE', undefined],
    ] as Array<[string, unknown]>) {
      expect(await org.call(method, `/api/v1/teams/${team.id}/`, body)).toMatchObject({ status: 404, body: NOT_FOUND })
    }
  })

  test("another organization's team is 404 for every method", async () => {
    const before = await snapshot(other.organizationId)
    for (const [method, body] of [
      ['GET', undefined],
      ['PUT', { name: 'Stolen' }],
      ['PATCH', { name: 'Stolen' }],
      ['DELETE', undefined],
    ] as Array<[string, unknown]>) {
      expect(await org.call(method, `/api/v1/teams/${otherTeam.id}/`, body)).toMatchObject({ status: 404, body: NOT_FOUND })
    }
    expect(await snapshot(other.organizationId)).toEqual(before)
  })
})

describe('trailing slashes and pagination', () => {
  test('every route answers with and without the trailing slash, identically and without redirects', async () => {
    const team = await createTeam({ name: 'Slashy' })
    for (const [a, b] of [
      ['/api/v1/users/', '/api/v1/users'],
      ['/api/v1/users/current/', '/api/v1/users/current'],
      [`/api/v1/users/${org.adminUserId}/`, `/api/v1/users/${org.adminUserId}`],
      ['/api/v1/teams/', '/api/v1/teams'],
      [`/api/v1/teams/${team.id}/`, `/api/v1/teams/${team.id}`],
      ['/api/v1/users/?short=true', '/api/v1/users?short=true'],
    ]) {
      const withSlash = await rawGet(a!)
      const without = await rawGet(b!)
      expect({ path: a, status: withSlash.status, location: withSlash.location }).toEqual({ path: a, status: 200, location: null })
      expect({ path: b, status: without.status, location: without.location }).toEqual({ path: b, status: 200, location: null })
      expect(JSON.parse(without.text)).toEqual(JSON.parse(withSlash.text))
    }
  })

  test('the envelope, perpage, next/previous links from the public URL, and a page past the end', async () => {
    const fresh = await createOrg(stack, 'Paging Co')
    for (const name of ['p1', 'p2', 'p3', 'p4']) {
      expect((await fresh.call('POST', '/api/v1/users/', { username: name, email: `${name}@paging.test` })).status).toBe(201)
    }
    // 5 users: admin + p1..p4.
    const first = await fresh.call('GET', '/api/v1/users/?perpage=2')
    expect(first.status).toBe(200)
    expect(Object.keys(first.body).sort()).toEqual(
      ['count', 'next', 'previous', 'results', 'page_size', 'current_page_number', 'total_pages'].sort(),
    )
    expect(first.body).toMatchObject({ count: 5, previous: null, page_size: 2, current_page_number: 1, total_pages: 3 })
    expect(first.body.next).toBe(`${PUBLIC_URL}/api/v1/users/?page=2&perpage=2`)
    expect(first.body.results.map((u: { username: string }) => u.username)).toEqual(['admin', 'p1'])

    const second = await fresh.call('GET', '/api/v1/users/?perpage=2&page=2')
    expect(second.body).toMatchObject({ count: 5, current_page_number: 2, total_pages: 3 })
    expect(second.body.previous).toBe(`${PUBLIC_URL}/api/v1/users/?perpage=2`)
    expect(new URL(second.body.previous).searchParams.has('page')).toBe(false)
    expect(second.body.next).toBe(`${PUBLIC_URL}/api/v1/users/?page=3&perpage=2`)
    expect(second.body.results.map((u: { username: string }) => u.username)).toEqual(['p2', 'p3'])

    const last = await fresh.call('GET', '/api/v1/users/?perpage=2&page=3')
    const past = await fresh.call('GET', '/api/v1/users/?perpage=2&page=99')
    expect(past.status).toBe(200)
    expect(last.body).toMatchObject({ current_page_number: 3, total_pages: 3, next: null })
    expect(last.body.results.map((u: { username: string }) => u.username)).toEqual(['p4'])
    expect(past.body.results).toEqual(last.body.results)
    expect(past.body).toMatchObject({ current_page_number: 3, total_pages: 3, next: null })
    expect(past.body.previous).toBe(`${PUBLIC_URL}/api/v1/users/?page=2&perpage=2`)

    // Other query parameters stay in the links, sorted by key as DRF writes them; the path keeps its slash style.
    const short = await fresh.call('GET', '/api/v1/users?short=true&perpage=1')
    expect(short.body.next).toBe(`${PUBLIC_URL}/api/v1/users?page=2&perpage=1&short=true`)

    // Lenient paging: bad page → 1, bad perpage → the default; perpage above 100 slices but reports 100.
    for (const query of ['page=0', 'page=abc', 'page=-1', 'perpage=0', 'perpage=abc']) {
      const lenient = await fresh.call('GET', `/api/v1/users/?${query}`)
      expect({ query, status: lenient.status, page: lenient.body.current_page_number }).toEqual({ query, status: 200, page: 1 })
    }
    expect((await fresh.call('GET', '/api/v1/users/?perpage=abc')).body).toMatchObject({ page_size: 100, total_pages: 1 })
    expect((await fresh.call('GET', '/api/v1/users/?perpage=150')).body).toMatchObject({ page_size: 100, count: 5 })

    // Teams default to 50 per page.
    const teams = await fresh.call('GET', '/api/v1/teams/')
    expect(teams.body).toEqual({
      count: 0,
      next: null,
      previous: null,
      results: [],
      page_size: 50,
      current_page_number: 1,
      total_pages: 1,
    })
    await fresh.call('POST', '/api/v1/teams/', { name: 'A' })
    await fresh.call('POST', '/api/v1/teams/', { name: 'B' })
    const teamPage = await fresh.call('GET', '/api/v1/teams?perpage=1&page=2')
    expect(teamPage.body).toMatchObject({ count: 2, current_page_number: 2, total_pages: 2, next: null })
    expect(teamPage.body.previous).toBe(`${PUBLIC_URL}/api/v1/teams?perpage=1`)
    expect(teamPage.body.results.map((t: { name: string }) => t.name)).toEqual(['B'])
  })

  test('an empty list reports page 1 of 1', async () => {
    const empty = await org.call('GET', '/api/v1/users/?username=nobody-at-all&page=5')
    expect(empty.body).toEqual({
      count: 0,
      next: null,
      previous: null,
      results: [],
      page_size: 100,
      current_page_number: 1,
      total_pages: 1,
    })
  })
})

describe('hostile input on user writes', () => {
  let target: { id: string; username: string }
  let taken: { id: string; username: string }
  let ownTeam: { id: string }

  beforeAll(async () => {
    ownTeam = await createTeam({ name: 'Hostile-proof' })
    target = await createUser({ username: 'target', email: 'target@acme.test', teams: [ownTeam.id], timezone: 'UTC' })
    taken = await createUser({ username: 'taken', email: 'taken@acme.test' })
  })

  const required = 'This field is required.'
  const notNull = 'This field may not be null.'
  const notString = 'Not a valid string.'
  const badEmail = 'Enter a valid email address.'
  const nullChars = 'Null characters are not allowed.'
  const badPhone = 'Enter a valid phone number in E.164 form (+15551234567).'

  test('POST /users/: missing, null, wrong types, huge, blank, bad formats', async () => {
    const valid = { username: 'newcomer', email: 'newcomer@acme.test' }
    const cases: Array<[unknown, unknown]> = [
      [{}, { username: [required], email: [required] }],
      [{ username: 'only-name' }, { email: [required] }],
      [{ email: 'only@acme.test' }, { username: [required] }],
      [{ username: null, email: null }, { username: [notNull], email: [notNull] }],
      [{ username: 5, email: ['a@b.co'] }, { username: [notString], email: [notString] }],
      [{ username: { $ne: null }, email: true }, { username: [notString], email: [notString] }],
      [{ ...valid, username: HUGE }, { username: ['Ensure this field has no more than 150 characters.'] }],
      [{ ...valid, email: `${HUGE}@acme.test` }, { email: ['Ensure this field has no more than 254 characters.'] }],
      [{ ...valid, username: '   ' }, { username: ['This field may not be blank.'] }],
      [{ ...valid, username: '' }, { username: ['This field may not be blank.'] }],
      [{ ...valid, email: 'not-an-email' }, { email: [badEmail] }],
      [{ ...valid, email: 'a@b' }, { email: [badEmail] }],
      [{ ...valid, role: 'superuser' }, { role: ['"superuser" is not a valid choice.'] }],
      [{ ...valid, role: null }, { role: [notNull] }],
      [{ ...valid, role: 0 }, { role: ['"0" is not a valid choice.'] }],
      [{ ...valid, timezone: 'Mars/Olympus' }, { timezone: ['Invalid timezone'] }],
      [{ ...valid, timezone: 42 }, { timezone: [notString] }],
      [{ ...valid, timezone: HUGE }, { timezone: ['Invalid timezone'] }],
      [{ ...valid, phone_number: '12345' }, { phone_number: [badPhone] }],
      [{ ...valid, phone_number: '+1 555 123 4567' }, { phone_number: [badPhone] }],
      [{ ...valid, phone_number: `+1${'5'.repeat(100_000)}` }, { phone_number: [badPhone] }],
      [{ ...valid, phone_number: 15551234567 }, { phone_number: [notString] }],
      [{ ...valid, slack: 'U123' }, { slack: ['Invalid data. Expected a dictionary, but got str.'] }],
      [{ ...valid, slack: {} }, { slack: { user_id: [required] } }],
      [{ ...valid, slack: { user_id: 5 } }, { slack: { user_id: [notString] } }],
      [{ ...valid, slack: { user_id: HUGE } }, { slack: { user_id: ['Ensure this field has no more than 50 characters.'] } }],
      [{ ...valid, teams: ownTeam.id }, { teams: ['Expected a list of items but got type "str".'] }],
      [{ ...valid, teams: null }, { teams: [notNull] }],
      [{ ...valid, teams: [5] }, { teams: { '0': [notString] } }],
      [{ ...valid, teams: [ownTeam.id, HUGE] }, { teams: { '1': ['Ensure this field has no more than 20 characters.'] } }],
      [{ ...valid, teams: ['TUNKNOWNTEAM1'] }, { teams: ['Invalid pk "TUNKNOWNTEAM1" - object does not exist.'] }],
      [{ ...valid, teams: [ownTeam.id, otherTeam.id] }, { teams: [`Invalid pk "${otherTeam.id}" - object does not exist.`] }],
      [{ ...valid, username: 'taken' }, { username: ['A user with that username already exists.'] }],
      [{ ...valid, username: '  taken ' }, { username: ['A user with that username already exists.'] }],
      [{ ...valid, username: 'nul\u0000byte' }, { username: [nullChars] }],
      [{ ...valid, slack: { user_id: 'U1', team_id: 'T\u0000' } }, { slack: { team_id: [nullChars] } }],
      [[valid], { non_field_errors: ['Invalid data. Expected a dictionary, but got list.'] }],
      [JSON.stringify('username=x'), { non_field_errors: ['Invalid data. Expected a dictionary, but got str.'] }],
      ['42', { non_field_errors: ['Invalid data. Expected a dictionary, but got int.'] }],
      ['null', { non_field_errors: [notNull] }],
    ]
    for (const [body, expected] of cases) await expectRejected('POST', '/api/v1/users/', body, expected)
  })

  test('PUT and PATCH /users/<id>: the same refusals, and the row is untouched', async () => {
    const cases: Array<[unknown, unknown]> = [
      [{ username: null }, { username: [notNull] }],
      [{ username: 123 }, { username: [notString] }],
      [{ username: HUGE }, { username: ['Ensure this field has no more than 150 characters.'] }],
      [{ username: '' }, { username: ['This field may not be blank.'] }],
      [{ email: null }, { email: [notNull] }],
      [{ email: 'target at acme' }, { email: [badEmail] }],
      [{ role: 'root' }, { role: ['"root" is not a valid choice.'] }],
      [{ role: null }, { role: [notNull] }],
      [{ timezone: 'Mars/Olympus' }, { timezone: ['Invalid timezone'] }],
      [{ timezone: 'Europe/Berlin', phone_number: 'call me' }, { phone_number: [badPhone] }],
      [{ slack: { team_id: 'T1' } }, { slack: { user_id: [required] } }],
      [{ teams: 'all' }, { teams: ['Expected a list of items but got type "str".'] }],
      [{ teams: [null] }, { teams: { '0': [notNull] } }],
      [{ teams: ['TUNKNOWNTEAM1'] }, { teams: ['Invalid pk "TUNKNOWNTEAM1" - object does not exist.'] }],
      [{ teams: [otherTeam.id] }, { teams: [`Invalid pk "${otherTeam.id}" - object does not exist.`] }],
      [{ username: 'renamed', teams: [otherTeam.id] }, { teams: [`Invalid pk "${otherTeam.id}" - object does not exist.`] }],
      [{ username: 'taken' }, { username: ['A user with that username already exists.'] }],
      [{ username: 'taken', teams: [] }, { username: ['A user with that username already exists.'] }],
      [{ username: 'a\u0000' }, { username: [nullChars] }],
      [[{ username: 'x' }], { non_field_errors: ['Invalid data. Expected a dictionary, but got list.'] }],
      [JSON.stringify('x'), { non_field_errors: ['Invalid data. Expected a dictionary, but got str.'] }],
      ['true', { non_field_errors: ['Invalid data. Expected a dictionary, but got bool.'] }],
    ]
    for (const method of ['PUT', 'PATCH']) {
      for (const [body, expected] of cases) await expectRejected(method, `/api/v1/users/${target.id}/`, body, expected)
    }
    const unchanged = await org.call('GET', `/api/v1/users/${target.id}/`)
    expect(unchanged.body).toMatchObject({ username: 'target', teams: [ownTeam.id], timezone: 'UTC', role: 'viewer' })
    expect(taken.username).toBe('taken')
  })
})

describe('hostile paths, filters and missing bodies', () => {
  test('a NUL character in a path id is 404 and in a filter 400, never a 500', async () => {
    const before = await snapshot()
    for (const [method, path] of [
      ['GET', '/api/v1/users/U%00/'],
      ['PUT', '/api/v1/users/U%00/'],
      ['PATCH', '/api/v1/users/%00'],
      ['DELETE', '/api/v1/users/%00/'],
      ['GET', '/api/v1/teams/T%00/'],
      ['PUT', '/api/v1/teams/T%00'],
      ['PATCH', '/api/v1/teams/%00/'],
      ['DELETE', '/api/v1/teams/%00/'],
    ]) {
      const response = await org.call(method!, path!, method === 'PUT' || method === 'PATCH' ? {} : undefined)
      expect({ method, path, status: response.status, body: response.body }).toEqual({ method, path, status: 404, body: NOT_FOUND })
    }
    const nul = ['Null characters are not allowed.']
    expect(await org.call('GET', '/api/v1/users/?username=a%00')).toMatchObject({ status: 400, body: { username: nul } })
    expect(await org.call('GET', '/api/v1/users/?email=%00')).toMatchObject({ status: 400, body: { email: nul } })
    expect(await org.call('GET', '/api/v1/teams/?name=%00')).toMatchObject({ status: 400, body: { name: nul } })
    expect(await snapshot()).toEqual(before)
  })

  test('a write without any body is read as empty data, as DRF does', async () => {
    await expectRejected('POST', '/api/v1/users/', undefined, {
      username: ['This field is required.'],
      email: ['This field is required.'],
    })
    await expectRejected('POST', '/api/v1/teams', undefined, { name: ['This field is required.'] })
    const team = await createTeam({ name: 'Bodiless' })
    const user = await createUser({ username: 'bodiless', email: 'bodiless@acme.test', teams: [team.id] })
    const before = await snapshot()
    const patchedUser = await org.call('PATCH', `/api/v1/users/${user.id}/`)
    expect(patchedUser).toMatchObject({ status: 200, body: user })
    const patchedTeam = await org.call('PUT', `/api/v1/teams/${team.id}/`)
    expect(patchedTeam).toMatchObject({ status: 200, body: team })
    expect(await snapshot()).toEqual(before)
  })
})

describe('hostile input on team writes', () => {
  let team: { id: string; name: string }

  beforeAll(async () => {
    team = await createTeam({ name: 'Steady', email: 'steady@acme.test' })
    await createTeam({ name: 'Occupied' })
  })

  const cases: Array<[unknown, unknown]> = [
    [{ name: null }, { name: ['This field may not be null.'] }],
    [{ name: 7 }, { name: ['Not a valid string.'] }],
    [{ name: ['Steady'] }, { name: ['Not a valid string.'] }],
    [{ name: HUGE }, { name: ['Ensure this field has no more than 300 characters.'] }],
    [{ name: '  ' }, { name: ['This field may not be blank.'] }],
    [{ name: 'N\u0000' }, { name: ['Null characters are not allowed.'] }],
    [{ name: 'Fine', email: 'nope' }, { email: ['Enter a valid email address.'] }],
    [{ name: 'Fine', email: 5 }, { email: ['Not a valid string.'] }],
    [{ name: 'Fine', email: `${HUGE}@a.test` }, { email: ['Ensure this field has no more than 254 characters.'] }],
    [{ name: 'Fine', avatar_url: 'ftp://files.test/a.png' }, { avatar_url: ['Enter a valid URL.'] }],
    [{ name: 'Fine', avatar_url: 'javascript:alert(1)' }, { avatar_url: ['Enter a valid URL.'] }],
    [{ name: 'Fine', avatar_url: 'not a url' }, { avatar_url: ['Enter a valid URL.'] }],
    [{ name: 'Fine', avatar_url: `https://a.test/${HUGE}` }, { avatar_url: ['Ensure this field has no more than 2048 characters.'] }],
    [{ name: 'Fine', avatar_url: 'https://a.test/\u0000' }, { avatar_url: ['Null characters are not allowed.'] }],
    [{ name: 'Occupied' }, { name: ['A team with this name already exists.'] }],
    [{ name: ' Occupied ' }, { name: ['A team with this name already exists.'] }],
    [[{ name: 'x' }], { non_field_errors: ['Invalid data. Expected a dictionary, but got list.'] }],
    [JSON.stringify('name'), { non_field_errors: ['Invalid data. Expected a dictionary, but got str.'] }],
    ['null', { non_field_errors: ['This field may not be null.'] }],
  ]

  test('POST /teams/: missing name and every bad value', async () => {
    await expectRejected('POST', '/api/v1/teams/', {}, { name: ['This field is required.'] })
    await expectRejected('POST', '/api/v1/teams/', { email: 'a@acme.test' }, { name: ['This field is required.'] })
    for (const [body, expected] of cases) await expectRejected('POST', '/api/v1/teams/', body, expected)
  })

  test('PUT and PATCH /teams/<id>: every bad value, the duplicate name, and the row is untouched', async () => {
    for (const method of ['PUT', 'PATCH']) {
      for (const [body, expected] of cases) await expectRejected(method, `/api/v1/teams/${team.id}/`, body, expected)
      await expectRejected(method, `/api/v1/teams/${team.id}`, { name: 'Occupied', email: 'new@acme.test' }, {
        name: ['A team with this name already exists.'],
      })
    }
    expect((await org.call('GET', `/api/v1/teams/${team.id}/`)).body).toMatchObject({ name: 'Steady', email: 'steady@acme.test' })
  })
})
