import { ConfigError, loadConfig } from './config'

test('defaults point at the local PostgreSQL and Temporal dev server', () => {
  expect(loadConfig({})).toEqual({
    http: { port: 8080, publicUrl: 'http://localhost:8080', webUrl: 'http://localhost:8080' },
    db: { url: 'postgres://postgres@127.0.0.1:5432/tocsin', connectTimeoutMs: 5000, statementTimeoutMs: 30000 },
    temporal: { address: '127.0.0.1:7233', namespace: 'default', taskQueue: 'tocsin-escalations' },
    notifier: { kind: 'log', chatWebhookUrl: null },
    worker: { shutdownGraceMs: 10000, healthPort: 8081 },
    health: { inboxAgeBoundSeconds: 60 },
    logLevel: 'INFO',
    outbound: { allow: { cidrs: [], hosts: [] } },
    observability: { temporalMetricsAddress: null, otlpTracesUrl: null },
  })
})

test('values are coerced, trailing slashes dropped, and the result frozen', () => {
  const config = loadConfig({
    PORT: '9090',
    TOCSIN_PUBLIC_URL: 'https://oncall.example.com/',
    TOCSIN_NOTIFIER: 'webhook',
    TOCSIN_NOTIFY_WEBHOOK_URL: 'https://hooks.example.com/page',
    TOCSIN_LOG_LEVEL: 'warn',
  })
  expect(config.http).toEqual({ port: 9090, publicUrl: 'https://oncall.example.com', webUrl: 'https://oncall.example.com' })
  expect(config.notifier).toEqual({ kind: 'webhook', url: 'https://hooks.example.com/page', timeoutMs: 5000, chatWebhookUrl: null })
  expect(config.logLevel).toBe('WARN')
  expect(Object.isFrozen(config.http)).toBe(true)
})

test('empty variables count as unset', () => {
  expect(loadConfig({ PORT: '', DATABASE_URL: '' }).db.url).toBe('postgres://postgres@127.0.0.1:5432/tocsin')
})

test('resilience settings: worker health port, readiness bound, database timeouts', () => {
  const config = loadConfig({
    TOCSIN_WORKER_HEALTH_PORT: '9091',
    TOCSIN_READY_INBOX_AGE_SECONDS: '2.5',
    TOCSIN_DB_CONNECT_TIMEOUT_MS: '1500',
    TOCSIN_DB_STATEMENT_TIMEOUT_MS: '8000',
  })
  expect(config.worker.healthPort).toBe(9091)
  expect(config.health.inboxAgeBoundSeconds).toBe(2.5)
  expect(config.db).toMatchObject({ connectTimeoutMs: 1500, statementTimeoutMs: 8000 })
  expect(loadConfig({ TOCSIN_WORKER_HEALTH_PORT: '0' }).worker.healthPort).toBe(0)
  expect(() => loadConfig({ TOCSIN_READY_INBOX_AGE_SECONDS: '0', TOCSIN_DB_CONNECT_TIMEOUT_MS: '-1' })).toThrow(
    /TOCSIN_READY_INBOX_AGE_SECONDS.*TOCSIN_DB_CONNECT_TIMEOUT_MS/,
  )
})

test('the error names every bad variable', () => {
  expect(() => loadConfig({ PORT: 'eighty', TOCSIN_NOTIFIER: 'pigeon' })).toThrow(ConfigError)
  expect(() => loadConfig({ PORT: 'eighty', TOCSIN_NOTIFIER: 'pigeon' })).toThrow(/PORT.*TOCSIN_NOTIFIER/)
  expect(() => loadConfig({ TOCSIN_NOTIFIER: 'webhook' })).toThrow(/TOCSIN_NOTIFY_WEBHOOK_URL is required/)
})

test('TOCSIN_OUTBOUND_ALLOW: ranges and host names, every unreadable entry named', () => {
  const { allow } = loadConfig({ TOCSIN_OUTBOUND_ALLOW: '127.0.0.1/32,10.0.0.0/8,hooks.internal' }).outbound
  expect(allow.cidrs.map((c) => c.text)).toEqual(['127.0.0.1/32', '10.0.0.0/8'])
  expect(allow.hosts).toEqual(['hooks.internal'])
  expect(loadConfig({ TOCSIN_OUTBOUND_ALLOW: '' }).outbound.allow).toEqual({ cidrs: [], hosts: [] })
  expect(() => loadConfig({ PORT: 'eighty', TOCSIN_OUTBOUND_ALLOW: '10.0.0.0/33,ok.internal,300.0.0.1' })).toThrow(
    /PORT.*TOCSIN_OUTBOUND_ALLOW: not an address range or host name: 10\.0\.0\.0\/33, 300\.0\.0\.1/,
  )
})

test('a notifier or chat webhook written as a blocked address is refused at start, unless allowed', () => {
  const notifier = { TOCSIN_NOTIFIER: 'webhook', TOCSIN_NOTIFY_WEBHOOK_URL: 'http://127.0.0.1:9000/page' }
  expect(() => loadConfig(notifier)).toThrow(
    'invalid configuration: TOCSIN_NOTIFY_WEBHOOK_URL: 127.0.0.1 is in a blocked range (loopback 127.0.0.0/8); allow it with TOCSIN_OUTBOUND_ALLOW',
  )
  expect(loadConfig({ ...notifier, TOCSIN_OUTBOUND_ALLOW: '127.0.0.1/32' }).notifier).toMatchObject({ url: 'http://127.0.0.1:9000/page' })
  expect(() => loadConfig({ TOCSIN_CHAT_WEBHOOK_URL: 'http://[fd00:ec2::254]/' })).toThrow(
    'TOCSIN_CHAT_WEBHOOK_URL: fd00:ec2::254 is in a blocked range (cloud metadata fd00:ec2::254/128)',
  )
  // A name is judged when it is called (it may resolve differently then).
  expect(loadConfig({ TOCSIN_CHAT_WEBHOOK_URL: 'http://chat.internal/' }).notifier.chatWebhookUrl).toBe('http://chat.internal/')
})
