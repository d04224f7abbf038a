// Which addresses Tocsin may connect to when it calls a URL a user typed (outgoing webhooks, iCal calendars, the
// webhook notifier, the chat webhook). By default everything that is not an ordinary public unicast address is
// refused: loopback, private, link-local, carrier-grade NAT, cloud metadata, multicast and reserved ranges, in IPv4
// and IPv6 alike (IPv4 addresses written as IPv6 are judged as the IPv4 address they carry). An operator's allow
// list (address ranges and host names) lets chosen destinations through. Pure: the caller resolves and connects.

export interface IpAddress {
  readonly family: 4 | 6
  /** 4 or 16 bytes, network order. */
  readonly bytes: readonly number[]
}

export interface Cidr extends IpAddress {
  readonly prefix: number
  /** As an operator would write it, for messages. */
  readonly text: string
}

/** Why an address is refused: the range it falls in, named. */
export interface BlockedRange {
  readonly label: string
  readonly cidr: string
}

/** Destinations the operator lets through although they are in a blocked range. */
export interface OutboundAllowList {
  readonly cidrs: readonly Cidr[]
  /** Lower-case host names; `*.example.internal` stands for every name under example.internal. */
  readonly hosts: readonly string[]
}

export const NOTHING_ALLOWED: OutboundAllowList = { cidrs: [], hosts: [] }

/** A call refused by the policy; `message` says which address, and which range it is in. */
export class OutboundRefusedError extends Error {
  override name = 'OutboundRefusedError'
}

export class AllowListError extends Error {
  override name = 'AllowListError'
}

function parseIpv4(text: string): number[] | null {
  const parts = text.split('.')
  if (parts.length !== 4) return null
  const bytes: number[] = []
  for (const part of parts) {
    // Decimal only, no leading zeros: 010.0.0.1 is octal to some parsers and decimal to others.
    if (!/^(0|[1-9][0-9]{0,2})$/.test(part)) return null
    const value = Number(part)
    if (value > 255) return null
    bytes.push(value)
  }
  return bytes
}

function ipv6Groups(part: string, ipv4TailAllowed: boolean): number[] | null {
  if (part === '') return []
  const pieces = part.split(':')
  const groups: number[] = []
  for (const [index, piece] of pieces.entries()) {
    if (ipv4TailAllowed && index === pieces.length - 1 && piece.includes('.')) {
      const v4 = parseIpv4(piece)
      if (!v4) return null
      const [a = 0, b = 0, c = 0, d = 0] = v4
      groups.push((a << 8) | b, (c << 8) | d)
    } else {
      if (!/^[0-9a-f]{1,4}$/i.test(piece)) return null
      groups.push(parseInt(piece, 16))
    }
  }
  return groups
}

function parseIpv6(text: string): number[] | null {
  const [first = '', second, ...more] = text.split('::')
  if (more.length > 0) return null
  const compressed = second !== undefined
  const head = ipv6Groups(first, !compressed)
  const tail = compressed ? ipv6Groups(second, true) : []
  if (!head || !tail) return null
  let groups: number[]
  if (compressed) {
    const missing = 8 - head.length - tail.length
    if (missing < 1) return null
    groups = [...head, ...new Array<number>(missing).fill(0), ...tail]
  } else {
    if (head.length !== 8) return null
    groups = head
  }
  return groups.flatMap((group) => [group >> 8, group & 0xff])
}

/** Parses an IPv4 or IPv6 address (brackets and an IPv6 zone are ignored); null when it is not one. */
export function parseIp(text: string): IpAddress | null {
  let body = text.trim()
  if (body.startsWith('[') && body.endsWith(']')) body = body.slice(1, -1)
  const zone = body.indexOf('%')
  if (zone >= 0) body = body.slice(0, zone)
  if (body.includes(':')) {
    const bytes = parseIpv6(body)
    return bytes ? { family: 6, bytes } : null
  }
  const bytes = parseIpv4(body)
  return bytes ? { family: 4, bytes } : null
}

const MAPPED_PREFIX = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff]

