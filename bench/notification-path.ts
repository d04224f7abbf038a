// The notification path end to end: a direct page (POST /api/v1/escalation/) to its email, fully received by an SMTP
// server on 127.0.0.1, on the real parts: the Temporal dev server (started here unless TOCSIN_TEST_TEMPORAL_ADDRESS is
// set), PostgreSQL, the API and the worker in this process, with the email channel as production builds it
// (`createChannels`) and signed action links. Each page pages a user of its own whose only personal rule is
// notify_by_email, so every page is one email and the recipient names the page.
// Open loop: pages leave at a fixed rate whatever the answers, each timed from the instant before its request, after
// a few warm-up pages that are not counted.
// Prints the result (pages, delivered, lost, duplicated, API call → SMTP DATA end p50/p90/p99/max, the API's response
// time), the checks on each email (its X-Tocsin-Alert-Group header, its three signed links), and where the time goes:
// every stage of the path from the workflow's history, the timeline, the ledger and the SMTP server. smtp-server waits
// 100 ms after accepting a connection before it greets (to catch clients that talk too soon): that wait is in the
// figures, and shown on its own. Writes a plot of the distributions into TOCSIN_NOTIFICATION_PATH_OUT (default: a
// temporary directory). Exits non-zero if a page was lost or emailed twice, or an email went astray.
//   npm run bench:notification-path -- [pages=100] [pages per second=5]
import { randomBytes } from 'node:crypto'
import type { Socket } from 'node:net'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { temporal } from '@temporalio/proto'
import { sql } from 'kysely'
import { simpleParser } from 'mailparser'
import { SMTPServer } from 'smtp-server'
import { createChannels } from '../activities/channels'
import type { Transport } from '../activities/channels/port'
import type { Notifier } from '../activities/notifications'
import { ACTION_LINK_ACTIONS, verifyActionLink } from '../apps/action-links'
import { createOrg, startStack, type Stack } from '../test/stack'
import { ensureTemporalForScript } from '../test/temporal-dev-server'
import { plotCdf, plotDir } from './lib/plot'
import { ascending, quantile } from './lib/stats'
import { dropDatabase } from './lib/database'

const pages = Number(process.argv[2] ?? 100)
const rate = Number(process.argv[3] ?? 5)
if (!Number.isInteger(pages) || pages < 1) throw new Error('pages: a positive integer')
if (!(rate > 0)) throw new Error('pages per second: a positive number')
const WARMUP = 5
const PUBLIC_URL = 'http://tocsin.test'
/** How long after the last page the emails may still arrive before the missing ones count as lost. */
const DELIVERY_DEADLINE_MS = 60_000

/** The event loop is sampled this often; the histogram's values include the interval itself. */
const LOOP_SAMPLE_MS = 10
const loopDelay = (ns: number) => Math.max(0, ns / 1e6 - LOOP_SAMPLE_MS)

/** Epoch milliseconds with sub-millisecond resolution, comparable with PostgreSQL's and the worker's timestamps. */
const now = () => performance.timeOrigin + performance.now()

interface Page {
  readonly index: number
  readonly userId: string
  readonly email: string
  sentAt: number
  answeredAt?: number
  alertGroupId?: string
  failure?: string
}

interface Mail {
  readonly recipients: readonly string[]
  /** The TCP connection accepted. */
  readonly acceptedAt: number
  /** The greeting about to be sent: smtp-server waits 100 ms after the accept for clients that talk too soon. */
  readonly greetedAt: number
  /** MAIL FROM: the connection is set up (greeting, EHLO), the message begins. */
  readonly mailFromAt: number
  readonly receivedAt: number
  readonly raw: Buffer
}

