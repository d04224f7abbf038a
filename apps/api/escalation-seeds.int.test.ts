import { caller, createOrg, startStack, type ApiResponse, type Stack } from '../../test/stack'

// Every chains/policies request/response example of the API reference pages (Grafana IRM's escalation policies
// and escalation chains pages, OnCall OSS's older escalation policies page), replayed literally: the documented bodies and headers are
// sent as they are (only ids are substituted) and the documented answers compared exactly except for ids.
let stack: Stack

beforeAll(async () => {
  stack = await startStack('escalation_seeds', { worker: false })
})
afterAll(() => stack.stop())

const CHAIN_ID = /^F[A-NP-Z1-9]{12}$/
const POLICY_ID = /^E[A-NP-Z1-9]{12}$/

/** The documents' headers: `Authorization: <token>` (001, 002) or `Bearer <token>` (003), X-Grafana-URL (001, 003). */
function seedCaller(token: string, options: { bearer: boolean; grafanaUrl: boolean }) {
  const call = caller(stack.baseUrl, null)
  // Lower-case names: header names are case-insensitive, and the test caller adds `content-type` itself.
  const headers: Record<string, string> = {
    authorization: options.bearer ? `Bearer ${token}` : token,
    'content-type': 'application/json',
    ...(options.grafanaUrl ? { 'x-grafana-url': 'https://your-stack.grafana.net' } : {}),
  }
  return (method: string, path: string, body?: string): Promise<ApiResponse> => call(method, path, body, headers)
}

/** `--data '…'` of the documents, byte for byte. */
const CREATE_WAIT_60 = (chainId: string) => `{
      "escalation_chain_id": "${chainId}",
      "type": "wait",
      "duration": 60
  }`
const UPDATE_LITERAL = `{
    "type": "wait",
    "duration": 300,
  }`
const UPDATE_CORRECTED = `{
    "type": "wait",
    "duration": 300
  }`

async function replayPolicyDocument(name: string, options: { grafanaUrl: boolean; roundRobin: boolean }) {
  const org = await createOrg(stack, name)
  const call = seedCaller(org.token, { bearer: false, grafanaUrl: options.grafanaUrl })
  // The ids the documents reference (F5JU6KJET33FE, U4DNY931HHJS5 "alice"), created first.
  const chain = await call('POST', '/api/v1/escalation_chains/', JSON.stringify({ name: 'default' }))
  expect(chain.status).toBe(201)
  const chainId: string = chain.body.id
  const alice = await call('POST', '/api/v1/users/', JSON.stringify({ username: 'alice', email: 'alice@example.com' }))
  expect(alice.status).toBe(201)
  const aliceId: string = alice.body.id

  // Create an escalation policy.
  const created = await call('POST', '/api/v1/escalation_policies/', CREATE_WAIT_60(chainId))
  expect(created.status).toBe(201)
  const waitId: string = created.body.id
  expect(waitId).toMatch(POLICY_ID)
  expect(created.body).toEqual({ id: waitId, escalation_chain_id: chainId, position: 0, type: 'wait', duration: 60 })
  expect(JSON.stringify(created.body)).toBe(
    JSON.stringify({ id: waitId, escalation_chain_id: chainId, position: 0, type: 'wait', duration: 60 }),
  )

  // Get an escalation policy.
  const got = await call('GET', `/api/v1/escalation_policies/${waitId}/`)
  expect({ status: got.status, body: got.body }).toEqual({
    status: 200,
    body: { id: waitId, escalation_chain_id: chainId, position: 0, type: 'wait', duration: 60 },
  })

  // List escalation policies: the document's second item (E5JJTU52M5YM4) is created the usual way first.
  const roundRobin = await call(
    'POST',
    '/api/v1/escalation_policies/',
    JSON.stringify({
      escalation_chain_id: chainId,
      type: 'notify_person_next_each_time',
      persons_to_notify_next_each_time: [aliceId],
    }),
  )
  expect(roundRobin.status).toBe(201)
  const roundRobinId: string = roundRobin.body.id
  const list = await call('GET', '/api/v1/escalation_policies/')
  expect(list.status).toBe(200)
  expect(list.body).toEqual({
    count: 2,
    next: null,
    previous: null,
    results: [
      { id: waitId, escalation_chain_id: chainId, position: 0, type: 'wait', duration: 60 },
      {
        id: roundRobinId,
        escalation_chain_id: chainId,
        position: 1,
        type: 'notify_person_next_each_time',
        // Not in the documents' example: OnCall's serializer returns `important` for this type (the docs are
        // stale), and Tocsin follows the code.
        important: false,
        persons_to_notify_next_each_time: [aliceId],
      },
    ],
    current_page_number: 1,
    page_size: 50,
    total_pages: 1,
  })

  if (options.roundRobin) {
    // Advance round-robin position (001 only).
    const advanced = await call('POST', `/api/v1/escalation_policies/${roundRobinId}/advance_round_robin/`)
    expect({ status: advanced.status, body: advanced.body }).toEqual({
      status: 200,
      body: { user_id: aliceId, username: 'alice' },
    })
    // "Returns 400 Bad Request if the policy is not a round-robin step or if the round-robin queue has no users."
    const notRoundRobin = await call('POST', `/api/v1/escalation_policies/${waitId}/advance_round_robin/`)
    expect(notRoundRobin.status).toBe(400)
    expect(notRoundRobin.body).toEqual({ detail: expect.any(String) })
  }

  // Update an escalation policy: the documents' body has a trailing comma, which is not JSON.
  const literal = await call('PUT', `/api/v1/escalation_policies/${waitId}/`, UPDATE_LITERAL)
  expect(literal.status).toBe(400)
  expect(Object.keys(literal.body)).toEqual(['detail'])
  expect(literal.body.detail).toMatch(/^JSON parse error - /)
  expect((await call('GET', `/api/v1/escalation_policies/${waitId}/`)).body.duration).toBe(60)
  const updated = await call('PUT', `/api/v1/escalation_policies/${waitId}/`, UPDATE_CORRECTED)
  expect({ status: updated.status, body: updated.body }).toEqual({
    status: 200,
    body: { id: waitId, escalation_chain_id: chainId, position: 0, type: 'wait', duration: 300 },
  })

  // Delete an escalation policy.
  const deleted = await call('DELETE', `/api/v1/escalation_policies/${waitId}/`)
  expect({ status: deleted.status, text: deleted.text }).toEqual({ status: 204, text: '' })
  expect(await call('GET', `/api/v1/escalation_policies/${waitId}/`)).toMatchObject({
    status: 404,
    body: { detail: 'Not found.' },
  })
  return { org, chainId }
}

