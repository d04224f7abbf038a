import { createHash } from 'node:crypto'
import nodemailer, { type NodemailerError } from 'nodemailer'
import type { EmailChannelConfig } from '../../apps/config'
import { emailOf } from './message'
import { PermanentDeliveryError, type ChannelMessage, type Delivery, type Transport, type MessageUser } from './port'

// Email over SMTP. The server is the operator's own configuration, not a user's URL, so no outbound policy applies.
// A new connection per page: pages are rare, and a pooled connection would outlive a restart of the mail relay.

/** A single mailbox: no display name, comments, lists or spaces that would let a stored address add recipients. */
const SINGLE_ADDRESS = /^[^\s@<>()[\],;:"\\]+@[^\s@<>()[\],;:"\\]+$/

export function createEmailTransport(config: EmailChannelConfig, options: { timeoutMs: number }): Transport {
  const mailer = nodemailer.createTransport({
    url: config.url,
    connectionTimeout: options.timeoutMs,
    greetingTimeout: options.timeoutMs,
    socketTimeout: options.timeoutMs,
  })
  const domain = /@([^\s<>@]+?)>?\s*$/.exec(config.from)?.[1] ?? 'tocsin.invalid'

  const unreachable = (user: MessageUser): string | null => {
    if (user.email.trim() === '') return 'no email address'
    return SINGLE_ADDRESS.test(user.email) ? null : 'the email address is not a single valid address'
  }

  return {
    channel: 'email',
    unreachable,

    async deliver(message: ChannelMessage): Promise<Delivery> {
      const refusal = unreachable(message.user)
      if (refusal) throw new PermanentDeliveryError(refusal)
      const content = emailOf(message)
      // The same id on every retry: a relay or mail client that saw the first attempt can drop a duplicate.
      const messageId = `<${createHash('sha256').update(message.idempotencyKey).digest('hex').slice(0, 40)}@${domain}>`
      try {
        const info = await mailer.sendMail({
          from: config.from,
          to: message.user.email,
          // The envelope is the address as stored: never re-parsed from a header.
          envelope: { from: envelopeSender(config.from), to: [message.user.email] },
          subject: content.subject,
          text: content.text,
          html: content.html,
          messageId,
          headers: { 'X-Tocsin-Alert-Group': message.alertGroupId, 'X-Tocsin-Idempotency-Key': message.idempotencyKey },
          signal: AbortSignal.timeout(options.timeoutMs),
        })
        return { providerId: info.messageId }
      } catch (err) {
        throw deliveryError(err)
      }
    },
  }
}

/** The bare address of `Name <address>`, or the whole value. */
function envelopeSender(from: string): string {
  return /<([^<>]+)>\s*$/.exec(from)?.[1] ?? from.trim()
}

/**
 * RFC 5321: a 5yz reply is a permanent refusal (nodemailer sets `permanent` for them, except 503, a session out of
 * step); 4yz replies, timeouts and broken connections are worth retrying.
 */
function deliveryError(err: unknown): Error {
  const failure = err as NodemailerError
  const reply = typeof failure.response === 'string' ? failure.response.slice(0, 300) : null
  if (failure.permanent === true) return new PermanentDeliveryError(`the mail server refused the message: ${reply ?? failure.message}`)
  return new Error(`email not delivered: ${reply ?? failure.message}`, { cause: err })
}
