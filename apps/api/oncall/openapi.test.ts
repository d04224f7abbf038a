import { silentLogger } from '../../logger'
import { createDb } from '../../../db/connect'
import { Escalations } from '../../escalations'
import { createApp } from '../app'
import { documentedRoutes, openApiDocument } from './openapi'
import { declaredRoutes } from './router'

// Building the app registers every route (nothing connects until a request arrives).
beforeAll(() => {
  createApp({
    db: createDb('postgres://nobody@127.0.0.1:1/none', { max: 1 }),
    escalations: Escalations.connect({ address: '127.0.0.1:1', namespace: 'default', taskQueue: 'none' }),
    publicUrl: 'https://oncall.example.test',
    webUrl: 'https://grafana.example.test',
    logger: silentLogger(),
  })
})

test('every route the app serves is documented, and nothing else is', () => {
  const served = [...declaredRoutes()].flatMap(([path, methods]) => [...methods].map((m) => `${m} ${path}`)).sort()
  const documented = documentedRoutes()
    .map(([path, method]) => `${method} ${path}`)
    .sort()
  expect(documented).toEqual(served)
})

test('request bodies come from the validating zod schemas', () => {
  const doc = openApiDocument('https://oncall.example.test') as { paths: Record<string, Record<string, any>> }
  const policyBody = doc.paths['/api/v1/escalation_policies/']?.post.requestBody.content['application/json'].schema
  expect(policyBody.properties.type.enum).toContain('notify_next_on_call_from_schedule')
  expect(policyBody.properties.notify_if_time_from.anyOf[0].pattern).toBe('^([01]\\d|2[0-3]):[0-5]\\d:[0-5]\\dZ$')
  const paging = doc.paths['/api/v1/escalation/']?.post.requestBody.content['application/json'].schema
  expect(paging.properties.users.items.required).toEqual(['id', 'important'])
  expect(doc.paths['/api/v1/users/']?.get.parameters.map((p: { name: string }) => p.name)).toEqual(
    expect.arrayContaining(['username', 'email', 'roles', 'short', 'page', 'perpage']),
  )
})

test('the document is stable (review the snapshot when the API changes)', () => {
  expect(openApiDocument('https://oncall.example.test')).toMatchSnapshot()
})
