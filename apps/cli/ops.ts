import { userInfo } from 'node:os'
import { createDb } from '../../activities/db/connect'
import { getAlertGroupById, lifecycleOf } from '../../activities/db/alert-groups.repo'
import { refusal } from '../../workflows/core/lifecycle'
import { loadConfig } from '../config'
import { Escalations, type EscalationAction } from '../escalations'

// Talks to Temporal directly, so an operator can act while the API is down. The workflow's activities
// write the database, exactly as for an action through the API.

const actions: Record<string, EscalationAction> = { ack: 'acknowledge', acknowledge: 'acknowledge', resolve: 'resolve' }
const usage = 'usage: npm run ops -- <ack|resolve> <alert_group_id>'

async function main(argv: string[]): Promise<number> {
  const [verb, alertGroupId] = argv
  const action = verb ? actions[verb] : undefined
  if (!action || !alertGroupId) {
    console.error(usage)
    return 2
  }
  const config = loadConfig()
  const escalations = Escalations.connect(config.temporal)
  try {
    const outcome = await escalations.act(alertGroupId, action, { actor: { kind: 'ops', name: userInfo().username } })
    if (outcome.kind === 'done') {
      console.log(`${alertGroupId}: ${action} done`)
      return 0
    }
    if (outcome.kind === 'refused') {
      console.error(`${alertGroupId}: refused: ${outcome.reason}`)
      return 1
    }
    console.error(`${alertGroupId}: ${await explainClosed(config.db.url, alertGroupId, action)}`)
    return 1
  } finally {
    await escalations.client.connection.close()
  }
}

/** The escalation has ended (or never existed): the database, if reachable, says which. */
async function explainClosed(dbUrl: string, alertGroupId: string, action: EscalationAction): Promise<string> {
  const db = createDb(dbUrl, { max: 1 })
  try {
    const group = await getAlertGroupById(db, alertGroupId)
    if (!group) return 'no such alert group'
    return `refused: ${refusal(lifecycleOf(group), action) ?? 'its escalation has ended'}`
  } catch {
    return 'no running escalation (and the database is unreachable)'
  } finally {
    await db.destroy()
  }
}

main(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (err) => {
    console.error(err instanceof Error ? err.message : err)
    process.exitCode = 1
  },
)
