import { createDb } from '../../../db/connect'
import { Escalations } from '../../escalations'
import { silentLogger } from '../../logger'
import { openApiDocument } from './openapi'
import { declaredOperations } from './resource'
import { v2Router } from './router'

// The /v2 document is generated from the declared operations and their zod schemas: it lists exactly what is
// served, and its references resolve.

// Building the router declares every operation (nothing connects until a request arrives).
beforeAll(() => {
  v2Router({
    db: createDb('postgres://nobody@127.0.0.1:1/none', { max: 1 }),
    escalations: Escalations.connect({ address: '127.0.0.1:1', namespace: 'default', taskQueue: 'none' }),
    publicUrl: 'https://tocsin.example.test',
    webUrl: 'https://grafana.example.test',
    logger: silentLogger(),
  })
})

type Document = { paths: Record<string, Record<string, any>>; components: { schemas: Record<string, unknown> } }
const document = () => openApiDocument('https://tocsin.example.test') as unknown as Document

test('every declared operation is documented, and nothing else', () => {
  const declared = [...declaredOperations()].flatMap(([path, methods]) => [...methods.keys()].map((m) => `${m} /v2${path.replace(/:(\w+)/g, '{$1}')}`))
  const documented = Object.entries(document().paths).flatMap(([path, item]) => Object.keys(item).map((m) => `${m.toUpperCase()} ${path}`))
  expect(documented.sort()).toEqual(declared.sort())
  expect(documented).toEqual(expect.arrayContaining(['GET /v2/escalation_paths', 'POST /v2/escalation_paths', 'PUT /v2/escalation_paths/{id}', 'DELETE /v2/escalation_paths/{id}']))
})

test('request bodies and answers come from the validating zod schemas; shared parts are components', () => {
  const doc = document()
  const create = doc.paths['/v2/escalation_paths']?.post
  const body = create.requestBody.content['application/json'].schema
  expect(body.required).toEqual(['name', 'path'])
  expect(body.properties.path).toMatchObject({ minItems: 1, items: { $ref: '#/components/schemas/EscalationPathNodeV2' } })
  expect(body.properties.repeat_config.description).toContain('not supported')
  const level = doc.components.schemas.EscalationPathNodeLevelV2 as any
  expect(level.properties.targets).toMatchObject({ minItems: 1, items: { $ref: '#/components/schemas/EscalationPathTargetV2' } })
  expect(level.properties.time_to_ack_seconds).toMatchObject({ type: 'integer', minimum: 1, maximum: 86_400 })
  expect(create.responses['201'].content['application/json'].schema.properties.escalation_path).toEqual({ $ref: '#/components/schemas/EscalationPathV2' })
  expect(Object.keys(create.responses)).toEqual(expect.arrayContaining(['201', '401', '403', '422', '429']))
  expect(create.responses['422'].content['application/json'].schema).toEqual({ $ref: '#/components/schemas/Error' })
})

test('lists document page_size, after and each filter as a deep object', () => {
  for (const [path, item] of Object.entries(document().paths)) {
    for (const [method, op] of Object.entries(item)) {
      const declared = declaredOperations().get(path.slice('/v2'.length).replace(/\{(\w+)\}/g, ':$1'))?.get(method.toUpperCase() as never)
      if (!declared?.list) continue
      const names = op.parameters.map((p: { name: string }) => p.name)
      expect({ path, names }).toEqual({ path, names: ['page_size', 'after', ...Object.keys(declared.list)] })
      for (const parameter of op.parameters.slice(2)) expect(parameter).toMatchObject({ in: 'query', style: 'deepObject', explode: true })
    }
  }
  const list = document().paths['/v2/escalation_paths']?.get
  expect(list.parameters[0]).toEqual({ name: 'page_size', in: 'query', required: false, schema: { type: 'integer', minimum: 1, maximum: 250, default: 25 } })
})

test('every reference resolves, and the document stays small enough to read', () => {
  const doc = document()
  const text = JSON.stringify(doc)
  const refs = [...text.matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)].map(([, id]) => id as string)
  expect(refs.length).toBeGreaterThan(10)
  expect(refs.filter((id) => !(id in doc.components.schemas))).toEqual([])
  expect(text).not.toContain('#/$defs/')
  expect(text.length).toBeLessThan(200_000)
})
