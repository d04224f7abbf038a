import { createServer, type Server } from 'node:http'
import { usersOnCallAt } from '../../db/oncall'
import { ALLOW_LOOPBACK, createOrg, resolveOnly, startStack, type Stack } from '../../test/stack'

// iCal schedules: a real .ics served from 127.0.0.1 inside the test, read as OnCall reads calendars ([L<n>] levels,
// usernames and emails in SUMMARY/DESCRIPTION/ATTENDEE, cancelled events ignored), and the last good copy kept when
// a refresh fails (the server answering 500, or closing the connection). The server is on loopback, which outbound
// calls refuse unless allowed: the suite allows 127.0.0.1 only, so 127.0.0.2 stands for a forbidden address.

type Org = Awaited<ReturnType<typeof createOrg>>

const DAY = 86_400_000
const HOUR = 3_600_000
const NOW_DAY = Math.floor(Date.now() / DAY) * DAY
const ical = (ms: number) => new Date(ms).toISOString().replace(/[-:]/g, '').slice(0, 15) + 'Z'

// A daily all-day-long event for alice since ten days ago (UTC), a level-1 event for bob covering now, a cancelled
// event for carol, and a London-zoned weekly recurrence named by email.
const primary = () =>
  [
    'BEGIN:VCALENDAR',
    'VERSION:2.0',
    'PRODID:-//tocsin//test//EN',
    'BEGIN:VEVENT',
    'UID:daily-alice',
    `DTSTART:${ical(NOW_DAY - 10 * DAY)}`,
    `DTEND:${ical(NOW_DAY - 9 * DAY)}`,
    'RRULE:FREQ=DAILY',
    'SUMMARY:alice',
    'END:VEVENT',
    'BEGIN:VEVENT',
    'UID:level-bob',
    `DTSTART:${ical(Date.now() - HOUR)}`,
    `DTEND:${ical(Date.now() + HOUR)}`,
    'SUMMARY:[L1] bob',
    'END:VEVENT',
    'BEGIN:VEVENT',
    'UID:cancelled-carol',
    `DTSTART:${ical(Date.now() - HOUR)}`,
    `DTEND:${ical(Date.now() + HOUR)}`,
    'SUMMARY:[L5] carol',
    'STATUS:CANCELLED',
    'END:VEVENT',
    'BEGIN:VEVENT',
    'UID:london-weekly',
    'DTSTART;TZID=Europe/London:20240101T090000',
    'DTEND;TZID=Europe/London:20240101T100000',
    'RRULE:FREQ=WEEKLY;BYDAY=MO',
    'SUMMARY:[L2]',
    'ATTENDEE:mailto:Carol@Acme.test',
    'END:VEVENT',
    'END:VCALENDAR',
    '',
  ].join('\r\n')

let stack: Stack
let org: Org
let server: Server
let baseUrl: string
let mode: 'ok' | 'error' | 'close' | 'garbage' = 'ok'
let hits = 0
let alice: string
let bob: string
let carol: string

beforeAll(async () => {
  stack = await startStack('ical_schedules', {
    worker: false,
    outboundAllow: ALLOW_LOOPBACK,
    // A name that resolves to a blocked address, as a rebinding attacker's would.
    outboundLookup: resolveOnly({ 'calendar.rebind.test': '127.0.0.2' }),
  })
  org = await createOrg(stack, 'Acme')
  const user = async (username: string) =>
    (await org.call('POST', '/api/v1/users/', { username, email: `${username}@acme.test`, role: 'editor' })).body.id
  alice = await user('alice')
  bob = await user('bob')
  carol = await user('carol')
  server = createServer((req, res) => {
    hits++
    if (mode === 'close') return void req.socket.destroy()
    if (mode === 'error') return void res.writeHead(500).end('boom')
    if (mode === 'garbage') return void res.writeHead(200, { 'content-type': 'text/calendar' }).end('not a calendar')
    if (req.url === '/moved.ics') return void res.writeHead(302, { location: blockedUrl('/primary.ics') }).end()
    res.writeHead(200, { 'content-type': 'text/calendar' }).end(req.url === '/overrides.ics' ? overrides() : primary())
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  baseUrl = `http://127.0.0.1:${(server.address() as { port: number }).port}`
})
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve))
  await stack.stop()
})

const overrides = () =>
  [
    'BEGIN:VCALENDAR',
    'VERSION:2.0',
    'PRODID:-//tocsin//test//EN',
    'BEGIN:VEVENT',
    'UID:override-carol',
    `DTSTART:${ical(Date.now() + 3 * HOUR)}`,
    `DTEND:${ical(Date.now() + 4 * HOUR)}`,
    'SUMMARY:carol',
    'END:VEVENT',
    'END:VCALENDAR',
    '',
  ].join('\r\n')

/** The test server's port on a loopback address the suite does not allow. */
const blockedUrl = (path: string) => `http://127.0.0.2:${(server.address() as { port: number }).port}${path}`

/** Makes every copy of the schedule due for a refresh on its next use. */
const age = (scheduleId: string) =>
  stack.db
    .updateTable('schedule_ical_copies')
    .set({ attempted_at: '2000-01-01T00:00:00Z' })
    .where('schedule_id', '=', scheduleId)
    .execute()

