import { execFile, type ChildProcess } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { promisify } from 'node:util'
import { PermanentDeliveryError, type ChannelMessage, type ChannelTransports, type MessageUser, type Transport } from '../activities/channels/port'
import { newPublicId } from '../db/ids'
import type { NotificationRuleType } from './core/personal-rules'
import { chainOf, escalate } from '../test/engine'
import { createOrg, eventually, recordingNotifier, startStack, temporalAddress, type Stack } from '../test/stack'
import { temporalCliPath } from '../test/temporal-dev-server'
import { HoldingReceiver, killHard, startWorkerProcess } from '../test/worker-process'

// Each paged user's own rules, run by the engine on real Temporal and PostgreSQL: the channel each rule names,
// durable waits between rules, and everything that stops a chain. Transports record what they were given; the
// protocols themselves are tested against real servers in activities/channels.

type Sent = { channel: string; userId: string; key: string; ruleType: string }

class RecordingTransport implements Transport {
  failPermanently = false
  failTransiently = 0
  constructor(
    readonly channel: string,
    private readonly sent: Sent[],
    private readonly needsPhone = false,
  ) {}
  unreachable(user: MessageUser) {
    return this.needsPhone && !user.phoneNumber ? 'no verified phone number' : null
  }
  async deliver(message: ChannelMessage) {
    if (this.failPermanently) throw new PermanentDeliveryError(`${this.channel}: the number is not valid (21211)`)
    if (this.failTransiently > 0) {
      this.failTransiently -= 1
      throw new Error(`${this.channel}: provider unavailable (503)`)
    }
    this.sent.push({ channel: this.channel, userId: message.user.id, key: message.idempotencyKey, ruleType: message.ruleType })
    return { providerId: `${this.channel}-${this.sent.length}` }
  }
}

const sent: Sent[] = []
const sms = new RecordingTransport('sms', sent, true)
const voice = new RecordingTransport('voice', sent, true)
const email = new RecordingTransport('email', sent)
const channels: ChannelTransports = { sms, voice, email }
let stack: Stack
let org: Awaited<ReturnType<typeof createOrg>>

beforeAll(async () => {
  stack = await startStack('personal_rules', { channels, notifier: recordingNotifier() })
  org = await createOrg(stack, 'Personal Rules Inc')
})
afterAll(() => stack.stop())
afterEach(() => {
  sms.failPermanently = false
  sms.failTransiently = 0
})

type RuleSpec = NotificationRuleType | { wait: number }

/** A user whose rules are exactly `rules` (and `important`), waits in seconds written straight to the database. */
async function userWith(rules: RuleSpec[], important: RuleSpec[] = [], phone: string | null = '+15550001111'): Promise<string> {
  const username = `u${newPublicId('U').slice(-8).toLowerCase()}`
  const created = await org.call('POST', '/api/v1/users/', { username, email: `${username}@rules.test` })
  expect(created.status).toBe(201)
  const userId = created.body.id as string
  await stack.db.updateTable('users').set({ phone_number: phone }).where('id', '=', userId).execute()
  await stack.db.deleteFrom('personal_notification_rules').where('user_id', '=', userId).execute()
  for (const [list, isImportant] of [
    [rules, false],
    [important, true],
  ] as const) {
    for (const [position, rule] of list.entries()) {
      await stack.db
        .insertInto('personal_notification_rules')
        .values({
          id: newPublicId('N'),
          organization_id: org.organizationId,
          user_id: userId,
          important: isImportant,
          position,
          type: typeof rule === 'string' ? rule : 'wait',
          duration_seconds: typeof rule === 'string' ? null : rule.wait,
        })
        .execute()
    }
  }
  return userId
}

const sentTo = (userId: string) => sent.filter((s) => s.userId === userId)
const ledgerOf = (groupId: string) =>
  stack.db
    .selectFrom('notifications')
    .select(['user_id', 'step', 'rule_position', 'rule_type', 'channel', 'status', 'error', 'attempts', 'delivered_at', 'idempotency_key'])
    .where('alert_group_id', '=', groupId)
    .orderBy('id')
    .execute()
