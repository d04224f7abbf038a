import { ConfigError, loadConfig } from './config'
import { startTracing } from './tracing'

test('the Temporal SDK\'s metrics are exported only when an address is configured', () => {
  expect(loadConfig({}).observability.temporalMetricsAddress).toBeNull()
  expect(loadConfig({ TOCSIN_TEMPORAL_METRICS_ADDRESS: '' }).observability.temporalMetricsAddress).toBeNull()
  expect(loadConfig({ TOCSIN_TEMPORAL_METRICS_ADDRESS: '0.0.0.0:9464' }).observability.temporalMetricsAddress).toBe('0.0.0.0:9464')
  expect(loadConfig({ TOCSIN_TEMPORAL_METRICS_ADDRESS: '[::]:9464' }).observability.temporalMetricsAddress).toBe('[::]:9464')
  for (const bad of ['9464', 'http://0.0.0.0:9464', 'host:port']) {
    expect(() => loadConfig({ TOCSIN_TEMPORAL_METRICS_ADDRESS: bad })).toThrow(ConfigError)
  }
})

test('traces go to the OTLP endpoint of the standard variables, and nowhere without one', () => {
  expect(loadConfig({}).observability.otlpTracesUrl).toBeNull()
  expect(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' }).observability.otlpTracesUrl).toBe('http://collector:4318/v1/traces')
  expect(
    loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://traces.example.com/otlp' }).observability.otlpTracesUrl,
  ).toBe('https://traces.example.com/otlp')
  expect(() => loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'not a url' })).toThrow(ConfigError)
})

test('tracing installs nothing when no endpoint is configured', () => {
  expect(startTracing({ otlpTracesUrl: null, serviceName: 'tocsin-api' })).toBeUndefined()
})
