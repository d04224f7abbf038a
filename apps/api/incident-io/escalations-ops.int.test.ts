import { execFile } from 'node:child_process'
import path from 'node:path'
import { promisify } from 'node:util'
import { caller, createOrg, eventually, recordingNotifier, startStack, temporalAddress, type Stack } from '../../../test/stack'
import { AlertGroupStateKey, EscalationChainIdKey, OrganizationIdKey } from '../../../workflows/search-attributes'

// An escalation started on /v2 is an ordinary escalation workflow: the Web UI shows it with the same search
// attributes as any alert group, and the ops script acknowledges and cancels it by its /v2 id.

const run = promisify(execFile)
let stack: Stack

beforeAll(async () => {
  stack = await startStack('v2_ops', { notifier: recordingNotifier() })
})
afterAll(async () => {
  await stack.stop()
})

test('the ops script acks and cancels /v2 escalations; the workflow carries the usual search attributes', async () => {
  const org = await createOrg(stack, 'Ops Path Co')
  const v2 = caller(stack.baseUrl, `Bearer ${org.token}`)
  const user = (await org.call('POST', '/api/v1/users/', { username: 'ola', email: 'ola@ops.test', role: 'editor' })).body.id as string
  const create = (key: string) => v2('POST', '/v2/escalations', { idempotency_key: key, title: 'disk full', user_ids: [user] })
  const first = (await create('ops-1')).body.escalation
  const second = (await create('ops-2')).body.escalation
  expect([first.status, second.status]).toEqual(['triggered', 'triggered'])

  const group = (await stack.db.selectFrom('escalations').select('alert_group_id').where('id', '=', first.id).executeTakeFirstOrThrow()).alert_group_id
  const described = await stack.escalations.client.workflow.getHandle(`alert-group-${group}`).describe()
  expect(described.typedSearchAttributes.get(AlertGroupStateKey)).toBe('firing')
  expect(described.typedSearchAttributes.get(OrganizationIdKey)).toBe(org.organizationId)
  expect(described.typedSearchAttributes.get(EscalationChainIdKey)).toBe('direct')

  const env = { ...process.env, TEMPORAL_ADDRESS: temporalAddress(), TEMPORAL_TASK_QUEUE: stack.taskQueue, DATABASE_URL: stack.dbUrl, TOCSIN_LOG_LEVEL: 'WARN' }
  const tsx = path.join(__dirname, '..', '..', '..', 'node_modules', '.bin', 'tsx')
  const ops = path.join(__dirname, '..', '..', 'cli', 'ops.ts')
  expect((await run(tsx, [ops, 'ack', first.id], { env })).stdout).toContain('acknowledge done')
  expect((await run(tsx, [ops, 'cancel', second.id], { env })).stdout).toContain('cancel done')
  const status = async (id: string) => (await v2('GET', `/v2/escalations/${id}`)).body.escalation.status as string
  await eventually(async () => ((await status(first.id)) === 'acked' ? true : undefined), 10_000, 'acked')
  await eventually(async () => ((await status(second.id)) === 'cancelled' ? true : undefined), 10_000, 'cancelled')
  await expect(run(tsx, [ops, 'cancel', '01JZZZZZZZZZZZZZZZZZZZZZZZ'], { env })).rejects.toMatchObject({ stderr: expect.stringContaining('no such escalation') })

  // Unpage: one user's personal notifications stop, said in the timeline; a missing user id is a usage error.
  const third = (await create('ops-3')).body.escalation
  expect((await run(tsx, [ops, 'unpage', third.id, user], { env })).stdout).toContain(`${user} unpaged`)
  const thirdGroup = (await stack.db.selectFrom('escalations').select('alert_group_id').where('id', '=', third.id).executeTakeFirstOrThrow()).alert_group_id
  await eventually(
    async () => ((await stack.db.selectFrom('alert_group_events').select('kind').where('alert_group_id', '=', thirdGroup).where('kind', '=', 'user_unpaged').execute()).length === 1 ? true : undefined),
    10_000,
    'the unpage in the timeline',
  )
  await expect(run(tsx, [ops, 'unpage', third.id], { env })).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining('usage') })
}, 120_000)
