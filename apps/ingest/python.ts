// Python renderings OnCall's users rely on. Self-contained functions (no imports, no outer references): the
// template worker embeds their source.

/** `json.dumps(value)` with Python's defaults: `", "` and `": "` separators, non-ASCII escaped (ensure_ascii). */
export function pythonJsonDumps(value: unknown): string {
  const str = (s: string) =>
    JSON.stringify(s).replace(/[\u007f-\uffff]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'))
  const walk = (v: unknown): string => {
    if (v === null || v === undefined) return 'null'
    if (typeof v === 'string') return str(v)
    if (typeof v === 'number') return Number.isFinite(v) ? String(v) : v > 0 ? 'Infinity' : v < 0 ? '-Infinity' : 'NaN'
    if (typeof v === 'boolean') return v ? 'true' : 'false'
    if (Array.isArray(v)) return '[' + v.map(walk).join(', ') + ']'
    if (typeof v === 'object') {
      return '{' + Object.entries(v as Record<string, unknown>).map(([k, x]) => str(k) + ': ' + walk(x)).join(', ') + '}'
    }
    return 'null'
  }
  return walk(value)
}

/** `str(value)` in Python for JSON data: dicts and lists as repr, True/False/None, strings bare at the top. */
export function pythonStr(value: unknown): string {
  const quote = (s: string) => {
    const q = s.includes("'") && !s.includes('"') ? '"' : "'"
    let out = ''
    for (const c of s) {
      if (c === '\\') out += '\\\\'
      else if (c === q) out += '\\' + q
      else if (c === '\n') out += '\\n'
      else if (c === '\r') out += '\\r'
      else if (c === '\t') out += '\\t'
      else if (c < ' ' || c === '\u007f') out += '\\x' + c.charCodeAt(0).toString(16).padStart(2, '0')
      else out += c
    }
    return q + out + q
  }
  const repr = (v: unknown): string => {
    if (v === null || v === undefined) return 'None'
    if (typeof v === 'string') return quote(v)
    if (typeof v === 'boolean') return v ? 'True' : 'False'
    if (typeof v === 'number') return Number.isFinite(v) ? String(v) : v > 0 ? 'inf' : v < 0 ? '-inf' : 'nan'
    if (Array.isArray(v)) return '[' + v.map(repr).join(', ') + ']'
    if (typeof v === 'object') {
      return '{' + Object.entries(v as Record<string, unknown>).map(([k, x]) => quote(k) + ': ' + repr(x)).join(', ') + '}'
    }
    return String(v)
  }
  if (typeof value === 'string') return value
  return repr(value)
}

/**
 * A Python `re` pattern as a JavaScript RegExp: named groups `(?P<n>…)`/`(?P=n)` and leading inline flags are
 * translated. Throws when JavaScript cannot compile it. The subject is ASCII (ensure_ascii), so no `u` flag.
 */
export function pythonRegex(pattern: string): RegExp {
  let flags = ''
  let source = pattern
  const inline = /^\(\?([aiLmsux]+)\)/.exec(source)
  if (inline) {
    source = source.slice(inline[0].length)
    for (const f of inline[1] as string) if ((f === 'i' || f === 'm' || f === 's') && !flags.includes(f)) flags += f
  }
  source = source.replace(/\(\?P<(\w+)>/g, '(?<$1>').replace(/\(\?P=(\w+)\)/g, '\\k<$1>')
  return new RegExp(source, flags)
}
