import { AlertGroupRun } from './alert-group-run'
import type { AlertGroupRecord } from './core/types'
import type { ChainSnapshot } from './oncall/steps'
import { emptySettings } from './oncall/steps'

const createdAt = '2026-03-08T07:00:00.000Z'
const group: AlertGroupRecord = {
  id: 'I1',
  organizationId: 'O1',
  integrationId: 'C1',
  routeId: 'R1',
  teamId: null,
  title: 'disk full',
  message: null,
  sourceUrl: null,
  workflowId: 'alert-group-I1',
  createdAt,
  firstAlert: { id: 'A1', payload: {} },
}
const snapshot: ChainSnapshot = { chainId: 'F1', chainName: 'c', steps: [{ ...emptySettings(), policyId: 'E1', type: 'notify_persons', userIds: ['U1'] }] }
const alice = { kind: 'user', userId: 'U1', username: 'alice' } as const
const now = new Date('2026-03-08T07:00:05.000Z')

test('deadlines count from the group creation, and keys from the first run of the execution', () => {
  const run = new AlertGroupRun({ alertGroup: group, createdBy: null, directPages: [], escalation: snapshot }, 'run-1', now)
  expect(run.prefix).toBe('alert-group-I1:run-1')
  expect(run.escalation.dueAt).toBe(createdAt)
})

test('an applied action carries the state it produced and a key per version', () => {
  const run = new AlertGroupRun({ alertGroup: group, createdBy: null, directPages: [], escalation: snapshot }, 'run-1', now)
  const acked = run.apply('acknowledge', alice, now.toISOString())
  expect(acked).toMatchObject({ state: 'acknowledged', version: 1, idempotencyKey: 'alert-group-I1:run-1:action:1' })
  expect(run.refusalOf('acknowledge')).toEqual({ code: 'acknowledged', action: 'acknowledge' })
  run.apply('unacknowledge', alice, now.toISOString())
  expect(run.takeRestart()).toBe(true)
  expect(run.takeRestart()).toBe(false)
  expect(run.restarts).toBe(1)
})

test('a redelivered alert counts once', () => {
  const run = new AlertGroupRun({ alertGroup: group, createdBy: null, directPages: [], escalation: snapshot }, 'run-1', now)
  run.addAlert({ alertId: 'A2', receivedAt: now.toISOString() }, now)
  run.addAlert({ alertId: 'A2', receivedAt: now.toISOString() }, now)
  expect(run.alertsCount).toBe(2)
  expect(run.alertTimes).toEqual([createdAt, now.toISOString()])
})

test('only the run started for an unresolve accepts it, and only once', () => {
  const reopened = new AlertGroupRun(
    { alertGroup: group, createdBy: null, directPages: [], escalation: snapshot, reopen: { resolvedAt: createdAt, lifecycleVersion: 4 } },
    'run-2',
    now,
  )
  expect(reopened.resolved).toBe(true)
  expect(reopened.unresolveRefusal()).toBeNull()
  expect(reopened.apply('unresolve', alice, now.toISOString()).version).toBe(5)
  expect(reopened.unresolveRefusal()).toEqual({ code: 'not_resolved', action: 'unresolve' })
  const running = new AlertGroupRun({ alertGroup: group, createdBy: null, directPages: [], escalation: snapshot }, 'run-1', now)
  running.apply('resolve', alice, now.toISOString())
  expect(running.unresolveRefusal()).toEqual({ code: 'still_finishing', action: 'unresolve' })
})

test('continuing as new carries every counter', () => {
  const run = new AlertGroupRun({ alertGroup: group, createdBy: null, directPages: [], escalation: snapshot }, 'run-1', now)
  run.nextResponders()
  run.notificationsSent = 3
  const next = new AlertGroupRun(run.continuation(), 'run-ignored', now)
  expect(next.status(0)).toEqual(run.status(0))
  expect(next.prefix).toBe(run.prefix)
  expect(next.nextResponders().step).toBe('responders-2')
})

test('a state carried from a run that decided over OnCall steps (before programs) continues over its compiled program', () => {
  const first = new AlertGroupRun({ alertGroup: group, createdBy: null, directPages: [], escalation: snapshot }, 'run-1', now)
  const { program, ...rest } = first.escalation
  const legacy = { ...rest, snapshot }
  const carried = { ...first.continuation().carried!, escalation: legacy as never }
  const resumed = new AlertGroupRun({ alertGroup: group, createdBy: null, directPages: [], escalation: null, carried }, 'run-2', now)
  expect(resumed.escalation.program).toEqual(program)
  expect(resumed.decideNow(now).commands.filter((c) => c.kind === 'notify')).toHaveLength(1)
})

test('a frozen program (an incident.io path) is what restarts run again; an OnCall chain restarts from its route', () => {
  const path = new AlertGroupRun({ alertGroup: group, createdBy: null, directPages: [], escalation: null, program: { id: 'P1', name: 'p', nodes: [], whenExhausted: 'expire', priority: 'P1' } }, 'r', now)
  expect(path.restartsFromRoute).toBe(false)
  expect(path.frozenProgram?.id).toBe('P1')
  expect(path.continuation().program?.id).toBe('P1')
  const chain = new AlertGroupRun({ alertGroup: group, createdBy: null, directPages: [], escalation: snapshot }, 'r', now)
  expect(chain.restartsFromRoute).toBe(true)
})
