import { decide, MAX_NODES_PER_DECISION, startEscalation } from './escalation'
import type { EscalationProgram, ProgramNode } from './program'

// decide() over programs that no dialect compiles today, for the rules that guard the engine itself.

const t0 = new Date('2026-03-02T10:00:00.000Z')
const ref = (index: number) => ({ index, id: `N${index}`, type: 'test' })

test('a loop that never waits stops after MAX_NODES_PER_DECISION nodes instead of running away', () => {
  const skips: ProgramNode[] = Array.from({ length: 200 }, (_, index) => ({ kind: 'skip', ref: ref(index), reason: 'nothing to do' }))
  const program: EscalationProgram = {
    id: 'P',
    name: 'spin',
    nodes: [...skips, { kind: 'repeat', ref: ref(200), to: 0, times: 100 }],
    whenExhausted: 'expire',
    priority: null,
  }
  const decision = decide(startEscalation(program, t0), t0, [], 'k')
  expect(decision.state.finished).toBe(true)
  expect(decision.state.executed).toBeLessThanOrEqual(MAX_NODES_PER_DECISION)
  const stopped = decision.commands.find((c) => c.kind === 'log' && String(c.detail.reason).includes('without waiting'))
  expect(stopped).toBeDefined()
  expect(decision.commands[decision.commands.length - 1]?.kind).toBe('expire')
})
