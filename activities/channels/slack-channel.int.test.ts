import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { insertAlertGroup } from '../../db/alert-groups.repo'
import type { Db } from '../../db/connect'
import { newPublicId } from '../../db/ids'
import { ensureDirectPagingIntegration } from '../../db/integrations.repo'
import { createOrganization } from '../../db/organizations.repo'
import { createTestDatabase } from '../../test/stack'
import type { ChannelTarget } from '../../workflows/core/program'
import { alertGroupWorkflowId } from '../../workflows/messages'
import { parseAllowList } from '../../workflows/core/outbound-policy'
import { createEngineActivities } from '../engine'
import { createOutboundFetch } from '../outbound'
import { createSlackPoster } from './slack'

// notify_whole_channel through the Slack bot (postToChannel), against a server on 127.0.0.1 answering like Slack's
// Web API, with the chat_posts rows in a real PostgreSQL: each channel gets the post once per key, whatever fails.

const TOKEN = 'xoxb-9-9-channel'

interface Post {
  readonly channel: string
  readonly text: string
  readonly authorization: string | undefined
}

const posts: Post[] = []
const chatWebhook: unknown[] = []
/** Per channel: how the fake Slack answers (default: ok). */
const failures = new Map<string, { status: number; body: unknown }>()
let server: Server
let origin: string
let db: Db
let organizationId: string

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = ''
    req.on('data', (chunk) => (body += chunk))
    req.on('end', () => {
      const reply = (status: number, json: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(json))
      if (req.url === '/chat') {
        chatWebhook.push(JSON.parse(body))
        return reply(200, { ok: true })
      }
      if (req.url !== '/api/chat.postMessage' || req.headers.authorization !== `Bearer ${TOKEN}`) return reply(200, { ok: false, error: 'invalid_auth' })
      const form = new URLSearchParams(body)
      const channel = form.get('channel') ?? ''
      const failure = failures.get(channel)
      if (failure) return reply(failure.status, failure.body)
      posts.push({ channel, text: form.get('text') ?? '', authorization: req.headers.authorization })
      reply(200, { ok: true, channel, ts: `1700000000.${String(posts.length).padStart(6, '0')}` })
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  ;({ db } = await createTestDatabase('slack_channel'))
  organizationId = (await createOrganization(db, 'slack')).organizationId
})

afterAll(async () => {
  server.closeAllConnections()
  await new Promise((resolve) => server.close(resolve))
  await db.destroy()
})

beforeEach(() => {
  posts.length = 0
  chatWebhook.length = 0
  failures.clear()
})

const outbound = createOutboundFetch({ allow: parseAllowList('127.0.0.1/32') })

function engine(options: { defaultChannel?: string | null; slack?: boolean; chatWebhook?: boolean } = {}) {
  const slack = options.slack === false ? null : createSlackPoster({ token: TOKEN, apiUrl: `${origin}/api/`, defaultChannel: options.defaultChannel ?? null }, outbound, { timeoutMs: 5_000 })
  return createEngineActivities({
    db,
    renderTemplate: async () => '',
    chatWebhookUrl: options.chatWebhook ? `${origin}/chat` : null,
    httpTimeoutMs: 5_000,
    now: () => new Date(),
    outbound,
    slack,
  })
}

async function alertGroup(): Promise<string> {
  const target = await ensureDirectPagingIntegration(db, organizationId, null)
  const id = newPublicId('I')
  await insertAlertGroup(db, {
    id,
    organizationId,
    integrationId: target.integrationId,
    routeId: target.routeId,
    teamId: null,
    title: 'db down',
    message: null,
    sourceUrl: null,
    workflowId: alertGroupWorkflowId(id),
    createdAt: new Date().toISOString(),
    firstAlert: { id: newPublicId('A'), payload: {} },
  })
  return id
}

async function post(activities: ReturnType<typeof engine>, alertGroupId: string, key: string, channels?: readonly ChannelTarget[]) {
  return activities.postToChannel({
    organizationId,
    alertGroupId,
    text: `Alert group ${alertGroupId}: db down needs attention`,
    idempotencyKey: key,
    ...(channels ? { channels } : {}),
  })
}

async function rows(key: string) {
  return db.selectFrom('chat_posts').select(['idempotency_key', 'delivered_at']).where('idempotency_key', 'like', `${key}%`).orderBy('idempotency_key').execute()
}

const slackChannel = (id: string): ChannelTarget => ({ kind: 'slack', id })

test('the channels a step names each get the post once, with the bot token; a retry posts nothing more', async () => {
  const group = await alertGroup()
  const key = `${group}:step-1`
  const first = await post(engine(), group, key, [slackChannel('C0OPS'), slackChannel('C0DB'), slackChannel('C0OPS')])
  expect(first).toEqual({ status: 'posted', posts: [{ channel: 'C0OPS', ts: '1700000000.000001' }, { channel: 'C0DB', ts: '1700000000.000002' }] })
  expect(posts).toEqual([
    { channel: 'C0OPS', text: `Alert group ${group}: db down needs attention`, authorization: `Bearer ${TOKEN}` },
    { channel: 'C0DB', text: `Alert group ${group}: db down needs attention`, authorization: `Bearer ${TOKEN}` },
  ])
  expect((await rows(key)).map((r) => [r.idempotency_key, r.delivered_at !== null])).toEqual([
    [key, true],
    [`${key}:slack:C0DB`, true],
    [`${key}:slack:C0OPS`, true],
  ])
  expect(await post(engine(), group, key, [slackChannel('C0OPS'), slackChannel('C0DB')])).toEqual({ status: 'posted' })
  expect(posts).toHaveLength(2)
})

