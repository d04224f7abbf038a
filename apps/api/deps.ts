import type { Db } from '../../activities/db/connect'
import type { Escalations } from '../escalations'
import type { IngestionHttpOptions } from '../ingest/router'

/** What the HTTP edge needs; built in main.ts or by a test, never from the environment here. */
export interface ApiDeps {
  readonly db: Db
  readonly escalations: Escalations
  readonly publicUrl: string
  readonly webUrl: string
  readonly log: (message: string, err?: unknown) => void
  /** Alert ingestion: rate limits and the in-process processor's wake-up (defaults: OnCall's limits, polling). */
  readonly ingestion?: IngestionHttpOptions
}