/** `::ffff:a.b.c.d` is the IPv4 address a.b.c.d: sockets connect to it as such. */
function unmapped(ip: IpAddress): IpAddress {
  if (ip.family === 6 && MAPPED_PREFIX.every((byte, index) => ip.bytes[index] === byte)) {
    return { family: 4, bytes: ip.bytes.slice(12) }
  }
  return ip
}

function formatIp(ip: IpAddress): string {
  if (ip.family === 4) return ip.bytes.join('.')
  const groups: string[] = []
  for (let i = 0; i < 16; i += 2) groups.push((((ip.bytes[i] ?? 0) << 8) | (ip.bytes[i + 1] ?? 0)).toString(16))
  return groups.join(':').replace(/(^|:)0(:0)+(:|$)/, '::')
}

function inCidr(ip: IpAddress, cidr: Cidr): boolean {
  if (ip.family !== cidr.family) return false
  let bits = cidr.prefix
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff
    if (((ip.bytes[i] ?? 0) & mask) !== ((cidr.bytes[i] ?? 0) & mask)) return false
  }
  return true
}

/** Parses `10.0.0.0/8`, `fd00::/8`, or a bare address (one host); IPv4-mapped IPv6 ranges become IPv4 ranges. */
export function parseCidr(text: string): Cidr | null {
  const [addressText = '', prefixText, ...rest] = text.trim().split('/')
  if (rest.length > 0) return null
  if (addressText.includes('%')) return null
  const parsed = parseIp(addressText)
  if (!parsed) return null
  const width = parsed.family === 4 ? 32 : 128
  if (prefixText !== undefined && !/^[0-9]{1,3}$/.test(prefixText)) return null
  let prefix = prefixText === undefined ? width : Number(prefixText)
  if (prefix > width) return null
  let ip: IpAddress = parsed
  const mapped = unmapped(parsed)
  if (mapped !== parsed && prefix >= 96) {
    ip = mapped
    prefix -= 96
  }
  const bytes = ip.bytes.map((byte, index) => {
    const bits = Math.min(8, Math.max(0, prefix - index * 8))
    return byte & ((0xff << (8 - bits)) & 0xff)
  })
  return { family: ip.family, bytes, prefix, text: `${formatIp({ family: ip.family, bytes })}/${prefix}` }
}

interface NamedRange {
  readonly cidr: Cidr
  readonly label: string
}

function range(cidr: string, label: string): NamedRange {
  return { cidr: parseCidr(cidr) as Cidr, label }
}

function named(found: NamedRange | undefined): BlockedRange | null {
  return found ? { label: found.label, cidr: found.cidr.text } : null
}

// First match wins: the metadata endpoints sit inside wider ranges and are named as what they are.
const BLOCKED_V4 = [
  range('169.254.169.254/32', 'cloud metadata'),
  range('169.254.170.2/32', 'cloud metadata'),
  range('100.100.100.200/32', 'cloud metadata'),
  range('168.63.129.16/32', 'cloud metadata'),
  range('0.0.0.0/8', 'unspecified'),
  range('10.0.0.0/8', 'private'),
  range('100.64.0.0/10', 'carrier-grade NAT'),
  range('127.0.0.0/8', 'loopback'),
  range('169.254.0.0/16', 'link-local'),
  range('172.16.0.0/12', 'private'),
  range('192.0.0.0/24', 'IETF protocol assignments'),
  range('192.0.2.0/24', 'documentation'),
  range('192.88.99.0/24', '6to4 relay anycast'),
  range('192.168.0.0/16', 'private'),
  range('198.18.0.0/15', 'benchmarking'),
  range('198.51.100.0/24', 'documentation'),
  range('203.0.113.0/24', 'documentation'),
  range('224.0.0.0/4', 'multicast'),
  range('255.255.255.255/32', 'broadcast'),
  range('240.0.0.0/4', 'reserved'),
]

const BLOCKED_V6 = [
  range('fd00:ec2::254/128', 'cloud metadata'),
  range('fd20:ce::254/128', 'cloud metadata'),
  range('::/128', 'unspecified'),
  range('::1/128', 'loopback'),
  range('64:ff9b:1::/48', 'local-use NAT64'),
  range('100::/64', 'discard-only'),
  range('2001::/32', 'Teredo'),
  range('2001::/23', 'IETF protocol assignments'),
  range('2001:db8::/32', 'documentation'),
  range('3fff::/20', 'documentation'),
  range('5f00::/16', 'segment routing'),
  range('fc00::/7', 'unique local (private)'),
  range('fe80::/10', 'link-local'),
  range('fec0::/10', 'site-local'),
  range('ff00::/8', 'multicast'),
]

