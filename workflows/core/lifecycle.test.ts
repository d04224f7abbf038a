import { applyAction, escalateNowRefusal, initialLifecycle, isNoOp, publicState, refusal, type LifecycleAction, type LifecycleState, type RefusalCode } from './lifecycle'
import type { Actor } from './types'

const alice: Actor = { kind: 'user', userId: 'UALICE0000001', username: 'alice' }
const at = '2026-03-08T07:30:00.000Z'

const firing = initialLifecycle
const acked = applyAction(firing, { action: 'acknowledge', actor: alice, at })
const resolved = applyAction(firing, { action: 'resolve', actor: alice, at })
const ackedThenResolved = applyAction(acked, { action: 'resolve', actor: alice, at })
const silenced = applyAction(firing, { action: 'silence', actor: alice, at, delaySeconds: 600 })

describe("refusal checks in OnCall's order and answers a code", () => {
  const cases: Array<[string, LifecycleState, LifecycleAction, RefusalCode | null]> = [
    ['ack firing', firing, 'acknowledge', null],
    ['ack acked', acked, 'acknowledge', 'acknowledged'],
    ['ack resolved', resolved, 'acknowledge', 'resolved'],
    // acked is checked before resolved, as OnCall does
    ['ack acked+resolved', ackedThenResolved, 'acknowledge', 'acknowledged'],
    ['unack firing', firing, 'unacknowledge', 'not_acknowledged'],
    ['unack acked+resolved', ackedThenResolved, 'unacknowledge', 'resolved'],
    ['unack acked', acked, 'unacknowledge', null],
    ['resolve resolved', resolved, 'resolve', 'resolved'],
    ['unresolve firing', firing, 'unresolve', 'not_resolved'],
    ['silence acked', acked, 'silence', 'acknowledged'],
    ['unsilence firing', firing, 'unsilence', 'not_silenced'],
    ['unsilence silenced', silenced, 'unsilence', null],
  ]
  test.each(cases)('%s', (_name, state, action, expected) => {
    expect(refusal(state, action)?.code ?? null).toBe(expected)
    if (expected !== null) expect(refusal(state, action)?.action).toBe(action)
  })

  test('a maintenance group refuses with its own code', () => {
    expect(refusal(firing, 'acknowledge', { maintenance: true })).toEqual({ code: 'maintenance', action: 'acknowledge' })
    expect(refusal(firing, 'resolve', { maintenance: true })).toBeNull()
  })
})

describe('applyAction', () => {
  test('public state precedence is resolved > acknowledged > silenced > firing', () => {
    expect(publicState(firing)).toBe('firing')
    expect(publicState(silenced)).toBe('silenced')
    expect(publicState(acked)).toBe('acknowledged')
    expect(publicState(ackedThenResolved)).toBe('resolved')
  })

  test('acknowledge records who and when', () => {
    expect(acked).toMatchObject({ acknowledgedAt: at, acknowledgedBy: alice, resolvedAt: null })
  })

  test('a timed silence ends at an explicit instant; -1 and 0 silence forever', () => {
    expect(silenced.silencedUntil).toBe('2026-03-08T07:40:00.000Z')
    for (const delaySeconds of [-1, 0]) {
      const forever = applyAction(firing, { action: 'silence', actor: alice, at, delaySeconds })
      expect(forever).toMatchObject({ silencedAt: at, silencedUntil: null })
    }
  })

  test('unresolve also unacknowledges; unacknowledge also unsilences', () => {
    expect(applyAction(ackedThenResolved, { action: 'unresolve', actor: alice, at })).toEqual(initialLifecycle)
    const silencedThenAcked: LifecycleState = { ...silenced, acknowledgedAt: at, acknowledgedBy: alice }
    const unacked = applyAction(silencedThenAcked, { action: 'unacknowledge', actor: alice, at })
    expect(unacked).toMatchObject({ acknowledgedAt: null, silencedAt: null, silencedUntil: null })
  })
})

test('cancel ends an escalation as cancelled; a second cancel is allowed and changes nothing; an expired one refuses it', () => {
  const system = { kind: 'system' } as const
  const cancelled = applyAction(initialLifecycle, { action: 'cancel', actor: system, at })
  expect(cancelled).toMatchObject({ resolvedAt: at, resolution: 'cancelled' })
  expect(publicState(cancelled)).toBe('resolved')
  expect(refusal(cancelled, 'cancel')).toBeNull()
  expect(isNoOp(cancelled, 'cancel')).toBe(true)
  expect(refusal(cancelled, 'acknowledge')).toEqual({ code: 'resolved', action: 'acknowledge' })

  const expired = applyAction(initialLifecycle, { action: 'expire', actor: system, at })
  expect(refusal(expired, 'cancel')).toEqual({ code: 'expired', action: 'cancel' })
  expect(refusal(expired, 'acknowledge')).toEqual({ code: 'expired', action: 'acknowledge' })
  expect(escalateNowRefusal(expired)).toEqual({ code: 'expired', action: 'escalate_now' })

  expect(refusal(acked, 'expire')).toEqual({ code: 'acknowledged', action: 'expire' })
  expect(escalateNowRefusal(acked)).toEqual({ code: 'acknowledged', action: 'escalate_now' })
  expect(refusal(acked, 'cancel')).toBeNull()
  expect(escalateNowRefusal(initialLifecycle)).toBeNull()
})
