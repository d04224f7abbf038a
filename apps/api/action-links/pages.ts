import type { AlertGroup } from '../../services/alert-groups'
import type { ActionLinkAction } from '../../action-links'
import type { Refusal } from '../../../workflows/core/lifecycle'
import { html, page, type Html } from './html'

// What a person who opened an action link reads: one page per outcome, each with its HTTP status. The wording says
// what happened to the alert group and what to do next, never why a token failed in detail.

export interface Page {
  readonly status: number
  readonly html: string
}

/** The group as the pages show it, with the usernames of who acknowledged and resolved it, when known. */
export interface GroupView {
  readonly group: AlertGroup
  readonly acknowledgedBy: string | null
  readonly resolvedBy: string | null
}

const verbs: Record<ActionLinkAction, { button: string; question: string; done: string; doneText: string }> = {
  acknowledge: {
    button: 'Acknowledge',
    question: 'Acknowledge this alert group?',
    done: 'Acknowledged',
    doneText: 'You acknowledged this alert group: its escalation stops paging.',
  },
  resolve: {
    button: 'Resolve',
    question: 'Resolve this alert group?',
    done: 'Resolved',
    doneText: 'You resolved this alert group: its escalation has ended.',
  },
  silence: {
    button: 'Silence for 1 hour',
    question: 'Silence this alert group for 1 hour?',
    done: 'Silenced for 1 hour',
    doneText: 'You silenced this alert group for 1 hour: nobody is paged for it until then.',
  },
}

/** GET on a valid link: what the link does, and the one button that does it. A GET never acts. */
export function confirmPage(view: GroupView, action: ActionLinkAction, actor: string, token: string, expiresAt: Date): Page {
  const verb = verbs[action]
  return ok(
    verb.question,
    html`${groupFacts(view, actor)}
<form method="post">
<input type="hidden" name="token" value="${token}">
<button type="submit">${verb.button}</button>
</form>
<p class="note">This link acts as ${actor} and expires at <time datetime="${expiresAt.toISOString()}">${shortTime(expiresAt.toISOString())}</time>.</p>`,
  )
}

/** POST that acted. */
export function donePage(view: GroupView, action: ActionLinkAction, actor: string): Page {
  const verb = verbs[action]
  return ok(verb.done, html`<p role="status">${verb.doneText}</p>
${groupFacts(view, actor)}`)
}

/** The lifecycle refused the action: not an error, the group is simply past it. */
export function refusedPage(view: GroupView, refusal: Refusal, actor: string): Page {
  const [title, text] = refusalWords(refusal)
  return ok(title, html`<p role="status">${text} Nothing was changed.</p>
${groupFacts(view, actor)}`)
}

/** The escalation ended and the stored state explains nothing more. */
export function endedPage(view: GroupView, actor: string): Page {
  return ok('Escalation over', html`<p role="status">This alert group's escalation has ended. Nothing was changed.</p>
${groupFacts(view, actor)}`)
}

export function invalidLinkPage(): Page {
  return problem(400, 'This link is not valid', 'The link is incomplete or was changed. Open it again from the original message, or act on the alert group in Grafana OnCall.')
}

export function expiredLinkPage(): Page {
  return problem(410, 'This link has expired', 'Action links work for a limited time. Act on the alert group in Grafana OnCall, or use the link of a newer page.')
}

export function noUserPage(): Page {
  return problem(404, 'This link no longer works', 'The user this link was sent to no longer exists. Nothing was changed.')
}

export function noGroupPage(): Page {
  return problem(404, 'Alert group not found', "This alert group does not exist (any more) in your organization. Nothing was changed.")
}

export function forbiddenPage(role: string): Page {
  return problem(403, 'Not allowed', `Your role (${role}) may view alert groups but not act on them. Nothing was changed.`)
}

export function formIncompletePage(): Page {
  return problem(400, 'Form incomplete', 'The form did not carry this link. Open the link again and press the button on its page. Nothing was changed.')
}

export function notEnabledPage(): Page {
  return problem(404, 'Action links are off', 'This server does not serve action links. Act on the alert group in Grafana OnCall.')
}

export function notFoundPage(): Page {
  return problem(404, 'Page not found', 'There is nothing here. Action links look like /l/ followed by a code.')
}

export function methodNotAllowedPage(): Page {
  return problem(405, 'Method not allowed', 'Open the link in a browser and press its button.')
}

/** Body-parser refusals (too large, unsupported charset or encoding) and malformed URLs. */
export function badRequestPage(status: number): Page {
  return problem(status, 'Request refused', 'This request could not be read. Open the link again and press the button on its page. Nothing was changed.')
}

export function unavailablePage(): Page {
  return problem(503, 'Try again shortly', 'Tocsin cannot reach its database or escalation engine right now. Nothing was changed: reload this page in a moment.')
}

export function failedPage(): Page {
  return problem(500, 'Something went wrong', 'The action could not be completed. Reload this page to try again, or act on the alert group in Grafana OnCall.')
}

function ok(title: string, body: Html): Page {
  return { status: 200, html: page(title, body) }
}

function problem(status: number, title: string, text: string): Page {
  return { status, html: page(title, html`<p>${text}</p>`) }
}

function refusalWords(refusal: Refusal): [string, string] {
  switch (refusal.code) {
    case 'acknowledged':
      return ['Already acknowledged', 'This alert group is already acknowledged.']
    case 'resolved':
      return ['Already resolved', 'This alert group is already resolved.']
    case 'expired':
      return ['Escalation over', 'This escalation ran out with nobody acknowledging it; it is over.']
    case 'cancelled':
      return ['Escalation cancelled', 'This escalation was cancelled; it is over.']
    case 'maintenance':
      return ['In maintenance', 'This alert group belongs to a maintenance window and cannot be acknowledged.']
    default:
      return ['Nothing to do', `This alert group cannot be changed this way in its current state.`]
  }
}

function groupFacts({ group, acknowledgedBy, resolvedBy }: GroupView, actor: string): Html {
  return html`<dl>
<dt>Alert group</dt><dd>${group.title ?? group.id}</dd>
<dt>ID</dt><dd>${group.id}</dd>
<dt>State</dt><dd>${stateOf(group, acknowledgedBy, resolvedBy)}</dd>
<dt>Acting as</dt><dd>${actor}</dd>
</dl>`
}

function stateOf(group: AlertGroup, acknowledgedBy: string | null, resolvedBy: string | null): Html {
  const by = (name: string | null) => (name === null ? '' : ` by ${name}`)
  if (group.resolvedAt !== null) {
    const how = group.resolution === 'expired' ? 'expired' : group.resolution === 'cancelled' ? 'cancelled' : `resolved${by(resolvedBy)}`
    return html`${how} ${at(group.resolvedAt)}`
  }
  if (group.acknowledgedAt !== null) return html`acknowledged${by(acknowledgedBy)} ${at(group.acknowledgedAt)}`
  if (group.silencedAt !== null) return html`silenced ${at(group.silencedAt)}`
  return html`firing`
}

function at(pgText: string): Html {
  return html`at ${shortTime(pgText)}`
}

/** `2026-12-07 10:00 UTC` from an ISO instant or PostgreSQL's UTC text; anything else as it is. */
function shortTime(text: string): string {
  const match = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2})/.exec(text)
  return match ? `${match[1]} ${match[2]} UTC` : text
}
