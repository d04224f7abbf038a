import { execFile } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { promisify } from 'node:util'
import { escalateProgram, ledger, sleep } from '../test/engine'
import { createOrg, eventually, recordingNotifier, startStack, temporalAddress, type Stack } from '../test/stack'
import { temporalCliPath } from '../test/temporal-dev-server'
import { compileDirect, compilePath } from './incident-io/compile'
import type { EscalationPathDefinition, PathNode } from './incident-io/path'
import { escalationStatusQuery } from './messages'

// incident.io paths on the real engine (Temporal dev server + PostgreSQL), compiled to the same program and run by
// the same workflow as OnCall's chains, with second-scale times to acknowledge.

const notifier = recordingNotifier()
let stack: Stack
let org: Awaited<ReturnType<typeof createOrg>>
const users: Record<string, string> = {}

beforeAll(async () => {
  stack = await startStack('paths', { notifier })
  org = await createOrg(stack, 'Paths Co')
  for (const name of ['ann', 'ben', 'cat']) {
    users[name] = (await org.call('POST', '/api/v1/users/', { username: name, email: `${name}@paths.test`, role: 'editor' })).body.id
  }
})
afterAll(async () => {
  await stack.stop()
})

const level = (id: string, name: string, timeToAck?: number): PathNode => ({
  id,
  type: 'level',
  level: { targets: [{ id: users[name] as string, type: 'user', urgency: 'high' }], ...(timeToAck === undefined ? {} : { time_to_ack_seconds: timeToAck }) },
})
const path = (...nodes: PathNode[]): EscalationPathDefinition => ({ id: 'P-test', name: 'test path', path: nodes, working_hours: [] })
const start = (definition: EscalationPathDefinition) => escalateProgram(stack, org.organizationId, compilePath(definition, { priority: 'P1' }))

const nameOf = (userId: string) => Object.entries(users).find(([, id]) => id === userId)?.[0]
const paged = async (groupId: string) => (await ledger(stack, groupId)).map((row) => nameOf(row.user_id))
const pagedAtLeast = (groupId: string, count: number, timeoutMs = 20_000) =>
  eventually(async () => {
    const names = await paged(groupId)
    return names.length >= count ? names : undefined
  }, timeoutMs, `${count} pages`)
const handleOf = (groupId: string) => stack.escalations.client.workflow.getHandle(`alert-group-${groupId}`)
const storedGroup = (groupId: string) => stack.db.selectFrom('alert_groups').selectAll().where('id', '=', groupId).executeTakeFirstOrThrow()
const ops = { kind: 'ops', name: 'test' } as const

test('level 2 is paged when nobody acknowledged level 1 in time, measured from when level 1 fired', async () => {
  const group = await start(path(level('L1', 'ann', 2), level('L2', 'ben', 2)))
  expect(await pagedAtLeast(group.id, 2)).toEqual(['ann', 'ben'])
  // Level 1 was due when the escalation was created; level 2 comes its time to acknowledge after that, not earlier.
  const rows = await ledger(stack, group.id)
  expect(Date.parse(String(rows[1]?.created_at)) - Date.parse(group.createdAt)).toBeGreaterThanOrEqual(2000)
  // The path ran out with nobody acknowledging: the escalation expires and its run ends.
  await handleOf(group.id).result()
  expect(await storedGroup(group.id)).toMatchObject({ resolution: 'expired' })
  expect(await stack.escalations.act(group.id, 'acknowledge', ops)).toEqual({ kind: 'closed' })
}, 60_000)

test('an acknowledgement at level 1 stops the path', async () => {
  const group = await start(path(level('L1', 'ann', 2), level('L2', 'ben', 2)))
  await pagedAtLeast(group.id, 1)
  expect(await stack.escalations.act(group.id, 'acknowledge', ops)).toEqual({ kind: 'done' })
  // Past the instant level 2 was due, nobody else was paged.
  await sleep(3000)
  expect(await paged(group.id)).toEqual(['ann'])
  const status = await handleOf(group.id).query(escalationStatusQuery)
  expect(status.state).toBe('acknowledged')
}, 60_000)

