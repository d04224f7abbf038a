import { createLogger } from '../logger'
import { CapturedLogs } from '../../test/observed-stack'
import { activityLogContext, sdkLoggerOf, sdkTelemetry } from './telemetry'

test('an activity\'s alert group and step come from its input, the alert group also from the workflow id', () => {
  const due = { dueAt: '2026-05-01T10:00:00.000Z', stepIndex: 2, stepType: 'notify_persons' }
  expect(activityLogContext('alert-group-I1', [{ alertGroupId: 'I1', step: 'policy:E1', stepDue: due }])).toEqual({ alertGroupId: 'I1', step: 'notify_persons#2' })
  expect(activityLogContext('alert-group-I1', [{ alertGroupId: 'I1', step: 'direct-page' }])).toEqual({ alertGroupId: 'I1', step: 'direct-page' })
  expect(activityLogContext('alert-group-I1', [{ alertGroupId: 'I1', action: 'acknowledge' }])).toEqual({ alertGroupId: 'I1', step: 'lifecycle:acknowledge' })
  expect(activityLogContext('alert-group-I1', [{ alertGroupId: 'I1', triggerType: 'resolve' }])).toEqual({ alertGroupId: 'I1', step: 'webhook:resolve' })
  expect(activityLogContext('alert-group-I2', [{ group: { id: 'I2' }, createdBy: null }])).toEqual({ alertGroupId: 'I2', step: 'created' })
  expect(activityLogContext('alert-group-I1', [{ alertGroupId: 'I1', kind: 'step_triggered', detail: { step_index: 0, step_type: 'notify_persons' } }])).toEqual({
    alertGroupId: 'I1',
    step: 'notify_persons#0',
  })
  expect(activityLogContext('alert-group-I1', [{ alertGroupId: 'I1', kind: 'escalation_finished', detail: {} }])).toEqual({ alertGroupId: 'I1', step: 'timeline:escalation_finished' })
  expect(activityLogContext('alert-group-I1', [{ organizationId: 'O1', routeId: 'R1' }])).toEqual({ alertGroupId: 'I1', step: 'restart' })
  // Before the input is known (the SDK's "Activity started" line), the workflow id still names the group.
  expect(activityLogContext('alert-group-I3', [])).toEqual({ alertGroupId: 'I3' })
  expect(activityLogContext('heartbeat-X1', [{ organizationId: 'O1' }])).toEqual({})
})

test('the SDK\'s log lines become pino JSON at their level, without the activity\'s task token', () => {
  const logs = new CapturedLogs()
  const sdk = sdkLoggerOf(createLogger({ name: 'worker', level: 'INFO', destination: logs }))
  sdk.info('Activity completed', { workflowId: 'alert-group-I1', taskToken: 'Q2hhbmdlTWU=', durationMs: 12 })
  sdk.log('WARN', 'Activity failed', { activityType: 'notifyUser' })
  sdk.debug('below the level', {})
  expect(logs.lines).toEqual([
    expect.objectContaining({ level: 30, msg: 'Activity completed', workflowId: 'alert-group-I1', durationMs: 12 }),
    expect.objectContaining({ level: 40, msg: 'Activity failed', activityType: 'notifyUser' }),
  ])
  expect(logs.text).not.toContain('Q2hhbmdlTWU=')
})

test('the SDK\'s own metrics are exported to Prometheus only when an address is configured', () => {
  expect(sdkTelemetry({ sdkMetricsAddress: null }).metrics).toBeUndefined()
  expect(sdkTelemetry({ sdkMetricsAddress: '0.0.0.0:9464' }).metrics).toEqual({ prometheus: { bindAddress: '0.0.0.0:9464' } })
  expect(sdkTelemetry({ sdkMetricsAddress: null }).logging).toMatchObject({ forward: {} })
})