const events = (groupId: string, kind: string) =>
  stack.db.selectFrom('alert_group_events').select(['kind', 'detail', 'at']).where('alert_group_id', '=', groupId).where('kind', '=', kind).orderBy('id').execute()
const until = <T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 30_000) => eventually(check, timeoutMs, what)
const actor = { kind: 'ops' as const, name: 'test' }

/**
 * Waits for the run to end; with TOCSIN_RECORD_HISTORY=<dir> it also writes its history there as `<name>.json`
 * (the replay fixtures in workflows/histories, recorded again under a new version after a change of the workflow's shape).
 */
async function recordHistory(workflowId: string, name: string) {
  await stack.escalations.client.workflow.getHandle(workflowId).result()
  const dir = process.env.TOCSIN_RECORD_HISTORY
  if (!dir) return
  const shown = await promisify(execFile)(temporalCliPath(), ['workflow', 'show', '--address', temporalAddress(), '-w', workflowId, '--output', 'json'])
  writeFileSync(`${dir}/${name}.json`, shown.stdout)
}

test('a step pages each user through their own default or important rules; an empty list falls back to one email', async () => {
  const ann = await userWith(['notify_by_sms'], ['notify_by_phone_call'])
  const ben = await userWith(['notify_by_sms']) // no important rules: the important page is one email
  const chain = await chainOf(stack, org.call, [
    { type: 'notify_persons', persons_to_notify: [ann] },
    { type: 'notify_persons', important: true, persons_to_notify: [ben] },
    { type: 'notify_persons', important: true, persons_to_notify: [ann] },
  ])
  const group = await escalate(stack, org.organizationId, chain)
  const rows = await until('three notifications sent', async () => {
    const found = await ledgerOf(group.id)
    return found.length === 3 && found.every((r) => r.status === 'sent') ? found : undefined
  })
  const byUser = (id: string) => rows.filter((r) => r.user_id === id).map((r) => [r.rule_type, r.channel])
  expect(byUser(ann).sort()).toEqual([
    ['notify_by_phone_call', 'voice'],
    ['notify_by_sms', 'sms'],
  ])
  expect(byUser(ben)).toEqual([['notify_by_email', 'email']])
  const plans = await events(group.id, 'notification_plan')
  const benPlan = plans.find((p) => (p.detail as any).user_id === ben)?.detail as any
  expect(benPlan).toMatchObject({ important: true, plan: ['notify_by_email'], fallback: expect.any(String) })
  await stack.escalations.act(group.id, 'resolve', actor)
})

test('waits between rules are durable timers, and the next rule runs after them', async () => {
  const cara = await userWith(['notify_by_sms', { wait: 2 }, 'notify_by_phone_call'])
  const chain = await chainOf(stack, org.call, [{ type: 'notify_persons', persons_to_notify: [cara] }])
  const group = await escalate(stack, org.organizationId, chain)
  const rows = await until('both rules sent', async () => {
    const found = (await ledgerOf(group.id)).filter((r) => r.status === 'sent')
    return found.length === 2 ? found : undefined
  })
  expect(rows.map((r) => [r.rule_position, r.channel])).toEqual([
    [0, 'sms'],
    [2, 'voice'],
  ])
  const waiting = await events(group.id, 'notification_waiting')
  expect(waiting.map((e) => e.detail)).toEqual([expect.objectContaining({ user_id: cara, position: 1, seconds: 2 })])
  // The wait starts once the first rule is sent off (not delivered: that runs beside it) and lasts its 2 s.
  const waitedFor = Date.parse(rows[1]?.delivered_at as string) - new Date(waiting[0]?.at as string | Date).getTime()
  expect(waitedFor).toBeGreaterThanOrEqual(2000)
  expect(rows.every((r) => r.idempotency_key.startsWith(`${group.workflowId}:`))).toBe(true)
  await stack.escalations.act(group.id, 'resolve', actor)
})

