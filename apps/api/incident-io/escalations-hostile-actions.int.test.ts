import fc from 'fast-check'
import { acts, anyValue, cancels, couldReassign, database, hostile, own, rawText, reassignBody, respondBody, RUNS, setUpHostileSuite, target, v2 } from '../../../test/incident-io-hostile'

// Hostile input on the actions respond, cancel and reassign: a thousand generated bodies each (and odd ids in the
// path). No 5xx; every refusal is incident.io's error object and writes nothing.

setUpHostileSuite('v2_escalations_hostile_actions')

test(`respond: ${RUNS} generated bodies never act on a live escalation by accident, and ended or acknowledged ones refuse`, async () => {
  const cases = fc.oneof(
    fc.tuple(fc.constant(own.live), respondBody().filter((b) => !acts(b))),
    fc.tuple(target(own.acked, own.cancelled, own.resolved), respondBody()),
  )
  await fc.assert(
    fc.asyncProperty(cases, async ([id, body]) => {
      const { response } = await hostile('POST', `/v2/escalations/${encodeURIComponent(id)}/actions/respond`, body)
      expect(response.status).not.toBe(204)
    }),
    { numRuns: RUNS },
  )
  expect((await v2('GET', `/v2/escalations/${own.live}`)).body.escalation.status).toBe('triggered')
}, 90_000)

test(`cancel: ${RUNS} generated bodies; only an empty body cancels, ended escalations refuse`, async () => {
  const cases = fc.oneof(
    fc.tuple(target(own.live, own.acked), fc.oneof(anyValue, rawText).filter((b) => !cancels(b))),
    fc.tuple(target(own.resolved, own.cancelled), fc.oneof(anyValue, rawText, fc.constant({}))),
  )
  await fc.assert(
    fc.asyncProperty(cases, async ([id, body]) => {
      const { response } = await hostile('POST', `/v2/escalations/${encodeURIComponent(id)}/actions/cancel`, body)
      // Cancelling the cancelled one is the only success: a no-op.
      if (response.status === 204) expect(id).toBe(own.cancelled)
    }),
    { numRuns: RUNS },
  )
  expect((await v2('GET', `/v2/escalations/${own.live}`)).body.escalation.status).toBe('triggered')
  expect((await v2('GET', `/v2/escalations/${own.acked}`)).body.escalation.status).toBe('acked')
}, 90_000)

test(`reassign: ${RUNS} generated bodies; a reassigned escalation refuses every one, a live one every bad one`, async () => {
  const cases = fc.oneof(
    fc.tuple(target(own.live, own.acked), reassignBody().filter((b) => !couldReassign(b))),
    fc.tuple(target(own.reassigned), reassignBody()),
  )
  await fc.assert(
    fc.asyncProperty(cases, async ([id, body]) => {
      const { response } = await hostile('POST', `/v2/escalations/${encodeURIComponent(id)}/actions/reassign`, body)
      expect(response.status).not.toBe(201)
    }),
    { numRuns: RUNS },
  )
  const links = await database().selectFrom('escalations').select('id').where('reassigned_from_id', 'is not', null).execute()
  expect(links).toHaveLength(1)
}, 90_000)
