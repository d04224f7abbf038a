import { Router } from 'express'
import { listAlerts } from '../../../services/alert-groups'
import { requirePermission } from '../auth'
import type { ApiDeps } from '../../deps'
import { parseOrThrow } from '../errors'
import { paginate } from '../pagination'
import { resource } from '../router'
import { listAlertsQuery } from '../schemas/alerts'
import { alertToWire } from '../serializers'

const ALERTS_PAGE_SIZE = 50

export function alertsRouter(deps: ApiDeps): Router {
  const router = Router()
  resource(router, '/alerts', {
    GET: async (req, res) => {
      const { organizationId } = requirePermission(req, 'read')
      const query = parseOrThrow(listAlertsQuery, req.query)
      const filter = { alertGroupId: query.alert_group_id, id: query.id, search: query.search }
      res.json(
        await paginate(
          req,
          deps.publicUrl,
          ALERTS_PAGE_SIZE,
          (page) => listAlerts(deps.db, organizationId, filter, page),
          alertToWire,
        ),
      )
    },
  })
  return router
}
