import type { ChannelsConfig } from '../../apps/config'
import { defaultOutboundFetch, type OutboundFetch } from '../outbound'
import { createEmailTransport } from './email'
import type { ChannelTransports } from './port'
import { createSlackClient, createSlackTransport } from './slack'
import { createTwilioTransports } from './twilio'

// One transport per configured channel. Telegram, the mobile app and Teams have none yet: their rules go to the
// catch-all, as any rule whose channel is not configured does.

/** Each provider call is bounded well inside the paging activity's 15 s start-to-close timeout. */
const PROVIDER_TIMEOUT_MS = 10_000

/** The transports of the configured channels; `outbound` is how Twilio and Slack are called (default: public addresses only). */
export function createChannels(config: ChannelsConfig, outbound: OutboundFetch = defaultOutboundFetch()): ChannelTransports {
  const options = { timeoutMs: PROVIDER_TIMEOUT_MS }
  const twilio = config.twilio ? createTwilioTransports(config.twilio, outbound, options) : null
  return {
    ...(config.email ? { email: createEmailTransport(config.email, options) } : {}),
    ...(twilio ? { sms: twilio.sms, voice: twilio.voice } : {}),
    ...(config.slack ? { slack: createSlackTransport(createSlackClient(config.slack, outbound, options)) } : {}),
  }
}
