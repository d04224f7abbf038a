import { createHash } from 'node:crypto'

// Server-rendered pages with nothing to build and nothing fetched: every interpolated value is escaped unless it is
// already markup made here.

/** Markup made by `html`: interpolated as is. */
export class Html {
  constructor(readonly markup: string) {}
}

type Interpolated = Html | string | number | null | undefined | readonly Html[]

/** A template whose values are escaped; `Html` values and lists of them are inserted as markup. */
export function html(strings: TemplateStringsArray, ...values: Interpolated[]): Html {
  let markup = strings[0] ?? ''
  values.forEach((value, i) => {
    markup += markupOf(value) + (strings[i + 1] ?? '')
  })
  return new Html(markup)
}

function markupOf(value: Interpolated): string {
  if (value === null || value === undefined) return ''
  if (value instanceof Html) return value.markup
  if (Array.isArray(value)) return value.map((item: Html) => item.markup).join('')
  return escapeHtml(String(value))
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"'`]/g, (c) => `&#${c.charCodeAt(0)};`)
}

const STYLE = `
body { font: 16px/1.5 system-ui, sans-serif; margin: 0; color: #1b1b1b; background: #f6f6f6; }
main { max-width: 32rem; margin: 2rem auto; padding: 1.5rem; background: #fff; border-radius: 8px; }
h1 { font-size: 1.4rem; margin-top: 0; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1rem; }
dt { font-weight: 600; }
dd { margin: 0; overflow-wrap: anywhere; }
button { font: inherit; padding: .6rem 1.2rem; border: 0; border-radius: 6px; background: #1f5fbf; color: #fff; cursor: pointer; }
button:focus-visible { outline: 3px solid #f5b400; outline-offset: 2px; }
.note { color: #555; font-size: .9rem; }
`

/** The Content-Security-Policy of every page: the one stylesheet above, forms posting back here, nothing else. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  `style-src 'sha256-${createHash('sha256').update(STYLE).digest('base64')}'`,
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ')

/** A whole page: `title` names it in the tab and as its heading. */
export function page(title: string, body: Html): string {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<title>${title} · Tocsin</title>
<style>${new Html(STYLE)}</style>
</head>
<body>
<main>
<h1>${title}</h1>
${body}
</main>
</body>
</html>
`.markup
}
