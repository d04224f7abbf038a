import { pino, type DestinationStream, type Logger } from 'pino'
import type { LogLevel } from './config'

export type { Logger }

/**
 * The one logger of every Tocsin process: JSON lines on stderr (stdout stays free for a CLI's output and the log
 * notifier's pages), with the process's name on every line. Children add context such as a request id.
 */
export function createLogger(options: { name: string; level: LogLevel; destination?: DestinationStream }): Logger {
  return pino(
    {
      name: options.name,
      level: options.level.toLowerCase(),
      // Tokens and secrets never reach a log line, whatever a caller passes in.
      redact: {
        paths: [
          'token',
          '*.token',
          'authorization',
          '*.authorization',
          'headers.authorization',
          '*.headers.authorization',
          '*.headers.cookie',
          'password',
          '*.password',
          'taskToken',
        ],
        censor: '[redacted]',
      },
    },
    options.destination ?? pino.destination(2),
  )
}

/** A logger that writes nothing, for tests and tools that do not want log lines. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' })
}

// Query parameters whose names say they carry a credential.
const SECRET_PARAMETER = /token|secret|password|passwd|api[-_]?key|auth|signature|sig$/i

/**
 * A request URL fit for a log line or a span: the integration token of an alert URL
 * (`/integrations/v1/<type>/<token>/...`, the token is the secret) and credential-like query values are replaced.
 */
export function redactUrl(url: string): string {
  const at = url.indexOf('?')
  const path = (at === -1 ? url : url.slice(0, at)).replace(/^(\/integrations\/v1\/[^/]+\/)[^/]+/, '$1[redacted]')
    // An action link's token acts on an alert group: a credential like an integration's.
    .replace(/^(\/l\/)[^/]+/, '$1[redacted]')
  if (at === -1) return path
  const query = url
    .slice(at + 1)
    .split('&')
    .map((pair) => {
      const name = pair.split('=')[0] ?? ''
      return SECRET_PARAMETER.test(decodeURIComponentSafe(name)) ? `${name}=[redacted]` : pair
    })
    .join('&')
  return `${path}?${query}`
}

function decodeURIComponentSafe(text: string): string {
  try {
    return decodeURIComponent(text)
  } catch {
    return text
  }
}
