import fc from 'fast-check'
import { seedEscalation, shapeProblems } from '../../../test/incident-io-seed'
import { created, createBody, hostile, own, RUNS, setUpHostileSuite, state, USED_KEY, v2 } from '../../../test/incident-io-hostile'

// Hostile input on POST /v2/escalations: a thousand generated bodies. No 5xx; every refusal is incident.io's error
// object and writes nothing; a success is a new escalation, or the one its key created before.

setUpHostileSuite('v2_escalations_hostile_create')

test(`create: ${RUNS} generated bodies; refusals write nothing, successes and replays answer the escalation`, async () => {
  await fc.assert(
    fc.asyncProperty(createBody(), async (body) => {
      const { response, before } = await hostile('POST', '/v2/escalations', body)
      if (response.status !== 201) return
      const escalation = response.body.escalation
      expect(shapeProblems(escalation, seedEscalation)).toEqual([])
      if (created.has(escalation.id)) {
        // A replay: the key's escalation, nothing written.
        expect(await state()).toEqual(before)
      } else {
        created.add(escalation.id)
        expect(await state()).not.toEqual(before)
      }
    }),
    { numRuns: RUNS },
  )
  // The used key still names the one escalation it created.
  const { body } = await v2('GET', `/v2/escalations?idempotency_key[is]=${USED_KEY}`)
  expect(body.escalations.map((e: any) => e.id)).toEqual([own.live])
}, 90_000)
