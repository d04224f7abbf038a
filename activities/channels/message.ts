import type { ActionLinks, ChannelMessage } from './port'

// The words of a page, one rendering per channel. Titles come from alerts (anyone who can post to an integration
// writes them), so each rendering neutralizes what its medium would interpret: line breaks in headers and SMS,
// markup in HTML and TwiML, mentions and link syntax in Slack's mrkdwn.

/** SMS and voice keep titles short: a long one splits an SMS into many parts and makes a call drone on. */
const SHORT_TITLE_CHARS = 80
const TITLE_CHARS = 200

const LINK_LABELS: ReadonlyArray<readonly [keyof ActionLinks, string]> = [
  ['acknowledge', 'Acknowledge'],
  ['resolve', 'Resolve'],
  ['silence', 'Silence for 1 hour'],
]

export interface EmailContent {
  readonly subject: string
  readonly text: string
  readonly html: string
}

export interface SlackContent {
  /** The notification's and screen readers' fallback; mrkdwn. */
  readonly text: string
  readonly blocks: readonly SlackBlock[]
}

export type SlackBlock = { readonly type: 'section'; readonly text: { readonly type: 'mrkdwn'; readonly text: string } }

/** One line of plain text: control characters and runs of white space become one space, then cut to `max`. */
export function oneLine(text: string, max: number): string {
  // eslint-disable-next-line no-control-regex
  const flat = text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\s]+/g, ' ').trim()
  return flat.length <= max ? flat : `${flat.slice(0, max - 1).trimEnd()}…`
}

function titleOf(message: ChannelMessage, max: number): string {
  const title = message.title === null ? '' : oneLine(message.title, max)
  return title === '' ? 'untitled' : title
}

function headline(message: ChannelMessage, max: number): string {
  return `Alert group ${message.alertGroupId}: ${titleOf(message, max)}`
}

export function emailOf(message: ChannelMessage): EmailContent {
  const line = headline(message, TITLE_CHARS)
  const subject = `${message.important ? 'Important: ' : ''}[Tocsin] ${line}`
  const intro = `${message.user.username}, you are paged${message.important ? ' (important)' : ''} for this alert group.`
  const links = message.links
  const text = [line, '', intro, ...(links ? ['', ...LINK_LABELS.map(([key, label]) => `${label}: ${links[key]}`)] : []), ''].join('\n')
  const html = [
    '<!doctype html>',
    '<html><body>',
    `<p><strong>${escapeMarkup(line)}</strong></p>`,
    `<p>${escapeMarkup(intro)}</p>`,
    ...(links ? [`<p>${LINK_LABELS.map(([key, label]) => `<a href="${escapeMarkup(links[key])}">${escapeMarkup(label)}</a>`).join(' &middot; ')}</p>`] : []),
    '</body></html>',
    '',
  ].join('\n')
  return { subject, text, html }
}

export function smsOf(message: ChannelMessage): string {
  const parts = [`Tocsin${message.important ? ' IMPORTANT' : ''}: ${headline(message, SHORT_TITLE_CHARS)}`]
  const links = message.links
  if (links) parts.push(`Ack: ${links.acknowledge}`, `Resolve: ${links.resolve}`, `Silence 1h: ${links.silence}`)
  return parts.join('\n')
}

/** A call that reads the page out, twice (the first words are often missed while the phone reaches an ear). */
export function voiceTwimlOf(message: ChannelMessage): string {
  const spoken = `This is Tocsin with ${message.important ? 'an important' : 'a'} page. ${headline(message, SHORT_TITLE_CHARS)}.`
  return `<?xml version="1.0" encoding="UTF-8"?><Response><Say loop="2">${escapeMarkup(spoken)}</Say></Response>`
}

export function slackOf(message: ChannelMessage): SlackContent {
  const line = `${message.important ? ':rotating_light: *Important:* ' : ''}${escapeMrkdwn(headline(message, TITLE_CHARS))}`
  const links = message.links
  const linkLine = links ? LINK_LABELS.map(([key, label]) => `<${slackUrl(links[key])}|${label}>`).join(' · ') : null
  const text = linkLine ? `${line}\n${linkLine}` : line
  return {
    text,
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: line } },
      ...(linkLine ? [{ type: 'section' as const, text: { type: 'mrkdwn' as const, text: linkLine } }] : []),
    ],
  }
}

/** What notify_whole_channel posts to a Slack channel: the text as mrkdwn-safe plain text. */
export function slackChannelText(text: string): string {
  return escapeMrkdwn(oneLine(text, 3000))
}

/** For HTML text and attributes, and XML alike. */
function escapeMarkup(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
}

/** Slack's three control characters; escaped, `<!channel>` or `<https://evil|bank>` in a title stay plain text. */
function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}

/** A URL inside `<url|label>`: the characters that would end it early are percent-encoded. */
function slackUrl(url: string): string {
  return url.replace(/[<>| ]/g, (c) => encodeURIComponent(c))
}
