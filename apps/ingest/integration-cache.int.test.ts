import { softDeleteIntegration } from '../../db/integrations.repo'
import { createOrg, startStack, type Stack } from '../../test/stack'
import { IntegrationTokenCache } from './integration-cache'

// The alert endpoint's token cache on the real database: how long a deleted integration can still be found.

let stack: Stack

beforeAll(async () => {
  stack = await startStack('integration_cache', { worker: false })
})
afterAll(() => stack.stop())

async function webhook(name: string) {
  const org = await createOrg(stack, name)
  const created = (await org.call('POST', '/api/v1/integrations/', { type: 'webhook', name })).body
  return { organizationId: org.organizationId, id: created.id as string, token: (created.link as string).split('/').at(-2) as string }
}

test('a deleted integration is found until its entry expires or the cache is emptied, never after', async () => {
  const cache = new IntegrationTokenCache(stack.db, 1000)
  const integration = await webhook('cached')
  const now = Date.now()
  expect((await cache.get(integration.token, now))?.id).toBe(integration.id)
  await softDeleteIntegration(stack.db, integration.organizationId, integration.id)
  // Deleted behind the cache's back (another process did it): the window.
  expect((await cache.get(integration.token, now + 999))?.id).toBe(integration.id)
  expect(await cache.get(integration.token, now + 1000)).toBeUndefined()

  const other = await webhook('emptied')
  expect((await cache.get(other.token, now))?.id).toBe(other.id)
  await softDeleteIntegration(stack.db, other.organizationId, other.id)
  cache.invalidate()
  expect(await cache.get(other.token, now)).toBeUndefined()
})

test('requests for one token share one lookup, and a lookup in flight when the cache is emptied is not kept', async () => {
  const cache = new IntegrationTokenCache(stack.db, 60_000)
  const integration = await webhook('shared')
  const [first, second] = await Promise.all([cache.get(integration.token), cache.get(integration.token)])
  expect(first).toBe(second)

  const fresh = await webhook('in flight')
  const inFlight = cache.get(fresh.token)
  cache.invalidate()
  await softDeleteIntegration(stack.db, fresh.organizationId, fresh.id)
  await inFlight
  expect(await cache.get(fresh.token)).toBeUndefined()
})
