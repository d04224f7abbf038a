import type { PageTarget } from './program'
import { stepPageOf } from './step-page'

const target = (important: boolean): PageTarget => ({ source: { kind: 'users', userIds: [] }, important })

test('a user reached by two targets is paged once, important if either target is, in the order first reached', () => {
  const { pages, entry } = stepPageOf(
    [target(false), target(true)],
    [{ userIds: ['ann', 'ben'], detail: { schedule_id: 'S1' } }, { userIds: ['ben', 'cy'] }],
    { step_index: 0 },
  )
  expect(pages).toEqual([
    { userId: 'ann', important: false },
    { userId: 'ben', important: true },
    { userId: 'cy', important: true },
  ])
  expect(entry).toEqual({ kind: 'step_triggered', detail: { step_index: 0, user_ids: ['ann', 'ben', 'cy'], important: true, schedule_id: 'S1' } })
})

test('nobody reached skips the step and says why, every target\'s reason joined', () => {
  const { pages, entry } = stepPageOf([target(false), target(false)], [{ userIds: [], emptyReason: 'nobody on call' }, { userIds: [], emptyReason: 'empty group' }], {})
  expect(pages).toEqual([])
  expect(entry).toEqual({ kind: 'step_skipped', detail: { user_ids: [], important: false, reason: 'nobody on call; empty group' } })
})
