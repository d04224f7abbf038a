import type { ChannelKind, NotifyRuleType } from '../../workflows/core/personal-rules'

// The port through which a notification leaves Tocsin: one transport per channel (email, SMS, voice, Slack), plus a
// catch-all (the log line or the outgoing webhook) for rules whose own channel is not configured.

/** What one notification carries to a transport. */
export interface ChannelMessage {
  /** Derived from the workflow id, the step, the user and the rule position: the same on every retry. */
  readonly idempotencyKey: string
  readonly ledgerId: string
  readonly alertGroupId: string
  readonly title: string | null
  readonly important: boolean
  /** The rule that asked for it (the fallback email of an empty rule list says `notify_by_email`). */
  readonly ruleType: NotifyRuleType
  readonly user: MessageUser
  /** Signed links that act on the alert group as this user; null when no link secret is configured. */
  readonly links: ActionLinks | null
}

/** Who a message is for, with every address a channel may need. */
export interface MessageUser {
  readonly id: string
  readonly username: string
  readonly email: string
  readonly phoneNumber: string | null
  readonly slackUserId: string | null
}

export interface ActionLinks {
  readonly acknowledge: string
  readonly resolve: string
  /** Silences the group for one hour. */
  readonly silence: string
}

/** What the provider said about an accepted message. */
export interface Delivery {
  /** The provider's id of the message (Twilio SID, Slack ts, SMTP message id), when it gives one. */
  readonly providerId?: string
}

export interface Transport {
  /** The channel name recorded in the ledger and the timeline, e.g. `email`, `sms`, `log`. */
  readonly channel: string
  /** Why this user cannot be reached on this channel (no phone number, no Slack account), or null. */
  unreachable(user: MessageUser): string | null
  /** Throws PermanentDeliveryError when retrying cannot help; any other error is retried with backoff. */
  deliver(message: ChannelMessage): Promise<Delivery>
}

/** The provider refused the message for good (invalid number, a 4xx): the rule fails and is not retried. */
export class PermanentDeliveryError extends Error {
  override name = 'PermanentDeliveryError'
}

/** The configured transports: one per channel kind, each absent when its variables are unset. */
export type ChannelTransports = Partial<Record<ChannelKind, Transport>>

/** The configured transports, and what delivers a rule whose channel is not configured. */
export interface Channels {
  readonly transports: ChannelTransports
  /** The log line (default) or the outgoing webhook; null: such rules are skipped. */
  readonly catchAll: Transport | null
}
