import { ConfigError, loadConfig } from './config'

test('defaults point at the local PostgreSQL and Temporal dev server', () => {
  expect(loadConfig({})).toEqual({
    http: { port: 8080, publicUrl: 'http://localhost:8080', webUrl: 'http://localhost:8080' },
    db: { url: 'postgres://postgres@127.0.0.1:5432/tocsin' },
    temporal: { address: '127.0.0.1:7233', namespace: 'default', taskQueue: 'tocsin-escalations' },
    notifier: { kind: 'log', chatWebhookUrl: null },
    worker: { shutdownGraceMs: 10000 },
    logLevel: 'INFO',
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

test('the error names every bad variable', () => {
  expect(() => loadConfig({ PORT: 'eighty', TOCSIN_NOTIFIER: 'pigeon' })).toThrow(ConfigError)
  expect(() => loadConfig({ PORT: 'eighty', TOCSIN_NOTIFIER: 'pigeon' })).toThrow(/PORT.*TOCSIN_NOTIFIER/)
  expect(() => loadConfig({ TOCSIN_NOTIFIER: 'webhook' })).toThrow(/TOCSIN_NOTIFY_WEBHOOK_URL is required/)
})
