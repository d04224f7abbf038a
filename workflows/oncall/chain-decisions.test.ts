import { alertsInWindow, decide, onNewAlert, restartEscalation, startEscalation, type Command, type EscalationState } from '../core/escalation'
import { compileChain } from './compile'
import { emptySettings, type StepSnapshot } from './steps'

const t0 = new Date('2026-03-08T06:59:30.000Z')
const plus = (seconds: number) => new Date(t0.getTime() + seconds * 1000)

let seq = 0
function step(type: StepSnapshot['type'], overrides: Partial<StepSnapshot> = {}): StepSnapshot {
  return { ...emptySettings(), policyId: `E${++seq}`, type, ...overrides }
}
// OnCall chains as the engine runs them: compiled to its program.
const chain = (...steps: StepSnapshot[]) => compileChain({ chainId: 'F1', chainName: 'chain', steps })
const notify = (...userIds: string[]) => step('notify_persons', { userIds })
const wait = (seconds: number) => step('wait', { durationSeconds: seconds })

const notified = (commands: readonly Command[]) =>
  commands.flatMap((c) => (c.kind === 'notify' ? c.targets.flatMap((t) => (t.source.kind === 'users' ? t.source.userIds : [])) : []))
const events = (commands: readonly Command[]) => commands.filter((c) => c.kind === 'log').map((c) => (c as { event: string }).event)

/** Runs the escalation to its end (or to a pause), waking exactly when asked, returning every command. */
function runToEnd(state: EscalationState, alerts: string[] = [], lateBySeconds = 0) {
  const all: Command[] = []
  let now = t0
  for (let i = 0; i < 1000; i++) {
    const d = decide(state, now, alerts, 'k')
    all.push(...d.commands)
    state = d.state
    if (d.wakeAt === null) return { state, commands: all }
    now = new Date(Date.parse(d.wakeAt) + lateBySeconds * 1000)
  }
  throw new Error('did not end')
}

test('consecutive non-wait steps fire together; the end is logged', () => {
  const d = decide(startEscalation(chain(notify('A'), notify('B')), t0), t0, [], 'k')
  expect(notified(d.commands)).toEqual(['A', 'B'])
  expect(events(d.commands)).toEqual(['escalation_finished'])
  expect(d.wakeAt).toBeNull()
  expect(d.state.finished).toBe(true)
})

test('a wait is a timer; deadlines chain from the start, so lateness does not accumulate', () => {
  let state = startEscalation(chain(wait(60), notify('A'), wait(60), notify('B')), t0)
  let d = decide(state, t0, [], 'k')
  expect(d.wakeAt).toBe(plus(60).toISOString())
  expect(notified(d.commands)).toEqual([])
  state = d.state
  d = decide(state, plus(61.5), [], 'k')
  expect(notified(d.commands)).toEqual(['A'])
  expect(d.wakeAt).toBe(plus(120).toISOString())
  d = decide(d.state, plus(120.2), [], 'k')
  expect(notified(d.commands)).toEqual(['B'])
  expect(d.state.finished).toBe(true)
})

test('waking early does nothing and asks for the same instant again', () => {
  const d1 = decide(startEscalation(chain(wait(60), notify('A')), t0), t0, [], 'k')
  const d2 = decide(d1.state, plus(30), [], 'k')
  expect(d2.commands).toEqual([])
  expect(d2.wakeAt).toBe(plus(60).toISOString())
})

test('an unconfigured wait is logged and waits 5 minutes', () => {
  const d = decide(startEscalation(chain(step('wait'), notify('A')), t0), t0, [], 'k')
  expect(events(d.commands)).toEqual(['step_skipped'])
  expect(d.wakeAt).toBe(plus(300).toISOString())
})

test('empty chain finishes at once; no chain at all finishes silently', () => {
  expect(events(decide(startEscalation(chain(), t0), t0, [], 'k').commands)).toEqual(['escalation_finished'])
  const none = decide(startEscalation(null, t0), t0, [], 'k')
  expect(none.commands).toEqual([])
  expect(none.state.finished).toBe(true)
})

test('repeat sends the chain back at most 5 times', () => {
  const a = runToEnd(startEscalation(chain(notify('A'), step('repeat_escalation')), t0))
  expect(notified(a.commands)).toEqual(Array(6).fill('A'))
  expect(events(a.commands).filter((e) => e === 'escalation_repeated')).toHaveLength(5)
  const ab = runToEnd(startEscalation(chain(notify('A'), step('repeat_escalation'), notify('B')), t0))
  expect(notified(ab.commands)).toEqual([...Array(6).fill('A'), 'B'])
})

test('each repeat step keeps its own counter: [A, R1, B, R2] runs A 11 times and B 6 times', () => {
  const r = runToEnd(startEscalation(chain(notify('A'), step('repeat_escalation'), notify('B'), step('repeat_escalation')), t0))
  expect(notified(r.commands).filter((u) => u === 'A')).toHaveLength(11)
  expect(notified(r.commands).filter((u) => u === 'B')).toHaveLength(6)
})

test('repeats with waits keep the planned timeline', () => {
  const r = runToEnd(startEscalation(chain(notify('A'), wait(10), step('repeat_escalation')), t0), [], 0.7)
  expect(notified(r.commands)).toHaveLength(6)
})

