import {
  LogLevel,
  WebAPIHTTPError,
  WebAPIPlatformError,
  WebAPIRateLimitedError,
  WebAPIRequestError,
  WebClient,
  type FetchFunction,
} from '@slack/web-api'
import type { SlackChannelConfig } from '../../apps/config'
import { defaultOutboundFetch, OutboundRefusedError, type OutboundFetch } from '../outbound'
import { slackChannelText, slackOf, type SlackContent } from './message'
import { PermanentDeliveryError, type ChannelMessage, type Delivery, type Transport, type MessageUser } from './port'
import { retryableStatus } from './retry'

// Slack through its Web API client (chat.postMessage). The client sends its requests through our guarded fetch, so the
// outbound policy applies to the API URL as to any other call. Temporal retries the activity: the client's own
// retries and rate-limit waits are off, and a failure is sorted into permanent or worth another attempt here.

const DEFAULT_TIMEOUT_MS = 10_000

/** Slack errors that say "try again later"; every other `ok: false` answer (channel_not_found, invalid_auth…) is final. */
const TRANSIENT_ERRORS = new Set(['ratelimited', 'rate_limited', 'request_timeout', 'service_unavailable', 'fatal_error', 'internal_error', 'team_added_to_org'])

export function createSlackClient(config: SlackChannelConfig, outbound: OutboundFetch, options: { timeoutMs?: number } = {}): WebClient {
  return new WebClient(config.token, {
    slackApiUrl: config.apiUrl,
    fetch: guardedFetch(outbound),
    timeout: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    retryConfig: { retries: 0 },
    rejectRateLimitedCalls: true,
    // Its warnings would repeat what the activity logs; requests are never logged with their token either way.
    logLevel: LogLevel.ERROR,
  })
}

/** Posts `content` to a channel, a user id (the bot's DM with them) or a conversation id; the message's channel and ts. */
export async function postToSlackChannel(client: WebClient, channel: string, content: SlackContent): Promise<{ channel: string; ts: string }> {
  try {
    const result = await client.chat.postMessage({
      channel,
      text: content.text,
      blocks: [...content.blocks],
      unfurl_links: false,
      unfurl_media: false,
    })
    return { channel: typeof result.channel === 'string' ? result.channel : channel, ts: String(result.ts ?? '') }
  } catch (err) {
    throw slackError(err)
  }
}

export function createSlackTransport(client: WebClient): Transport {
  const unreachable = (user: MessageUser): string | null =>
    user.slackUserId === null || user.slackUserId.trim() === '' ? 'no Slack account linked' : null
  return {
    channel: 'slack',
    unreachable,
    async deliver(message: ChannelMessage): Promise<Delivery> {
      const refusal = unreachable(message.user)
      if (refusal) throw new PermanentDeliveryError(refusal)
      const posted = await postToSlackChannel(client, message.user.slackUserId as string, slackOf(message))
      return posted.ts === '' ? {} : { providerId: posted.ts }
    },
  }
}

/** notify_whole_channel through Slack: the bot's client and the channel a step that names none posts to. */
export interface SlackChannelPoster {
  readonly defaultChannel: string | null
  /** Throws PermanentDeliveryError when Slack refuses for good (channel_not_found, not_in_channel…). */
  post(channel: string, text: string): Promise<{ channel: string; ts: string }>
}

export function createSlackPoster(
  config: SlackChannelConfig,
  outbound: OutboundFetch = defaultOutboundFetch(),
  options: { timeoutMs?: number } = {},
): SlackChannelPoster {
  const client = createSlackClient(config, outbound, options)
  return {
    defaultChannel: config.defaultChannel,
    post(channel, text) {
      const line = slackChannelText(text)
      return postToSlackChannel(client, channel, { text: line, blocks: [{ type: 'section', text: { type: 'mrkdwn', text: line } }] })
    },
  }
}

/**
 * The client's fetch: our guarded one. The client sends form-encoded text bodies (FormData only for file uploads). It
 * asks not to follow redirects; the guarded fetch follows them, checking each hop against the policy.
 */
function guardedFetch(outbound: OutboundFetch): FetchFunction {
  return async (url, init = {}) => {
    if (init.body !== undefined && typeof init.body !== 'string') throw new TypeError('only form-encoded Slack calls are sent')
    return outbound(String(url), {
      ...(init.method ? { method: init.method } : {}),
      ...(init.headers ? { headers: init.headers } : {}),
      ...(init.body !== undefined ? { body: init.body } : {}),
      ...(init.signal ? { signal: init.signal } : {}),
    })
  }
}

function slackError(err: unknown): Error {
  if (err instanceof WebAPIPlatformError) {
    const code = String(err.data.error)
    return TRANSIENT_ERRORS.has(code) ? new Error(`Slack answered ${code}`) : new PermanentDeliveryError(`Slack refused the message: ${code}`)
  }
  if (err instanceof WebAPIRateLimitedError) return new Error(`Slack rate limited the call (retry after ${err.retryAfter} s)`)
  if (err instanceof WebAPIHTTPError) {
    const message = `Slack answered HTTP ${err.statusCode}`
    return retryableStatus(err.statusCode) ? new Error(message) : new PermanentDeliveryError(message)
  }
  // The engine reports a refused destination as the operator's to fix.
  if (err instanceof WebAPIRequestError && err.original instanceof OutboundRefusedError) return err.original
  if (err instanceof WebAPIRequestError) return new Error(`Slack not reached: ${err.original.message}`, { cause: err })
  return err instanceof Error ? err : new Error(String(err))
}
