import { sql } from 'kysely'
import { createDb, isDatabaseUnavailable } from './connect'

const withCode = (code: string, message = 'failed') => Object.assign(new Error(message), { code })

describe('isDatabaseUnavailable', () => {
  test.each([
    ['connection refused', withCode('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:5432')],
    ['connection reset', withCode('ECONNRESET')],
    ['both loopback addresses refused (Node 20)', new AggregateError([withCode('ECONNREFUSED'), withCode('ECONNREFUSED')], '')],
    ['socket closed under a query', new Error('Connection terminated unexpectedly')],
    ['connect timeout', new Error('Connection terminated due to connection timeout')],
    ['broken client reused', new Error('Client has encountered a connection error and is not queryable')],
    ['server shutting down (57P01)', withCode('57P01', 'terminating connection due to administrator command')],
    ['server starting up (57P03)', withCode('57P03', 'the database system is starting up')],
    ['connection exception class 08', withCode('08006')],
    ['statement timeout (57014)', withCode('57014', 'canceling statement due to statement timeout')],
    ['too many connections (53300)', withCode('53300')],
    ['wrapped in a cause', new Error('transaction failed', { cause: withCode('ECONNREFUSED') })],
  ])('%s: unavailable', (_what, err) => {
    expect(isDatabaseUnavailable(err)).toBe(true)
  })

  test.each([
    ['a syntax error', withCode('42601', 'syntax error at or near "selec"')],
    ['a unique violation', withCode('23505', 'duplicate key value violates unique constraint')],
    ['a plain bug', new TypeError('cannot read properties of undefined')],
    ['not an error at all', 'ECONNREFUSED'],
    ['nothing', undefined],
  ])('%s: not unavailable', (_what, err) => {
    expect(isDatabaseUnavailable(err)).toBe(false)
  })

  test('a cyclic cause chain ends', () => {
    const err = new Error('loop') as Error & { cause?: unknown }
    err.cause = err
    expect(isDatabaseUnavailable(err)).toBe(false)
  })
})

test('a query to a server that is not there fails at once, as unavailable', async () => {
  const db = createDb('postgres://postgres@127.0.0.1:1/nothing', { max: 1, connectTimeoutMs: 1000 })
  try {
    const started = Date.now()
    const failure = await sql`select 1`.execute(db).then(
      () => undefined,
      (err: unknown) => err,
    )
    expect(isDatabaseUnavailable(failure)).toBe(true)
    expect(Date.now() - started).toBeLessThan(1000)
  } finally {
    await db.destroy()
  }
})
