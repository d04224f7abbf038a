import { createHash, randomUUID } from 'node:crypto'
import { pythonStr } from './python'
import { isTruthy } from '../../workflows/core/truthy'
import { type TemplateEngine, type TemplateJob, type TemplateResult } from './templates'

// OnCall's per-type defaults (engine/config_integrations/*.py), computed natively; a template the user sets
// replaces the default and runs in the sandbox.

/** Types that can be created through the API (OnCall's INSTALLED_ONCALL_INTEGRATIONS, minus email ingestion). */
export const CREATABLE_TYPES = [
  'grafana_alerting',
  'webhook',
  'alertmanager',
  'formatted_webhook',
  'kapacitor',
  'elastalert',
  'maintenance',
  'manual',
  'zabbix',
  'grafana',
] as const
/** Types without an HTTP endpoint: their `link` is null. */
export const LINKLESS_TYPES = new Set(['manual', 'maintenance', 'inbound_email'])
const ALERTMANAGER_LIKE = new Set(['alertmanager', 'grafana_alerting', 'grafana'])

export interface ChannelTemplates {
  title?: string | null
  message?: string | null
  image_url?: string | null
}

/** As stored in integrations.templates: only what the user set; absent or null means OnCall's default. */
export interface StoredTemplates {
  grouping_key?: string | null
  resolve_signal?: string | null
  acknowledge_signal?: string | null
  source_link?: string | null
  [channel: string]: ChannelTemplates | string | null | undefined
}

export interface RouteRule {
  readonly id: string
  readonly isDefault: boolean
  readonly routingType: 'regex' | 'jinja2'
  readonly routingRegex: string | null
}

export interface IntegrationRules {
  readonly type: string
  readonly name: string
  readonly templates: StoredTemplates
  /** In OnCall's order: non-default by position, then the default route. */
  readonly routes: readonly RouteRule[]
}

export interface AlertFacts {
  readonly routeId: string
  /** MD5 of the rendered grouping key, as OnCall's distinction. */
  readonly distinction: string
  readonly resolve: boolean
  readonly acknowledge: boolean
  readonly title: string | null
  readonly sourceLink: string | null
}

const TITLE_MAX = 1024
const LINK_MAX = 2048

