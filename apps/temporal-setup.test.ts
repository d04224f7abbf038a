import { type Connection } from '@temporalio/client'
import { ensureNamespace, ensureSearchAttributes, NAMESPACE_RETENTION_SECONDS } from './temporal-setup'
import { tocsinSearchAttributes } from '../workflows/search-attributes'

// What @temporalio/client throws for a gRPC status: an Error with `code`, `details` and `metadata`.
function grpcError(code: number, details: string): Error {
  return Object.assign(new Error(`${code} ${details}`), { code, details, metadata: {} })
}
const notFound = () => grpcError(5, 'Namespace default is not found.')

function fakeConnection(overrides: {
  describeNamespace?: jest.Mock
  registerNamespace?: jest.Mock
  listSearchAttributes?: jest.Mock
  addSearchAttributes?: jest.Mock
}) {
  const calls = {
    describeNamespace: overrides.describeNamespace ?? jest.fn().mockResolvedValue({}),
    registerNamespace: overrides.registerNamespace ?? jest.fn().mockResolvedValue({}),
    listSearchAttributes: overrides.listSearchAttributes ?? jest.fn().mockResolvedValue({ customAttributes: {} }),
    addSearchAttributes: overrides.addSearchAttributes ?? jest.fn().mockResolvedValue({}),
  }
  const connection = {
    workflowService: { describeNamespace: calls.describeNamespace, registerNamespace: calls.registerNamespace },
    operatorService: { listSearchAttributes: calls.listSearchAttributes, addSearchAttributes: calls.addSearchAttributes },
  } as unknown as Connection
  return { connection, calls }
}

test('a missing namespace is registered with three days of retention', async () => {
  const { connection, calls } = fakeConnection({ describeNamespace: jest.fn().mockRejectedValue(notFound()) })
  await expect(ensureNamespace(connection, 'default')).resolves.toBe(true)
  expect(NAMESPACE_RETENTION_SECONDS).toBe(259_200)
  const [request] = calls.registerNamespace.mock.calls[0]
  expect(request.namespace).toBe('default')
  expect(Number(request.workflowExecutionRetentionPeriod.seconds)).toBe(259_200)
})

test('an existing namespace is left alone', async () => {
  const { connection, calls } = fakeConnection({})
  await expect(ensureNamespace(connection, 'default')).resolves.toBe(false)
  expect(calls.registerNamespace).not.toHaveBeenCalled()
})

test('a namespace registered by another job in between counts as present', async () => {
  const { connection } = fakeConnection({
    describeNamespace: jest.fn().mockRejectedValue(notFound()),
    registerNamespace: jest.fn().mockRejectedValue(grpcError(6, 'Namespace already exists.')),
  })
  await expect(ensureNamespace(connection, 'default')).resolves.toBe(false)
})

test('other failures are not taken for a missing namespace', async () => {
  const unavailable = grpcError(14, 'connection refused')
  const { connection, calls } = fakeConnection({ describeNamespace: jest.fn().mockRejectedValue(unavailable) })
  await expect(ensureNamespace(connection, 'default')).rejects.toBe(unavailable)
  expect(calls.registerNamespace).not.toHaveBeenCalled()
})

test('search attributes wait out NamespaceNotFound while the server caches catch up, then add only the missing ones', async () => {
  const listSearchAttributes = jest
    .fn()
    .mockRejectedValueOnce(notFound())
    .mockRejectedValueOnce(notFound())
    .mockResolvedValue({ customAttributes: { AlertGroupId: 2 } })
  const { connection, calls } = fakeConnection({ listSearchAttributes })
  const added = await ensureSearchAttributes(connection, 'default')
  const expected = tocsinSearchAttributes.map((key) => key.name).filter((name) => name !== 'AlertGroupId')
  expect(added).toEqual(expected)
  expect(listSearchAttributes).toHaveBeenCalledTimes(3)
  expect(Object.keys(calls.addSearchAttributes.mock.calls[0][0].searchAttributes)).toEqual(expected)
})

test('a namespace that stays unknown fails once the wait is over', async () => {
  const { connection } = fakeConnection({ listSearchAttributes: jest.fn().mockRejectedValue(notFound()) })
  await expect(ensureSearchAttributes(connection, 'nowhere', { namespaceWaitMs: 300 })).rejects.toMatchObject({ code: 5 })
})
