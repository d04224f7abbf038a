import { evaluateAlerts, enrichPayload } from './formats'
import { pythonJsonDumps, pythonRegex, pythonStr } from './python'
import { TemplateEngine } from './templates'

// The sandbox and the Python renderings users' existing templates and regexes depend on.

const engine = new TemplateEngine({ jobTimeoutMs: 300, maxOutputChars: 10_000, maxHeapMb: 64 })
afterAll(() => engine.close())

test('json.dumps with Python\'s separators and ensure_ascii', () => {
  expect(pythonJsonDumps({ severity: 'critical', n: [1, 2.5, null, true], 'ü': 'é\u007f"\n' })).toBe(
    '{"severity": "critical", "n": [1, 2.5, null, true], "\\u00fc": "\\u00e9\\u007f\\"\\n"}',
  )
  expect(pythonJsonDumps({ emoji: '😀' })).toBe('{"emoji": "\\ud83d\\ude00"}')
  expect(pythonStr({ a: "it's", b: [false, null] })).toBe(`{'a': "it's", 'b': [False, None]}`)
})

test('Python regex syntax: named groups, backreferences, leading inline flags', () => {
  expect(pythonRegex('(?P<sev>crit)ical (?P=sev)').test('critical crit')).toBe(true)
  expect(pythonRegex('(?i)CRITICAL').test('"severity": "critical"')).toBe(true)
  expect(() => pythonRegex('(unclosed')).toThrow()
})

test('templates render Jinja-style; the prototype chain and process stay out of reach', async () => {
  const results = await engine.run([
    { kind: 'jinja', source: '{{ payload.get("state", "").upper() == "OK" }}', context: { payload: { state: 'ok' } } },
    { kind: 'jinja', source: "{{ ''.constructor.constructor('return process')() }}", context: {} },
    { kind: 'jinja', source: '{{ payload.__proto__ }}{{ constructor }}', context: { payload: {} } },
    { kind: 'jinja', source: '{{ payload.labels | tojson }} {{ payload.x | json_dumps }}', context: { payload: { labels: { a: 1 }, x: { b: 'é' } } } },
  ])
  expect(results[0]).toEqual({ ok: true, value: 'True' })
  expect(results[1]?.ok).toBe(false)
  expect(results[2]).toEqual({ ok: true, value: '' })
  expect(results[3]).toEqual({ ok: true, value: '{"a":1} {"b": "\\u00e9"}' })
})

test('loops, exploding output and catastrophic regexes are stopped; the other jobs of the batch still run', async () => {
  const started = Date.now()
  const results = await engine.run([
    { kind: 'jinja', source: '{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}', context: {} },
    { kind: 'jinja', source: '{{ payload.n }}', context: { payload: { n: 1 } } },
    { kind: 'jinja', source: '{% for i in range(100000000) %}{% endfor %}', context: {} },
    { kind: 'jinja', source: '{% set x = "ab" %}{% for i in range(20) %}{% set x = x + x %}{% endfor %}{{ x }}', context: {} },
    { kind: 'regex', pattern: '(a+)+$', context: { s: 'a'.repeat(40) + 'b' } },
    { kind: 'jinja', source: '{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}', context: { other: 1 } },
    { kind: 'jinja', source: '{{ payload.n + 1 }}', context: { payload: { n: 1 } } },
  ])
  expect(results[0]).toEqual({ ok: false, error: 'Template rendering exceeded 300 ms' })
  expect(results[1]).toEqual({ ok: true, value: '1' })
  expect(results[2]).toMatchObject({ ok: false, error: expect.stringContaining('MAX_RANGE') })
  expect(results[3]).toEqual({ ok: false, error: 'Template output is too long' })
  expect(results[4]).toEqual({ ok: false, error: 'Template rendering exceeded 300 ms' })
  // Same template as the first one: failed at once, without another time-out.
  expect(results[5]).toEqual({ ok: false, error: 'Template rendering exceeded 300 ms' })
  expect(results[6]).toEqual({ ok: true, value: '2' })
  expect(Date.now() - started).toBeLessThan(5000)
  expect(await engine.compileError('{% if %}')).toMatch(/unexpected token/)
  expect(await engine.compileError('{{ ok }}')).toBeUndefined()
})

test('defaults per type: Alertmanager enrichment, grouping key, resolve signal, title and link; first matching route wins', async () => {
  const payload = enrichPayload('alertmanager', {
    status: 'resolved',
    groupKey: 'k',
    groupLabels: { alertname: 'HighCPU', job: 'node' },
    alerts: [{ status: 'resolved', generatorURL: 'http://prom/g' }, { status: 'firing' }],
  })
  expect(payload).toMatchObject({ numFiring: 1, numResolved: 1 })
  const routes = [
    { id: 'R1', isDefault: false, routingType: 'regex' as const, routingRegex: '"job": "db"' },
    { id: 'R2', isDefault: false, routingType: 'regex' as const, routingRegex: '"alertname": "HighCPU"' },
    { id: 'R3', isDefault: false, routingType: 'jinja2' as const, routingRegex: '{{ true }}' },
    { id: 'RD', isDefault: true, routingType: 'regex' as const, routingRegex: null },
  ]
  const [facts] = await evaluateAlerts(engine, { type: 'alertmanager', name: 'am', templates: {}, routes }, [payload])
  expect(facts).toMatchObject({ routeId: 'R2', resolve: true, acknowledge: false, title: 'HighCPU (node)', sourceLink: 'http://prom/g' })
  const [webhook, same, empty] = await evaluateAlerts(engine, { type: 'webhook', name: 'w', templates: { grouping_key: '{{ payload.k }}' }, routes }, [
    { k: 'x', a: 1 },
    { k: 'x', a: 2 },
    { a: 3 },
  ])
  expect(webhook?.routeId).toBe('R3')
  expect(webhook?.distinction).toBe(same?.distinction)
  // An empty key never groups.
  expect(empty?.distinction).not.toBe(webhook?.distinction)
})
