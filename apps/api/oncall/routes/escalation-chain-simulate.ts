import { Router } from 'express'
import { NO_ICAL_DOWNLOADS } from '../../../../db/schedule-ical'
import { dryRunChain, dryRunProblems, type DryRun, type DryRunEntry } from '../../../services/dry-run'
import { getEscalationChain } from '../../../services/escalation-chains'
import type { ApiDeps } from '../../deps'
import { requirePermission } from '../auth'
import { ApiError, parseOrThrow } from '../errors'
import { resource } from '../router'
import { simulateChainBody } from '../schemas/escalation-chain-simulate'
import { drfDateTime } from '../serializers'

// POST /escalation_chains/{id}/simulate/ (Tocsin extension): what the engine would do for an alert group escalating
// through this chain — every page with its users, every wait, window and repeat, and how it ends. Computed by the
// engine's own decisions and resolver, read-only (apps/services/dry-run.ts).

function entryToWire(entry: DryRunEntry) {
  return {
    at: drfDateTime(entry.at),
    due_at: drfDateTime(entry.dueAt),
    step_index: entry.step?.index ?? null,
    node_id: entry.step?.id ?? null,
    type: entry.step?.type ?? null,
    action: entry.action,
    users: entry.users.map((u) => ({ id: u.id, username: u.username, important: u.important })),
    ...(entry.branch ? { branch: entry.branch } : {}),
    why: entry.why,
  }
}

function dryRunToWire(run: DryRun) {
  return {
    chain_id: run.programId,
    start: drfDateTime(run.start),
    until: drfDateTime(run.until),
    entries: run.entries.map(entryToWire),
    outcome: { status: run.outcome.status, at: drfDateTime(run.outcome.at), why: run.outcome.why },
  }
}

export function escalationChainSimulateRouter(deps: ApiDeps): Router {
  const router = Router()
  const ical = deps.ical ?? NO_ICAL_DOWNLOADS

  resource(router, '/escalation_chains/:id/simulate', {
    POST: async (req, res) => {
      const { organizationId } = requirePermission(req, 'read')
      // As DRF does: the object first (404 whatever the body), then the body.
      const chain = await getEscalationChain(deps.db, organizationId, String(req.params.id))
      const body = parseOrThrow(simulateChainBody, req.body)
      const request = {
        start: body.start ?? new Date(),
        ...(body.alert_times ? { alertTimes: body.alert_times } : {}),
        ...(body.acknowledged_at ? { acknowledgedAt: body.acknowledged_at } : {}),
        ...(body.until ? { until: body.until } : {}),
      }
      const problems = dryRunProblems(request)
      if (problems.length > 0) {
        const errors: Record<string, string[]> = {}
        for (const { field, message } of problems) (errors[field] ??= []).push(message)
        throw new ApiError(400, errors)
      }
      res.json(dryRunToWire(await dryRunChain(deps.db, organizationId, chain.id, request, ical)))
    },
  })
  return router
}
