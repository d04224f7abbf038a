import { emailOf, oneLine, slackChannelText, slackOf, smsOf, voiceTwimlOf } from './message'
import type { ChannelMessage } from './port'

// The words of a page per channel (pure); each transport's test checks what reaches its server.

function page(overrides: Partial<ChannelMessage> = {}): ChannelMessage {
  return {
    idempotencyKey: 'k',
    ledgerId: 'N1',
    alertGroupId: 'I1',
    title: 'Disk full on db-1',
    important: false,
    ruleType: 'notify_by_sms',
    user: { id: 'U1', username: 'alice', email: 'alice@example.com', phoneNumber: '+15551234567', slackUserId: 'U0ALICE' },
    links: { acknowledge: 'https://t.test/a?x=1&y=2', resolve: 'https://t.test/r', silence: 'https://t.test/s' },
    ...overrides,
  }
}

test('oneLine flattens control characters and white space, and cuts with an ellipsis', () => {
  expect(oneLine(' a\r\n\tb\u0000c\u2028d  ', 80)).toBe('a b c d')
  expect(oneLine('abcdefghij', 5)).toBe('abcd…')
  expect(oneLine('abcde', 5)).toBe('abcde')
})

test('every email, SMS and Slack message carries the three links; a call does not', () => {
  const message = page()
  const { text, html } = emailOf(message)
  const sms = smsOf(message)
  const slack = slackOf(message).text
  for (const url of ['https://t.test/r', 'https://t.test/s']) {
    expect(text).toContain(url)
    expect(html).toContain(`href="${url}"`)
    expect(sms).toContain(url)
    expect(slack).toContain(`<${url}|`)
  }
  // The acknowledge link's `&` is escaped in HTML only.
  expect(text).toContain('Acknowledge: https://t.test/a?x=1&y=2')
  expect(html).toContain('href="https://t.test/a?x=1&#38;y=2"')
  expect(sms).toContain('Ack: https://t.test/a?x=1&y=2')
  expect(voiceTwimlOf(message)).not.toContain('https://')
})

test('SMS and voice keep the title short; email and Slack keep more of it', () => {
  const message = page({ title: 'x'.repeat(500) })
  expect(smsOf(message).split('\n')[0]).toBe(`Tocsin: Alert group I1: ${'x'.repeat(79)}…`)
  expect(voiceTwimlOf(message)).toContain(`Alert group I1: ${'x'.repeat(79)}….</Say>`)
  expect(emailOf(message).subject).toBe(`[Tocsin] Alert group I1: ${'x'.repeat(199)}…`)
  expect(slackOf(message).blocks[0]?.text.text).toBe(`Alert group I1: ${'x'.repeat(199)}…`)
})

test('a Slack link whose URL holds a character that would end it early stays one link', () => {
  const { text } = slackOf(page({ links: { acknowledge: 'https://t.test/a|b>c', resolve: 'https://t.test/r', silence: 'https://t.test/s' } }))
  expect(text).toContain('<https://t.test/a%7Cb%3Ec|Acknowledge>')
})

test('a channel post is one line of escaped Slack text', () => {
  expect(slackChannelText('Alert group I1: <@U123> & <!everyone>\nsecond line')).toBe('Alert group I1: &lt;@U123&gt; &amp; &lt;!everyone&gt; second line')
})
