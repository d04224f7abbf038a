import { createChannels } from '.'

// Which channels exist follows the configuration; the transports themselves are tested against their servers.

test('each configured channel gets its transport, named as the ledger records it', () => {
  expect(createChannels({ email: null, twilio: null, slack: null })).toEqual({})
  const transports = createChannels({
    email: { url: 'smtp://mail.internal:587', from: 'tocsin@localhost' },
    twilio: { baseUrl: 'https://api.twilio.com', accountSid: 'AC1', authToken: 't', fromNumber: '+15005550006' },
    slack: { token: 'xoxb-1', apiUrl: 'https://slack.com/api/', defaultChannel: null },
  })
  expect(Object.keys(transports).sort()).toEqual(['email', 'slack', 'sms', 'voice'])
  for (const [kind, transport] of Object.entries(transports)) expect(transport.channel).toBe(kind)
  expect(Object.keys(createChannels({ email: null, twilio: { baseUrl: 'https://api.twilio.com', accountSid: 'AC1', authToken: 't', fromNumber: '+1' }, slack: null })).sort()).toEqual(['sms', 'voice'])
})
