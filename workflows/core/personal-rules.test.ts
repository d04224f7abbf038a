import { initialLifecycle, type LifecycleState } from './lifecycle'
import { chainStop, planOf, type PersonalChain } from './personal-rules'

const T0 = '2026-12-06T10:00:00.000Z'
const later = (seconds: number) => new Date(Date.parse(T0) + seconds * 1000).toISOString()
const escalationPage: PersonalChain = { userId: 'U1', direct: false, startedAt: T0 }
const directPage: PersonalChain = { userId: 'U1', direct: true, startedAt: T0 }
const state = (patch: Partial<LifecycleState>): LifecycleState => ({ ...initialLifecycle, ...patch })
const user = (userId: string) => ({ kind: 'user' as const, userId, username: userId.toLowerCase() })

describe('planOf', () => {
  test('an empty list is one email, marked as the fallback', () => {
    expect(planOf([])).toEqual([{ kind: 'notify', position: 0, type: 'notify_by_email', fallback: true }])
  })

  test('rules run in position order; gaps stay; a wait without a duration waits 5 minutes', () => {
    expect(
      planOf([
        { position: 7, type: 'notify_by_phone_call', durationSeconds: null },
        { position: 0, type: 'notify_by_sms', durationSeconds: null },
        { position: 3, type: 'wait', durationSeconds: null },
        { position: 5, type: 'wait', durationSeconds: 900 },
      ]),
    ).toEqual([
      { kind: 'notify', position: 0, type: 'notify_by_sms', fallback: false },
      { kind: 'wait', position: 3, seconds: 300 },
      { kind: 'wait', position: 5, seconds: 900 },
      { kind: 'notify', position: 7, type: 'notify_by_phone_call', fallback: false },
    ])
  })

  test('a list of waits only notifies nobody (no fallback: the user chose it)', () => {
    expect(planOf([{ position: 0, type: 'wait', durationSeconds: 60 }])).toEqual([{ kind: 'wait', position: 0, seconds: 60 }])
  })
})

describe('chainStop', () => {
  test('nothing stops a firing group', () => {
    expect(chainStop(initialLifecycle, escalationPage)).toBeNull()
    expect(chainStop(initialLifecycle, directPage)).toBeNull()
  })

  test("an escalation's page stops at an acknowledgement, a silence or a resolve", () => {
    expect(chainStop(state({ acknowledgedAt: later(1), acknowledgedBy: user('U2') }), escalationPage)).toBe('acknowledged')
    expect(chainStop(state({ silencedAt: later(1) }), escalationPage)).toBe('silenced')
    expect(chainStop(state({ resolvedAt: later(1), resolvedBy: { kind: 'system' } }), escalationPage)).toBe('resolved')
  })

  test("a direct page goes on after someone else's ack or a silence, and stops at a resolve", () => {
    expect(chainStop(state({ acknowledgedAt: later(1), acknowledgedBy: user('U2') }), directPage)).toBeNull()
    expect(chainStop(state({ acknowledgedAt: later(1), acknowledgedBy: { kind: 'ops', name: 'ops' } }), directPage)).toBeNull()
    expect(chainStop(state({ silencedAt: later(1) }), directPage)).toBeNull()
    expect(chainStop(state({ resolvedAt: later(1), resolvedBy: user('U2') }), directPage)).toBe('resolved')
  })

  test('a direct page stops when the paged user acknowledged after being paged, not before', () => {
    expect(chainStop(state({ acknowledgedAt: later(1), acknowledgedBy: user('U1') }), directPage)).toBe('acknowledged')
    expect(chainStop(state({ acknowledgedAt: later(-60), acknowledgedBy: user('U1') }), directPage)).toBeNull()
  })
})
