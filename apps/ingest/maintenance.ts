import { randomUUID } from 'node:crypto'
import type { Db } from '../../db/connect'
import { newPublicId } from '../../db/ids'
import { insertAlert, insertGroupingAlertGroup } from '../../db/ingestion.repo'
import { setMaintenance, type Integration } from '../../db/integrations.repo'
import type { Actor, AlertGroupRecord } from '../../workflows/core/types'
import { alertGroupWorkflowId } from '../../workflows/messages'
import type { Escalations } from '../escalations'

// Maintenance (alerts go to one maintenance group that pages nobody) and debug (groups as usual, no paging).

function humanDuration(seconds: number): string {
  if (seconds % 3600 === 0) return `${seconds / 3600} hour${seconds === 3600 ? '' : 's'}`
  if (seconds % 60 === 0) return `${seconds / 60} minute${seconds === 60 ? '' : 's'}`
  return `${seconds} seconds`
}

export async function startMaintenance(
  db: Db,
  escalations: Escalations,
  integration: Integration,
  mode: 'maintenance' | 'debug',
  durationSeconds: number,
  actor: Actor,
): Promise<void> {
  const now = new Date()
  const startedAt = new Date(Math.floor(now.getTime() / 1000) * 1000).toISOString()
  const endAt = new Date(Math.floor(now.getTime() / 1000) * 1000 + durationSeconds * 1000).toISOString()
  await db.transaction().execute(async (trx) => {
    let groupId: string | null = null
    if (mode === 'maintenance') {
      groupId = newPublicId('I')
      const title = `Maintenance of "${integration.name}" for ${humanDuration(durationSeconds)}`
      const record: AlertGroupRecord = {
        id: groupId,
        organizationId: integration.organizationId,
        integrationId: integration.id,
        routeId: integration.defaultRoute.id,
        teamId: integration.teamId,
        title,
        message: null,
        sourceUrl: null,
        workflowId: alertGroupWorkflowId(groupId),
        createdAt: now.toISOString(),
        firstAlert: { id: newPublicId('A'), payload: { oncall: { title, message: null, uid: randomUUID(), maintenance: true } } },
        isMaintenance: true,
      }
      await insertGroupingAlertGroup(trx, { ...record, routeId: integration.defaultRoute.id, distinction: null, isMaintenance: true })
      await insertAlert(trx, { ...record.firstAlert, organizationId: record.organizationId, alertGroupId: groupId, createdAt: record.createdAt })
      await escalations.start({ alertGroup: record, createdBy: actor, directPages: [], escalation: null })
    }
    await setMaintenance(trx, integration.organizationId, integration.id, { mode, startedAt, endAt, groupId })
  })
}

/** Ends maintenance (by hand or when its window has passed) and resolves the maintenance group, as OnCall does. */
export async function stopMaintenance(
  db: Db,
  escalations: Escalations,
  organizationId: string,
  integrationId: string,
  maintenanceGroupId: string | null,
): Promise<void> {
  if (maintenanceGroupId) await escalations.act(maintenanceGroupId, 'resolve', { kind: 'system' })
  await setMaintenance(db, organizationId, integrationId, { mode: null, startedAt: null, endAt: null, groupId: null })
}