test("an acknowledgement during a user's wait stops their next rule", async () => {
  const dora = await userWith(['notify_by_sms', { wait: 30 }, 'notify_by_phone_call'])
  const chain = await chainOf(stack, org.call, [{ type: 'notify_persons', persons_to_notify: [dora] }])
  const group = await escalate(stack, org.organizationId, chain)
  await until('the first rule sent', async () => ((await ledgerOf(group.id)).length === 1 ? true : undefined))
  await until('the chain waiting', async () => ((await events(group.id, 'notification_waiting')).length === 1 ? true : undefined))
  expect((await stack.escalations.act(group.id, 'acknowledge', actor)).kind).toBe('done')
  // The wait ends at once and the chain says why it stopped, long before the 30 s wait would have run out.
  const stopped = await until('the chain stopped', async () => (await events(group.id, 'notification_chain_stopped'))[0], 10_000)
  expect(stopped.detail).toMatchObject({ user_id: dora, reason: 'acknowledged', next_position: 2 })
  expect((await ledgerOf(group.id)).map((r) => r.rule_type)).toEqual(['notify_by_sms'])
  expect(sentTo(dora).map((s) => s.channel)).toEqual(['sms'])
  await stack.escalations.act(group.id, 'resolve', actor)
})

test('a user reached by two steps starts their rules over; the first chain stops at its next rule (OnCall case 29)', async () => {
  const eve = await userWith(['notify_by_sms', { wait: 3 }, 'notify_by_phone_call'])
  const chain = await chainOf(stack, org.call, [
    { type: 'notify_persons', persons_to_notify: [eve] },
    { type: 'wait', seconds: 1 },
    { type: 'notify_persons', persons_to_notify: [eve] },
  ])
  const group = await escalate(stack, org.organizationId, chain)
  const rows = await until('two SMS and one call', async () => {
    const found = await ledgerOf(group.id)
    return found.length === 3 && found.every((r) => r.status === 'sent') ? found : undefined
  })
  // Each step's SMS, then only the second chain's call: the first chain woke up replaced and stopped silently.
  expect(rows.map((r) => [r.step.replace(/policy:\w+/, 'step'), r.rule_type])).toEqual([
    ['step', 'notify_by_sms'],
    ['step', 'notify_by_sms'],
    ['step', 'notify_by_phone_call'],
  ])
  expect(new Set(rows.map((r) => r.idempotency_key)).size).toBe(3)
  const secondStep = rows[1]?.idempotency_key.split(`:${eve}:`)[0]
  expect(rows[2]?.idempotency_key.startsWith(`${secondStep}:`)).toBe(true)
  expect(await events(group.id, 'notification_chain_stopped')).toEqual([])
  await stack.escalations.act(group.id, 'resolve', actor)
  await recordHistory(group.workflowId, 'personal-rules-two-steps-v4')
})

test('a channel failing for good is recorded with the provider error and the next rule still runs', async () => {
  sms.failPermanently = true
  const finn = await userWith(['notify_by_sms', 'notify_by_email'])
  const chain = await chainOf(stack, org.call, [{ type: 'notify_persons', persons_to_notify: [finn] }])
  const group = await escalate(stack, org.organizationId, chain)
  const rows = await until('sms failed and email sent', async () => {
    const found = await ledgerOf(group.id)
    return found.length === 2 && found.some((r) => r.status === 'failed') && found.some((r) => r.status === 'sent') ? found : undefined
  })
  const failed = rows.find((r) => r.channel === 'sms')
  expect(failed).toMatchObject({ status: 'failed', error: 'sms: the number is not valid (21211)', attempts: 1, delivered_at: null })
  expect(rows.find((r) => r.channel === 'email')).toMatchObject({ status: 'sent' })
  const failure = await events(group.id, 'notification_failed')
  expect(failure.map((e) => e.detail)).toEqual([expect.objectContaining({ user_id: finn, rule_type: 'notify_by_sms', reason: 'sms: the number is not valid (21211)' })])
  await stack.escalations.act(group.id, 'resolve', actor)
})

