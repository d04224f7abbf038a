import { insertAlertGroup } from '../db/alert-groups.repo'
import { loadChainSnapshot } from '../db/escalation-policies.repo'
import { newPublicId } from '../db/ids'
import { ensureDirectPagingIntegration } from '../db/integrations.repo'
import type { EscalationProgram } from '../workflows/core/program'
import type { AlertGroupRecord } from '../workflows/core/types'
import { alertGroupWorkflowId } from '../workflows/messages'
import type { Stack } from './stack'

// Engine tests need chains with second-scale waits, which the API refuses (60..86400 s): they write the chain
// through the API and then shorten waits in the database, and create alert groups the way ingestion does
// (row + workflow with the frozen chain), on the organization's integration.

export type PolicySpec = Record<string, unknown> & { type: string; seconds?: number }

/** Creates a chain through the API; `seconds` on a wait sets its duration directly in the database. */
export async function chainOf(
  stack: Stack,
  call: (method: string, path: string, body?: unknown) => Promise<{ status: number; body: any }>,
  policies: PolicySpec[],
): Promise<string> {
  const chain = await call('POST', '/api/v1/escalation_chains/', { name: `chain-${newPublicId('F')}` })
  if (chain.status !== 201) throw new Error(`chain: ${JSON.stringify(chain.body)}`)
  for (const { seconds, ...policy } of policies) {
    const created = await call('POST', '/api/v1/escalation_policies/', {
      escalation_chain_id: chain.body.id,
      ...(policy.type === 'wait' ? { duration: 60 } : {}),
      ...policy,
    })
    if (created.status !== 201) throw new Error(`policy ${policy.type}: ${JSON.stringify(created.body)}`)
    if (seconds !== undefined) {
      await stack.db.updateTable('escalation_policies').set({ duration: seconds }).where('id', '=', created.body.id).execute()
    }
  }
  return chain.body.id
}

/** A new alert group's record on the organization's direct-paging integration, written to the database. */
async function newAlertGroup(stack: Stack, organizationId: string, routeId: string | null, title: string | undefined): Promise<AlertGroupRecord> {
  const target = await ensureDirectPagingIntegration(stack.db, organizationId, null)
  const id = newPublicId('I')
  const record: AlertGroupRecord = {
    id,
    organizationId,
    integrationId: target.integrationId,
    routeId,
    teamId: null,
    title: title ?? `engine test ${id}`,
    message: null,
    sourceUrl: null,
    workflowId: alertGroupWorkflowId(id),
    createdAt: new Date().toISOString(),
    firstAlert: { id: newPublicId('A'), payload: { test: true } },
  }
  await insertAlertGroup(stack.db, record)
  return record
}

/** An alert group on the organization's direct-paging route, escalating along `chainId` (frozen now). */
export async function escalate(
  stack: Stack,
  organizationId: string,
  chainId: string | null,
  options: { historyLimit?: number; title?: string } = {},
): Promise<AlertGroupRecord> {
  const target = await ensureDirectPagingIntegration(stack.db, organizationId, null)
  await stack.db.updateTable('routes').set({ escalation_chain_id: chainId }).where('id', '=', target.routeId).execute()
  const record = await newAlertGroup(stack, organizationId, target.routeId, options.title)
  const escalation = chainId === null ? null : await loadChainSnapshot(stack.db, organizationId, chainId)
  await stack.escalations.client.workflow.start('alertGroupWorkflow', {
    taskQueue: stack.taskQueue,
    workflowId: record.workflowId,
    args: [{ alertGroup: record, createdBy: null, directPages: [], escalation, historyLimit: options.historyLimit }],
  })
  return record
}

/**
 * A starter of many alert groups escalating along `chainId`: the route and the frozen chain are read once, then each
 * group costs what ingestion spends on it, its row and its workflow's start.
 */
export async function escalator(stack: Stack, organizationId: string, chainId: string): Promise<() => Promise<AlertGroupRecord>> {
  const target = await ensureDirectPagingIntegration(stack.db, organizationId, null)
  await stack.db.updateTable('routes').set({ escalation_chain_id: chainId }).where('id', '=', target.routeId).execute()
  const escalation = await loadChainSnapshot(stack.db, organizationId, chainId)
  return async () => {
    const record = await newAlertGroup(stack, organizationId, target.routeId, undefined)
    await stack.escalations.client.workflow.start('alertGroupWorkflow', {
      taskQueue: stack.taskQueue,
      workflowId: record.workflowId,
      args: [{ alertGroup: record, createdBy: null, directPages: [], escalation }],
    })
    return record
  }
}

/** An alert group on the organization's direct-paging integration running `program` (as /v2 escalations do). */
export async function escalateProgram(stack: Stack, organizationId: string, program: EscalationProgram): Promise<AlertGroupRecord> {
  const record = await newAlertGroup(stack, organizationId, null, undefined)
  await stack.escalations.start({ alertGroup: record, createdBy: null, directPages: [], escalation: null, program })
  return record
}

/** Ledger rows of a group, oldest first. */
export function ledger(stack: Stack, alertGroupId: string) {
  return stack.db
    .selectFrom('notifications')
    .select(['id', 'user_id', 'step', 'important', 'idempotency_key', 'created_at', 'delivered_at'])
    .where('alert_group_id', '=', alertGroupId)
    .orderBy('id')
    .execute()
}

export async function timelineKinds(stack: Stack, alertGroupId: string): Promise<string[]> {
  const rows = await stack.db.selectFrom('alert_group_events').select('kind').where('alert_group_id', '=', alertGroupId).orderBy('at').orderBy('id').execute()
  return rows.map((r) => r.kind)
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
