import type { Refusal } from '../../workflows/core/lifecycle'
import type { Logger } from '../logger'

/**
 * Why a service refuses a request: a closed set of codes that every API dialect maps to its own status and shape.
 * Services never speak HTTP.
 */
export type ServiceErrorCode =
  /** The thing does not exist in the caller's organization. */
  | 'not_found'
  /** A field names something that does not exist in the caller's organization (`field`). */
  | 'invalid_reference'
  /** A field's value breaks a domain rule (`field`, `message`). */
  | 'invalid_value'
  /** The request as a whole breaks a domain rule (`message`). */
  | 'invalid_request'
  /** The lifecycle refuses the action in the group's state (`refusal`). */
  | 'refused'
  /** Temporal (or the worker behind it) cannot take the request now; nothing was changed. */
  | 'engine_unavailable'

export class ServiceError extends Error {
  override name = 'ServiceError'
  constructor(
    readonly code: ServiceErrorCode,
    message: string,
    readonly details: { readonly field?: string; readonly refusal?: Refusal; readonly nothingPaged?: boolean } = {},
  ) {
    super(message)
  }
}

/**
 * Wraps a call to the escalation engine: any transport failure becomes `engine_unavailable` (logged once here),
 * so every surface answers an outage the same way.
 */
export async function callEngine<T>(logger: Logger, what: string, call: () => Promise<T>, options: { nothingPaged?: boolean } = {}): Promise<T> {
  try {
    return await call()
  } catch (err) {
    if (err instanceof ServiceError) throw err
    logger.error({ err, call: what }, 'escalation engine call failed')
    throw new ServiceError('engine_unavailable', `the escalation engine is unavailable (${what})`, { nothingPaged: options.nothingPaged })
  }
}