test('every effect gets its own key, stable for the same state', () => {
  const state = startEscalation(chain(notify('A'), notify('B')), t0)
  const keys = decide(state, t0, [], 'wf:run').commands.map((c) => c.stepKey)
  expect(keys).toEqual(['wf:run:0', 'wf:run:1', 'wf:run:finished'])
  expect(decide(state, t0, [], 'wf:run').commands.map((c) => c.stepKey)).toEqual(keys)
})

test('resolve ends the escalation and later steps never run', () => {
  const d = decide(startEscalation(chain(step('resolve'), notify('A')), t0), t0, [], 'k')
  expect(d.commands.map((c) => c.kind)).toEqual(['resolve', 'log'])
  expect(notified(d.commands)).toEqual([])
  expect(d.state.finished).toBe(true)
})

describe('notify_if_num_alerts_in_window', () => {
  const threshold = () => step('notify_if_num_alerts_in_window', { numAlertsInWindow: 3, numMinutesInWindow: 1 })
  const at = (s: number) => plus(s).toISOString()

  test('pauses below the threshold, stays paused at it, continues above it', () => {
    const alerts = [at(0), at(10)]
    let d = decide(startEscalation(chain(threshold(), notify('A')), t0), t0, alerts, 'k')
    expect(d.state.paused).toBe(true)
    expect(d.wakeAt).toBeNull()
    expect(events(d.commands)).toEqual(['escalation_paused'])
    alerts.push(at(20))
    d = decide(onNewAlert(d.state, plus(20)), plus(20), alerts, 'k')
    expect(d.state.paused).toBe(true)
    expect(d.commands).toEqual([])
    alerts.push(at(30))
    d = decide(onNewAlert(d.state, plus(30)), plus(30), alerts, 'k')
    expect(notified(d.commands)).toEqual(['A'])
    expect(d.state.paused).toBe(false)
  })

  test('the window is anchored on the newest alert, not on now', () => {
    const s = step('notify_if_num_alerts_in_window', { numAlertsInWindow: 1, numMinutesInWindow: 5 })
    const alerts = [at(0), at(60)]
    const d1 = decide(startEscalation(chain(wait(1800), s, notify('A')), t0), t0, alerts, 'k')
    const d2 = decide(d1.state, plus(1800), alerts, 'k')
    expect(notified(d2.commands)).toEqual(['A'])
  })

  test('alertsInWindow counts from the newest alert back', () => {
    expect(alertsInWindow([at(0), at(200), at(290)], 1)).toBe(1)
    expect(alertsInWindow([at(0), at(250), at(290)], 1)).toBe(2)
    expect(alertsInWindow([at(0), at(200), at(290)], 5)).toBe(3)
    expect(alertsInWindow([], 1)).toBe(0)
  })

  test('a restart resumes a paused escalation instead of starting over', () => {
    const d = decide(startEscalation(chain(notify('B'), threshold(), notify('A')), t0), t0, [at(0)], 'k')
    expect(notified(d.commands)).toEqual(['B'])
    const resumed = restartEscalation(d.state, chain(notify('Z')), plus(100))
    const again = decide(resumed, plus(100), [at(0)], 'k')
    expect(notified(again.commands)).toEqual([])
    expect(again.state.paused).toBe(true)
  })
})

test('notify_if_time_from_to waits for the window, then the next step runs', () => {
  const window = step('notify_if_time_from_to', { timeFrom: '09:00:00Z', timeTo: '17:00:00Z' })
  const d = decide(startEscalation(chain(window, notify('A')), t0), t0, [], 'k')
  expect(events(d.commands)).toEqual(['escalation_waiting'])
  expect(d.wakeAt).toBe('2026-03-08T09:00:00.000Z')
  const later = decide(d.state, new Date('2026-03-08T09:00:00.400Z'), [], 'k')
  expect(notified(later.commands)).toEqual(['A'])
})

test('a restart takes the fresh snapshot and starts from step 1 with counters reset', () => {
  const r = decide(startEscalation(chain(notify('A'), wait(600), notify('B')), t0), t0, [], 'k')
  const restarted = restartEscalation(r.state, chain(notify('A'), wait(600), notify('C')), plus(300))
  expect(restarted).toMatchObject({ nextIndex: 0, repeats: {}, paused: false, dueAt: plus(300).toISOString() })
  expect(restarted.executed).toBe(r.state.executed)
  const d = decide(restarted, plus(300), [], 'k2')
  expect(notified(d.commands)).toEqual(['A'])
  expect(notified(decide(d.state, plus(900), [], 'k2').commands)).toEqual(['C'])
})

test('steps with nothing configured are skipped with a reason and the escalation goes on', () => {
  const d = decide(
    startEscalation(chain(notify(), step('notify_on_call_from_schedule'), step('trigger_webhook'), notify('A')), t0),
    t0,
    [],
    'k',
  )
  expect(events(d.commands)).toEqual(['step_skipped', 'step_skipped', 'step_skipped', 'escalation_finished'])
  expect(notified(d.commands)).toEqual(['A'])
})

test('every command carries the instant its own step was due, also when a late wake-up runs several steps at once', () => {
  const late = plus(900)
  const d = decide(startEscalation(chain(notify('A'), wait(60), notify('B'), wait(600), notify('C')), t0), late, [], 'k')
  expect(d.commands.filter((c) => c.kind === 'notify').map((c) => c.dueAt)).toEqual([t0, plus(60), plus(660)].map((t) => t.toISOString()))
  expect(d.commands.find((c) => c.kind === 'log' && c.event === 'escalation_finished')?.dueAt).toBe(plus(660).toISOString())
})
