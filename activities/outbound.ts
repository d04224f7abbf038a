import { lookup as systemLookup } from 'node:dns/promises'
import { request as httpRequest, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http'
import { request as httpsRequest } from 'node:https'
import type { LookupFunction } from 'node:net'
import { Readable, pipeline } from 'node:stream'
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib'
import {
  hostIsAllowed,
  NOTHING_ALLOWED,
  OutboundRefusedError,
  parseIp,
  refusalOf,
  type OutboundAllowList,
} from '../workflows/core/outbound-policy'

// The only way Tocsin calls a URL a user typed. The host name is resolved here, every address is checked against the
// outbound policy, and the socket connects to a checked address only (the connection's own lookup answers with the
// checked addresses), so a name cannot resolve to a public address for the check and a private one for the connect.
// Redirects are followed by hand, each hop checked the same way. TLS still verifies the certificate against the
// host name.

export { OutboundRefusedError }

/** Resolves a host name to its addresses; tests inject one so that no real name is ever resolved. */
export type OutboundLookup = (hostname: string) => Promise<ReadonlyArray<{ readonly address: string; readonly family: number }>>

export interface OutboundOptions {
  readonly allow: OutboundAllowList
  /** Default: the system resolver. */
  readonly lookup?: OutboundLookup
  readonly maxRedirects?: number
}

export interface OutboundRequest {
  readonly method?: string
  readonly headers?: Readonly<Record<string, string>>
  readonly body?: string
  /** Bounds the whole call: resolution, every redirect, and reading the body. */
  readonly signal?: AbortSignal
}

/** A `fetch` for user-supplied URLs; rejects with OutboundRefusedError when the policy refuses a destination. */
export type OutboundFetch = (url: string, request?: OutboundRequest) => Promise<Response>

/** The type of the non-retryable ApplicationFailure an activity throws for a refused call. */
export const OUTBOUND_REFUSED = 'OutboundRefused'

const DEFAULT_MAX_REDIRECTS = 10
const REDIRECTS = new Set([301, 302, 303, 307, 308])
const NULL_BODY = new Set([204, 205, 304])
// Headers that describe the body: a redirect that turns the request into a GET drops them with the body.
const BODY_HEADERS = ['content-type', 'content-length', 'content-encoding', 'content-language', 'content-location']

interface Address {
  readonly address: string
  readonly family: number
}

const systemResolver: OutboundLookup = (hostname) => systemLookup(hostname, { all: true, verbatim: true })

export function createOutboundFetch(options: OutboundOptions): OutboundFetch {
  const resolve = options.lookup ?? systemResolver
  const maxRedirects = options.maxRedirects ?? DEFAULT_MAX_REDIRECTS

  /** The addresses the call may connect to; throws OutboundRefusedError when there are none. */
  async function permittedAddresses(target: URL, signal: AbortSignal | undefined): Promise<{ literal: boolean; addresses: Address[] }> {
    if (target.protocol !== 'http:' && target.protocol !== 'https:') {
      throw new OutboundRefusedError(`${target.protocol} URLs are not called: only http and https`)
    }
    const host = bareHost(target)
    const literal = parseIp(host)
    if (literal) {
      const refusal = refusalOf(host, options.allow)
      if (refusal) throw new OutboundRefusedError(refusal)
      return { literal: true, addresses: [{ address: host, family: literal.family }] }
    }
    const resolved = await abortable(resolve(host), signal)
    if (resolved.length === 0) throw new Error(`${host} did not resolve to any address`)
    // An operator who allowed the name trusts whatever it resolves to.
    if (hostIsAllowed(host, options.allow)) return { literal: false, addresses: [...resolved] }
    const permitted = resolved.filter((a) => refusalOf(a.address, options.allow) === null)
    if (permitted.length === 0) {
      throw new OutboundRefusedError(refusalOf((resolved[0] as Address).address, options.allow, host) as string)
    }
    return { literal: false, addresses: permitted }
  }

  return async (url, request = {}) => {
    const { signal } = request
    signal?.throwIfAborted()
    let target = new URL(url)
    let method = (request.method ?? 'GET').toUpperCase()
    let body = request.body
    const headers: Record<string, string> = { accept: '*/*' }
    for (const [name, value] of Object.entries(request.headers ?? {})) headers[name.toLowerCase()] = value
    for (let redirects = 0; ; redirects++) {
      if (target.username || target.password) throw new TypeError('a URL with credentials cannot be called')
      const { literal, addresses } = await permittedAddresses(target, signal)
      const response = await send(target, literal ? undefined : addresses, method, headers, body, signal)
      const location = response.headers.location
      if (!REDIRECTS.has(response.statusCode ?? 0) || location === undefined) return toResponse(response, method)
      response.destroy()
      if (redirects >= maxRedirects) throw new Error(`more than ${maxRedirects} redirects`)
      const next = new URL(location, target)
      const status = response.statusCode as number
      if ((status === 303 && method !== 'HEAD') || ((status === 301 || status === 302) && method === 'POST')) {
        method = 'GET'
        body = undefined
        for (const name of BODY_HEADERS) delete headers[name]
      }
      if (next.origin !== target.origin) {
        delete headers.authorization
        delete headers.cookie
      }
      target = next
    }
  }
}

/** The default policy (nothing allowed beyond public addresses), resolving through the system. */
export function defaultOutboundFetch(): OutboundFetch {
  return createOutboundFetch({ allow: NOTHING_ALLOWED })
}

/** The URL's host without IPv6 brackets or a trailing dot. */
function bareHost(url: URL): string {
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname
  return host.replace(/\.$/, '')
}

function abortable<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return work
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason)
    if (signal.aborted) return onAbort()
    signal.addEventListener('abort', onAbort, { once: true })
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort))
  })
}