test('an ical schedule resolves its fetched calendar: levels, names, emails, cancelled events, zones', async () => {
  mode = 'ok'
  const created = await org.call('POST', '/api/v1/schedules/', {
    name: 'From iCal',
    type: 'ical',
    ical_url_primary: `${baseUrl}/primary.ics`,
    ical_url_overrides: `${baseUrl}/overrides.ics`,
  })
  expect(created.status).toBe(201)
  // level 1 (bob) beats level 0 (alice); the cancelled level-5 event for carol is ignored
  expect(created.body.on_call_now).toEqual([bob])
  const id = created.body.id
  const later = new Date(Date.now() + 2 * HOUR).toISOString()
  expect((await org.call('GET', `/api/v1/schedules/${id}/oncall/?at=${encodeURIComponent(later)}`)).body).toMatchObject(
    {
      users: [alice],
      reasons: [{ reason: 'layer 0', ical_calendar: 'primary' }],
      stale_ical_copy: false,
    },
  )
  const override = new Date(Date.now() + 3.5 * HOUR).toISOString()
  expect(
    (await org.call('GET', `/api/v1/schedules/${id}/oncall/?at=${encodeURIComponent(override)}`)).body,
  ).toMatchObject({
    users: [carol],
    reasons: [{ reason: 'override', ical_calendar: 'overrides' }],
  })
  // The weekly London event, matched by email case-insensitively: 09:00 local in winter (09:00Z) and summer (08:00Z).
  // The end day is not covered, so the range ends on 2 July to include 1 July.
  const finals = await org.call(
    'GET',
    `/api/v1/schedules/${id}/final_shifts/?start_date=2024-01-01&end_date=2024-07-02`,
  )
  const carolRows = finals.body.results.filter((r: { user_pk: string }) => r.user_pk === carol)
  expect(carolRows[0]).toMatchObject({ shift_start: '2024-01-01T09:00:00Z', shift_end: '2024-01-01T10:00:00Z' })
  expect(carolRows.find((r: { shift_start: string }) => r.shift_start.startsWith('2024-07-01'))).toMatchObject({
    shift_start: '2024-07-01T08:00:00Z',
    shift_end: '2024-07-01T09:00:00Z',
  })
})

test('a failing refresh (500, then a closed connection, then garbage) keeps serving the last good copy, and says so', async () => {
  mode = 'ok'
  const id = (
    await org.call('POST', '/api/v1/schedules/', {
      name: 'Flaky',
      type: 'ical',
      ical_url_primary: `${baseUrl}/primary.ics`,
    })
  ).body.id
  expect((await org.call('GET', `/api/v1/schedules/${id}/`)).body.on_call_now).toEqual([bob])
  const fetchedBefore = hits
  // Within the refresh interval nothing is fetched again.
  expect((await org.call('GET', `/api/v1/schedules/${id}/`)).body.on_call_now).toEqual([bob])
  expect(hits).toBe(fetchedBefore)

  for (const failure of ['error', 'close', 'garbage'] as const) {
    mode = failure
    await age(id)
    const served = await org.call('GET', `/api/v1/schedules/${id}/oncall/`)
    expect({ failure, status: served.status, users: served.body.users, stale: served.body.stale_ical_copy }).toEqual({
      failure,
      status: 200,
      users: [bob],
      stale: true,
    })
    expect(served.body.ical_copy_fetched_at).toMatch(/Z$/)
    expect(served.body.ical_errors[0]).toMatch(
      failure === 'garbage' ? /^primary: parse failed/ : /^primary: download failed/,
    )
    const engine = await usersOnCallAt(stack.db, org.organizationId, id, new Date(), stack.ical)
    expect(engine).toMatchObject({ userIds: [bob], stale: true, detail: { stale_ical_copy: true } })
  }
  expect(hits).toBeGreaterThan(fetchedBefore + 2)

  mode = 'ok'
  await age(id)
  expect((await org.call('GET', `/api/v1/schedules/${id}/oncall/`)).body).toMatchObject({
    users: [bob],
    stale_ical_copy: false,
    ical_errors: [],
  })
})

test('a calendar that never downloaded gives nobody on call, flagged stale, never a 500', async () => {
  mode = 'error'
  const created = await org.call('POST', '/api/v1/schedules/', {
    name: 'Broken',
    type: 'ical',
    ical_url_primary: `${baseUrl}/broken.ics`,
  })
  expect(created).toMatchObject({ status: 201, body: { on_call_now: [] } })
  expect((await org.call('GET', `/api/v1/schedules/${created.body.id}/oncall/`)).body).toMatchObject({
    users: [],
    stale_ical_copy: true,
    ical_copy_fetched_at: null,
  })
  mode = 'ok'
})

test('a calendar on a blocked address, directly, through a name or through a redirect, is refused and says so', async () => {
  mode = 'ok'
  const port = (server.address() as { port: number }).port
  const refused = /^primary: download refused: (calendar\.rebind\.test resolves to 127\.0\.0\.2, which|127\.0\.0\.2) is in a blocked range \(loopback 127\.0\.0\.0\/8\)$/
  for (const [name, url, requests] of [
    ['direct', blockedUrl('/primary.ics'), 0],
    ['rebinding', `http://calendar.rebind.test:${port}/primary.ics`, 0],
    // The allowed server answers the first hop only; the hop to the blocked address is never made.
    ['redirect', `${baseUrl}/moved.ics`, 1],
  ] as const) {
    const before = hits
    const created = await org.call('POST', '/api/v1/schedules/', { name: `Refused ${name}`, type: 'ical', ical_url_primary: url })
    expect({ name, status: created.status, onCallNow: created.body.on_call_now }).toEqual({ name, status: 201, onCallNow: [] })
    const served = await org.call('GET', `/api/v1/schedules/${created.body.id}/oncall/`)
    expect(served.status).toBe(200)
    expect(served.body).toMatchObject({ users: [], stale_ical_copy: true, ical_copy_fetched_at: null })
    expect(served.body.ical_errors).toEqual([expect.stringMatching(refused)])
    expect({ name, requests: hits - before }).toEqual({ name, requests })
    const engine = await usersOnCallAt(stack.db, org.organizationId, created.body.id, new Date(), stack.ical)
    expect(engine).toMatchObject({ userIds: [], stale: true })
  }
})