/** OnCall adds numFiring/numResolved to Alertmanager payloads that lack them, before storing. */
export function enrichPayload(type: string, payload: unknown): unknown {
  if (!ALERTMANAGER_LIKE.has(type) || !isRecord(payload) || 'numFiring' in payload) return payload
  const alerts = Array.isArray(payload.alerts) ? payload.alerts : []
  const status = (a: unknown) => (isRecord(a) ? a.status : undefined)
  return {
    ...payload,
    numFiring: alerts.filter((a) => status(a) === 'firing').length,
    numResolved: alerts.filter((a) => status(a) === 'resolved').length,
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}

const get = (value: unknown, key: string): unknown => (isRecord(value) ? value[key] : undefined)
const asText = (value: unknown): string | null =>
  value === undefined || value === null ? null : typeof value === 'string' ? value : pythonStr(value)

interface Defaults {
  groupingKey: string
  resolve: boolean
  title: string | null
  sourceLink: string | null
}

function defaults(type: string, payload: unknown): Defaults {
  if (ALERTMANAGER_LIKE.has(type)) {
    const groupLabels = get(payload, 'groupLabels')
    const labels = isRecord(groupLabels) ? { ...groupLabels } : {}
    const alertname = labels.alertname
    delete labels.alertname
    const rest = Object.values(labels).map((v) => asText(v) ?? '')
    const title = `${asText(alertname) ?? ''}${rest.length > 0 ? ` (${rest.join(', ')})` : ''}`.trim()
    const alerts = get(payload, 'alerts')
    return {
      groupingKey: asText(get(payload, 'groupKey')) ?? '',
      resolve: get(payload, 'status') === 'resolved',
      title: title || null,
      sourceLink: asText(get(Array.isArray(alerts) ? alerts[0] : undefined, 'generatorURL')),
    }
  }
  if (type === 'formatted_webhook') {
    return {
      groupingKey: asText(get(payload, 'alert_uid')) ?? '',
      resolve: String(get(payload, 'state') ?? '').toUpperCase() === 'OK',
      title: asText(get(payload, 'title')),
      sourceLink: asText(get(payload, 'link_to_upstream_details')),
    }
  }
  // webhook and the other generic types: the whole payload is the key, so only identical payloads group.
  return {
    groupingKey: pythonStr(payload),
    resolve: String(get(payload, 'state') ?? '').toUpperCase() === 'OK',
    title: 'Incident',
    sourceLink: asText(get(payload, 'url')),
  }
}

const custom = (value: unknown): string | undefined => (typeof value === 'string' && value.length > 0 ? value : undefined)

/** Routes each payload (first match wins) and renders its grouping key, signals, title and link. */
export async function evaluateAlerts(
  engine: TemplateEngine,
  rules: IntegrationRules,
  payloads: readonly unknown[],
): Promise<AlertFacts[]> {
  const jobs: TemplateJob[] = []
  const plans = payloads.map((payload) => {
    const context = { payload, integration_name: rules.name }
    const add = (job: TemplateJob) => jobs.push(job) - 1
    const jinja = (source: string | undefined) => (source === undefined ? undefined : add({ kind: 'jinja', source, context }))
    const routeJobs = rules.routes
      .filter((r) => !r.isDefault && r.routingRegex !== null)
      .map((r) => ({
        id: r.id,
        job: r.routingType === 'regex' ? add({ kind: 'regex', pattern: r.routingRegex as string, context: payload }) : jinja(r.routingRegex as string),
      }))
    const web = rules.templates.web
    return {
      payload,
      routeJobs,
      groupingKey: jinja(custom(rules.templates.grouping_key)),
      resolve: jinja(custom(rules.templates.resolve_signal)),
      acknowledge: jinja(custom(rules.templates.acknowledge_signal)),
      sourceLink: jinja(custom(rules.templates.source_link)),
      title: jinja(custom(isRecord(web) ? web.title : undefined)),
    }
  })
  const results = await engine.run(jobs)
  const at = (i: number | undefined): TemplateResult | undefined => (i === undefined ? undefined : results[i])
  const defaultRoute = rules.routes.find((r) => r.isDefault)
  if (!defaultRoute) throw new Error('integration without a default route')

  return plans.map((plan) => {
    const base = defaults(rules.type, plan.payload)
    const matched = plan.routeJobs.find((r) => {
      const result = at(r.job)
      return result?.ok === true && isTruthy(result.value)
    })
    const keyResult = at(plan.groupingKey)
    // A failing grouping template keys on its error text: broken alerts group together instead of flooding.
    const key = keyResult === undefined ? base.groupingKey : keyResult.ok ? keyResult.value.trim() : `template error: ${keyResult.error}`
    const signal = (i: number | undefined, fallback: boolean) => {
      const result = at(i)
      return result === undefined ? fallback : result.ok && isTruthy(result.value)
    }
    const text = (i: number | undefined, fallback: string | null, max: number) => {
      const result = at(i)
      const value = result === undefined ? fallback : result.ok ? result.value.trim() || null : fallback
      return value === null ? null : value.slice(0, max)
    }
    return {
      routeId: matched?.id ?? defaultRoute.id,
      // An empty key never groups (OnCall uses a random uuid).
      distinction: createHash('md5').update(key === '' ? randomUUID() : key).digest('hex'),
      resolve: signal(plan.resolve, base.resolve),
      acknowledge: signal(plan.acknowledge, false),
      title: text(plan.title, base.title, TITLE_MAX),
      sourceLink: text(plan.sourceLink, base.sourceLink, LINK_MAX),
    }
  })
}
