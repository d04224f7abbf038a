import express, { Router, type ErrorRequestHandler, type Response } from 'express'
import { lifecycleOf } from '../../../db/alert-groups.repo'
import { isDatabaseUnavailable, type Db } from '../../../db/connect'
import { findUsers, userOfAnyOrganization, type User } from '../../../db/users.repo'
import { refusal } from '../../../workflows/core/lifecycle'
import type { Actor } from '../../../workflows/core/types'
import { SILENCE_LINK_SECONDS, verifyActionLink, type ActionLinkAction } from '../../action-links'
import { actOnAlertGroup, getAlertGroup, type AlertGroup } from '../../services/alert-groups'
import { ServiceError } from '../../services/errors'
import { hasRole } from '../../services/roles'
import type { ApiDeps } from '../deps'
import { CONTENT_SECURITY_POLICY } from './html'
import * as pages from './pages'

// The pages behind signed action links (`/l/<token>`): GET shows what the link does and never acts (mail scanners
// fetch links), POST from that page acts through the same Temporal update as the API, as the link's user. The token
// is the only credential and the form carries it, so there is no session and nothing for a forged request to ride on.

// A form with one short field: anything bigger is not from our page.
const FORM_LIMIT = '2kb'

/** Mounted at `/l`, outside `/api/v1`: answers every request under it with an HTML page. */
export function actionLinksRouter(deps: ApiDeps): Router {
  const router = Router()
  router.use((_req, res, next) => {
    // A link is a credential: never cached, never leaked to another site in a Referer, never framed.
    res.set({
      'Cache-Control': 'no-store',
      'Referrer-Policy': 'no-referrer',
      'Content-Security-Policy': CONTENT_SECURITY_POLICY,
      'X-Content-Type-Options': 'nosniff',
      'X-Frame-Options': 'DENY',
      'X-Robots-Tag': 'noindex, nofollow',
    })
    next()
  })
  const settings = deps.actionLinks
  if (!settings) {
    router.use((_req, res) => send(res, pages.notEnabledPage()))
    return router
  }

  const open = async (token: string): Promise<Opened> => {
    const verdict = verifyActionLink(settings.secret, token, new Date())
    if (!verdict.ok) return { kind: 'page', page: verdict.reason === 'expired' ? pages.expiredLinkPage() : pages.invalidLinkPage() }
    const user = await userOfAnyOrganization(deps.db, verdict.userId)
    if (!user) return { kind: 'page', page: pages.noUserPage() }
    // The user's organization scopes the group: a link never reaches another organization's.
    const group = await getAlertGroup(deps.db, user.organizationId, verdict.alertGroupId).catch(notFoundAsUndefined)
    if (!group) return { kind: 'page', page: pages.noGroupPage() }
    // The role is checked now, not when the link was sent: a demoted user's links stop acting.
    if (!hasRole(user.role, 'editor')) return { kind: 'page', page: pages.forbiddenPage(user.role) }
    return { kind: 'link', user, group, action: verdict.action, expiresAt: verdict.expiresAt }
  }

  router.get('/:token', async (req, res) => {
    const opened = await open(req.params.token)
    if (opened.kind === 'page') return send(res, opened.page)
    const { user, group, action } = opened
    const view = await viewOf(deps.db, group)
    const already = refusal(lifecycleOf(group), action, { maintenance: group.isMaintenance })
    if (already) return send(res, pages.refusedPage(view, already, user.username))
    send(res, pages.confirmPage(view, action, user.username, req.params.token, opened.expiresAt))
  })

  const form = express.urlencoded({ extended: false, limit: FORM_LIMIT, parameterLimit: 10 })
  router.post('/:token', form, async (req, res) => {
    const posted: unknown = (req.body as Record<string, unknown> | undefined)?.token
    if (posted !== req.params.token) return send(res, pages.formIncompletePage())
    const opened = await open(req.params.token)
    if (opened.kind === 'page') return send(res, opened.page)
    const { user, group, action } = opened
    const actor: Actor = { kind: 'user', userId: user.id, username: user.username }
    try {
      await actOnAlertGroup(deps, group, action, actor, action === 'silence' ? SILENCE_LINK_SECONDS : undefined)
    } catch (err) {
      if (!(err instanceof ServiceError)) throw err
      // The group as it is now, so the page says what state stopped the action.
      const now = await getAlertGroup(deps.db, user.organizationId, group.id).catch(notFoundAsUndefined)
      if (!now) return send(res, pages.noGroupPage())
      switch (err.code) {
        case 'refused':
          if (err.details.refusal) return send(res, pages.refusedPage(await viewOf(deps.db, now), err.details.refusal, user.username))
          break
        case 'invalid_request':
          return send(res, pages.endedPage(await viewOf(deps.db, now), user.username))
        case 'engine_unavailable':
          return send(res, pages.unavailablePage())
      }
      throw err
    }
    send(res, pages.donePage(await viewOf(deps.db, group), action, user.username))
  })

  router.all('/:token', (_req, res) => {
    res.set('Allow', 'GET, HEAD, POST')
    send(res, pages.methodNotAllowedPage())
  })
  router.use((_req, res) => send(res, pages.notFoundPage()))
  router.use(pageErrors(deps))
  return router
}

type Opened =
  | { readonly kind: 'page'; readonly page: pages.Page }
  | { readonly kind: 'link'; readonly user: User; readonly group: AlertGroup; readonly action: ActionLinkAction; readonly expiresAt: Date }

function send(res: Response, page: pages.Page): void {
  res.status(page.status).type('text/html; charset=utf-8').send(page.html)
}

async function viewOf(db: Db, group: AlertGroup): Promise<pages.GroupView> {
  const ids = [group.acknowledgedBy, group.resolvedBy].filter((id): id is string => id !== null)
  const users = new Map((await findUsers(db, group.organizationId, ids)).map((u) => [u.id, u.username]))
  const name = (id: string | null) => (id === null ? null : (users.get(id) ?? null))
  return { group, acknowledgedBy: name(group.acknowledgedBy), resolvedBy: name(group.resolvedBy) }
}

function notFoundAsUndefined(err: unknown): undefined {
  if (err instanceof ServiceError && err.code === 'not_found') return undefined
  throw err
}

/** Every failure as a page: body-parser and URL refusals in their 4xx, outages as 503, anything else a logged 500. */
function pageErrors(deps: ApiDeps): ErrorRequestHandler {
  return (err: { status?: number; type?: string }, req, res, next) => {
    if (res.headersSent) return next(err)
    if (typeof err?.status === 'number' && err.status >= 400 && err.status < 500) return send(res, pages.badRequestPage(err.status))
    if (isDatabaseUnavailable(err)) {
      res.set('Retry-After', '5')
      return send(res, pages.unavailablePage())
    }
    // The path holds the token: never logged.
    deps.logger.error({ err, method: req.method }, 'action link failed')
    send(res, pages.failedPage())
  }
}
