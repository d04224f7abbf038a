import { z } from 'zod'
import { V2_ERROR_TYPES } from './errors'
import type { FilterOperator, FilterSpec, TimeFilterField, ValueFilterField } from './filters'
import { PAGE_SIZE } from './pagination'
import { declaredOperations, type AnyOperation, type Method } from './resource'

// The OpenAPI 3.1 document of /v2, generated from the operations the routers declared (resource.ts) and their zod
// schemas (z.toJSONSchema, whose draft 2020-12 output is what OpenAPI 3.1 uses). Nothing here lists endpoints:
// declaring an operation documents it.

/** incident.io's error object, as every /v2 failure answers. */
export const v2ErrorSchema = z.object({
  type: z.enum(V2_ERROR_TYPES),
  status: z.int(),
  request_id: z.string().meta({ description: 'Also in the X-Request-Id response header and the request log.' }),
  errors: z.array(
    z.object({
      code: z.string(),
      message: z.string(),
      source: z.object({ field: z.string().meta({ description: 'A path into the request, as path[1].if_else.then_path[0].level.targets' }) }).optional(),
    }),
  ),
  rate_limit: z
    .object({ name: z.string(), limit: z.int(), remaining: z.int(), retry_after: z.string().meta({ description: 'RFC 3339 instant' }) })
    .optional()
    .meta({ description: 'On 429 only.' }),
})

type Components = Record<string, unknown>

/** `$ref`s to `#/$defs/X` made by z.toJSONSchema, pointed at the document's components instead. */
function componentRefs(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(componentRefs)
  if (value === null || typeof value !== 'object') return value
  return Object.fromEntries(
    Object.entries(value).map(([key, inner]) => [
      key,
      key === '$ref' && typeof inner === 'string' ? inner.replace(/^#\/\$defs\//, '#/components/schemas/') : componentRefs(inner),
    ]),
  )
}

/** The JSON schema of a zod schema; sub-schemas with a meta `id` go to `components` once and are referenced. */
function jsonSchema(schema: z.ZodType, components: Components): Record<string, unknown> {
  const { $schema: _ignored, $defs, ...rest } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>
  for (const [id, definition] of Object.entries(($defs ?? {}) as Record<string, unknown>)) components[id] ??= componentRefs(definition)
  return componentRefs(rest) as Record<string, unknown>
}

const WHEN = { type: 'string', description: 'A date YYYY-MM-DD (a whole UTC day) or an RFC 3339 date-time' }

function operatorSchema(field: ValueFilterField | TimeFilterField, operator: FilterOperator): Record<string, unknown> {
  if (field.kind === 'time') {
    return operator === 'date_range' ? { type: 'string', description: 'Two instants separated by ~, both included', example: '2025-01-01~2025-01-31' } : WHEN
  }
  const value = field.values ? { type: 'string', enum: [...field.values] } : { type: 'string', maxLength: 255 }
  return operator === 'one_of' || operator === 'not_in'
    ? { type: 'array', items: value, description: 'Repeat the parameter, or separate values with commas' }
    : value
}

function listParameters(spec: FilterSpec): unknown[] {
  return [
    {
      name: 'page_size',
      in: 'query',
      required: false,
      schema: { type: 'integer', minimum: PAGE_SIZE.min, maximum: PAGE_SIZE.max, default: PAGE_SIZE.default },
    },
    { name: 'after', in: 'query', required: false, description: 'pagination_meta.after of the previous page', schema: { type: 'string' } },
    ...Object.entries(spec).map(([name, field]) => ({
      name,
      in: 'query',
      required: false,
      style: 'deepObject',
      explode: true,
      ...(field.description ? { description: field.description } : {}),
      schema: {
        type: 'object',
        properties: Object.fromEntries(field.operators.map((operator) => [operator, operatorSchema(field, operator)])),
        additionalProperties: false,
      },
    })),
  ]
}

const ERROR_CONTENT = { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } }

function operationDocument(path: string, op: AnyOperation, components: Components): Record<string, unknown> {
  const pathParameters = [...path.matchAll(/:(\w+)/g)].map(([, name]) => ({ name, in: 'path', required: true, schema: { type: 'string' } }))
  const responses: Record<string, unknown> = {}
  for (const [status, description] of Object.entries(op.responses)) {
    const success = status.startsWith('2') && status !== '204' && op.response
    responses[status] = success
      ? { description, content: { 'application/json': { schema: jsonSchema(op.response as z.ZodType, components) } } }
      : status.startsWith('2')
        ? { description }
        : { description, content: ERROR_CONTENT }
  }
  const common: Record<string, string> = {
    '401': 'authentication_error: no API key, or an unknown or revoked one',
    '403': `resource_forbidden: the key's user has a role below ${op.role}`,
    ...(op.body || op.list ? { '422': 'validation_error: one entry per problem, each naming its field' } : {}),
    '429': 'too_many_requests: over a rate limit (Retry-After header, rate_limit in the body)',
  }
  for (const [status, description] of Object.entries(common)) responses[status] ??= { description, content: ERROR_CONTENT }
  return {
    summary: op.summary,
    description: `Needs role ${op.role} or above.${op.description ? ` ${op.description}` : ''}`,
    parameters: [...pathParameters, ...(op.list ? listParameters(op.list) : [])],
    ...(op.body ? { requestBody: { required: !op.optionalBody, content: { 'application/json': { schema: jsonSchema(op.body, components) } } } } : {}),
    responses,
    security: [{ apiKey: [] }],
  }
}

/** The OpenAPI 3.1 document of /v2, with links to `publicUrl`: every operation the /v2 routers declared. */
export function openApiDocument(publicUrl: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {}
  const components: Components = {}
  const error = jsonSchema(v2ErrorSchema, components)
  for (const [path, methods] of declaredOperations()) {
    const item: Record<string, unknown> = {}
    for (const [method, op] of methods as ReadonlyMap<Method, AnyOperation>) item[method.toLowerCase()] = operationDocument(path, op, components)
    paths[`/v2${path.replace(/:(\w+)/g, '{$1}')}`] = item
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Tocsin API (incident.io-compatible)',
      version: '2',
      description:
        'The escalation paths and escalations of incident.io\'s API. Errors are incident.io\'s error object; lists page with page_size and after.',
    },
    servers: [{ url: publicUrl }],
    components: {
      securitySchemes: { apiKey: { type: 'http', scheme: 'bearer', description: 'An API token of the organization: "Authorization: Bearer <token>"' } },
      schemas: { Error: error, ...components },
    },
    paths,
  }
}