async function main(): Promise<boolean> {
  const stopTemporal = await ensureTemporalForScript()
  const acceptedAtPort = new Map<number, number>()
  const acceptedAt = new Map<string, number>()
  const greetedAt = new Map<string, number>()
  const mailFromAt = new Map<string, number>()
  const mails: Mail[] = []
  const mailsTo = new Map<string, number>()
  const smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    // A relay's reverse DNS lookup is not Tocsin's time, and no query leaves the machine.
    disableReverseLookup: true,
    logger: false,
    onConnect(session, callback) {
      greetedAt.set(session.id, now())
      acceptedAt.set(session.id, acceptedAtPort.get(session.remotePort) ?? Number.NaN)
      callback()
    },
    onMailFrom(_address, session, callback) {
      mailFromAt.set(session.id, now())
      callback()
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = []
      stream.on('data', (chunk: Buffer) => chunks.push(chunk))
      stream.on('end', () => {
        // Parsed after the run: nothing but the clock and the envelope while pages are in flight.
        const recipients = session.envelope.rcptTo.map((r) => r.address.toLowerCase())
        const receivedAt = now()
        const at = (instants: Map<string, number>) => instants.get(session.id) ?? Number.NaN
        mails.push({ recipients, acceptedAt: at(acceptedAt), greetedAt: at(greetedAt), mailFromAt: at(mailFromAt), receivedAt, raw: Buffer.concat(chunks) })
        for (const to of recipients) mailsTo.set(to, (mailsTo.get(to) ?? 0) + 1)
        callback()
      })
    },
  })
  smtp.server.on('connection', (socket: Socket) => acceptedAtPort.set(socket.remotePort ?? 0, now()))
  await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve))
  const smtpPort = (smtp.server.address() as { port: number }).port
  let viaCatchAll = 0
  const catchAll: Notifier = {
    channel: 'bench-catch-all',
    async deliver() {
      viaCatchAll++
    },
  }
  const linkSecret = randomBytes(32).toString('hex')
  const channel = createChannels({ email: { url: `smtp://127.0.0.1:${smtpPort}`, from: 'Tocsin <pages@tocsin.test>' }, twilio: null, slack: null }).email
  if (!channel) throw new Error('no email channel')
  // The instant the activity hands the message to the channel: splits the activity's own work from nodemailer's.
  const handedOverAt = new Map<string, number>()
  const timedEmail: Transport = {
    channel: channel.channel,
    unreachable: (message) => channel.unreachable(message),
    deliver(message) {
      if (!handedOverAt.has(message.alertGroupId)) handedOverAt.set(message.alertGroupId, now())
      return channel.deliver(message)
    },
  }
  let stack: Stack | undefined
  try {
    stack = await startStack('bench_notification_path', {
      notifier: catchAll,
      channels: { email: timedEmail },
      linkSecret,
      publicUrl: PUBLIC_URL,
    })
    const org = await createOrg(stack, 'Bench')
    const users: Array<{ id: string; email: string }> = []
    for (let i = 0; i < WARMUP + pages; i++) {
      const email = `pager-${i}@bench.test`
      const user = await org.call('POST', '/api/v1/users/', { username: `pager-${i}`, email })
      if (user.status !== 201) throw new Error(`user ${i} answered ${user.status}: ${user.text}`)
      const rule = await org.call('POST', '/api/v1/personal_notification_rules/', { user_id: user.body.id, type: 'notify_by_email' })
      if (rule.status !== 201) throw new Error(`rule ${i} answered ${rule.status}: ${rule.text}`)
      users.push({ id: user.body.id as string, email })
    }

    /** Pages users[from, to) at `rate`, without waiting for answers; resolves once every request has answered. */
    const pageAtRate = async (from: number, to: number): Promise<{ pages: Page[]; lagMs: number[] }> => {
      const sent: Page[] = []
      const lagMs: number[] = []
      const requests: Array<Promise<void>> = []
      const start = now()
      for (let i = from; i < to; i++) {
        const due = start + ((i - from) * 1000) / rate
        if (due > now()) await sleep(due - now())
        const user = users[i] as { id: string; email: string }
        const page: Page = { index: i, userId: user.id, email: user.email, sentAt: now() }
        lagMs.push(page.sentAt - due)
        sent.push(page)
        requests.push(
          org.call('POST', '/api/v1/escalation/', { title: `bench ${i}`, users: [{ id: user.id, important: false }] }).then(
            (response) => {
              page.answeredAt = now()
              if (response.status === 200) page.alertGroupId = response.body.id as string
              else page.failure = `answered ${response.status}: ${response.text}`
            },
            (err: unknown) => void (page.failure = String(err)),
          ),
        )
      }
      await Promise.all(requests)
      return { pages: sent, lagMs }
    }
    const arrived = (list: readonly Page[]) => list.every((p) => p.failure !== undefined || mailsTo.has(p.email))
    const awaitMails = async (list: readonly Page[]) => {
      const deadline = Date.now() + DELIVERY_DEADLINE_MS
      while (!arrived(list) && Date.now() < deadline) await sleep(5)
    }

    const warmup = await pageAtRate(0, WARMUP)
    await awaitMails(warmup.pages)
    if (!arrived(warmup.pages)) throw new Error('the warm-up pages were not all emailed: is the stack working?')
    const warmupMails = mails.length
    // This process runs the API, the worker and the SMTP server: a busy event loop delays every hand-off.
    const loop = monitorEventLoopDelay({ resolution: LOOP_SAMPLE_MS })
    loop.enable()
    const run = await pageAtRate(WARMUP, WARMUP + pages)
    await awaitMails(run.pages)
    loop.disable()
    const measured = run.pages
    const groupIds = measured.flatMap((p) => (p.alertGroupId ? [p.alertGroupId] : []))
    const ledger = await settledLedger(stack, groupIds, measured.filter((p) => mailsTo.has(p.email)).length)
    const plans = groupIds.length
      ? await stack.db
          .selectFrom('alert_group_events')
          .select(['alert_group_id', sql<number>`(extract(epoch from at) * 1000)::float8`.as('at_ms')])
          .where('kind', '=', 'notification_plan')
          .where('alert_group_id', 'in', groupIds)
          .execute()
      : []
    const historyOf = new Map<string, Map<string, number>>()
    const workflows = groupIds.length ? await stack.db.selectFrom('alert_groups').select(['id', 'workflow_id']).where('id', 'in', groupIds).execute() : []
    for (const group of workflows) historyOf.set(group.id, await historyInstants(stack, group.workflow_id))

    // Every email, parsed now: it must carry its page's alert group and three signed links for its page and user.
    const pageByEmail = new Map(measured.map((p) => [p.email, p]))
    const mailsOfPage = new Map<Page, Mail[]>()
    let unexpected = 0
    let wrongGroup = 0
    let linksVerified = 0
    for (const mail of mails.slice(warmupMails)) {
      const page = mail.recipients.length === 1 ? pageByEmail.get(mail.recipients[0] as string) : undefined
      if (!page) {
        unexpected++
        continue
      }
      mailsOfPage.set(page, [...(mailsOfPage.get(page) ?? []), mail])
      const parsed = await simpleParser(mail.raw)
      if (parsed.headers.get('x-tocsin-alert-group') !== page.alertGroupId) wrongGroup++
      const tokens = new Set([...(parsed.text ?? '').matchAll(new RegExp(`${PUBLIC_URL}/l/([A-Za-z0-9_-]+)`, 'g'))].map((m) => m[1] as string))
      const actions = [...tokens]
        .map((token) => verifyActionLink(linkSecret, token, new Date()))
        .flatMap((v) => (v.ok && v.alertGroupId === page.alertGroupId && v.userId === page.userId ? [v.action] : []))
      if (ACTION_LINK_ACTIONS.every((action) => actions.includes(action))) linksVerified++
    }
    const delivered = measured.filter((p) => mailsOfPage.has(p))
    const lost = measured.length - delivered.length
    const duplicated = delivered.filter((p) => (mailsOfPage.get(p) as Mail[]).length > 1).length
    const failures = measured.filter((p) => p.failure !== undefined)

    // Each delivered page's path, in ms from its API call, in the order it runs. The history's instants are the
    // Temporal server's, the timeline's the worker's, the ledger's PostgreSQL's: one host clock.
    const first = (p: Page) => (mailsOfPage.get(p) as Mail[])[0] as Mail
    const ledgerOf = new Map(ledger.map((r) => [r.alert_group_id, r]))
    const planOf = new Map(plans.map((r) => [r.alert_group_id, r.at_ms]))
    const since = (p: Page, at: number | null | undefined) => (at ?? Number.NaN) - p.sentAt
    const history = (key: string) => (p: Page) => since(p, historyOf.get(p.alertGroupId ?? '')?.get(key))
    const task = (name: string, what: 'scheduled' | 'started' | 'completed', plotted = false): Stage => ({
      label: `${name} ${what === 'started' ? 'picked up by the worker' : what}`,
      of: history(`${name} ${what}`),
      plotted,
    })
    const headline: Stage = { label: '**SMTP DATA end: the email is received**', of: (p) => first(p).receivedAt - p.sentAt, plotted: true }
    const path: Stage[] = [
      { label: 'workflow started (history)', of: history('workflow started') },
      { label: 'POST /api/v1/escalation/ answered', of: (p) => since(p, p.answeredAt), plotted: true },
      { label: 'first workflow task picked up by the worker', of: history('workflow task started'), plotted: true },
      task('recordAlertGroupCreated', 'scheduled'),
      task('recordAlertGroupCreated', 'started'),
      task('recordAlertGroupCreated', 'completed'),
      task('loadNotificationPlans', 'scheduled'),
      task('loadNotificationPlans', 'started'),
      { label: 'notification plan written to the timeline', of: (p) => since(p, planOf.get(p.alertGroupId ?? '')) },
      task('loadNotificationPlans', 'completed'),
      task('notifyUser', 'scheduled'),
      task('notifyUser', 'started', true),
      { label: 'ledger row inserted', of: (p) => since(p, ledgerOf.get(p.alertGroupId ?? '')?.created_ms) },
      { label: 'message handed to the email channel', of: (p) => since(p, handedOverAt.get(p.alertGroupId ?? '')) },
      { label: 'SMTP connection accepted (TCP)', of: (p) => first(p).acceptedAt - p.sentAt, plotted: true },
      { label: "SMTP greeting (after smtp-server's 100 ms early-talker wait)", of: (p) => first(p).greetedAt - p.sentAt },
      { label: 'SMTP MAIL FROM', of: (p) => first(p).mailFromAt - p.sentAt },
      headline,
      { label: 'ledger row marked sent', of: (p) => since(p, ledgerOf.get(p.alertGroupId ?? '')?.delivered_ms) },
      task('notifyUser', 'completed'),
    ]
    const distributions = path.map((stage) => ({ ...stage, sorted: ascending(delivered.map(stage.of).filter((v) => !Number.isNaN(v))) }))
    const latency = ascending(delivered.map(headline.of))
    const spans = (of: (p: Page) => number) => ascending(delivered.map(of).filter((v) => !Number.isNaN(v)))
    const between = (from: 'acceptedAt' | 'greetedAt' | 'mailFromAt', to: 'greetedAt' | 'mailFromAt' | 'receivedAt') => spans((p) => first(p)[to] - first(p)[from])
    const smtpParts = [
      { label: 'email channel: message handed over → TCP accept', sorted: spans((p) => first(p).acceptedAt - (handedOverAt.get(p.alertGroupId ?? '') ?? Number.NaN)) },
      { label: "SMTP server's early-talker wait: TCP accept → greeting", sorted: between('acceptedAt', 'greetedAt') },
      { label: 'SMTP EHLO: greeting → MAIL FROM', sorted: between('greetedAt', 'mailFromAt') },
      { label: 'SMTP message: MAIL FROM → DATA end', sorted: between('mailFromAt', 'receivedAt') },
    ]
    const responses = ascending(measured.flatMap((p) => (p.answeredAt === undefined ? [] : [p.answeredAt - p.sentAt])))

    const ms = (v: number) => (Number.isNaN(v) ? '—' : v.toFixed(1))
    const quantiles = (sorted: readonly number[]) => [0.5, 0.9, 0.99, 1].map((q) => ms(quantile(sorted, q))).join(' | ')
    console.log(
      `\nNotification path: ${measured.length} direct pages at ${rate}/s (open loop) after ${WARMUP} warm-up, each to a user whose only ` +
        `personal rule is notify_by_email; ms from the API call to the end of SMTP DATA on 127.0.0.1.\n`,
    )
    console.log('| pages | delivered | lost | duplicated | p50 | p90 | p99 | max | API response p50 | API response p99 |')
    console.log('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |')
    console.log(
      `| ${measured.length} | ${delivered.length} | ${lost} | ${duplicated} | ${quantiles(latency)} | ${ms(quantile(responses, 0.5))} | ${ms(quantile(responses, 0.99))} |`,
    )
    console.log(
      `\nAPI errors ${failures.length}; emails with the wrong X-Tocsin-Alert-Group ${wrongGroup}; with three verified signed links ` +
        `${linksVerified} of ${delivered.length}; emails to no measured page ${unexpected}; pages through the catch-all ${viaCatchAll}; ` +
        `ledger rows ${ledger.length}, sent after a retry ${ledger.filter((r) => r.attempts > 1).length}; ` +
        `${mails.length} emails over ${greetedAt.size} SMTP connections (warm-up included); send lag behind the schedule max ${ms(Math.max(...run.lagMs))} ms; ` +
        `event-loop delay of this process p50 ${ms(loopDelay(loop.percentile(50)))} ms, p99 ${ms(loopDelay(loop.percentile(99)))} ms, max ${ms(loopDelay(loop.max))} ms.`,
    )
    for (const p of failures.slice(0, 5)) console.log(`page ${p.index} failed: ${p.failure}`)
    for (const r of ledger.filter((r) => r.attempts > 1).slice(0, 5)) console.log(`retried (${r.attempts} attempts): ${r.error ?? 'no error recorded'}`)
    // A backlog that builds during the run shows as later pages taking longer than the first ones.
    const tenth = Math.max(1, Math.floor(delivered.length / 10))
    const p50Of = (list: readonly Page[]) => ms(quantile(ascending(list.map(headline.of)), 0.5))
    console.log(`Latency p50 of the first ${tenth} pages ${p50Of(delivered.slice(0, tenth))} ms, of the last ${tenth} ${p50Of(delivered.slice(-tenth))} ms.`)
    console.log('\nWhere the time goes (ms from the API call):\n')
    console.log('| stage | n | p50 | p90 | p99 | max |')
    console.log('| --- | ---: | ---: | ---: | ---: | ---: |')
    for (const stage of distributions) console.log(`| ${stage.label} | ${stage.sorted.length} | ${quantiles(stage.sorted)} |`)
    for (const part of smtpParts) console.log(`| (${part.label}) | ${part.sorted.length} | ${quantiles(part.sorted)} |`)
    console.log(`\nplot: ${plotLatency(distributions.filter((stage) => stage.plotted), measured.length)}`)
    const ok = lost === 0 && duplicated === 0 && wrongGroup === 0 && unexpected === 0
    if (!ok) console.log(`\nFAILED: ${lost} lost, ${duplicated} duplicated, ${wrongGroup} with the wrong alert group, ${unexpected} unexpected`)
    return ok
  } finally {
    await stack?.stop()
    await new Promise<void>((resolve) => smtp.close(resolve))
    await stopTemporal()
    if (stack) await dropDatabase(stack.dbUrl)
  }
}

