import { createTeam } from '../../db/teams.repo'
import { createOrg, startStack, type Stack } from '../../test/stack'

// Escalation chains and policies through /api/v1, black-box: OnCall's shapes, texts, positions and flags.
let stack: Stack
let org: Awaited<ReturnType<typeof createOrg>>
let userA: string
let userB: string

beforeAll(async () => {
  stack = await startStack('escalation_config', { worker: false, publicUrl: 'https://oncall.example.test' })
  org = await createOrg(stack, 'Config Co')
  userA = (await org.call('POST', '/api/v1/users/', { username: 'ann', email: 'ann@c.test' })).body.id
  userB = (await org.call('POST', '/api/v1/users/', { username: 'ben', email: 'ben@c.test' })).body.id
})
afterAll(() => stack.stop())

let chainSeq = 0
async function newChain(): Promise<string> {
  const response = await org.call('POST', '/api/v1/escalation_chains/', { name: `chain-${++chainSeq}` })
  expect(response.status).toBe(201)
  return response.body.id
}

async function policy(body: Record<string, unknown>) {
  return org.call('POST', '/api/v1/escalation_policies/', body)
}

async function positions(chainId: string): Promise<Record<string, number>> {
  const list = await org.call('GET', `/api/v1/escalation_policies/?escalation_chain_id=${chainId}`)
  return Object.fromEntries(list.body.results.map((p: { id: string; position: number }) => [p.id, p.position]))
}

async function chainOfThree(): Promise<{ chainId: string; ids: string[] }> {
  const chainId = await newChain()
  const ids: string[] = []
  for (let i = 0; i < 3; i++) ids.push((await policy({ escalation_chain_id: chainId, type: 'wait', duration: 60 })).body.id)
  return { chainId, ids }
}

describe('escalation chains', () => {
  test('create with null or "" team, then the list envelope', async () => {
    const created = await org.call('POST', '/api/v1/escalation_chains/', { name: 'test', team_id: null })
    expect(created.status).toBe(201)
    expect(created.body).toEqual({ id: expect.stringMatching(/^F[A-NP-Z1-9]{12}$/), name: 'test', team_id: null })
    const goStyle = await org.call('POST', '/api/v1/escalation_chains', { name: 'x', team_id: '' })
    expect(goStyle).toMatchObject({ status: 201, body: { name: 'x', team_id: null } })
    const list = await org.call('GET', '/api/v1/escalation_chains/?name=test')
    expect(list.body).toEqual({
      count: 1,
      next: null,
      previous: null,
      results: [created.body],
      page_size: 50,
      current_page_number: 1,
      total_pages: 1,
    })
  })

  test('PUT renames and keeps the id; PUT without name is refused; PATCH is partial', async () => {
    const id = await newChain()
    const put = await org.call('PUT', `/api/v1/escalation_chains/${id}/`, { id, name: 'changed' })
    expect(put).toMatchObject({ status: 200, body: { id, name: 'changed', team_id: null } })
    expect(await org.call('PUT', `/api/v1/escalation_chains/${id}/`, { team_id: null })).toMatchObject({
      status: 400,
      body: { name: ['This field is required.'] },
    })
    const team = await createTeam(stack.db, org.organizationId, { name: 'Ops', email: null, avatarUrl: null })
    expect(await org.call('PATCH', `/api/v1/escalation_chains/${id}/`, { team_id: team.id })).toMatchObject({
      status: 200,
      body: { name: 'changed', team_id: team.id },
    })
    expect((await org.call('GET', `/api/v1/escalation_chains/?team_id=${team.id}`)).body.results).toEqual([
      { id, name: 'changed', team_id: team.id },
    ])
    expect(await org.call('GET', '/api/v1/escalation_chains/?team_id=TNOSUCHTEAM12')).toMatchObject({
      status: 400,
      body: { team_id: ['Select a valid choice. That choice is not one of the available choices.'] },
    })
    expect(await org.call('PATCH', `/api/v1/escalation_chains/${id}/`, { team_id: 'TNOSUCHTEAM12' })).toMatchObject({
      status: 400,
      body: { team_id: ['Object does not exist'] },
    })
  })

  test('a duplicate name is a unique-set error; renaming to its own name is fine', async () => {
    const id = (await org.call('POST', '/api/v1/escalation_chains/', { name: 'unique-me' })).body.id
    expect(await org.call('POST', '/api/v1/escalation_chains/', { name: 'unique-me' })).toMatchObject({
      status: 400,
      body: { non_field_errors: ['The fields organization, name must make a unique set.'] },
    })
    expect((await org.call('PUT', `/api/v1/escalation_chains/${id}`, { name: 'unique-me' })).status).toBe(200)
  })

  test('unknown id is 404; deleting a chain deletes its policies', async () => {
    expect(await org.call('GET', '/api/v1/escalation_chains/DOESNOTEXIST/')).toMatchObject({
      status: 404,
      body: { detail: 'Not found.' },
    })
    const { chainId, ids } = await chainOfThree()
    expect((await org.call('DELETE', `/api/v1/escalation_chains/${chainId}/`)).status).toBe(204)
    for (const id of ids) expect((await org.call('GET', `/api/v1/escalation_policies/${id}/`)).status).toBe(404)
  })
})

