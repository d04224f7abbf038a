import { applyAction, initialLifecycle, refusal as refusalCode, type LifecycleAction, type LifecycleState } from '../../../workflows/core/lifecycle'
import type { Actor } from '../../../workflows/core/types'
import { refusalText } from './refusals'

const alice: Actor = { kind: 'user', userId: 'UALICE0000001', username: 'alice' }
const at = '2026-03-08T07:30:00.000Z'

// The core returns codes; OnCall's texts come from the OnCall mapper, so both are held to OnCall's wording here.
const refusal = (...args: Parameters<typeof refusalCode>) => {
  const found = refusalCode(...args)
  return found === null ? null : refusalText(found)
}

const firing = initialLifecycle
const acked = applyAction(firing, { action: 'acknowledge', actor: alice, at })
const resolved = applyAction(firing, { action: 'resolve', actor: alice, at })
const ackedThenResolved = applyAction(acked, { action: 'resolve', actor: alice, at })
const silenced = applyAction(firing, { action: 'silence', actor: alice, at, delaySeconds: 600 })

describe('refusal follows OnCall texts and order', () => {
  const cases: Array<[string, LifecycleState, LifecycleAction, string | null]> = [
    ['ack firing', firing, 'acknowledge', null],
    ['ack acked', acked, 'acknowledge', "Can't acknowledge an acknowledged alert group"],
    ['ack resolved', resolved, 'acknowledge', "Can't acknowledge a resolved alert group"],
    // acked is checked before resolved, as OnCall does
    ['ack acked+resolved', ackedThenResolved, 'acknowledge', "Can't acknowledge an acknowledged alert group"],
    ['unack firing', firing, 'unacknowledge', "Can't unacknowledge an unacknowledged alert group"],
    ['unack acked+resolved', ackedThenResolved, 'unacknowledge', "Can't unacknowledge a resolved alert group"],
    ['unack acked', acked, 'unacknowledge', null],
    ['resolve firing', firing, 'resolve', null],
    ['resolve acked', acked, 'resolve', null],
    ['resolve resolved', resolved, 'resolve', "Can't resolve a resolved alert group"],
    ['unresolve firing', firing, 'unresolve', "Can't unresolve an unresolved alert group"],
    ['unresolve resolved', resolved, 'unresolve', null],
    ['silence resolved', resolved, 'silence', "Can't silence a resolved alert group"],
    ['silence acked', acked, 'silence', "Can't silence an acknowledged alert group"],
    ['silence firing', firing, 'silence', null],
    ['unsilence firing', firing, 'unsilence', "Can't unsilence an unsilenced alert group"],
    ['unsilence silenced', silenced, 'unsilence', null],
  ]
  test.each(cases)('%s', (_name, state, action, expected) => {
    expect(refusal(state, action)).toBe(expected)
  })

  test('a maintenance group can be resolved but not acknowledged, un-acknowledged or unresolved', () => {
    const maintenance = { maintenance: true }
    expect(refusal(firing, 'acknowledge', maintenance)).toBe("Can't acknowledge a maintenance alert group")
    expect(refusal(acked, 'unacknowledge', maintenance)).toBe("Can't unacknowledge a maintenance alert group")
    expect(refusal(resolved, 'unresolve', maintenance)).toBe("Can't unresolve a maintenance alert group")
    expect(refusal(firing, 'resolve', maintenance)).toBeNull()
  })
})

test('adding responders to a resolved group', () => {
  expect(refusalText({ code: 'resolved', action: 'add_responders' })).toBe('Cannot add responders for a resolved alert group')
})