describe('001: escalation policies HTTP API, newest (Grafana Cloud IRM) form', () => {
  test('create wait 60, get, list, advance_round_robin, update to 300 (literal and corrected), delete', async () => {
    await replayPolicyDocument('Seed 001', { grafanaUrl: true, roundRobin: true })
  })

  test('every step type of the document is accepted', async () => {
    const org = await createOrg(stack, 'Seed 001 types')
    const call = seedCaller(org.token, { bearer: false, grafanaUrl: true })
    const chainId = (await call('POST', '/api/v1/escalation_chains/', JSON.stringify({ name: 'types' }))).body.id
    const types =
      'wait, notify_persons, notify_person_next_each_time, notify_on_call_from_schedule, ' +
      'notify_next_on_call_from_schedule, notify_user_group, notify_team_members, trigger_webhook, resolve, ' +
      'notify_whole_channel, notify_if_time_from_to, notify_if_num_alerts_in_window, repeat_escalation, ' +
      'declare_incident'
    for (const type of types.split(', ')) {
      const created = await call(
        'POST',
        '/api/v1/escalation_policies/',
        JSON.stringify({ escalation_chain_id: chainId, type }),
      )
      expect({ type, status: created.status, bodyType: created.body.type }).toEqual({
        type,
        status: 201,
        bodyType: type,
      })
    }
  })
})

describe('002: escalation policies HTTP API, open-source form', () => {
  test('create wait 60, get, list, update to 300 (literal and corrected), delete', async () => {
    await replayPolicyDocument('Seed 002', { grafanaUrl: false, roundRobin: false })
  })

  test('every type of the older list is still accepted', async () => {
    const org = await createOrg(stack, 'Seed 002 types')
    const call = seedCaller(org.token, { bearer: false, grafanaUrl: false })
    const chainId = (await call('POST', '/api/v1/escalation_chains/', JSON.stringify({ name: 'types' }))).body.id
    const types = [
      'wait',
      'notify_persons',
      'notify_person_next_each_time',
      'notify_on_call_from_schedule',
      'notify_user_group',
      'trigger_webhook',
      'resolve',
      'notify_whole_channel',
      'notify_if_time_from_to',
      'declare_incident',
    ]
    for (const type of types) {
      const created = await call(
        'POST',
        '/api/v1/escalation_policies/',
        JSON.stringify({ escalation_chain_id: chainId, type }),
      )
      expect({ type, status: created.status }).toEqual({ type, status: 201 })
    }
  })
})