// Prefixes that carry an IPv4 address in their bytes: the IPv4 address decides.
const NAT64 = range('64:ff9b::/96', 'NAT64')
const SIX_TO_FOUR = range('2002::/16', '6to4')
const GLOBAL_UNICAST = range('2000::/3', 'global unicast')

function blockedRange(ip: IpAddress): BlockedRange | null {
  const address = unmapped(ip)
  if (address.family === 4) return named(BLOCKED_V4.find((r) => inCidr(address, r.cidr)))
  for (const [prefix, offset] of [
    [NAT64, 12],
    [SIX_TO_FOUR, 2],
  ] as const) {
    if (!inCidr(address, prefix.cidr)) continue
    const inner = blockedRange({ family: 4, bytes: address.bytes.slice(offset, offset + 4) })
    return inner ? { label: `${inner.label} through ${prefix.label}`, cidr: prefix.cidr.text } : null
  }
  const found = named(BLOCKED_V6.find((r) => inCidr(address, r.cidr)))
  if (found) return found
  // Everything outside 2000::/3 is unassigned or special-purpose.
  return inCidr(address, GLOBAL_UNICAST.cidr) ? null : { label: 'reserved', cidr: 'outside 2000::/3' }
}

/** The blocked range `address` falls in (null for a public address), judged before any allow list. */
export function blockedRangeOf(address: string): BlockedRange | null {
  const ip = parseIp(address)
  return ip ? blockedRange(ip) : { label: 'not an IP address', cidr: address }
}

function normalizedHost(host: string): string {
  return host.trim().toLowerCase().replace(/\.$/, '')
}

/** The host name is on the allow list, by name or as a subdomain of a `*.` entry. */
export function hostIsAllowed(host: string, allow: OutboundAllowList): boolean {
  const name = normalizedHost(host)
  return allow.hosts.some((entry) => (entry.startsWith('*.') ? name.endsWith(entry.slice(1)) : name === entry))
}

/**
 * Why connecting to `address` is refused, or null when it may be connected to; `host` names the host name it was
 * resolved from, for the message.
 */
export function refusalOf(address: string, allow: OutboundAllowList, host?: string): string | null {
  const subject = host === undefined ? address : `${host} resolves to ${address}, which`
  const ip = parseIp(address)
  if (!ip) return `${subject} is not an IP address`
  const blocked = blockedRange(ip)
  if (!blocked) return null
  const candidate = unmapped(ip)
  if (allow.cidrs.some((cidr) => inCidr(candidate, cidr))) return null
  return `${subject} is in a blocked range (${blocked.label} ${blocked.cidr})`
}

/** True when `host` (as in a URL, IPv6 in brackets or not) is an IP address rather than a name. */
export function isIpLiteral(host: string): boolean {
  return parseIp(host) !== null
}

const HOST_NAME = /^(\*\.)?([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*$/

/**
 * Reads an allow list such as `127.0.0.1/32,10.0.0.0/8,hooks.internal,*.corp.internal` (commas or white space
 * between entries); throws AllowListError naming every entry it cannot read.
 */
export function parseAllowList(text: string): OutboundAllowList {
  const cidrs: Cidr[] = []
  const hosts: string[] = []
  const bad: string[] = []
  for (const entry of text.split(/[\s,]+/).filter((e) => e !== '')) {
    const cidr = parseCidr(entry)
    if (cidr) {
      cidrs.push(cidr)
      continue
    }
    const host = normalizedHost(entry)
    if (!entry.includes('/') && !/^[0-9.]+$/.test(host) && HOST_NAME.test(host)) hosts.push(host)
    else bad.push(entry)
  }
  if (bad.length > 0) throw new AllowListError(`not an address range or host name: ${bad.join(', ')}`)
  return { cidrs, hosts }
}