test('repeat goes back to the chosen node exactly N times, then the escalation expires', async () => {
  const group = await start(path(level('L1', 'ann', 1), level('L2', 'ben', 1), { id: 'R', type: 'repeat', repeat: { repeat_times: 2, to_node: 'L2' } }))
  await handleOf(group.id).result()
  expect(await paged(group.id)).toEqual(['ann', 'ben', 'ben', 'ben'])
  expect(await storedGroup(group.id)).toMatchObject({ resolution: 'expired' })
  if (process.env.TOCSIN_RECORD_HISTORY) {
    // Refreshes the replay fixture after a deliberate shape change (see README, Development notes).
    const shown = await promisify(execFile)(temporalCliPath(), ['workflow', 'show', '--address', temporalAddress(), '-w', `alert-group-${group.id}`, '--output', 'json'])
    writeFileSync(process.env.TOCSIN_RECORD_HISTORY, shown.stdout)
  }
}, 60_000)

test('snooze stops paging until it ends, then the path starts over', async () => {
  const group = await start(path(level('L1', 'ann', 30)))
  await pagedAtLeast(group.id, 1)
  expect(await stack.escalations.act(group.id, 'silence', ops, 2)).toEqual({ kind: 'done' })
  expect((await handleOf(group.id).query(escalationStatusQuery)).state).toBe('silenced')
  expect(await pagedAtLeast(group.id, 2)).toEqual(['ann', 'ann'])
  expect((await handleOf(group.id).query(escalationStatusQuery)).state).toBe('firing')
  await stack.escalations.act(group.id, 'cancel', ops)
}, 60_000)

test('cancel stops everything; a second cancel changes nothing; nothing else is accepted afterwards', async () => {
  const group = await start(path(level('L1', 'ann', 2), level('L2', 'ben', 2)))
  await pagedAtLeast(group.id, 1)
  expect(await stack.escalations.act(group.id, 'cancel', ops)).toEqual({ kind: 'done' })
  await handleOf(group.id).result()
  expect(await storedGroup(group.id)).toMatchObject({ resolution: 'cancelled' })
  await sleep(2500)
  expect(await paged(group.id)).toEqual(['ann'])
  expect(await stack.escalations.act(group.id, 'cancel', ops)).toEqual({ kind: 'closed' })
}, 60_000)

test('a nack ends the wait for an acknowledgement: the next level is paged at once', async () => {
  const group = await start(path(level('L1', 'ann', 300), level('L2', 'ben', 300)))
  await pagedAtLeast(group.id, 1)
  expect(await stack.escalations.act(group.id, 'escalate_now', ops)).toEqual({ kind: 'done' })
  expect(await pagedAtLeast(group.id, 2, 10_000)).toEqual(['ann', 'ben'])
  expect(await stack.escalations.act(group.id, 'acknowledge', ops)).toEqual({ kind: 'done' })
  expect(await stack.escalations.act(group.id, 'escalate_now', ops)).toEqual({ kind: 'refused', refusal: { code: 'acknowledged', action: 'escalate_now' } })
  await stack.escalations.act(group.id, 'resolve', ops)
}, 60_000)

test('a direct page pages every user at high urgency and waits for an acknowledgement without expiring', async () => {
  const group = await escalateProgram(stack, org.organizationId, compileDirect([users.ann as string, users.cat as string]))
  await pagedAtLeast(group.id, 2)
  const rows = await ledger(stack, group.id)
  expect(rows.map((r) => [nameOf(r.user_id), r.important])).toEqual(expect.arrayContaining([['ann', true], ['cat', true]]))
  const status = await handleOf(group.id).query(escalationStatusQuery)
  expect(status).toMatchObject({ state: 'firing', finished: true })
  expect(await stack.escalations.act(group.id, 'acknowledge', ops)).toEqual({ kind: 'done' })
  await stack.escalations.act(group.id, 'resolve', ops)
}, 60_000)

test('a round-robin level pages one user per escalation, rotating across the escalations of the path', async () => {
  const rotating: EscalationPathDefinition = {
    id: 'P-rotating',
    name: 'rotating path',
    working_hours: [],
    path: [
      {
        id: 'RR',
        type: 'level',
        level: { targets: ['ann', 'ben'].map((name) => ({ id: users[name] as string, type: 'user' as const, urgency: 'high' as const })), round_robin_config: { enabled: true } },
      },
    ],
  }
  const pagedBy = []
  for (let i = 0; i < 3; i++) {
    const group = await start(rotating)
    pagedBy.push(...(await pagedAtLeast(group.id, 1)))
    await stack.escalations.act(group.id, 'cancel', ops)
  }
  expect(pagedBy).toEqual(['ann', 'ben', 'ann'])
}, 60_000)
