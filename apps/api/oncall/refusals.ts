import type { Refusal, RefusedAction } from '../../../workflows/core/lifecycle'
import { unreachable } from '../../../workflows/oncall/steps'

const article: Record<'acknowledged' | 'unacknowledged' | 'resolved' | 'unresolved' | 'unsilenced' | 'maintenance', string> = {
  acknowledged: 'an acknowledged',
  unacknowledged: 'an unacknowledged',
  resolved: 'a resolved',
  unresolved: 'an unresolved',
  unsilenced: 'an unsilenced',
  maintenance: 'a maintenance',
}

const verb = (action: RefusedAction) => (action === 'add_responders' ? 'add responders for' : action)

/** A refusal in OnCall's exact 400 text ("Can't acknowledge a resolved alert group"). */
export function refusalText({ code, action }: Refusal): string {
  const cant = (state: keyof typeof article) =>
    action === 'add_responders' ? `Cannot add responders for ${article[state]} alert group` : `Can't ${verb(action)} ${article[state]} alert group`
  switch (code) {
    case 'acknowledged':
      return cant('acknowledged')
    case 'not_acknowledged':
      return cant('unacknowledged')
    case 'resolved':
      return cant('resolved')
    case 'not_resolved':
      return cant('unresolved')
    case 'not_silenced':
      return cant('unsilenced')
    case 'maintenance':
      return cant('maintenance')
    case 'invalid_delay':
      return 'invalid delay value'
    case 'still_finishing':
      return 'The escalation is still finishing; retry shortly'
    case 'expired':
    case 'cancelled':
      return cant('resolved')
    default:
      return unreachable(code)
  }
}
