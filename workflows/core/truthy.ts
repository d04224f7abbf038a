/** OnCall's truthiness of a rendered template (signal, route, webhook trigger): `1`, `true` or `ok`, any case. */
export function isTruthy(rendered: string): boolean {
  const value = rendered.trim().toLowerCase()
  return value === '1' || value === 'true' || value === 'ok'
}
