import { nextShiftUsers, usersOnCallAt } from '../../db/oncall'
import { createOrg, startStack, type Stack } from '../../test/stack'

// Who is on call, through the API: on_call_now, final_shifts, the oncall?at extension and the chain views
// (current/previous/next_oncall, as Grafana IRM documents them), plus the two functions the escalation engine calls.

type Org = Awaited<ReturnType<typeof createOrg>>

const HOUR = 3_600_000
const naive = (ms: number) => new Date(ms).toISOString().slice(0, 19)
const drf = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z')
const py = (ms: number) => new Date(ms).toISOString().replace('.000Z', '+00:00')
// Whole hours, so shift bounds are exact and comparable.
const NOW_HOUR = Math.floor(Date.now() / HOUR) * HOUR

let stack: Stack
let org: Org
let other: Org
let alice: { id: string; email: string; username: string }
let bob: { id: string; email: string; username: string }
let carol: { id: string; email: string; username: string }

beforeAll(async () => {
  stack = await startStack('oncall_views', { worker: false })
  org = await createOrg(stack, 'Acme')
  other = await createOrg(stack, 'Globex')
  const team = (await org.call('POST', '/api/v1/teams/', { name: 'Ops' })).body
  const user = async (username: string, extra: Record<string, unknown> = {}) =>
    (await org.call('POST', '/api/v1/users/', { username, email: `${username}@acme.test`, role: 'editor', ...extra }))
      .body
  alice = await user('alice', { phone_number: '+15551234567', timezone: 'America/New_York', teams: [team.id] })
  bob = await user('bob')
  carol = await user('carol')
})
afterAll(() => stack.stop())

async function shift(body: Record<string, unknown>, as: Org = org): Promise<string> {
  const response = await as.call('POST', '/api/v1/on_call_shifts/', body)
  expect(response.status).toBe(201)
  return response.body.id
}

async function webSchedule(name: string, shifts: string[], as: Org = org) {
  const response = await as.call('POST', '/api/v1/schedules/', { name, type: 'web', time_zone: 'UTC', shifts })
  expect(response.status).toBe(201)
  return response.body
}

/** A daily 24h layer handing over at the current hour, and a higher layer and an override around now. */
async function layeredSchedule(name: string) {
  const base = await shift({
    type: 'rolling_users',
    start: naive(NOW_HOUR - 24 * 10 * HOUR),
    duration: 86400,
    frequency: 'daily',
    rolling_users: [[alice.id], [bob.id]],
    start_rotation_from_user_index: 0,
    level: 0,
  })
  const high = await shift({
    type: 'single_event',
    level: 2,
    start: naive(NOW_HOUR + 2 * HOUR),
    duration: 2 * 3600,
    users: [carol.id],
  })
  const override = await shift({
    type: 'override',
    start: naive(NOW_HOUR + 5 * HOUR),
    duration: 3600,
    users: [carol.id],
  })
  return webSchedule(name, [base, high, override])
}

