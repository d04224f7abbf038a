import type { NotifyRuleType } from '../../workflows/core/personal-rules'
import type { ChannelMessage } from './port'

// One page as the channel tests send it: alice, about alert group I1, with the three signed links.

export const testLinks = {
  acknowledge: 'https://tocsin.test/a/acknowledge?t=tok1',
  resolve: 'https://tocsin.test/a/resolve?t=tok2',
  silence: 'https://tocsin.test/a/silence?t=tok3',
}

export function testMessage(
  ruleType: NotifyRuleType,
  overrides: Partial<ChannelMessage> = {},
  user: Partial<ChannelMessage['user']> = {},
): ChannelMessage {
  return {
    idempotencyKey: 'alert-group-I1:step-0:U1:rule-0',
    ledgerId: 'N1',
    alertGroupId: 'I1',
    title: 'Disk full on db-1',
    important: false,
    ruleType,
    user: { id: 'U1', username: 'alice', email: 'alice@example.com', phoneNumber: null, slackUserId: null, ...user },
    links: testLinks,
    ...overrides,
  }
}

/** The error a delivery failed with; a delivery that succeeds fails the test. */
export async function failure(delivery: Promise<unknown>): Promise<Error> {
  return delivery.then(
    () => {
      throw new Error('delivered, but a failure was expected')
    },
    (err: Error) => err,
  )
}