/** The connection's lookup answers with the checked addresses only: it never asks DNS again. */
function pinnedLookup(host: string, addresses: readonly Address[]): LookupFunction {
  return (hostname, options, callback) => {
    const family = typeof options.family === 'number' ? options.family : options.family === 'IPv6' ? 6 : options.family === 'IPv4' ? 4 : 0
    const usable = addresses.filter((a) => hostname === host && (family === 0 || a.family === family))
    const [first] = usable
    if (!first) {
      const err: NodeJS.ErrnoException = new Error(`${hostname} has no checked address to connect to`)
      err.code = 'ENOTFOUND'
      return callback(err, '', 0)
    }
    if (options.all) callback(null, usable.map((a) => ({ address: a.address, family: a.family })))
    else callback(null, first.address, first.family)
  }
}

function send(
  target: URL,
  pinned: readonly Address[] | undefined,
  method: string,
  headers: OutgoingHttpHeaders,
  body: string | undefined,
  signal: AbortSignal | undefined,
): Promise<IncomingMessage> {
  const host = bareHost(target)
  const request = target.protocol === 'https:' ? httpsRequest : httpRequest
  return new Promise((resolve, reject) => {
    const req = request({
      protocol: target.protocol,
      hostname: host,
      port: target.port === '' ? undefined : Number(target.port),
      path: `${target.pathname}${target.search}`,
      method,
      headers,
      // A connection of its own each time: a pooled socket could have been opened under another policy.
      agent: false,
      ...(pinned ? { lookup: pinnedLookup(host, pinned), servername: host } : {}),
      ...(signal ? { signal } : {}),
    })
    req.once('response', resolve)
    // Errors after the response arrived reach the body's reader; settling twice is a no-op.
    req.on('error', reject)
    req.end(body === undefined ? undefined : Buffer.from(body, 'utf8'))
  })
}

function toResponse(message: IncomingMessage, method: string): Response {
  const status = message.statusCode ?? 0
  if (status < 200 || status > 599) {
    message.destroy()
    throw new Error(`unexpected HTTP status ${status}`)
  }
  const headers = new Headers()
  for (let i = 0; i + 1 < message.rawHeaders.length; i += 2) {
    try {
      headers.append(message.rawHeaders[i] as string, message.rawHeaders[i + 1] as string)
    } catch {
      // A header the WHATWG rules cannot hold is dropped, as fetch would refuse the whole response for it.
    }
  }
  const init = { status, headers, ...(validStatusText(message.statusMessage) ? { statusText: message.statusMessage } : {}) }
  if (NULL_BODY.has(status) || method === 'HEAD') {
    message.on('error', () => undefined)
    message.resume()
    return new Response(null, init)
  }
  const decoder = decoderFor(headers.get('content-encoding'))
  const stream: Readable = decoder ? pipeline(message, decoder, () => undefined) : message
  return new Response(Readable.toWeb(stream) as ReadableStream<Uint8Array>, init)
}

function validStatusText(text: string | undefined): text is string {
  return text !== undefined && /^[\t\x20-\x7e\x80-\xff]*$/.test(text)
}

function decoderFor(encoding: string | null) {
  switch (encoding?.trim().toLowerCase()) {
    case 'gzip':
    case 'x-gzip':
      return createGunzip()
    case 'deflate':
      return createInflate()
    case 'br':
      return createBrotliDecompress()
    default:
      return undefined
  }
}
