import {
  AllowListError,
  blockedRangeOf,
  hostIsAllowed,
  isIpLiteral,
  NOTHING_ALLOWED,
  parseAllowList,
  parseCidr,
  parseIp,
  refusalOf,
} from './outbound-policy'

describe('addresses', () => {
  test.each([
    ['127.0.0.1', 4, [127, 0, 0, 1]],
    ['0.0.0.0', 4, [0, 0, 0, 0]],
    ['::1', 6, [...new Array(15).fill(0), 1]],
    ['::', 6, new Array(16).fill(0)],
    ['[fe80::1%eth0]', 6, [0xfe, 0x80, ...new Array(13).fill(0), 1]],
    ['::ffff:10.0.0.1', 6, [...new Array(10).fill(0), 0xff, 0xff, 10, 0, 0, 1]],
    ['2001:db8:0:0:0:0:2:1', 6, [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 1]],
  ])('%s parses', (text, family, bytes) => {
    expect(parseIp(text)).toEqual({ family, bytes })
  })

  test.each(['', '1.2.3', '1.2.3.4.5', '256.0.0.1', '01.2.3.4', '0x7f.0.0.1', '1::2::3', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7::8', '12345::', '1.2.3.4::', 'g::1', 'hooks.example.test'])(
    '%j is not an address',
    (text) => {
      expect(parseIp(text)).toBeNull()
      expect(isIpLiteral(text)).toBe(false)
    },
  )
})

describe('blocked by default', () => {
  test.each([
    // IPv4
    ['0.0.0.0', 'unspecified', '0.0.0.0/8'],
    ['0.1.2.3', 'unspecified', '0.0.0.0/8'],
    ['10.0.0.1', 'private', '10.0.0.0/8'],
    ['10.255.255.255', 'private', '10.0.0.0/8'],
    ['172.16.0.1', 'private', '172.16.0.0/12'],
    ['172.31.255.254', 'private', '172.16.0.0/12'],
    ['192.168.1.1', 'private', '192.168.0.0/16'],
    ['100.64.0.1', 'carrier-grade NAT', '100.64.0.0/10'],
    ['100.127.255.254', 'carrier-grade NAT', '100.64.0.0/10'],
    ['127.0.0.1', 'loopback', '127.0.0.0/8'],
    ['127.255.255.254', 'loopback', '127.0.0.0/8'],
    ['169.254.1.1', 'link-local', '169.254.0.0/16'],
    ['169.254.169.254', 'cloud metadata', '169.254.169.254/32'],
    ['169.254.170.2', 'cloud metadata', '169.254.170.2/32'],
    ['100.100.100.200', 'cloud metadata', '100.100.100.200/32'],
    ['168.63.129.16', 'cloud metadata', '168.63.129.16/32'],
    ['192.0.0.192', 'IETF protocol assignments', '192.0.0.0/24'],
    ['192.0.2.10', 'documentation', '192.0.2.0/24'],
    ['198.51.100.7', 'documentation', '198.51.100.0/24'],
    ['203.0.113.9', 'documentation', '203.0.113.0/24'],
    ['192.88.99.1', '6to4 relay anycast', '192.88.99.0/24'],
    ['198.18.0.1', 'benchmarking', '198.18.0.0/15'],
    ['198.19.255.255', 'benchmarking', '198.18.0.0/15'],
    ['224.0.0.1', 'multicast', '224.0.0.0/4'],
    ['239.255.255.250', 'multicast', '224.0.0.0/4'],
    ['240.0.0.1', 'reserved', '240.0.0.0/4'],
    ['255.255.255.255', 'broadcast', '255.255.255.255/32'],
    // IPv6
    ['::', 'unspecified', '::/128'],
    ['::1', 'loopback', '::1/128'],
    ['[::1]', 'loopback', '::1/128'],
    ['fe80::1', 'link-local', 'fe80::/10'],
    ['febf:ffff::1', 'link-local', 'fe80::/10'],
    ['fec0::1', 'site-local', 'fec0::/10'],
    ['fc00::1', 'unique local (private)', 'fc00::/7'],
    ['fd12:3456::1', 'unique local (private)', 'fc00::/7'],
    ['fd00:ec2::254', 'cloud metadata', 'fd00:ec2::254/128'],
    ['fd20:ce::254', 'cloud metadata', 'fd20:ce::254/128'],
    ['ff02::1', 'multicast', 'ff00::/8'],
    ['100::1', 'discard-only', '100::/64'],
    ['2001:db8::1', 'documentation', '2001:db8::/32'],
    ['3fff::1', 'documentation', '3fff::/20'],
    ['2001::1', 'Teredo', '2001::/32'],
    ['2001:2::1', 'IETF protocol assignments', '2001::/23'],
    ['5f00::1', 'segment routing', '5f00::/16'],
    ['64:ff9b:1::1', 'local-use NAT64', '64:ff9b:1::/48'],
    ['::2', 'reserved', 'outside 2000::/3'],
    ['::10.0.0.1', 'reserved', 'outside 2000::/3'],
    ['4000::1', 'reserved', 'outside 2000::/3'],
    // IPv4 carried in IPv6: judged by the IPv4 address
    ['::ffff:10.0.0.1', 'private', '10.0.0.0/8'],
    ['::ffff:a00:1', 'private', '10.0.0.0/8'],
    ['::ffff:127.0.0.1', 'loopback', '127.0.0.0/8'],
    ['::ffff:169.254.169.254', 'cloud metadata', '169.254.169.254/32'],
    ['0:0:0:0:0:ffff:c0a8:0101', 'private', '192.168.0.0/16'],
    ['64:ff9b::10.0.0.1', 'private through NAT64', '64:ff9b::/96'],
    ['64:ff9b::7f00:1', 'loopback through NAT64', '64:ff9b::/96'],
    ['2002:a9fe:a9fe::1', 'cloud metadata through 6to4', '2002::/16'],
    ['2002:c0a8:101::1', 'private through 6to4', '2002::/16'],
  ])('%s: %s', (address, label, cidr) => {
    expect(blockedRangeOf(address)).toEqual({ label, cidr })
    expect(refusalOf(address, NOTHING_ALLOWED)).toBe(`${address} is in a blocked range (${label} ${cidr})`)
  })

  test.each([
    '1.1.1.1',
    '8.8.8.8',
    '9.255.255.255',
    '11.0.0.1',
    '100.63.255.255',
    '100.128.0.0',
    '172.15.255.255',
    '172.32.0.0',
    '169.253.255.255',
    '192.167.255.255',
    '192.169.0.0',
    '198.17.255.255',
    '198.20.0.0',
    '223.255.255.255',
    '2606:4700:4700::1111',
    '2a00:1450:4007::64',
    '2001:200::1',
    '::ffff:8.8.8.8',
    '64:ff9b::8.8.8.8',
    '2002:808:808::1',
  ])('%s is public', (address) => {
    expect(blockedRangeOf(address)).toBeNull()
    expect(refusalOf(address, NOTHING_ALLOWED)).toBeNull()
  })

  test('what is not an address is refused', () => {
    expect(refusalOf('hooks.example.test', NOTHING_ALLOWED)).toBe('hooks.example.test is not an IP address')
  })

  test('an address resolved from a name is named with it', () => {
    expect(refusalOf('10.1.2.3', NOTHING_ALLOWED, 'hooks.example.test')).toBe(
      'hooks.example.test resolves to 10.1.2.3, which is in a blocked range (private 10.0.0.0/8)',
    )
    expect(refusalOf('8.8.8.8', NOTHING_ALLOWED, 'hooks.example.test')).toBeNull()
  })
})

describe('the allow list', () => {
  test('reads ranges, single addresses and host names, separated by commas or spaces', () => {
    const allow = parseAllowList(' 127.0.0.1/32, 10.0.0.0/8 ,hooks.internal  fd00::/8 192.168.1.7 Hooks.Corp.Internal. *.svc.internal ::1')
    expect(allow.cidrs.map((c) => c.text)).toEqual(['127.0.0.1/32', '10.0.0.0/8', 'fd00::/8', '192.168.1.7/32', '::1/128'])
    expect(allow.hosts).toEqual(['hooks.internal', 'hooks.corp.internal', '*.svc.internal'])
    expect(parseAllowList('')).toEqual(NOTHING_ALLOWED)
  })

  test('host bits of a range are ignored; IPv4-mapped IPv6 ranges are IPv4 ranges', () => {
    expect(parseCidr('10.1.2.3/8')?.text).toBe('10.0.0.0/8')
    expect(parseCidr('::ffff:10.0.0.0/104')?.text).toBe('10.0.0.0/8')
    expect(parseCidr('fd00:ec2::254')?.text).toBe('fd00:ec2::254/128')
  })

  test('every unreadable entry is named', () => {
    expect(() => parseAllowList('10.0.0.0/33, ok.internal, 300.1.1.1, a b/c, fe80::1%eth0, -bad-.internal')).toThrow(AllowListError)
    expect(() => parseAllowList('10.0.0.0/33,ok.internal,300.1.1.1,b/c,fe80::1%eth0,-bad-.internal,*')).toThrow(
      'not an address range or host name: 10.0.0.0/33, 300.1.1.1, b/c, fe80::1%eth0, -bad-.internal, *',
    )
  })

  test('a range lets its blocked addresses through, and nothing else', () => {
    const allow = parseAllowList('127.0.0.1/32,10.0.0.0/8,fd00::/8')
    expect(refusalOf('127.0.0.1', allow)).toBeNull()
    expect(refusalOf('::ffff:127.0.0.1', allow)).toBeNull()
    expect(refusalOf('10.20.30.40', allow)).toBeNull()
    expect(refusalOf('fd00:ec2::254', allow)).toBeNull()
    expect(refusalOf('127.0.0.2', allow)).toBe('127.0.0.2 is in a blocked range (loopback 127.0.0.0/8)')
    expect(refusalOf('::1', allow)).toBe('::1 is in a blocked range (loopback ::1/128)')
    expect(refusalOf('172.16.0.1', allow)).toBe('172.16.0.1 is in a blocked range (private 172.16.0.0/12)')
    expect(refusalOf('169.254.169.254', allow)).toBe('169.254.169.254 is in a blocked range (cloud metadata 169.254.169.254/32)')
    expect(refusalOf('fc00::1', allow)).toBe('fc00::1 is in a blocked range (unique local (private) fc00::/7)')
  })

  test('the metadata address can be allowed explicitly, and only explicitly', () => {
    expect(refusalOf('169.254.169.254', parseAllowList('169.254.0.0/16'))).toBeNull()
    expect(refusalOf('169.254.169.254', parseAllowList('10.0.0.0/8'))).not.toBeNull()
  })

  test('host names match exactly (case and a trailing dot aside), or as subdomains of a *. entry', () => {
    const allow = parseAllowList('hooks.internal,*.svc.internal')
    expect(hostIsAllowed('hooks.internal', allow)).toBe(true)
    expect(hostIsAllowed('HOOKS.internal.', allow)).toBe(true)
    expect(hostIsAllowed('evil.hooks.internal', allow)).toBe(false)
    expect(hostIsAllowed('hooks.internal.evil.test', allow)).toBe(false)
    expect(hostIsAllowed('a.svc.internal', allow)).toBe(true)
    expect(hostIsAllowed('a.b.svc.internal', allow)).toBe(true)
    expect(hostIsAllowed('svc.internal', allow)).toBe(false)
    expect(hostIsAllowed('xsvc.internal', allow)).toBe(false)
    expect(hostIsAllowed('hooks.internal', NOTHING_ALLOWED)).toBe(false)
  })
})