test('a transient failure is retried with backoff, and the ledger shows it retrying, then sent', async () => {
  sms.failTransiently = 1
  const gus = await userWith(['notify_by_sms'])
  const chain = await chainOf(stack, org.call, [{ type: 'notify_persons', persons_to_notify: [gus] }])
  const group = await escalate(stack, org.organizationId, chain)
  await until('the notification retrying', async () => ((await events(group.id, 'notification_retrying')).length === 1 ? true : undefined))
  const row = await until('sent after the retry', async () => (await ledgerOf(group.id)).find((r) => r.status === 'sent'))
  expect(row).toMatchObject({ channel: 'sms', attempts: 2, error: null })
  expect(sentTo(gus)).toHaveLength(1)
  await stack.escalations.act(group.id, 'resolve', actor)
})

test('a notification that keeps failing stops retrying once the group is resolved, and the run ends', async () => {
  sms.failTransiently = 1000
  const ned = await userWith(['notify_by_sms'])
  const chain = await chainOf(stack, org.call, [{ type: 'notify_persons', persons_to_notify: [ned] }])
  const group = await escalate(stack, org.organizationId, chain)
  await until('the notification retrying', async () => ((await events(group.id, 'notification_retrying')).length === 1 ? true : undefined))
  expect((await stack.escalations.act(group.id, 'resolve', actor)).kind).toBe('done')
  await stack.escalations.client.workflow.getHandle(group.workflowId).result()
  expect(await ledgerOf(group.id)).toEqual([expect.objectContaining({ status: 'skipped', error: 'the alert group is resolved', delivered_at: null })])
  expect((await events(group.id, 'notification_skipped')).map((e) => (e.detail as any).reason)).toEqual(['the alert group is resolved'])
  expect(sentTo(ned)).toEqual([])
})

test('each rule that cannot run says why: no phone number, user deleted', async () => {
  const hal = await userWith(['notify_by_phone_call', 'notify_by_email'], [], null)
  const ida = await userWith(['notify_by_email'])
  await org.call('DELETE', `/api/v1/users/${ida}/`)
  const chain = await chainOf(stack, org.call, [{ type: 'notify_persons', persons_to_notify: [hal] }])
  const group = await escalate(stack, org.organizationId, chain)
  await until('email sent', async () => ((await ledgerOf(group.id)).some((r) => r.status === 'sent') ? true : undefined))
  const skipped = await until('the call skipped', async () => (await events(group.id, 'notification_skipped'))[0])
  expect(skipped.detail).toMatchObject({ user_id: hal, rule_type: 'notify_by_phone_call', reason: 'no verified phone number' })
  // A deleted user in a direct page: the rule is skipped with the reason, nothing is sent.
  const direct = await stack.escalations.addResponders(group.id, { actor, users: [{ userId: ida, important: false }] })
  expect(direct.kind).toBe('done')
  const gone = await until('the deleted user skipped', async () =>
    (await events(group.id, 'notification_skipped')).find((e) => (e.detail as any).user_id === ida),
  )
  expect((gone.detail as any).reason).toBe('user no longer exists')
  await stack.escalations.act(group.id, 'resolve', actor)
})

test('a rule whose channel is not configured goes to the catch-all notifier, under its own rule type', async () => {
  const max = await userWith(['notify_by_telegram'])
  const chain = await chainOf(stack, org.call, [{ type: 'notify_persons', persons_to_notify: [max] }])
  const group = await escalate(stack, org.organizationId, chain)
  const row = await until('sent through the catch-all', async () => (await ledgerOf(group.id)).find((r) => r.status === 'sent'))
  expect(row).toMatchObject({ channel: 'test', rule_type: 'notify_by_telegram', rule_position: 0 })
  await stack.escalations.act(group.id, 'resolve', actor)
})