describe('escalation policies', () => {
  test('per-type shapes in position order', async () => {
    const chainId = await newChain()
    await policy({ escalation_chain_id: chainId, type: 'notify_persons', persons_to_notify: [userA] })
    await policy({ escalation_chain_id: chainId, type: 'wait', duration: 300 })
    await policy({ escalation_chain_id: chainId, type: 'notify_persons' })
    const list = await org.call('GET', `/api/v1/escalation_policies?escalation_chain_id=${chainId}`)
    expect(list.body.results.map((p: Record<string, unknown>) => ({ ...p, id: undefined }))).toEqual([
      { id: undefined, escalation_chain_id: chainId, position: 0, type: 'notify_persons', important: false, persons_to_notify: [userA] },
      { id: undefined, escalation_chain_id: chainId, position: 1, type: 'wait', duration: 300 },
      { id: undefined, escalation_chain_id: chainId, position: 2, type: 'notify_persons', important: false, persons_to_notify: [] },
    ])
    expect((await org.call('GET', '/api/v1/escalation_policies/?escalation_chain_id=FNOSUCHCHAIN1')).body.results).toEqual([])
  })

  test('the documented example (wait 60) answers exactly', async () => {
    const chainId = await newChain()
    const created = await policy({ escalation_chain_id: chainId, type: 'wait', duration: 60 })
    expect(created.status).toBe(201)
    expect(created.body).toEqual({
      id: expect.stringMatching(/^E[A-NP-Z1-9]{12}$/),
      escalation_chain_id: chainId,
      position: 0,
      type: 'wait',
      duration: 60,
    })
  })

  test('null type, unknown type', async () => {
    const chainId = await newChain()
    expect(await policy({ escalation_chain_id: chainId, type: null, duration: 60 })).toMatchObject({
      status: 400,
      body: { type: ['This field may not be null.'] },
    })
    expect(await policy({ escalation_chain_id: chainId, type: 'this_is_invalid_step_type' })).toMatchObject({
      status: 400,
      body: { detail: 'Invalid escalation step type' },
    })
  })

  test('insert at a position shifts the rest down', async () => {
    const { chainId, ids } = await chainOfThree()
    const created = await policy({
      escalation_chain_id: chainId,
      type: 'notify_person_next_each_time',
      position: 0,
      persons_to_notify_next_each_time: [userA],
    })
    expect(created).toMatchObject({ status: 201, body: { position: 0 } })
    expect(await positions(chainId)).toEqual({ [created.body.id]: 0, [ids[0]!]: 1, [ids[1]!]: 2, [ids[2]!]: 3 })
  })

  test('manual_order swaps, on create and on update; manual_order is never returned', async () => {
    const first = await chainOfThree()
    const created = await policy({
      escalation_chain_id: first.chainId,
      type: 'notify_person_next_each_time',
      position: 0,
      manual_order: true,
      persons_to_notify_next_each_time: [userA],
    })
    expect(created.status).toBe(201)
    expect(created.body.position).toBe(0)
    expect(created.body).not.toHaveProperty('manual_order')
    expect(await positions(first.chainId)).toMatchObject({ [first.ids[0]!]: 3, [first.ids[1]!]: 1, [first.ids[2]!]: 2 })

    const second = await chainOfThree()
    const moved = await org.call('PUT', `/api/v1/escalation_policies/${second.ids[1]}/`, { position: 0, manual_order: true })
    expect(moved).toMatchObject({ status: 200, body: { position: 0 } })
    expect(await positions(second.chainId)).toEqual({ [second.ids[0]!]: 1, [second.ids[1]!]: 0, [second.ids[2]!]: 2 })
  })

  test('deleting leaves a gap; -1 on update moves to the last place', async () => {
    const { chainId, ids } = await chainOfThree()
    expect((await org.call('DELETE', `/api/v1/escalation_policies/${ids[1]}/`)).status).toBe(204)
    expect(await positions(chainId)).toEqual({ [ids[0]!]: 0, [ids[2]!]: 2 })
    const appended = await policy({ escalation_chain_id: chainId, type: 'resolve' })
    expect(appended.body.position).toBe(3)
    await org.call('PATCH', `/api/v1/escalation_policies/${ids[0]}/`, { position: -1 })
    expect(await positions(chainId)).toEqual({ [ids[0]!]: 3, [ids[2]!]: 1, [appended.body.id]: 2 })
  })

  test('important on create and on update', async () => {
    const chainId = await newChain()
    const created = await policy({ escalation_chain_id: chainId, type: 'notify_on_call_from_schedule', important: true })
    expect(created.body).toEqual({
      id: created.body.id,
      escalation_chain_id: chainId,
      position: 0,
      type: 'notify_on_call_from_schedule',
      important: true,
      notify_on_call_from_schedule: null,
    })
    const persons = await policy({ escalation_chain_id: chainId, type: 'notify_persons', persons_to_notify: [userA] })
    const made = await org.call('PUT', `/api/v1/escalation_policies/${persons.body.id}/`, { important: true })
    expect(made.body).toMatchObject({ type: 'notify_persons', important: true, persons_to_notify: [userA] })
    // Sending the type alone names the base step and drops the importance, as OnCall does.
    const dropped = await org.call('PUT', `/api/v1/escalation_policies/${persons.body.id}/`, { type: 'notify_persons' })
    expect(dropped.body).toMatchObject({ type: 'notify_persons', important: false })
  })

  test('time window format', async () => {
    const chainId = await newChain()
    const id = (await policy({ escalation_chain_id: chainId, type: 'notify_if_time_from_to' })).body.id
    for (const bad of [5, '5', '5:00', '05:00:00', '24:00:00Z']) {
      expect(await org.call('PUT', `/api/v1/escalation_policies/${id}/`, { notify_if_time_from: bad })).toMatchObject({
        status: 400,
        body: { notify_if_time_from: ['Time has wrong format. Use one of these formats instead: hh:mm:ssZ.'] },
      })
    }
    const good = await org.call('PUT', `/api/v1/escalation_policies/${id}/`, {
      notify_if_time_from: '05:00:00Z',
      notify_if_time_to: '18:30:00Z',
    })
    expect(good.body).toMatchObject({ notify_if_time_from: '05:00:00Z', notify_if_time_to: '18:30:00Z' })
  })

  test('wait duration bounds', async () => {
    const chainId = await newChain()
    expect(await policy({ escalation_chain_id: chainId, type: 'wait', duration: 59 })).toMatchObject({
      status: 400,
      body: { duration: ['Ensure this value is greater than or equal to 0:01:00.'] },
    })
    expect(await policy({ escalation_chain_id: chainId, type: 'wait', duration: 86401 })).toMatchObject({
      status: 400,
      body: { duration: ['Ensure this value is less than or equal to 1 day, 0:00:00.'] },
    })
    expect(await policy({ escalation_chain_id: chainId, type: 'wait', duration: 86400 })).toMatchObject({
      status: 201,
      body: { duration: 86400 },
    })
    expect(await policy({ escalation_chain_id: chainId, type: 'wait', duration: 'soon' })).toMatchObject({
      status: 400,
      body: { duration: ['A valid number is required.'] },
    })
    expect((await policy({ escalation_chain_id: chainId, type: 'wait', duration: 90.9 })).body.duration).toBe(90)
  })

  test('a type change clears the old type\'s fields; the user list survives between the two user-list types', async () => {
    const chainId = await newChain()
    const id = (await policy({ escalation_chain_id: chainId, type: 'notify_persons', persons_to_notify: [userA, userB] })).body.id
    const roundRobin = await org.call('PUT', `/api/v1/escalation_policies/${id}/`, { type: 'notify_person_next_each_time' })
    expect(roundRobin.body).toMatchObject({ persons_to_notify_next_each_time: [userA, userB] })
    const wait = await org.call('PUT', `/api/v1/escalation_policies/${id}/`, { type: 'wait', duration: 120 })
    expect(wait.body).toEqual({ id, escalation_chain_id: chainId, position: 0, type: 'wait', duration: 120 })
    const back = await org.call('PUT', `/api/v1/escalation_policies/${id}/`, { type: 'notify_persons' })
    expect(back.body).toMatchObject({ persons_to_notify: [], important: false })
    expect(back.body).not.toHaveProperty('duration')
  })

  test('Terraform sends round-robin users in persons_to_notify', async () => {
    const chainId = await newChain()
    const created = await policy({
      escalation_chain_id: chainId,
      type: 'notify_person_next_each_time',
      persons_to_notify: [userA, userB],
      important: false,
      position: 0,
      manual_order: true,
    })
    expect(created.body).toEqual({
      id: created.body.id,
      escalation_chain_id: chainId,
      position: 0,
      type: 'notify_person_next_each_time',
      important: false,
      persons_to_notify_next_each_time: [userA, userB],
    })
  })

  test('position -1 with manual_order is invalid', async () => {
    const chainId = await newChain()
    expect(await policy({ escalation_chain_id: chainId, type: 'wait', duration: 60, position: -1, manual_order: true })).toMatchObject({
      status: 400,
      body: { detail: 'Invalid value for position field' },
    })
    expect(await policy({ escalation_chain_id: chainId, type: 'wait', duration: 60, position: -5 })).toMatchObject({
      status: 400,
      body: { detail: 'Invalid value for position field' },
    })
  })

  test('unknown user ids are dropped silently; unknown references are refused', async () => {
    const chainId = await newChain()
    const created = await policy({ escalation_chain_id: chainId, type: 'notify_persons', persons_to_notify: [userA, 'UNOSUCHUSER12'] })
    expect(created.body.persons_to_notify).toEqual([userA])
    for (const [type, field] of [
      ['notify_on_call_from_schedule', 'notify_on_call_from_schedule'],
      ['notify_user_group', 'group_to_notify'],
      ['notify_team_members', 'team_to_notify'],
      ['trigger_webhook', 'action_to_trigger'],
    ] as const) {
      expect(await policy({ escalation_chain_id: chainId, type, [field]: 'XNOSUCHTHING1' })).toMatchObject({
        status: 400,
        body: { [field]: ['Object does not exist'] },
      })
    }
    expect(await policy({ type: 'wait' })).toMatchObject({ status: 400, body: { escalation_chain_id: ['This field is required.'] } })
    expect(await policy({ escalation_chain_id: 'FNOSUCHCHAIN1', type: 'wait' })).toMatchObject({
      status: 400,
      body: { escalation_chain_id: ['Object does not exist'] },
    })
  })

  test('every step type Grafana IRM documents is accepted with only its own keys', async () => {
    const chainId = await newChain()
    const expectedKeys: Record<string, string[]> = {
      wait: ['duration'],
      notify_persons: ['important', 'persons_to_notify'],
      notify_person_next_each_time: ['important', 'persons_to_notify_next_each_time'],
      notify_on_call_from_schedule: ['important', 'notify_on_call_from_schedule'],
      notify_next_on_call_from_schedule: ['important', 'notify_on_call_from_schedule'],
      notify_user_group: ['important', 'group_to_notify'],
      notify_team_members: ['important', 'team_to_notify'],
      trigger_webhook: ['action_to_trigger'],
      resolve: [],
      notify_whole_channel: [],
      notify_if_time_from_to: ['notify_if_time_from', 'notify_if_time_to'],
      notify_if_num_alerts_in_window: ['num_alerts_in_window', 'num_minutes_in_window'],
      repeat_escalation: [],
      declare_incident: ['severity'],
    }
    for (const [type, keys] of Object.entries(expectedKeys)) {
      const created = await policy({ escalation_chain_id: chainId, type, duration: 600, severity: 'critical', persons_to_notify: [userA] })
      expect({ type, status: created.status }).toEqual({ type, status: 201 })
      expect(Object.keys(created.body).sort()).toEqual(['id', 'escalation_chain_id', 'position', 'type', ...keys].sort())
    }
  })

  test('advance_round_robin moves the pointer atomically under parallel calls', async () => {
    const chainId = await newChain()
    const users = [userA, userB]
    for (const username of ['cat', 'dan']) {
      users.push((await org.call('POST', '/api/v1/users/', { username, email: `${username}@c.test` })).body.id)
    }
    const rr = (await policy({ escalation_chain_id: chainId, type: 'notify_person_next_each_time', persons_to_notify_next_each_time: users })).body.id
    const results = await Promise.all(
      Array.from({ length: 12 }, () => org.call('POST', `/api/v1/escalation_policies/${rr}/advance_round_robin/`)),
    )
    expect(results.every((r) => r.status === 200)).toBe(true)
    const counts = new Map<string, number>()
    for (const r of results) counts.set(r.body.user_id, (counts.get(r.body.user_id) ?? 0) + 1)
    expect([...counts.values()]).toEqual([3, 3, 3, 3])
    const row = await stack.db.selectFrom('escalation_policies').select('round_robin_index').where('id', '=', rr).executeTakeFirstOrThrow()
    expect(row.round_robin_index).toBe(0)
    const next = await org.call('POST', `/api/v1/escalation_policies/${rr}/advance_round_robin`)
    expect(next.body).toEqual({ user_id: users[1], username: 'ben' })

    const wait = (await policy({ escalation_chain_id: chainId, type: 'wait', duration: 60 })).body.id
    expect(await org.call('POST', `/api/v1/escalation_policies/${wait}/advance_round_robin/`)).toMatchObject({ status: 400 })
    const empty = (await policy({ escalation_chain_id: chainId, type: 'notify_person_next_each_time' })).body.id
    expect(await org.call('POST', `/api/v1/escalation_policies/${empty}/advance_round_robin/`)).toMatchObject({ status: 400 })
  })
})
