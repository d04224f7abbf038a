import { emptySettings, MAX_REPEATS_PER_STEP, type StepSnapshot, type StepType } from './steps'
import { simulate } from '../core/simulate'
import { compileChain } from './compile'

const t0 = new Date('2026-03-08T06:59:30.000Z')
const at = (seconds: number) => new Date(t0.getTime() + seconds * 1000).toISOString()

let seq = 0
const step = (type: StepType, settings: Partial<StepSnapshot> = {}): StepSnapshot => ({ ...emptySettings(), policyId: `E${++seq}`, type, ...settings })
// OnCall chains as the engine runs them: compiled to its program.
const chain = (...steps: StepSnapshot[]) => compileChain({ chainId: 'F1', chainName: 'chain', steps })
const paged = (commands: ReturnType<typeof simulate>[number]['commands']) =>
  commands.flatMap((c) => (c.kind === 'notify' ? c.targets.flatMap((t) => (t.source.kind === 'users' ? t.source.userIds : [])) : []))

test('each decision comes at the instant the previous one asked for, until the chain ends', () => {
  const decisions = simulate(chain(step('notify_persons', { userIds: ['A'] }), step('wait', { durationSeconds: 60 }), step('notify_persons', { userIds: ['B'] })), t0)
  expect(decisions.map((d) => [d.at, paged(d.commands), d.finished])).toEqual([
    [at(0), ['A'], false],
    [at(60), ['B'], true],
  ])
})

test('a repeat runs the chain again a bounded number of times, then the simulation ends', () => {
  const decisions = simulate(chain(step('notify_persons', { userIds: ['A'] }), step('wait', { durationSeconds: 300 }), step('repeat_escalation')), t0)
  expect(decisions.flatMap((d) => paged(d.commands))).toHaveLength(MAX_REPEATS_PER_STEP + 1)
  expect(decisions[decisions.length - 1]).toMatchObject({ finished: true, wakeAt: null })
})

test('it stops at a pause (waiting for alerts) and at `until`', () => {
  const paused = simulate(chain(step('notify_if_num_alerts_in_window', { numAlertsInWindow: 3, numMinutesInWindow: 5 }), step('notify_persons', { userIds: ['A'] })), t0)
  expect(paused).toHaveLength(1)
  expect(paused[0]).toMatchObject({ paused: true, wakeAt: null })
  const bounded = simulate(chain(step('wait', { durationSeconds: 60 }), step('notify_persons', { userIds: ['A'] })), t0, { until: new Date(at(30)) })
  expect(bounded.map((d) => d.at)).toEqual([at(0)])
})

test('an empty chain decides nothing', () => {
  expect(simulate(null, t0)).toEqual([])
})
