import type { NotifierConfig } from '../apps/config'
import type { ChannelMessage } from './channels/port'
import { defaultOutboundFetch, type OutboundFetch } from './outbound'

/** What a notifier is asked to deliver: a channel's message; the idempotency key lets the receiver drop a redelivery. */
export type Notification = ChannelMessage

/** The port through which pages leave Tocsin (SMS, phone, chat… behind one interface). */
export interface Notifier {
  readonly channel: string
  deliver(notification: Notification): Promise<void>
}

export class NotifierRejectedError extends Error {
  override name = 'NotifierRejectedError'
}

/** Writes each page as one JSON line on stdout: the default for a self-hosted trial. */
export function createLogNotifier(write: (line: string) => void = (line) => process.stdout.write(line)): Notifier {
  return {
    channel: 'log',
    async deliver(notification) {
      write(`${JSON.stringify({ page: notification })}\n`)
    },
  }
}

/**
 * POSTs each page as JSON with an `Idempotency-Key` header; non-2xx answers are retried by the activity. The call goes
 * through the outbound policy: a refused destination rejects with OutboundRefusedError.
 */
export function createWebhookNotifier(url: string, timeoutMs: number, outbound: OutboundFetch = defaultOutboundFetch()): Notifier {
  return {
    channel: 'webhook',
    async deliver(notification) {
      const response = await outbound(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': notification.idempotencyKey },
        body: JSON.stringify(notification),
        signal: AbortSignal.timeout(timeoutMs),
      })
      await response.body?.cancel()
      if (!response.ok) throw new NotifierRejectedError(`notifier answered ${response.status}`)
    },
  }
}

/** The catch-all for rules whose channel is not configured; null (`none`): such rules are skipped. */
export function createNotifier(config: NotifierConfig, outbound: OutboundFetch = defaultOutboundFetch()): Notifier | null {
  if (config.kind === 'none') return null
  return config.kind === 'webhook' ? createWebhookNotifier(config.url, config.timeoutMs, outbound) : createLogNotifier()
}