interface Stage {
  readonly label: string
  readonly of: (page: Page) => number
  readonly plotted?: boolean
}

interface LedgerRow {
  readonly alert_group_id: string
  readonly created_ms: number
  readonly delivered_ms: number | null
  readonly attempts: number
  /** The last failed attempt's error, kept once a later attempt sent it. */
  readonly error: string | null
}

/**
 * The ledger rows of the measured pages, once each emailed page's row says sent: the activity is done then, so no
 * retry can email again and every duplicate has arrived.
 */
async function settledLedger(stack: Stack, groupIds: readonly string[], emailed: number): Promise<LedgerRow[]> {
  if (groupIds.length === 0) return []
  const deadline = Date.now() + 30_000
  for (;;) {
    const rows = await stack.db
      .selectFrom('notifications')
      .select([
        'alert_group_id',
        'attempts',
        'error',
        sql<number>`(extract(epoch from created_at) * 1000)::float8`.as('created_ms'),
        sql<number | null>`(extract(epoch from delivered_at) * 1000)::float8`.as('delivered_ms'),
      ])
      .where('alert_group_id', 'in', groupIds)
      .execute()
    if ((rows.filter((r) => r.delivered_ms !== null).length >= emailed && rows.every((r) => r.delivered_ms !== null)) || Date.now() > deadline) return rows
    await sleep(50)
  }
}

