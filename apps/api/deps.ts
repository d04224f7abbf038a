import type { Tracer } from '@opentelemetry/api'
import type { Db } from '../../db/connect'
import type { IcalOptions } from '../../db/schedule-ical'
import type { Logger } from '../logger'
import type { Escalations } from '../escalations'
import type { DependencyMonitor } from '../health'
import type { IngestionHttpOptions } from '../ingest/router'
import type { TocsinMetrics } from '../metrics'

/** What the HTTP edge needs; built in main.ts or by a test, never from the environment here. */
export interface ApiDeps {
  readonly db: Db
  readonly escalations: Escalations
  readonly publicUrl: string
  readonly webUrl: string
  readonly logger: Logger
  /** Alert ingestion: rate limits and the in-process processor's wake-up (defaults: OnCall's limits, polling). */
  readonly ingestion?: IngestionHttpOptions
  /** What `/health/live` and `/health/ready` report from (defaults: a monitor of its own, a 60 s inbox bound). */
  readonly health?: { readonly monitor?: DependencyMonitor; readonly inboxAgeBoundSeconds?: number }
  /** How iCal calendars are downloaded (through the guarded outbound fetch); without it none ever is. */
  readonly ical?: IcalOptions
  /** The registry served on `GET /metrics` and counted into (default: a registry of the app's own). */
  readonly metrics?: TocsinMetrics
  /** Opens a server span per request when tracing is on. */
  readonly tracer?: Tracer
  /** Serves the signed action links of pages on `/l/<token>` (without it, those answer a 404 page). */
  readonly actionLinks?: { readonly secret: string; readonly ttlSeconds: number }
}
