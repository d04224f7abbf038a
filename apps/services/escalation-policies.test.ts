import { emptySettings, type StepSettings, type StepType } from '../../workflows/oncall/steps'
import { settingsOfNewStep, stepAfterChange } from './escalation-policies'

const step = (type: StepType, settings: Partial<StepSettings>) => ({ type, settings: { ...emptySettings(), ...settings } })

describe('settingsOfNewStep', () => {
  test('keeps only what the type uses; importance only where the type has the variant', () => {
    expect(settingsOfNewStep('notify_persons', { important: true, userIds: ['U1'], durationSeconds: 60 })).toEqual({
      ...emptySettings(),
      important: true,
      userIds: ['U1'],
    })
    expect(settingsOfNewStep('wait', { important: true, durationSeconds: 60, webhookId: 'WH1' })).toEqual({
      ...emptySettings(),
      durationSeconds: 60,
    })
  })
})

describe('stepAfterChange', () => {
  test('important alone keeps the type and sets the importance', () => {
    const next = stepAfterChange(step('notify_persons', { userIds: ['U1'] }), undefined, { important: true })
    expect(next).toEqual({
      type: 'notify_persons',
      settings: { ...emptySettings(), important: true, userIds: ['U1'] },
      written: { important: true },
    })
  })

  test('a type sent without important drops the importance, even the current type', () => {
    const current = step('notify_persons', { important: true, userIds: ['U1'] })
    expect(stepAfterChange(current, 'notify_persons', {})).toMatchObject({ settings: { important: false }, written: { important: false } })
    expect(stepAfterChange(current, 'notify_persons', { important: true })).toMatchObject({ settings: { important: true } })
  })

  test('a type change keeps the settings both types use and clears the others', () => {
    const persons = step('notify_persons', { important: true, userIds: ['U1', 'U2'] })
    expect(stepAfterChange(persons, 'notify_person_next_each_time', { important: true })).toEqual({
      type: 'notify_person_next_each_time',
      settings: { ...emptySettings(), important: true, userIds: ['U1', 'U2'] },
      written: { important: true },
    })
    expect(stepAfterChange(persons, 'wait', { durationSeconds: 120 })).toEqual({
      type: 'wait',
      settings: { ...emptySettings(), durationSeconds: 120 },
      written: { important: false, durationSeconds: 120, userIds: [] },
    })
  })

  test('settings of other types are ignored; a type without the variant is never important', () => {
    const wait = step('wait', { durationSeconds: 60 })
    expect(stepAfterChange(wait, undefined, { important: true, userIds: ['U1'], durationSeconds: 300 })).toEqual({
      type: 'wait',
      settings: { ...emptySettings(), durationSeconds: 300 },
      written: { durationSeconds: 300 },
    })
  })

  test('the settings the request sets are written even when unchanged', () => {
    const window = step('notify_if_time_from_to', { timeFrom: '09:00:00Z', timeTo: '17:00:00Z' })
    expect(stepAfterChange(window, undefined, { timeFrom: '09:00:00Z' }).written).toEqual({ timeFrom: '09:00:00Z' })
  })
})