describe('schedule resolution', () => {
  test('on_call_now, oncall?at with reasons, and final_shifts over whole UTC days, clipped to them', async () => {
    const schedule = await layeredSchedule('Layers')
    // ten days of alternation from alice (index 0): today's 24h slot started at NOW_HOUR belongs to alice
    expect(schedule.on_call_now).toEqual([alice.id])
    expect((await org.call('GET', `/api/v1/schedules/${schedule.id}/`)).body.on_call_now).toEqual([alice.id])

    const at = await org.call(
      'GET',
      `/api/v1/schedules/${schedule.id}/oncall/?at=${encodeURIComponent(new Date(NOW_HOUR + 3 * HOUR).toISOString())}`,
    )
    expect(at.status).toBe(200)
    expect(at.body).toMatchObject({
      schedule_id: schedule.id,
      at: drf(NOW_HOUR + 3 * HOUR),
      users: [carol.id],
      stale_ical_copy: false,
      reasons: [
        {
          reason: 'layer 2',
          override: false,
          level: 2,
          shift_start: drf(NOW_HOUR + 2 * HOUR),
          shift_end: drf(NOW_HOUR + 4 * HOUR),
          users: [carol.id],
        },
      ],
    })
    const overridden = await org.call(
      'GET',
      `/api/v1/schedules/${schedule.id}/oncall?at=${encodeURIComponent(new Date(NOW_HOUR + 5.5 * HOUR).toISOString())}`,
    )
    expect(overridden.body.reasons.map((r: { reason: string }) => r.reason)).toEqual(['override'])

    const day = new Date(NOW_HOUR).toISOString().slice(0, 10)
    const range = `start_date=${day}T${new Date(NOW_HOUR).toISOString().slice(11, 16)}&end_date=${day}T${new Date(NOW_HOUR).toISOString().slice(11, 16)}`
    const empty = await org.call('GET', `/api/v1/schedules/${schedule.id}/final_shifts/?${range}`)
    expect(empty.body).toEqual({
      count: 0,
      next: null,
      previous: null,
      results: [],
      page_size: 50,
      current_page_number: 1,
      total_pages: 1,
    })
    // Less than a whole day between the bounds is no day at all.
    const from = new Date(NOW_HOUR + HOUR).toISOString().slice(0, 16)
    const to = new Date(NOW_HOUR + 7 * HOUR).toISOString().slice(0, 16)
    const partial = await org.call('GET', `/api/v1/schedules/${schedule.id}/final_shifts?start_date=${from}&end_date=${to}`)
    expect(partial.body).toMatchObject({ count: 0, results: [] })

    // One whole day: today (UTC) from 00:00, tomorrow excluded. The layers and the override resolved, in order:
    // bob's base slot until the handover at NOW_HOUR, alice's, carol's layer 2, alice, carol's override, alice.
    const today = Date.parse(`${day}T00:00:00Z`)
    const tomorrow = new Date(today + 24 * HOUR).toISOString().slice(0, 10)
    const finals = await org.call('GET', `/api/v1/schedules/${schedule.id}/final_shifts?start_date=${day}&end_date=${tomorrow}`)
    expect(finals.status).toBe(200)
    const row = (user: typeof alice, start: number, end: number) => ({
      user_pk: user.id,
      user_email: user.email,
      user_username: user.username,
      shift_start: drf(start),
      shift_end: drf(end),
    })
    const resolved: Array<[typeof alice, number, number]> = [
      [bob, NOW_HOUR - 24 * HOUR, NOW_HOUR],
      [alice, NOW_HOUR, NOW_HOUR + 2 * HOUR],
      [carol, NOW_HOUR + 2 * HOUR, NOW_HOUR + 4 * HOUR],
      [alice, NOW_HOUR + 4 * HOUR, NOW_HOUR + 5 * HOUR],
      [carol, NOW_HOUR + 5 * HOUR, NOW_HOUR + 6 * HOUR],
      [alice, NOW_HOUR + 6 * HOUR, NOW_HOUR + 24 * HOUR],
    ]
    // Each slot clipped to [today 00:00, tomorrow 00:00); slots wholly outside the day are not rows.
    const expected = resolved
      .map(([user, start, end]) => [user, Math.max(start, today), Math.min(end, today + 24 * HOUR)] as const)
      .filter(([, start, end]) => start < end)
      .map(([user, start, end]) => row(user, start, end))
    expect(finals.body.results).toEqual(expected)
    expect(finals.body.count).toBe(expected.length)
  })

  describe("final_shifts covers OnCall's range: whole UTC days from start_date's day, the end day excluded", () => {
    const row = (user: typeof alice, start: string, end: string) => ({
      user_pk: user.id,
      user_email: user.email,
      user_username: user.username,
      shift_start: start,
      shift_end: end,
    })
    const finalShifts = async (scheduleId: string, startDate: string, endDate: string) => {
      const response = await org.call('GET', `/api/v1/schedules/${scheduleId}/final_shifts/?start_date=${startDate}&end_date=${endDate}`)
      expect(response.status).toBe(200)
      expect(response.body.count).toBe(response.body.results.length)
      return response.body.results
    }
    const daily = (user: typeof alice, timeZone: string, start: string, duration: number) =>
      shift({ type: 'recurrent_event', time_zone: timeZone, start, duration, frequency: 'daily', users: [user.id] })

    test('date-only and date-with-time bounds, in UTC', async () => {
      const schedule = await webSchedule('Whole days', [
        await daily(bob, 'UTC', '2024-03-01T09:00:00', 8 * 3600),
        await daily(carol, 'UTC', '2024-03-01T22:00:00', 4 * 3600),
      ])
      const march = (dayOfMonth: number, time: string) => `2024-03-${String(dayOfMonth).padStart(2, '0')}T${time}Z`
      /** The rows of March `first`..`last`: carol's night shifts clipped at both ends of the range. */
      const daysRows = (first: number, last: number) => {
        const rows = [row(carol, march(first, '00:00:00'), march(first, '02:00:00'))]
        for (let day = first; day <= last; day++) {
          rows.push(row(bob, march(day, '09:00:00'), march(day, '17:00:00')))
          rows.push(row(carol, march(day, '22:00:00'), day === last ? march(day + 1, '00:00:00') : march(day + 1, '02:00:00')))
        }
        return rows
      }
      const cases: Array<[string, string, unknown[]]> = [
        // two days: the 4th and the 5th; nothing of the 6th
        ['2024-03-04', '2024-03-06', daysRows(4, 5)],
        ['2024-03-04', '2024-03-05', daysRows(4, 4)],
        ['2024-03-04', '2024-03-04', []],
        // with times: the range still starts at 00:00 of the start day and counts whole days between the bounds
        ['2024-03-04T12:00', '2024-03-06T12:00', daysRows(4, 5)],
        ['2024-03-04T12:00', '2024-03-06T11:59', daysRows(4, 4)],
        ['2024-03-04T23:00', '2024-03-05T22:00', []],
        ['2024-03-04T00:00', '2024-03-05T00:00', daysRows(4, 4)],
        ['2024-03-04', '2024-03-05T23:59', daysRows(4, 4)],
      ]
      for (const [startDate, endDate, expected] of cases) {
        expect({ startDate, endDate, results: await finalShifts(schedule.id, startDate, endDate) }).toEqual({
          startDate,
          endDate,
          results: expected,
        })
      }
    })

    test('across DST changes the days stay UTC days while shifts keep their local wall-clock time', async () => {
      // 09:00–17:00 in Berlin: 08:00Z in winter, 07:00Z from 31 March 2024 (clocks go forward at 01:00Z).
      const berlin = await webSchedule('Berlin', [await daily(alice, 'Europe/Berlin', '2024-03-25T09:00:00', 8 * 3600)])
      const spring: Array<[string, string, unknown[]]> = [
        [
          '2024-03-30',
          '2024-04-01',
          [
            row(alice, '2024-03-30T08:00:00Z', '2024-03-30T16:00:00Z'),
            row(alice, '2024-03-31T07:00:00Z', '2024-03-31T15:00:00Z'),
          ],
        ],
        // 23 local hours on the change day, but 24 UTC hours from 00:00 to 00:00: one whole day
        ['2024-03-31T00:00', '2024-04-01T00:00', [row(alice, '2024-03-31T07:00:00Z', '2024-03-31T15:00:00Z')]],
        ['2024-03-30T10:00', '2024-04-01T09:00', [row(alice, '2024-03-30T08:00:00Z', '2024-03-30T16:00:00Z')]],
        ['2024-03-31', '2024-03-31T23:59', []],
      ]
      // 09:00–17:00 in New York: 13:00Z on daylight time, 14:00Z from 3 November 2024.
      const newYork = await webSchedule('New York', [await daily(bob, 'America/New_York', '2024-10-28T09:00:00', 8 * 3600)])
      const autumn: Array<[string, string, unknown[]]> = [
        [
          '2024-11-02',
          '2024-11-04',
          [row(bob, '2024-11-02T13:00:00Z', '2024-11-02T21:00:00Z'), row(bob, '2024-11-03T14:00:00Z', '2024-11-03T22:00:00Z')],
        ],
        ['2024-11-03T12:00', '2024-11-04T12:00', [row(bob, '2024-11-03T14:00:00Z', '2024-11-03T22:00:00Z')]],
      ]
      for (const [scheduleId, cases] of [
        [berlin.id, spring],
        [newYork.id, autumn],
      ] as const) {
        for (const [startDate, endDate, expected] of cases) {
          expect({ startDate, endDate, results: await finalShifts(scheduleId, startDate, endDate) }).toEqual({
            startDate,
            endDate,
            results: expected,
          })
        }
      }
    })
  })

  test('a higher layer whose users were all deleted lets the lower layer show through', async () => {
    const doomed = (
      await org.call('POST', '/api/v1/users/', { username: 'doomed', email: 'doomed@acme.test', role: 'editor' })
    ).body
    const low = await shift({
      type: 'single_event',
      start: naive(NOW_HOUR - HOUR),
      duration: 3 * 3600,
      users: [bob.id],
    })
    const high = await shift({
      type: 'single_event',
      level: 5,
      start: naive(NOW_HOUR - HOUR),
      duration: 3 * 3600,
      users: [doomed.id],
    })
    const schedule = await webSchedule('Deleted users', [low, high])
    expect(schedule.on_call_now).toEqual([doomed.id])
    expect((await org.call('DELETE', `/api/v1/users/${doomed.id}/`)).status).toBe(204)
    expect((await org.call('GET', `/api/v1/schedules/${schedule.id}/`)).body.on_call_now).toEqual([bob.id])
  })

  test('final_shifts and oncall validation texts, other organizations 404', async () => {
    const schedule = await webSchedule('Validated', [])
    const path = `/api/v1/schedules/${schedule.id}/final_shifts/`
    const format = 'Datetime has wrong format. Use one of these formats instead: YYYY-MM-DDThh:mm, YYYY-MM-DD.'
    const cases: Array<[string, unknown]> = [
      ['?start_date=2021-01-01', { end_date: ['This field is required.'] }],
      ['', { start_date: ['This field is required.'], end_date: ['This field is required.'] }],
      [
        '?start_date=2021-01-02&end_date=2021-01-01',
        { non_field_errors: ['start_date must be less than or equal to end_date'] },
      ],
      [
        '?start_date=2021-01-01&end_date=2022-01-02',
        { non_field_errors: ['The difference between start_date and end_date must be less than one year (365 days)'] },
      ],
      ['?start_date=2021-13-01&end_date=2021-01-01', { start_date: [format] }],
      ['?start_date=2021-02-30&end_date=2021-03-01', { start_date: [format] }],
      ['?start_date=2021-01-01T10:00:00Z&end_date=2021-01-02', { start_date: [format] }],
      [`?start_date=${'9'.repeat(5000)}&end_date=2021-01-02`, { start_date: [format] }],
    ]
    for (const [query, expected] of cases) {
      expect({ query, ...(await org.call('GET', `${path}${query}`)) }).toMatchObject({
        query,
        status: 400,
        body: expected,
      })
    }
    expect((await org.call('GET', `${path}?start_date=2021-01-01&end_date=2021-12-31`)).status).toBe(200)
    for (const at of ['yesterday', '2024-01-01', '2024-01-01T10:00:00', '2024-13-01T00:00:00Z']) {
      const response = await org.call('GET', `/api/v1/schedules/${schedule.id}/oncall/?at=${encodeURIComponent(at)}`)
      expect({ at, status: response.status, keys: Object.keys(response.body ?? {}) }).toEqual({
        at,
        status: 400,
        keys: ['at'],
      })
    }
    const theirs = await webSchedule('Theirs', [], other)
    for (const suffix of ['final_shifts/?start_date=2021-01-01&end_date=2021-01-02', 'oncall/']) {
      expect(await org.call('GET', `/api/v1/schedules/${theirs.id}/${suffix}`)).toMatchObject({
        status: 404,
        body: { detail: 'Not found.' },
      })
    }
  })

  test('the engine functions resolve through the same resolver, scoped to the organization', async () => {
    const schedule = await layeredSchedule('Engine')
    const now = await usersOnCallAt(stack.db, org.organizationId, schedule.id, new Date(NOW_HOUR + 3 * HOUR), stack.ical)
    expect(now).toMatchObject({
      userIds: [carol.id],
      stale: false,
      reasons: [{ reason: 'layer 2', shiftId: expect.any(String) }],
    })
    expect(await usersOnCallAt(stack.db, other.organizationId, schedule.id, new Date(), stack.ical)).toBeNull()
    const next = await nextShiftUsers(stack.db, org.organizationId, schedule.id, new Date(NOW_HOUR + 3 * HOUR), stack.ical)
    // after carol's layer-2 slot, alice's remaining base slot starts at +4h
    expect(next).toMatchObject({
      userIds: [alice.id],
      shift: { start: new Date(NOW_HOUR + 4 * HOUR).toISOString(), end: new Date(NOW_HOUR + 5 * HOUR).toISOString() },
    })
    const empty = await webSchedule('Empty', [])
    expect(await nextShiftUsers(stack.db, org.organizationId, empty.id, new Date(), stack.ical)).toMatchObject({
      userIds: [],
      shift: null,
    })
    expect(await nextShiftUsers(stack.db, other.organizationId, empty.id, new Date(), stack.ical)).toBeNull()
  })
})