describe('003: escalation chains HTTP API', () => {
  test('create, get, list, delete with Bearer and X-Grafana-URL', async () => {
    const org = await createOrg(stack, 'Seed 003')
    const call = seedCaller(org.token, { bearer: true, grafanaUrl: true })

    // F5JU6KJET33FE "default", which the get and list examples show, exists first.
    const defaultChain = await call('POST', '/api/v1/escalation_chains/', JSON.stringify({ name: 'default' }))
    expect(defaultChain.status).toBe(201)
    const defaultId: string = defaultChain.body.id

    // Create an escalation chain.
    const created = await call(
      'POST',
      '/api/v1/escalation_chains/',
      `{
      "name": "example-chain"
  }`,
    )
    expect(created.status).toBe(201)
    expect(created.body.id).toMatch(CHAIN_ID)
    expect(created.body).toEqual({ id: created.body.id, name: 'example-chain', team_id: null })
    expect(JSON.stringify(created.body)).toBe(
      JSON.stringify({ id: created.body.id, name: 'example-chain', team_id: null }),
    )

    // Get an escalation chain.
    const got = await call('GET', `/api/v1/escalation_chains/${defaultId}/`)
    expect({ status: got.status, body: got.body }).toEqual({
      status: 200,
      body: { id: defaultId, name: 'default', team_id: null },
    })

    // List escalation chains: the document says count 2 and shows the first of the two results.
    const list = await call('GET', '/api/v1/escalation_chains/')
    expect(list.status).toBe(200)
    expect({ ...list.body, results: list.body.results.slice(0, 1) }).toEqual({
      count: 2,
      next: null,
      previous: null,
      results: [{ id: defaultId, name: 'default', team_id: null }],
      current_page_number: 1,
      page_size: 50,
      total_pages: 1,
    })
    expect(list.body.results).toEqual([
      { id: defaultId, name: 'default', team_id: null },
      { id: created.body.id, name: 'example-chain', team_id: null },
    ])

    // Delete an escalation chain.
    const deleted = await call('DELETE', `/api/v1/escalation_chains/${defaultId}/`)
    expect({ status: deleted.status, text: deleted.text }).toEqual({ status: 204, text: '' })
    expect(await call('GET', `/api/v1/escalation_chains/${defaultId}/`)).toMatchObject({
      status: 404,
      body: { detail: 'Not found.' },
    })
  })

  test('the chain a policy document references can be deleted with its policies (Bearer, X-Grafana-URL)', async () => {
    const { org, chainId } = await replayPolicyDocument('Seed 003 chains of 001', {
      grafanaUrl: true,
      roundRobin: true,
    })
    const call = seedCaller(org.token, { bearer: true, grafanaUrl: true })
    expect((await call('GET', '/api/v1/escalation_policies/')).body.count).toBe(1)
    expect((await call('DELETE', `/api/v1/escalation_chains/${chainId}/`)).status).toBe(204)
    expect((await call('GET', '/api/v1/escalation_policies/')).body.count).toBe(0)
  })

  test('raw and Bearer tokens both work on every chain example, and X-Grafana-URL changes nothing', async () => {
    const org = await createOrg(stack, 'Seed 003 headers')
    const variants = [
      seedCaller(org.token, { bearer: true, grafanaUrl: true }),
      seedCaller(org.token, { bearer: false, grafanaUrl: true }),
      seedCaller(org.token, { bearer: true, grafanaUrl: false }),
      seedCaller(org.token, { bearer: false, grafanaUrl: false }),
    ]
    let n = 0
    for (const call of variants) {
      const created = await call('POST', '/api/v1/escalation_chains/', JSON.stringify({ name: `example-chain-${++n}` }))
      expect(created).toMatchObject({ status: 201, body: { name: `example-chain-${n}`, team_id: null } })
      expect((await call('GET', `/api/v1/escalation_chains/${created.body.id}/`)).body).toEqual(created.body)
      expect((await call('GET', '/api/v1/escalation_chains/')).body.count).toBe(n)
    }
    // A wrong token stays refused whatever the scheme, X-Grafana-URL does not select anything.
    const stranger = seedCaller('0'.repeat(64), { bearer: true, grafanaUrl: true })
    expect(await stranger('GET', '/api/v1/escalation_chains/')).toMatchObject({
      status: 403,
      body: { detail: 'Invalid token.' },
    })
  })
})
