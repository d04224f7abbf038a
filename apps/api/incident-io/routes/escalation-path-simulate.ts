import { Router } from 'express'
import { NO_ICAL_DOWNLOADS } from '../../../../db/schedule-ical'
import { DEFAULT_PRIORITY } from '../../../../workflows/incident-io/path'
import { dryRunPath, dryRunProblems, type DryRun, type DryRunEntry } from '../../../services/dry-run'
import type { ApiDeps } from '../../deps'
import { validationErrors } from '../errors'
import { rfc3339 } from '../escalations-serializer'
import { operation, resource } from '../resource'
import { simulatePathResponseSchema, simulatePathSchema } from '../schemas/escalation-path-simulate'

// POST /v2/escalation_paths/{id}/actions/simulate (Tocsin extension): what the engine would do for an escalation
// of this path — each level's users at the instant it fires, each branch and why, and how it ends. Computed by the
// engine's own decisions and resolver, read-only (apps/services/dry-run.ts).

function entryToWire(entry: DryRunEntry) {
  return {
    at: rfc3339(entry.at),
    due_at: rfc3339(entry.dueAt),
    step_index: entry.step?.index ?? null,
    node_id: entry.step?.id ?? null,
    type: entry.step?.type ?? null,
    action: entry.action,
    users: entry.users.map((u) => ({ id: u.id, name: u.username, important: u.important })),
    ...(entry.branch ? { branch: entry.branch } : {}),
    why: entry.why,
  }
}

function dryRunToWire(run: DryRun, priority: string) {
  return {
    escalation_path_id: run.programId,
    priority,
    start: rfc3339(run.start),
    until: rfc3339(run.until),
    entries: run.entries.map(entryToWire),
    outcome: { status: run.outcome.status, at: rfc3339(run.outcome.at), why: run.outcome.why },
  }
}

export function escalationPathSimulateRouter(deps: ApiDeps): Router {
  const router = Router()
  const ical = deps.ical ?? NO_ICAL_DOWNLOADS

  resource(router, '/escalation_paths/:id/actions/simulate', {
    POST: operation({
      summary: 'Dry run: what the engine would do for an escalation of this path',
      description:
        'Tocsin extension (not in incident.io). Runs the engine\'s own decisions from start: every page with the users it would reach ' +
        'at that instant (schedules as they stand then, round-robin queues read and never moved), every wait, branch and repeat with ' +
        'why, and how the escalation ends. Nothing is paged, written or started.',
      role: 'viewer',
      body: simulatePathSchema,
      optionalBody: true,
      response: simulatePathResponseSchema,
      responses: {
        '200': 'The entries, in order, and the outcome',
        '404': 'No live escalation path with this id in the organization',
        '422': 'validation_error: a bad instant, alert_times before start, or until more than 30 days after start',
      },
      handler: async ({ req, res, caller, body }) => {
        const request = {
          start: body.start ?? new Date(),
          ...(body.alert_times ? { alertTimes: body.alert_times } : {}),
          ...(body.acknowledged_at ? { acknowledgedAt: body.acknowledged_at } : {}),
          ...(body.until ? { until: body.until } : {}),
          priority: body.priority ?? DEFAULT_PRIORITY,
        }
        const problems = dryRunProblems(request)
        if (problems.length > 0) throw validationErrors(problems)
        res.json(dryRunToWire(await dryRunPath(deps.db, caller.organizationId, String(req.params.id), request, ical), request.priority))
      },
    }),
  })
  return router
}
