import { userInfo } from 'node:os'
import { alertGroupRecordOf, getAlertGroupById, lifecycleOf, routeSnapshot } from '../../db/alert-groups.repo'
import { createDb, type Db } from '../../db/connect'
import { alertGroupIdOfEscalation } from '../../db/escalations.repo'
import { escalateNowRefusal, refusal } from '../../workflows/core/lifecycle'
import type { Actor } from '../../workflows/core/types'
import { loadConfig } from '../config'
import { refusalText } from '../api/oncall/refusals'
import { Escalations, type ActionOutcome, type EscalationAction } from '../escalations'

// Talks to Temporal directly, so an operator can act while the API is down (a worker must run). The workflow's
// activities write the database, exactly as for an action through the API.

type OpsAction = EscalationAction | 'unresolve'

const verbs: Record<string, OpsAction> = {
  ack: 'acknowledge',
  acknowledge: 'acknowledge',
  unack: 'unacknowledge',
  unacknowledge: 'unacknowledge',
  resolve: 'resolve',
  unresolve: 'unresolve',
  silence: 'silence',
  unsilence: 'unsilence',
  cancel: 'cancel',
  nack: 'escalate_now',
}
const usage =
  'usage: npm run ops -- <ack|unack|resolve|unresolve|silence|unsilence|cancel|nack> <alert_group_id | /v2 escalation id> [seconds, for silence; -1 = forever]\n' +
  '       npm run ops -- unpage <alert_group_id | /v2 escalation id> <user_id>'

/** A /v2 escalation id (a ULID) names its alert group; OnCall's alert group ids start with I. */
const ESCALATION_ID = /^[0-9A-HJKMNP-TV-Z]{26}$/

async function main(argv: string[]): Promise<number> {
  const [verb, target, seconds] = argv
  if (verb === 'unpage') return unpage(target, seconds)
  const action = verb ? verbs[verb] : undefined
  const delay = seconds === undefined ? -1 : Number(seconds)
  if (!action || !target || !Number.isSafeInteger(delay) || delay < -1) {
    console.error(usage)
    return 2
  }
  const actor: Actor = { kind: 'ops', name: userInfo().username }
  return onAlertGroup(target, async (alertGroupId, escalations, db) => {
    const outcome: ActionOutcome | { kind: 'missing' } =
      action === 'unresolve' ? await reopen(db, escalations, alertGroupId, actor) : await escalations.act(alertGroupId, action, actor, delay)
    if (outcome.kind === 'done') {
      console.log(`${alertGroupId}: ${action} done`)
      return 0
    }
    if (outcome.kind === 'refused') {
      console.error(`${alertGroupId}: refused: ${refusalText(outcome.refusal)}`)
      return 1
    }
    if (outcome.kind === 'missing') {
      console.error(`${alertGroupId}: no such alert group`)
      return 1
    }
    console.error(`${alertGroupId}: ${await explainClosed(db, alertGroupId, action)}`)
    return 1
  })
}

/**
 * Runs `act` on the alert group `target` names (its id, or a /v2 escalation id) with a Temporal client and a
 * one-connection pool (the database explains refusals and finds escalations), closing both after.
 */
async function onAlertGroup(target: string, act: (alertGroupId: string, escalations: Escalations, db: Db) => Promise<number>): Promise<number> {
  const config = loadConfig()
  const escalations = Escalations.connect(config.temporal)
  const db = createDb(config.db.url, { max: 1 })
  try {
    const alertGroupId = ESCALATION_ID.test(target) ? await alertGroupIdOfEscalation(db, target) : target
    if (alertGroupId === undefined) {
      console.error(`${target}: no such escalation`)
      return 1
    }
    return await act(alertGroupId, escalations, db)
  } finally {
    await escalations.client.connection.close()
    await db.destroy()
  }
}

/** Stops one user's personal notifications on a group; the others' go on. */
async function unpage(target: string | undefined, userId: string | undefined): Promise<number> {
  if (!target || !userId) {
    console.error(usage)
    return 2
  }
  return onAlertGroup(target, async (alertGroupId, escalations) => {
    const outcome = await escalations.unpage(alertGroupId, userId, { kind: 'ops', name: userInfo().username })
    if (outcome.kind === 'done') {
      console.log(`${alertGroupId}: ${userId} unpaged`)
      return 0
    }
    console.error(`${alertGroupId}: the escalation has ended`)
    return 1
  })
}

async function reopen(db: Db, escalations: Escalations, alertGroupId: string, actor: Actor): Promise<ActionOutcome | { kind: 'missing' }> {
  const group = await getAlertGroupById(db, alertGroupId)
  if (!group) return { kind: 'missing' }
  const refused = refusal(lifecycleOf(group), 'unresolve', { maintenance: group.isMaintenance })
  if (refused !== null) return { kind: 'refused', refusal: refused }
  const stored = { resolvedAt: group.resolvedAt as string, lifecycleVersion: group.lifecycleVersion }
  return escalations.reopen(alertGroupRecordOf(group), await routeSnapshot(db, group.organizationId, group.routeId), actor, stored)
}

/** The escalation has ended (or never existed): the database, if reachable, says which. */
async function explainClosed(db: Db, alertGroupId: string, action: OpsAction): Promise<string> {
  try {
    const group = await getAlertGroupById(db, alertGroupId)
    if (!group) return 'no such alert group'
    const stored = lifecycleOf(group)
    const refused = action === 'escalate_now' ? escalateNowRefusal(stored) : refusal(stored, action, { maintenance: group.isMaintenance })
    return `refused: ${refused ? refusalText(refused) : 'its escalation has ended'}`
  } catch {
    return 'no running escalation (and the database is unreachable)'
  }
}

main(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (err) => {
    console.error(err instanceof Error ? err.message : err)
    process.exitCode = 1
  },
)
