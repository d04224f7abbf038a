import type { NotifierConfig } from '../apps/config'
import { defaultOutboundFetch, type OutboundFetch } from './outbound'

/** What a notifier is asked to deliver; the idempotency key lets the receiver drop a redelivery. */
export interface Notification {
  readonly idempotencyKey: string
  readonly ledgerId: string
  readonly alertGroupId: string
  readonly title: string | null
  readonly important: boolean
  /** The personal rule it carries out (absent from pages sent before personal rules). */
  readonly ruleType?: string
  /** Signed links acting on the alert group as this user; null when no link secret is configured. */
  readonly links?: { readonly acknowledge: string; readonly resolve: string; readonly silence: string } | null
  readonly user: { readonly id: string; readonly username: string; readonly email: string; readonly phoneNumber: string | null }
}

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