test("direct pages go on after someone else's acknowledgement; the acknowledging user's and an unpaged user's stop (OnCall case 31)", async () => {
  const jon = await userWith(['notify_by_sms', { wait: 2 }, 'notify_by_email'])
  const kim = await userWith(['notify_by_sms', { wait: 2 }, 'notify_by_email'])
  const lea = await userWith(['notify_by_sms', { wait: 2 }, 'notify_by_email'])
  const group = await escalate(stack, org.organizationId, null)
  await stack.escalations.addResponders(group.id, {
    actor,
    users: [jon, kim, lea].map((userId) => ({ userId, important: false })),
  })
  await until('three SMS', async () => ((await ledgerOf(group.id)).length === 3 ? true : undefined))
  const [jonUser] = await stack.db.selectFrom('users').select('username').where('id', '=', jon).execute()
  expect((await stack.escalations.act(group.id, 'acknowledge', { kind: 'user', userId: jon, username: jonUser?.username ?? '' })).kind).toBe('done')
  expect((await stack.escalations.unpage(group.id, lea, actor)).kind).toBe('done')
  const rows = await until("kim's email", async () => {
    const found = await ledgerOf(group.id)
    return found.some((r) => r.user_id === kim && r.rule_type === 'notify_by_email' && r.status === 'sent') ? found : undefined
  })
  const stops = await until('both other chains stopped', async () => {
    const found = await events(group.id, 'notification_chain_stopped')
    return found.length === 2 ? found : undefined
  })
  expect(stops.map((e) => [(e.detail as any).user_id, (e.detail as any).reason]).sort()).toEqual(
    [
      [jon, 'acknowledged'],
      [lea, 'unpaged'],
    ].sort(),
  )
  expect(rows.filter((r) => r.rule_type === 'notify_by_email').map((r) => r.user_id)).toEqual([kim])
  expect((await events(group.id, 'user_unpaged')).map((e) => (e.detail as any).user_id)).toEqual([lea])
  await stack.escalations.act(group.id, 'resolve', actor)
  await recordHistory(group.workflowId, 'personal-rules-direct-unpage-v4')
})

describe('a worker killed between two rules', () => {
  let other: Stack
  const receiver = new HoldingReceiver()
  let worker: ChildProcess | undefined
  beforeAll(async () => {
    other = await startStack('personal_rules_restart', { worker: false })
    await receiver.listen()
    receiver.holding = false
  })
  afterAll(async () => {
    if (worker) await killHard(worker)
    await receiver.close()
    await other.stop()
  })

  test('sends each rule exactly once', async () => {
    const restartOrg = await createOrg(other, 'Restart Rules Inc')
    const created = await restartOrg.call('POST', '/api/v1/users/', { username: 'mo', email: 'mo@restart.test' })
    const mo = created.body.id as string
    await other.db.deleteFrom('personal_notification_rules').where('user_id', '=', mo).execute()
    for (const [position, rule] of (['notify_by_sms', 'wait', 'notify_by_email'] as const).entries()) {
      await other.db
        .insertInto('personal_notification_rules')
        .values({ id: newPublicId('N'), organization_id: restartOrg.organizationId, user_id: mo, important: false, position, type: rule, duration_seconds: rule === 'wait' ? 4 : null })
        .execute()
    }
    worker = startWorkerProcess(other, receiver.url())
    const paged = await restartOrg.call('POST', '/api/v1/escalation/', { users: [{ id: mo, important: false }] })
    expect(paged.status).toBe(200)
    const groupId = paged.body.id as string
    const byKey = () => other.db.selectFrom('notifications').select(['idempotency_key', 'rule_position', 'delivered_at']).where('alert_group_id', '=', groupId).execute()
    await eventually(async () => ((await byKey()).some((r) => r.delivered_at !== null) ? true : undefined), 30_000, 'the first rule delivered')
    await killHard(worker)
    worker = startWorkerProcess(other, receiver.url())
    const rows = await eventually(
      async () => {
        const found = await byKey()
        return found.length === 2 && found.every((r) => r.delivered_at !== null) ? found : undefined
      },
      60_000,
      'the rule after the wait delivered by the new worker',
    )
    expect(rows.map((r) => r.rule_position).sort()).toEqual([0, 2])
    const keys = receiver.received.filter((k) => k.includes(groupId) || rows.some((r) => r.idempotency_key === k))
    expect(keys.sort()).toEqual(rows.map((r) => r.idempotency_key).sort())
  }, 120_000)
})