test('a step that names no channel posts to TOCSIN_SLACK_DEFAULT_CHANNEL; without one it is skipped and nothing is written', async () => {
  const group = await alertGroup()
  expect(await post(engine({ defaultChannel: 'C0ONCALL' }), group, `${group}:default`)).toMatchObject({ status: 'posted', posts: [{ channel: 'C0ONCALL' }] })
  expect(await post(engine(), group, `${group}:none`)).toEqual({ status: 'skipped', reason: 'the step names no channel and TOCSIN_SLACK_DEFAULT_CHANNEL is not set' })
  expect(await post(engine({ defaultChannel: 'C0ONCALL' }), group, `${group}:teams`, [{ kind: 'msteams', id: '19:abc@thread.tacv2' }])).toEqual({
    status: 'skipped',
    reason: 'the step names no Slack channel (Microsoft Teams channels are not supported)',
  })
  expect(posts.map((p) => p.channel)).toEqual(['C0ONCALL'])
  expect(await rows(`${group}:none`)).toEqual([])
  expect(await rows(`${group}:teams`)).toEqual([])
})

test('a transient failure on one channel retries that channel only', async () => {
  const group = await alertGroup()
  const key = `${group}:partial`
  failures.set('C0DB', { status: 200, body: { ok: false, error: 'service_unavailable' } })
  await expect(post(engine(), group, key, [slackChannel('C0OPS'), slackChannel('C0DB')])).rejects.toThrow('Slack answered service_unavailable')
  expect(posts.map((p) => p.channel)).toEqual(['C0OPS'])
  expect((await rows(key)).map((r) => r.delivered_at !== null)).toEqual([false, false, true])
  failures.clear()
  expect(await post(engine(), group, key, [slackChannel('C0OPS'), slackChannel('C0DB')])).toEqual({
    status: 'posted',
    posts: [{ channel: 'C0OPS' }, { channel: 'C0DB', ts: '1700000000.000002' }],
  })
  expect(posts.map((p) => p.channel)).toEqual(['C0OPS', 'C0DB'])
})

test('a channel Slack refuses for good is reported, the others still get the post; all refused is a skip', async () => {
  const group = await alertGroup()
  failures.set('C0GONE', { status: 200, body: { ok: false, error: 'channel_not_found' } })
  failures.set('C0PRIVATE', { status: 200, body: { ok: false, error: 'not_in_channel' } })
  expect(await post(engine(), group, `${group}:some`, [slackChannel('C0GONE'), slackChannel('C0OPS')])).toEqual({
    status: 'posted',
    posts: [{ channel: 'C0OPS', ts: '1700000000.000001' }],
    refused: [{ channel: 'C0GONE', reason: 'Slack refused the message: channel_not_found' }],
  })
  expect(await post(engine(), group, `${group}:all`, [slackChannel('C0GONE'), slackChannel('C0PRIVATE')])).toEqual({
    status: 'skipped',
    reason: 'C0GONE: Slack refused the message: channel_not_found; C0PRIVATE: Slack refused the message: not_in_channel',
  })
  expect((await rows(`${group}:all`)).every((r) => r.delivered_at === null)).toBe(true)
})

test('without Slack the chat webhook still gets the post (with the channels named); with neither the step is skipped', async () => {
  const group = await alertGroup()
  expect(await post(engine({ slack: false, chatWebhook: true }), group, `${group}:hook`, [slackChannel('C0OPS')])).toEqual({ status: 'posted' })
  expect(chatWebhook).toEqual([{ text: `Alert group ${group}: db down needs attention`, alert_group_id: group, channels: [{ kind: 'slack', id: 'C0OPS' }] }])
  expect(posts).toEqual([])
  expect(await post(engine({ slack: false }), group, `${group}:neither`)).toEqual({
    status: 'skipped',
    reason: 'no chat channel is configured (TOCSIN_SLACK_BOT_TOKEN or TOCSIN_CHAT_WEBHOOK_URL)',
  })
})

test('hostile channel ids and text stay one argument each, escaped for Slack', async () => {
  const group = await alertGroup()
  await engine().postToChannel({
    organizationId,
    alertGroupId: group,
    text: 'Alert group: <!channel> <https://evil.test|login>&channel=C0OTHER',
    idempotencyKey: `${group}:hostile`,
    channels: [slackChannel('C0OPS&channel=C0OTHER&token=xoxb-stolen')],
  })
  expect(posts).toEqual([
    {
      channel: 'C0OPS&channel=C0OTHER&token=xoxb-stolen',
      text: 'Alert group: &lt;!channel&gt; &lt;https://evil.test|login&gt;&amp;channel=C0OTHER',
      authorization: `Bearer ${TOKEN}`,
    },
  ])
})
