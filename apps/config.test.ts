import { ConfigError, loadConfig } from './config'

test('defaults point at the local PostgreSQL and Temporal dev server', () => {
  expect(loadConfig({})).toEqual({
    http: { port: 8080, publicUrl: 'http://localhost:8080', webUrl: 'http://localhost:8080' },
    db: { url: 'postgres://postgres@127.0.0.1:5432/tocsin', connectTimeoutMs: 5000, statementTimeoutMs: 30000, poolMax: 10 },
    temporal: { address: '127.0.0.1:7233', namespace: 'default', taskQueue: 'tocsin-escalations' },
    notifier: { kind: 'log', chatWebhookUrl: null },
    worker: { shutdownGraceMs: 10000, healthPort: 8081, maxCachedWorkflows: null },
    health: { inboxAgeBoundSeconds: 60 },
    ingest: { batchSignals: true },
    logLevel: 'INFO',
    outbound: { allow: { cidrs: [], hosts: [] } },
    observability: { temporalMetricsAddress: null, otlpTracesUrl: null },
    channels: { email: null, twilio: null, slack: null },
    links: { secret: null, ttlSeconds: 86400 },
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

test('ingestion sends batched signals unless told not to (rolling upgrade from a release without them)', () => {
  expect(loadConfig({}).ingest.batchSignals).toBe(true)
  expect(loadConfig({ TOCSIN_INGEST_BATCH_SIGNALS: 'false' }).ingest.batchSignals).toBe(false)
  expect(() => loadConfig({ TOCSIN_INGEST_BATCH_SIGNALS: 'no' })).toThrow(/TOCSIN_INGEST_BATCH_SIGNALS/)
})

test('capacity settings: the worker cache and the pool size', () => {
  const config = loadConfig({ TOCSIN_WORKER_MAX_CACHED_WORKFLOWS: '5000', TOCSIN_DB_POOL_MAX: '40' })
  expect(config.worker.maxCachedWorkflows).toBe(5000)
  expect(config.db.poolMax).toBe(40)
  expect(loadConfig({ TOCSIN_WORKER_MAX_CACHED_WORKFLOWS: '0' }).worker.maxCachedWorkflows).toBe(0)
  expect(() => loadConfig({ TOCSIN_WORKER_MAX_CACHED_WORKFLOWS: '-1', TOCSIN_DB_POOL_MAX: '0' })).toThrow(
    /TOCSIN_WORKER_MAX_CACHED_WORKFLOWS.*TOCSIN_DB_POOL_MAX/,
  )
  expect(() => loadConfig({ TOCSIN_DB_POOL_MAX: 'lots' })).toThrow(/TOCSIN_DB_POOL_MAX/)
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

describe('notification channels', () => {
  const twilio = { TOCSIN_TWILIO_ACCOUNT_SID: 'AC123', TOCSIN_TWILIO_AUTH_TOKEN: 'twilio-secret-token', TOCSIN_TWILIO_FROM_NUMBER: '+15005550006' }

  test('each channel is configured by its variables, with defaults for the rest', () => {
    const { channels } = loadConfig({
      TOCSIN_SMTP_URL: 'smtps://pager:smtp-password@mail.example.com:465',
      ...twilio,
      TOCSIN_SLACK_BOT_TOKEN: 'xoxb-1-2-3',
    })
    expect(channels).toEqual({
      email: { url: 'smtps://pager:smtp-password@mail.example.com:465', from: 'Tocsin <tocsin@localhost>' },
      twilio: { baseUrl: 'https://api.twilio.com', accountSid: 'AC123', authToken: 'twilio-secret-token', fromNumber: '+15005550006' },
      slack: { token: 'xoxb-1-2-3', apiUrl: 'https://slack.com/api/', defaultChannel: null },
    })
    expect(Object.isFrozen(channels.twilio)).toBe(true)
  })

  test('optional variables: sender, provider base URLs (one trailing slash for Slack), default channel', () => {
    const { channels } = loadConfig({
      TOCSIN_SMTP_URL: 'smtp://mail.internal:587',
      TOCSIN_EMAIL_FROM: 'Pager <pager@example.com>',
      ...twilio,
      TOCSIN_TWILIO_BASE_URL: 'https://twilio.example.com/',
      TOCSIN_SLACK_BOT_TOKEN: 'xoxb-1',
      TOCSIN_SLACK_API_URL: 'https://slack.example.com/api',
      TOCSIN_SLACK_DEFAULT_CHANNEL: 'C0ONCALL',
    })
    expect(channels.email).toEqual({ url: 'smtp://mail.internal:587', from: 'Pager <pager@example.com>' })
    expect(channels.twilio?.baseUrl).toBe('https://twilio.example.com')
    expect(channels.slack).toEqual({ token: 'xoxb-1', apiUrl: 'https://slack.example.com/api/', defaultChannel: 'C0ONCALL' })
    expect(loadConfig({ TOCSIN_SLACK_BOT_TOKEN: 'xoxb-1', TOCSIN_SLACK_API_URL: 'http://slack.test/api///' }).channels.slack?.apiUrl).toBe(
      'http://slack.test/api/',
    )
  })

  test('a half-configured channel is refused, naming what is missing and why it is needed', () => {
    expect(() => loadConfig({ TOCSIN_TWILIO_ACCOUNT_SID: 'AC123' })).toThrow(
      'invalid configuration: TOCSIN_TWILIO_AUTH_TOKEN, TOCSIN_TWILIO_FROM_NUMBER are required when TOCSIN_TWILIO_ACCOUNT_SID is set',
    )
    const { TOCSIN_TWILIO_FROM_NUMBER: _, ...noNumber } = twilio
    expect(() => loadConfig(noNumber)).toThrow(/TOCSIN_TWILIO_FROM_NUMBER is required when TOCSIN_TWILIO_ACCOUNT_SID, TOCSIN_TWILIO_AUTH_TOKEN are set/)
    expect(() => loadConfig({ TOCSIN_EMAIL_FROM: 'pager@example.com' })).toThrow(/TOCSIN_SMTP_URL is required when TOCSIN_EMAIL_FROM is set/)
    // Every half-configured channel is named at once.
    expect(() => loadConfig({ TOCSIN_SLACK_DEFAULT_CHANNEL: 'C1', TOCSIN_TWILIO_BASE_URL: 'https://twilio.example.com' })).toThrow(
      /TOCSIN_TWILIO_ACCOUNT_SID.*required when TOCSIN_TWILIO_BASE_URL is set; TOCSIN_SLACK_BOT_TOKEN is required when TOCSIN_SLACK_DEFAULT_CHANNEL is set/,
    )
    // Empty counts as unset, as everywhere.
    expect(loadConfig({ TOCSIN_TWILIO_ACCOUNT_SID: '', TOCSIN_SLACK_BOT_TOKEN: '' }).channels).toEqual({ email: null, twilio: null, slack: null })
  })

  test('unusable values are refused without ever quoting a secret', () => {
    const secrets = ['smtp-password', 'short-secret']
    const attempt = () =>
      loadConfig({
        TOCSIN_SMTP_URL: 'http://pager:smtp-password@mail.example.com',
        TOCSIN_LINK_SECRET: 'short-secret',
        TOCSIN_LINK_TTL_SECONDS: '0',
        TOCSIN_SLACK_BOT_TOKEN: 'xoxb-1',
        TOCSIN_SLACK_API_URL: 'ftp://slack.example.com/',
        TOCSIN_EMAIL_FROM: 'no address here',
      })
    expect(attempt).toThrow(ConfigError)
    const message = (() => {
      try {
        attempt()
        return ''
      } catch (err) {
        return (err as Error).message
      }
    })()
    expect(message).toMatch(/TOCSIN_SMTP_URL: expected smtp:\/\//)
    expect(message).toMatch(/TOCSIN_EMAIL_FROM: expected an address/)
    expect(message).toMatch(/TOCSIN_SLACK_API_URL: expected an http\(s\) URL/)
    expect(message).toMatch(/TOCSIN_LINK_SECRET: must be at least 16 characters/)
    expect(message).toMatch(/TOCSIN_LINK_TTL_SECONDS/)
    for (const secret of secrets) expect(message).not.toContain(secret)
    expect(() => loadConfig({ TOCSIN_SMTP_URL: 'smtp://' })).toThrow(/TOCSIN_SMTP_URL/)
    expect(() => loadConfig({ TOCSIN_EMAIL_FROM: 'a@b\r\nBcc: c@d', TOCSIN_SMTP_URL: 'smtp://mail.internal' })).toThrow(/TOCSIN_EMAIL_FROM/)
  })

  test('a provider URL written as a blocked address is refused at start, unless allowed', () => {
    expect(() => loadConfig({ ...twilio, TOCSIN_TWILIO_BASE_URL: 'http://127.0.0.1:8000' })).toThrow(
      'invalid configuration: TOCSIN_TWILIO_BASE_URL: 127.0.0.1 is in a blocked range (loopback 127.0.0.0/8); allow it with TOCSIN_OUTBOUND_ALLOW',
    )
    expect(() => loadConfig({ TOCSIN_SLACK_BOT_TOKEN: 'xoxb-1', TOCSIN_SLACK_API_URL: 'http://169.254.169.254/api/' })).toThrow(/TOCSIN_SLACK_API_URL: 169\.254\.169\.254/)
    const allowed = loadConfig({ ...twilio, TOCSIN_TWILIO_BASE_URL: 'http://127.0.0.1:8000', TOCSIN_OUTBOUND_ALLOW: '127.0.0.1/32' })
    expect(allowed.channels.twilio?.baseUrl).toBe('http://127.0.0.1:8000')
    // The SMTP server is the operator's own: no policy applies to it.
    expect(loadConfig({ TOCSIN_SMTP_URL: 'smtp://127.0.0.1:2525' }).channels.email?.url).toBe('smtp://127.0.0.1:2525')
  })
})

test('links: a secret of 16 characters or more, and how long a link stays valid', () => {
  expect(loadConfig({ TOCSIN_LINK_SECRET: '0123456789abcdef', TOCSIN_LINK_TTL_SECONDS: '3600' }).links).toEqual({ secret: '0123456789abcdef', ttlSeconds: 3600 })
  expect(() => loadConfig({ TOCSIN_LINK_SECRET: '0123456789abcde' })).toThrow(/TOCSIN_LINK_SECRET: must be at least 16 characters/)
  expect(() => loadConfig({ TOCSIN_LINK_TTL_SECONDS: '1.5' })).toThrow(/TOCSIN_LINK_TTL_SECONDS/)
})

test('TOCSIN_NOTIFIER=none: rules without a configured channel are skipped', () => {
  expect(loadConfig({ TOCSIN_NOTIFIER: 'none' }).notifier).toEqual({ kind: 'none', chatWebhookUrl: null })
})
