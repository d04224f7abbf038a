import type { User } from '../../../db/users.repo'
import type { EscalationView } from '../../services/escalations'
import { escalationToWire, rfc3339 } from './escalations-serializer'
import { seedEscalation, shapeProblems } from '../../../test/incident-io-seed'
import { escalationV2Schema } from './schemas/escalations'

const alice: User = {
  id: 'UALICE1234567',
  numericId: 1,
  organizationId: 'OACME12345678',
  username: 'alice',
  email: 'alice@acme.test',
  role: 'editor',
  timezone: null,
  phoneNumber: null,
  slack: { userId: 'U02AYNF2XJM', teamId: null },
}
const bob: User = { ...alice, id: 'UBOB123456789', username: 'bob', email: 'bob@acme.test', role: 'viewer', slack: null }

function view(overrides: Partial<EscalationView['escalation']> = {}): EscalationView {
  return {
    escalation: {
      id: '01JEXAMPLE0000000000000000',
      organizationId: 'OACME12345678',
      alertGroupId: 'IGROUP1234567',
      idempotencyKey: 'key-1',
      escalationPathId: '01JPATH0000000000000000000',
      userIds: null,
      title: 'Database CPU is high',
      description: '',
      priority: 'P1',
      incidentId: null,
      creator: { user: { id: 'UADMIN1234567', username: 'admin', email: 'admin@localhost', role: 'admin', slackUserId: null } },
      reassignedFromId: null,
      reassignedToId: null,
      status: 'acked',
      createdAt: '2026-12-06 10:00:00+00',
      updatedAt: '2026-12-06 10:00:05.123+00',
      ...overrides,
    },
    events: [
      { kind: 'triggered', id: 'e-0', at: '2026-12-06 10:00:00+00' },
      { kind: 'notified_users', id: 'e-1', at: '2026-12-06 10:00:00.5+00', urgency: 'low', users: [alice, bob] },
      { kind: 'notified_channels', id: 'e-2', at: '2026-12-06 10:00:01+00', channels: [{ slackChannelId: 'C123' }] },
      { kind: 'acked', id: 'e-3', at: '2026-12-06 10:00:05.123456+00', users: [alice] },
    ],
    alerts: [
      {
        id: 'AFIRST1234567',
        alertGroupId: 'IGROUP1234567',
        integrationId: 'CDIRECT123456',
        payload: {},
        createdAt: '2026-12-06 10:00:00+00',
        resolvedAt: null,
      },
    ],
  }
}

test('instants are RFC 3339 with six fractional digits in UTC', () => {
  expect(rfc3339('2026-12-06 10:00:00+00')).toBe('2026-12-06T10:00:00.000000Z')
  expect(rfc3339('2026-12-06 10:00:00.5+00')).toBe('2026-12-06T10:00:00.500000Z')
  expect(rfc3339('2021-08-17 13:28:57.801578+00')).toBe('2021-08-17T13:28:57.801578Z')
  expect(() => rfc3339('2026-12-06 10:00:00+02')).toThrow(/UTC/)
})

test("a path escalation has the documented example's shape, key by key", () => {
  const wire = escalationToWire(view())
  expect(shapeProblems(wire, seedEscalation)).toEqual([])
  // The documented answer schema (OpenAPI) describes what the serializer writes.
  expect(escalationV2Schema.strict().safeParse(wire).error).toBeUndefined()
  expect(wire).toMatchObject({
    id: '01JEXAMPLE0000000000000000',
    status: 'acked',
    escalation_path_id: '01JPATH0000000000000000000',
    priority: { name: 'P1' },
    creator: { user: { id: 'UADMIN1234567', name: 'admin', email: 'admin@localhost', role: 'administrator' } },
    description: '',
    related_incidents: [],
    created_at: '2026-12-06T10:00:00.000000Z',
    updated_at: '2026-12-06T10:00:05.123000Z',
  })
  expect(wire.events).toEqual([
    { id: 'e-0', event: 'triggered', occurred_at: '2026-12-06T10:00:00.000000Z' },
    {
      id: 'e-1',
      event: 'notified_users',
      occurred_at: '2026-12-06T10:00:00.500000Z',
      urgency: 'low',
      users: [
        { id: alice.id, name: 'alice', email: 'alice@acme.test', role: 'responder', slack_user_id: 'U02AYNF2XJM' },
        { id: bob.id, name: 'bob', email: 'bob@acme.test', role: 'viewer' },
      ],
    },
    { id: 'e-2', event: 'notified_channels', occurred_at: '2026-12-06T10:00:01.000000Z', channels: [{ slack_channel_id: 'C123' }] },
    {
      id: 'e-3',
      event: 'acked',
      occurred_at: '2026-12-06T10:00:05.123456Z',
      users: [{ id: alice.id, name: 'alice', email: 'alice@acme.test', role: 'responder', slack_user_id: 'U02AYNF2XJM' }],
    },
  ])
  expect(wire.related_alerts).toEqual([
    {
      id: 'AFIRST1234567',
      alert_source_id: 'CDIRECT123456',
      title: 'Database CPU is high',
      status: 'firing',
      deduplication_key: 'AFIRST1234567',
      created_at: '2026-12-06T10:00:00.000000Z',
      updated_at: '2026-12-06T10:00:00.000000Z',
      alert_group_ids: ['IGROUP1234567'],
    },
  ])
})

test('a direct escalation has no escalation_path_id; a resolved alert says so', () => {
  const direct = view({ escalationPathId: null, userIds: [alice.id], status: 'resolved', description: 'why' })
  const resolved: EscalationView = { ...direct, alerts: direct.alerts.map((a) => ({ ...a, resolvedAt: '2026-12-06 10:05:00+00' })) }
  const wire = escalationToWire(resolved)
  expect(wire).not.toHaveProperty('escalation_path_id')
  expect(shapeProblems(wire, seedEscalation)).toEqual([])
  expect(escalationV2Schema.strict().safeParse(wire).error).toBeUndefined()
  expect(wire.related_alerts[0]).toMatchObject({
    status: 'resolved',
    description: 'why',
    resolved_at: '2026-12-06T10:05:00.000000Z',
    updated_at: '2026-12-06T10:05:00.000000Z',
  })
})

test('the shape check reports a missing key, a wrong type, a bad instant and an unknown key', () => {
  const { priority: _priority, ...wire } = escalationToWire(view())
  const problems = shapeProblems({ ...wire, title: 5, created_at: 'yesterday', extra: true }, seedEscalation)
  expect(problems).toEqual(
    expect.arrayContaining([
      'escalation.priority: missing',
      'escalation.title: number where the example has string',
      'escalation.created_at: yesterday is not RFC 3339',
      "escalation.extra: not in incident.io's object",
    ]),
  )
})
