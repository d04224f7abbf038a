import { context, propagation, SpanKind, SpanStatusCode, trace, type Tracer } from '@opentelemetry/api'
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http'
import { Resource } from '@opentelemetry/resources'
import { BatchSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace-base'
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node'
import type { ClientInterceptors } from '@temporalio/client'
import {
  makeWorkflowExporter,
  OpenTelemetryActivityInboundInterceptor,
  OpenTelemetryActivityOutboundInterceptor,
  OpenTelemetryWorkflowClientInterceptor,
} from '@temporalio/interceptors-opentelemetry'
import type { ActivityInterceptorsFactory } from '@temporalio/worker'
import type { RequestHandler } from 'express'
import { redactUrl } from './logger'

// OpenTelemetry traces across API → workflow → activities, exported over OTLP/HTTP when an endpoint is configured
// (off otherwise: nothing is installed). The API opens a server span per request; Temporal's interceptors carry the
// context in workflow and activity headers, so the workflow's spans (exported through a sink, as workflow code
// cannot do I/O) and the activities' spans join the request's trace.

export interface TracingOptions {
  /** OTLP/HTTP traces URL, e.g. `http://collector:4318/v1/traces`; null: tracing is off. */
  readonly otlpTracesUrl: string | null
  /** `service.name` of the spans: `tocsin-api`, `tocsin-worker`. */
  readonly serviceName: string
  /** Where spans go instead of the OTLP exporter (tests). */
  readonly spanProcessor?: SpanProcessor
}

/** What a worker adds to its options to trace workflows and activities. */
export interface WorkerTracing {
  readonly activityInterceptors: ActivityInterceptorsFactory[]
  readonly workflowModules: string[]
  readonly sinks: { readonly exporter: ReturnType<typeof makeWorkflowExporter> }
}

export interface Tracing {
  readonly tracer: Tracer
  /** For the Temporal client: starts, signals, updates and queries carry the caller's trace. */
  readonly clientInterceptors: ClientInterceptors
  readonly worker: WorkerTracing
  /** Exports every finished span now. */
  flush(): Promise<void>
  /** Exports what is left and uninstalls the process-wide tracer, context manager and propagator. */
  shutdown(): Promise<void>
}

/** Installs tracing for this process, or returns undefined when no endpoint is configured. */
export function startTracing(options: TracingOptions): Tracing | undefined {
  if (options.otlpTracesUrl === null && !options.spanProcessor) return undefined
  const resource = new Resource({ 'service.name': options.serviceName })
  const processor = options.spanProcessor ?? new BatchSpanProcessor(new OTLPTraceExporter({ url: options.otlpTracesUrl as string }))
  const provider = new NodeTracerProvider({ resource, spanProcessors: [processor] })
  // The context manager (AsyncLocalStorage) and the W3C propagator are process-wide: Temporal's interceptors use them.
  provider.register()
  const tracer = provider.getTracer('tocsin')
  return {
    tracer,
    clientInterceptors: { workflow: [new OpenTelemetryWorkflowClientInterceptor({ tracer })] },
    worker: {
      activityInterceptors: [
        (ctx) => ({
          inbound: new OpenTelemetryActivityInboundInterceptor(ctx, { tracer }),
          outbound: new OpenTelemetryActivityOutboundInterceptor(ctx),
        }),
      ],
      workflowModules: [require.resolve('@temporalio/interceptors-opentelemetry/lib/workflow-interceptors')],
      sinks: { exporter: makeWorkflowExporter(processor, resource) },
    },
    flush: () => provider.forceFlush(),
    async shutdown() {
      await provider.shutdown()
      trace.disable()
      context.disable()
      propagation.disable()
    },
  }
}

/**
 * A server span per HTTP request, child of the caller's trace when it sent a `traceparent`. The span is active for
 * the handlers, including those that run after a body parser (their stream callbacks are bound to it).
 */
export function traceRequests(tracer: Tracer): RequestHandler {
  return (req, res, next) => {
    const parent = propagation.extract(context.active(), req.headers)
    const span = tracer.startSpan(
      req.method,
      {
        kind: SpanKind.SERVER,
        attributes: {
          'http.request.method': req.method,
          'url.path': redactUrl(req.originalUrl).split('?')[0] ?? '/',
          ...(typeof req.id === 'string' || typeof req.id === 'number' ? { 'http.request.id': String(req.id) } : {}),
        },
      },
      parent,
    )
    const active = trace.setSpan(parent, span)
    let ended = false
    const end = () => {
      if (ended) return
      ended = true
      // The route template (never the URL itself: ids would make every name unique, tokens would leak).
      const route = req.route as { path?: unknown } | undefined
      if (typeof route?.path === 'string') {
        const template = `${req.baseUrl}${route.path}`
        span.setAttribute('http.route', template)
        span.updateName(`${req.method} ${template}`)
      }
      span.setAttribute('http.response.status_code', res.statusCode)
      if (res.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR })
      span.end()
    }
    res.once('finish', end)
    res.once('close', end)
    context.bind(active, req)
    context.with(active, next)
  }
}