/**
 * From the workflow's history (epoch ms): `workflow started`, `workflow task started` (the first), and
 * `<activity> scheduled|started|completed` for the first run of each activity type.
 */
async function historyInstants(stack: Stack, workflowId: string): Promise<Map<string, number>> {
  const { EventType } = temporal.api.enums.v1
  const { events } = await stack.escalations.client.workflow.getHandle(workflowId).fetchHistory()
  const instants = new Map<string, number>()
  const nameOf = new Map<string, string>()
  const note = (key: string, event: temporal.api.history.v1.IHistoryEvent) => {
    if (!instants.has(key) && event.eventTime) instants.set(key, Number(event.eventTime.seconds ?? 0) * 1000 + (event.eventTime.nanos ?? 0) / 1e6)
  }
  for (const event of events ?? []) {
    switch (event.eventType) {
      case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
        note('workflow started', event)
        break
      case EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED:
        note('workflow task started', event)
        break
      case EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED: {
        const name = event.activityTaskScheduledEventAttributes?.activityType?.name ?? '?'
        nameOf.set(String(event.eventId), name)
        note(`${name} scheduled`, event)
        break
      }
      case EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
        note(`${nameOf.get(String(event.activityTaskStartedEventAttributes?.scheduledEventId))} started`, event)
        break
      case EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
        note(`${nameOf.get(String(event.activityTaskCompletedEventAttributes?.scheduledEventId))} completed`, event)
        break
    }
  }
  return instants
}

/** The distribution of each stage's latency (share of pages at or under x), x on a log scale. */
function plotLatency(stages: ReadonlyArray<{ label: string; sorted: readonly number[] }>, pageCount: number): string {
  return plotCdf(plotDir('TOCSIN_NOTIFICATION_PATH_OUT', 'tocsin-notification-path-plot-'), 'notification-path-latency', {
    title: `Direct page → email on SMTP, ${pageCount} pages at ${rate}/s: latency distribution of each stage`,
    xLabel: 'ms from the API call (log)',
    yLabel: 'share of pages',
    series: stages,
  })
}

main().then(
  (ok) => process.exit(ok ? 0 : 1),
  (err) => {
    console.error(err)
    process.exit(1)
  },
)
