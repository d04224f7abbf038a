import { createServer, type IncomingMessage, type Server } from 'node:http'
import { gzipSync } from 'node:zlib'
import { NOTHING_ALLOWED, parseAllowList } from '../workflows/core/outbound-policy'
import { createOutboundFetch, OutboundRefusedError, type OutboundLookup } from './outbound'

// The guarded fetch against a server on 127.0.0.1. Every address used here is a loopback address and every host name
// resolves through a lookup of the test's own: nothing here can reach another machine or real DNS, even if the guard
// were broken (127.0.0.2 stands for a forbidden address: nothing listens there).

interface Seen {
  method: string
  path: string
  headers: IncomingMessage['headers']
  body: string
}
const seen: Seen[] = []
let server: Server
let port: number

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = ''
    req.on('data', (chunk) => (body += chunk))
    req.on('end', () => {
      const path = req.url ?? ''
      seen.push({ method: req.method ?? '', path, headers: req.headers, body })
      const [route, query] = path.split('?')
      const to = new URLSearchParams(query).get('to') ?? ''
      switch (route) {
        case '/redirect':
          return void res.writeHead(Number(new URLSearchParams(query).get('status') ?? 302), { location: to }).end()
        case '/loop':
          return void res.writeHead(302, { location: '/loop' }).end()
        case '/gzip':
          return void res.writeHead(200, { 'content-encoding': 'gzip' }).end(gzipSync('unzipped'))
        case '/empty':
          return void res.writeHead(204).end()
        case '/slow':
          return void setTimeout(() => res.writeHead(200).end('late'), 5_000).unref()
        default:
          res.writeHead(201, { 'content-type': 'text/plain', 'x-seen': String(seen.length) }).end(`got ${req.method} ${path}`)
      }
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  port = (server.address() as { port: number }).port
})
afterAll(async () => {
  server.closeAllConnections()
  await new Promise((resolve) => server.close(resolve))
})
beforeEach(() => {
  seen.length = 0
})

/** Resolves the names given, counting calls; anything else does not exist. */
function lookupOf(names: Record<string, string[]>): OutboundLookup & { calls: string[] } {
  const calls: string[] = []
  const lookup = async (hostname: string) => {
    calls.push(hostname)
    const found = names[hostname]
    if (!found) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' })
    return found.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }))
  }
  return Object.assign(lookup, { calls })
}

const at = (host: string, path = '/hook') => `http://${host}:${port}${path}`

async function refusal(call: Promise<unknown>): Promise<string> {
  const err = await call.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(err).toBeInstanceOf(OutboundRefusedError)
  return (err as Error).message
}

describe('by default', () => {
  const guarded = createOutboundFetch({ allow: NOTHING_ALLOWED, lookup: lookupOf({ localhost: ['127.0.0.1', '::1'], 'rebind.test': ['127.0.0.1'] }) })

  test.each([
    ['127.0.0.1', '127.0.0.1 is in a blocked range (loopback 127.0.0.0/8)'],
    ['[::1]', '::1 is in a blocked range (loopback ::1/128)'],
    // The URL parser writes these as the addresses they are; the guard judges that address.
    ['[::ffff:127.0.0.1]', '::ffff:7f00:1 is in a blocked range (loopback 127.0.0.0/8)'],
    ['0x7f.1', '127.0.0.1 is in a blocked range (loopback 127.0.0.0/8)'],
    ['2130706433', '127.0.0.1 is in a blocked range (loopback 127.0.0.0/8)'],
    ['localhost', 'localhost resolves to 127.0.0.1, which is in a blocked range (loopback 127.0.0.0/8)'],
    ['rebind.test', 'rebind.test resolves to 127.0.0.1, which is in a blocked range (loopback 127.0.0.0/8)'],
  ])('%s is refused before any connection', async (host, message) => {
    expect(await refusal(guarded(at(host), { method: 'POST', body: '{}' }))).toBe(message)
    expect(seen).toEqual([])
  })

  test('only http and https are called; credentials in the URL are refused as fetch refuses them', async () => {
    expect(await refusal(guarded('ftp://127.0.0.1/calendar.ics'))).toBe('ftp: URLs are not called: only http and https')
    expect(await refusal(guarded('file:///etc/passwd'))).toBe('file: URLs are not called: only http and https')
    await expect(guarded(`http://user:secret@rebind.test:${port}/`)).rejects.toThrow(TypeError)
  })

  test('a name that does not resolve fails as a network error, not a refusal', async () => {
    const err = await guarded(at('nowhere.test')).catch((e: unknown) => e)
    expect(err).not.toBeInstanceOf(OutboundRefusedError)
    expect((err as Error).message).toMatch(/ENOTFOUND nowhere\.test/)
  })
})