describe('escalation chain views', () => {
  async function chainWith(policies: Array<Record<string, unknown>>, as: Org = org) {
    const chain = (await as.call('POST', '/api/v1/escalation_chains/', { name: `chain-${Math.random()}` })).body
    for (const policy of policies) {
      const created = await as.call('POST', '/api/v1/escalation_policies/', {
        escalation_chain_id: chain.id,
        ...policy,
      })
      expect(created.status).toBe(201)
    }
    return chain.id as string
  }

  test('current_oncall walks every user-resolving step before the first wait, round-robin read without moving', async () => {
    const schedule = await layeredSchedule('Chain schedule')
    const chain = await chainWith([
      { type: 'notify_on_call_from_schedule', notify_on_call_from_schedule: schedule.id },
      { type: 'notify_person_next_each_time', persons_to_notify_next_each_time: [bob.id, carol.id] },
      { type: 'notify_persons', persons_to_notify: [alice.id, carol.id] },
      { type: 'wait', duration: 60 },
      { type: 'notify_persons', persons_to_notify: [bob.id] },
    ])
    const first = await org.call('GET', `/api/v1/escalation_chains/${chain}/current_oncall/`)
    expect(first.status).toBe(200)
    expect(first.body.count).toBe(3)
    expect(first.body.users.map((u: { id: string }) => u.id)).toEqual([alice.id, bob.id, carol.id])
    expect(first.body.users[0]).toEqual({
      id: alice.id,
      grafana_id: expect.any(Number),
      email: 'alice@acme.test',
      slack: null,
      username: 'alice',
      role: 'editor',
      is_phone_number_verified: true,
      phone_number: '+15551234567',
      phone_number_status: 'available',
      timezone: 'America/New_York',
      teams: [expect.stringMatching(/^T/)],
    })
    expect(first.body.users[1]).toMatchObject({ phone_number: null, phone_number_status: 'not_configured', teams: [] })
    expect(first.body.shifts).toEqual([
      {
        schedule_id: schedule.id,
        schedule_name: 'Chain schedule',
        team_id: null,
        shift_start: py(NOW_HOUR),
        shift_end: py(NOW_HOUR + 2 * HOUR),
        users: [alice.id],
      },
    ])
    // read-only: the same answer again
    expect((await org.call('GET', `/api/v1/escalation_chains/${chain}/current_oncall`)).body).toEqual(first.body)
  })

  test('previous_oncall and next_oncall use the first schedule step; days default 7, max 30', async () => {
    const schedule = await layeredSchedule('Adjacent')
    const chain = await chainWith([
      { type: 'notify_persons', persons_to_notify: [carol.id] },
      { type: 'notify_on_call_from_schedule', notify_on_call_from_schedule: schedule.id },
    ])
    const previous = await org.call('GET', `/api/v1/escalation_chains/${chain}/previous_oncall/`)
    expect(previous.body).toMatchObject({
      count: 1,
      users: [{ id: bob.id }],
      shifts: [{ shift_start: py(NOW_HOUR - 24 * HOUR), shift_end: py(NOW_HOUR), users: [bob.id] }],
    })
    const next = await org.call('GET', `/api/v1/escalation_chains/${chain}/next_oncall/?days=1`)
    expect(next.body).toMatchObject({
      count: 1,
      users: [{ id: carol.id }],
      shifts: [{ shift_start: py(NOW_HOUR + 2 * HOUR), shift_end: py(NOW_HOUR + 4 * HOUR) }],
    })
    for (const [days, message] of [
      ['31', 'Ensure this value is less than or equal to 30.'],
      ['0', 'Ensure this value is greater than or equal to 1.'],
      ['seven', 'A valid integer is required.'],
      ['1e3', 'A valid integer is required.'],
      ['9'.repeat(400), 'A valid integer is required.'],
    ]) {
      for (const view of ['previous_oncall', 'next_oncall']) {
        expect({
          days,
          view,
          ...(await org.call('GET', `/api/v1/escalation_chains/${chain}/${view}/?days=${days}`)),
        }).toMatchObject({
          days,
          view,
          status: 400,
          body: { days: [message] },
        })
      }
    }
    expect((await org.call('GET', `/api/v1/escalation_chains/${chain}/next_oncall/?days=30`)).status).toBe(200)
    const noSchedule = await chainWith([{ type: 'notify_persons', persons_to_notify: [carol.id] }])
    expect((await org.call('GET', `/api/v1/escalation_chains/${noSchedule}/next_oncall/`)).body).toEqual({
      count: 0,
      users: [],
      shifts: [],
    })
  })

  test("another organization's chain is 404 on all three views; unknown ids too", async () => {
    const theirs = await chainWith([], other)
    for (const view of ['current_oncall', 'previous_oncall', 'next_oncall']) {
      expect(await org.call('GET', `/api/v1/escalation_chains/${theirs}/${view}/`)).toMatchObject({
        status: 404,
        body: { detail: 'Not found.' },
      })
      expect((await org.call('GET', `/api/v1/escalation_chains/FNOPE/${view}/`)).status).toBe(404)
      expect((await org.call('POST', `/api/v1/escalation_chains/${theirs}/${view}/`)).status).toBe(405)
    }
  })
})
