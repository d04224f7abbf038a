import type { TwilioChannelConfig } from '../../apps/config'
import { OutboundRefusedError, type OutboundFetch } from '../outbound'
import { smsOf, voiceTwimlOf } from './message'
import { retryableStatus } from './retry'
import { PermanentDeliveryError, type ChannelMessage, type Delivery, type Transport, type MessageUser } from './port'

// SMS and voice calls through Twilio's REST API (or any service that speaks it): form-encoded POSTs to the
// account's Messages and Calls resources, HTTP basic auth with the account SID and auth token. The call goes through
// the outbound policy like every other HTTP call Tocsin makes.

export interface TwilioTransports {
  readonly sms: Transport
  readonly voice: Transport
}

/** Twilio's error body: `{ code, message, more_info, status }`. */
interface TwilioError {
  readonly code?: unknown
  readonly message?: unknown
}

export function createTwilioTransports(config: TwilioChannelConfig, outbound: OutboundFetch, options: { timeoutMs: number }): TwilioTransports {
  const account = `${config.baseUrl}/2010-04-01/Accounts/${encodeURIComponent(config.accountSid)}`
  const authorization = `Basic ${Buffer.from(`${config.accountSid}:${config.authToken}`).toString('base64')}`

  const unreachable = (user: MessageUser): string | null =>
    user.phoneNumber === null || user.phoneNumber.trim() === '' ? 'no verified phone number' : null

  async function create(what: 'SMS' | 'call', resource: string, message: ChannelMessage, fields: Record<string, string>): Promise<Delivery> {
    const refusal = unreachable(message.user)
    if (refusal) throw new PermanentDeliveryError(refusal)
    let response: Response
    try {
      response = await outbound(`${account}/${resource}`, {
        method: 'POST',
        headers: {
          authorization,
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
          // Twilio drops a request that repeats a token it saw in the last 24 hours: a retry after a lost answer.
          'i-twilio-idempotency-token': message.idempotencyKey,
        },
        body: new URLSearchParams({ To: message.user.phoneNumber as string, From: config.fromNumber, ...fields }).toString(),
        signal: AbortSignal.timeout(options.timeoutMs),
      })
    } catch (err) {
      // The engine reports a refused destination as the operator's to fix.
      if (err instanceof OutboundRefusedError) throw err
      throw new Error(`Twilio ${what} not sent: ${(err as Error).message}`, { cause: err })
    }
    const body = await response.text()
    if (response.ok) {
      const sid = parseJson(body)?.sid
      return typeof sid === 'string' ? { providerId: sid } : {}
    }
    const detail = describe(response.status, parseJson(body) as TwilioError | undefined)
    if (retryableStatus(response.status)) throw new Error(`Twilio ${what} not sent: ${detail}`)
    throw new PermanentDeliveryError(`Twilio refused the ${what}: ${detail}`)
  }

  return {
    sms: {
      channel: 'sms',
      unreachable,
      deliver: (message) => create('SMS', 'Messages.json', message, { Body: smsOf(message) }),
    },
    voice: {
      channel: 'voice',
      unreachable,
      deliver: (message) => create('call', 'Calls.json', message, { Twiml: voiceTwimlOf(message) }),
    },
  }
}

/** The provider's words and code, e.g. `The 'To' number … is not a valid phone number. (error 21211, HTTP 400)`. */
function describe(status: number, error: TwilioError | undefined): string {
  const codes = [...(typeof error?.code === 'number' || typeof error?.code === 'string' ? [`error ${error.code}`] : []), `HTTP ${status}`].join(', ')
  return typeof error?.message === 'string' ? `${error.message.slice(0, 300)} (${codes})` : codes
}

function parseJson(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text)
    return value && typeof value === 'object' ? (value as Record<string, unknown>) : undefined
  } catch {
    return undefined
  }
}