describe('with TOCSIN_OUTBOUND_ALLOW', () => {
  test('an allowed range is called like fetch: method, headers, body, status, response headers and text', async () => {
    const guarded = createOutboundFetch({ allow: parseAllowList('127.0.0.1/32') })
    const response = await guarded(at('127.0.0.1', '/hook?x=1'), {
      method: 'post',
      headers: { 'Content-Type': 'application/json', 'idempotency-key': 'k1' },
      body: '{"é": 1}',
    })
    expect(response.status).toBe(201)
    expect(response.ok).toBe(true)
    expect(response.headers.get('content-type')).toBe('text/plain')
    expect(await response.text()).toBe('got POST /hook?x=1')
    expect(seen).toHaveLength(1)
    expect(seen[0]).toMatchObject({ method: 'POST', path: '/hook?x=1', body: '{"é": 1}' })
    expect(seen[0]?.headers).toMatchObject({ 'content-type': 'application/json', 'idempotency-key': 'k1', 'content-length': '9' })
  })

  test('an allowed host name lets through whatever it resolves to; other names and addresses stay refused', async () => {
    const guarded = createOutboundFetch({ allow: parseAllowList('hooks.internal'), lookup: lookupOf({ 'hooks.internal': ['127.0.0.1'], 'other.test': ['127.0.0.1'] }) })
    expect(await (await guarded(at('hooks.internal'))).text()).toBe('got GET /hook')
    expect(seen[0]?.headers.host).toBe(`hooks.internal:${port}`)
    expect(await refusal(guarded(at('other.test')))).toMatch(/^other\.test resolves to 127\.0\.0\.1, which is in a blocked range/)
    expect(await refusal(guarded(at('127.0.0.1')))).toMatch(/^127\.0\.0\.1 is in a blocked range/)
    expect(seen).toHaveLength(1)
  })

  test('the connection goes to the address that was checked: the name is resolved once, never again', async () => {
    // The first answer is allowed; any later one is not (and nothing listens there).
    let answers = 0
    const flipping: OutboundLookup = async () => [{ address: answers++ === 0 ? '127.0.0.1' : '127.0.0.2', family: 4 }]
    const guarded = createOutboundFetch({ allow: parseAllowList('127.0.0.1/32'), lookup: flipping })
    expect(await (await guarded(at('flip.test'))).text()).toBe('got GET /hook')
    expect(answers).toBe(1)
  })

  test('of several addresses only the allowed ones are connected to', async () => {
    const lookup = lookupOf({ 'mixed.test': ['127.0.0.2', '127.0.0.1'], 'blocked.test': ['127.0.0.2', '127.0.0.3'] })
    const guarded = createOutboundFetch({ allow: parseAllowList('127.0.0.1/32'), lookup })
    expect((await guarded(at('mixed.test'))).status).toBe(201)
    expect(await refusal(guarded(at('blocked.test')))).toBe(
      'blocked.test resolves to 127.0.0.2, which is in a blocked range (loopback 127.0.0.0/8)',
    )
    expect(seen).toHaveLength(1)
  })
})

describe('redirects are followed hop by hop, each hop checked', () => {
  const lookup = lookupOf({ 'hooks.internal': ['127.0.0.1'], 'rebind.test': ['127.0.0.2'] })
  const redirect = (to: string, status = 302) => at('hooks.internal', `/redirect?status=${status}&to=${encodeURIComponent(to)}`)

  test('from an allowed host to a blocked address, or a name that resolves to one: refused, the second hop never made', async () => {
    const guarded = createOutboundFetch({ allow: parseAllowList('hooks.internal'), lookup })
    expect(await refusal(guarded(redirect(at('127.0.0.1', '/secret')), { method: 'POST', body: 'x' }))).toBe(
      '127.0.0.1 is in a blocked range (loopback 127.0.0.0/8)',
    )
    expect(await refusal(guarded(redirect(at('127.0.0.2', '/secret'))))).toBe('127.0.0.2 is in a blocked range (loopback 127.0.0.0/8)')
    expect(await refusal(guarded(redirect(at('rebind.test', '/secret'), 307)))).toBe(
      'rebind.test resolves to 127.0.0.2, which is in a blocked range (loopback 127.0.0.0/8)',
    )
    expect(seen.map((s) => s.path.split('?')[0])).toEqual(['/redirect', '/redirect', '/redirect'])
  })

  test('allowed hops are followed as fetch follows them', async () => {
    const guarded = createOutboundFetch({ allow: parseAllowList('hooks.internal,127.0.0.1/32'), lookup })
    const headers = { authorization: 'Bearer s3cret', 'content-type': 'application/json' }
    // 303 (and 301/302 after a POST) turn the request into a GET without its body.
    expect(await (await guarded(redirect(at('hooks.internal', '/after-303'), 303), { method: 'POST', headers, body: '{"a":1}' })).text()).toBe(
      'got GET /after-303',
    )
    expect(seen[1]).toMatchObject({ method: 'GET', body: '' })
    expect(seen[1]?.headers['content-type']).toBeUndefined()
    expect(seen[1]?.headers.authorization).toBe('Bearer s3cret')
    // 307 keeps the method and body; another origin does not get the credentials.
    seen.length = 0
    expect(await (await guarded(redirect(at('127.0.0.1', '/after-307'), 307), { method: 'PUT', headers, body: '{"a":1}' })).text()).toBe(
      'got PUT /after-307',
    )
    expect(seen[1]).toMatchObject({ method: 'PUT', body: '{"a":1}' })
    expect(seen[1]?.headers.authorization).toBeUndefined()
  })

  test('a redirect loop ends with an error', async () => {
    const guarded = createOutboundFetch({ allow: parseAllowList('127.0.0.1/32'), maxRedirects: 3 })
    await expect(guarded(at('127.0.0.1', '/loop'))).rejects.toThrow('more than 3 redirects')
    expect(seen).toHaveLength(4)
  })
})

describe('responses', () => {
  const guarded = createOutboundFetch({ allow: parseAllowList('127.0.0.1/32') })

  test('a compressed body is decoded; a 204 has no body', async () => {
    expect(await (await guarded(at('127.0.0.1', '/gzip'))).text()).toBe('unzipped')
    const empty = await guarded(at('127.0.0.1', '/empty'))
    expect(empty.status).toBe(204)
    expect(empty.body).toBeNull()
  })

  test('the signal bounds the call', async () => {
    const started = Date.now()
    await expect(guarded(at('127.0.0.1', '/slow'), { signal: AbortSignal.timeout(200) })).rejects.toThrow()
    expect(Date.now() - started).toBeLessThan(4_000)
  })
})
