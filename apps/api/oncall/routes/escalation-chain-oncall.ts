import { Router } from 'express'
import type { Db } from '../../../../db/connect'
import { getEscalationChain } from '../../../../db/escalation-chains.repo'
import type { RecipientShifts } from '../../../../db/recipients'
import { NO_ICAL_DOWNLOADS } from '../../../../db/schedule-ical'
import { findUsersWithTeams, type UserWithTeams } from '../../../../db/users.repo'
import { adjacentOnCall, currentOnCall, type ChainOnCall } from '../../../services/chain-preview'
import { requirePermission } from '../auth'
import type { ApiDeps } from '../../deps'
import { notFound, parseOrThrow } from '../errors'
import { queryString } from '../relations'
import { resource } from '../router'
import { chainDaysQuery } from '../schemas/escalation-chains-oncall'
import { userToWire } from '../serializers'

// GET /escalation_chains/{id}/current_oncall/, previous_oncall/, next_oncall/ (Grafana IRM's chain views): who the
// chain would page, as the engine itself would decide it (see apps/services/chain-preview.ts).

/** Python's isoformat for a UTC instant (`+00:00`, microseconds only when non-zero), as IRM's views write it. */
function isoUtc(ms: number): string {
  const iso = new Date(ms).toISOString()
  return iso.endsWith('.000Z') ? `${iso.slice(0, 19)}+00:00` : `${iso.slice(0, 23)}000+00:00`
}

/** IRM's shift entries: one per (schedule, start, end) with its users. */
function shiftsToWire(found: readonly RecipientShifts[]) {
  const byBounds = new Map<string, { schedule_id: string; schedule_name: string; team_id: string | null; shift_start: string; shift_end: string; users: string[] }>()
  for (const { schedule, events } of found) {
    for (const e of events) {
      const key = `${schedule.id}/${e.start}/${e.end}`
      const entry = byBounds.get(key) ?? {
        schedule_id: schedule.id,
        schedule_name: schedule.name,
        team_id: schedule.teamId,
        shift_start: isoUtc(e.start),
        shift_end: isoUtc(e.end),
        users: [],
      }
      for (const u of e.users) if (!entry.users.includes(u)) entry.users.push(u)
      byBounds.set(key, entry)
    }
  }
  return [...byBounds.values()]
}

/** IRM's user entry: the user's public keys, plus the phone number and its status. */
function chainUserToWire(user: UserWithTeams) {
  const full = userToWire(user) as ReturnType<typeof userToWire> & { slack: unknown; timezone: string | null; teams: string[] }
  return {
    id: full.id,
    grafana_id: full.grafana_id,
    email: full.email,
    slack: full.slack,
    username: full.username,
    role: full.role,
    is_phone_number_verified: full.is_phone_number_verified,
    phone_number: user.phoneNumber,
    // Tocsin has no "hide my number" setting, so `private` is never given.
    phone_number_status: user.phoneNumber !== null ? 'available' : 'not_configured',
    timezone: full.timezone,
    teams: full.teams,
  }
}

async function toWire(db: Db, organizationId: string, found: ChainOnCall) {
  const users = await findUsersWithTeams(db, organizationId, [...found.userIds])
  return { count: users.length, users: users.map(chainUserToWire), shifts: shiftsToWire(found.shifts) }
}

export function escalationChainOnCallRouter(deps: ApiDeps): Router {
  const router = Router()
  const ical = deps.ical ?? NO_ICAL_DOWNLOADS
  const chainOf = async (organizationId: string, id: string) => {
    const chain = await getEscalationChain(deps.db, organizationId, id)
    if (!chain) throw notFound()
    return chain
  }

  resource(router, '/escalation_chains/:id/current_oncall', {
    GET: async (req, res) => {
      const { organizationId } = requirePermission(req, 'read')
      const chain = await chainOf(organizationId, String(req.params.id))
      res.json(await toWire(deps.db, organizationId, await currentOnCall(deps.db, organizationId, chain.id, new Date(), ical)))
    },
  })
  for (const which of ['previous', 'next'] as const) {
    resource(router, `/escalation_chains/:id/${which}_oncall`, {
      GET: async (req, res) => {
        const { organizationId } = requirePermission(req, 'read')
        const chain = await chainOf(organizationId, String(req.params.id))
        const { days } = parseOrThrow(chainDaysQuery, { days: queryString(req.query.days) })
        res.json(await toWire(deps.db, organizationId, await adjacentOnCall(deps.db, organizationId, chain.id, new Date(), days, which, ical)))
      },
    })
  }
  return router
}
