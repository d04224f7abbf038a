// incident.io's documented example of POST /v2/escalations, literally: the request body and the escalation object
// of its 201 response. The tests replay the request (with real ids) and hold Tocsin's answer against the response.

export const seedRequest = {
  description: 'Database CPU has been above 90% for 5 minutes',
  escalation_path_id: '01H0J1EXE7AXZ2C93K61WBPYEH',
  idempotency_key: '2024-01-15-abc123',
  title: 'Production database experiencing high CPU',
  user_ids: ['01H0J1EXE7AXZ2C93K61WBPYEH', '01H0J1EXE7AXZ2C93K61WBPYEI'],
} as const

export const seedEscalation = {
  created_at: '2021-08-17T13:28:57.801578Z',
  creator: {
    alert: { id: '01GW2G3V0S59R238FAHPDS1R66', title: '*errors.withMessage: PG::Error failed to connect' },
    user: { email: 'lisa@incident.io', id: '01FCNDV6P870EA6S7TK1DSYDG0', name: 'Lisa Karlin Curtis', role: 'viewer', slack_user_id: 'U02AYNF2XJM' },
    workflow: { id: '01FCNDV6P870EA6S7TK1DSYDG0', name: 'My little workflow' },
  },
  escalation_path_id: '01G0J1EXE7AXZ2C93K61WBPYEH',
  events: [
    {
      channels: [{ microsoft_teams_channel_id: 'abc123', microsoft_teams_team_id: 'abc123', slack_channel_id: 'abc123', slack_team_id: 'abc123' }],
      event: 'entered_grace_period',
      id: '01G0J1EXE7AXZ2C93K61WBPYEH',
      occurred_at: '2021-08-17T13:28:57.801578Z',
      urgency: 'high',
      users: [{ email: 'lisa@incident.io', id: '01FCNDV6P870EA6S7TK1DSYDG0', name: 'Lisa Karlin Curtis', role: 'viewer', slack_user_id: 'U02AYNF2XJM' }],
    },
  ],
  id: '01G0J1EXE7AXZ2C93K61WBPYEH',
  priority: { name: 'P1' },
  related_alerts: [
    {
      alert_source_id: '01GW2G3V0S59R238FAHPDS1R66',
      created_at: '2021-08-17T13:28:57.801578Z',
      deduplication_key: '4293868629',
      description: 'CPU on the payments service has exceeded 75 percent for 5 minutes',
      id: '01GW2G3V0S59R238FAHPDS1R66',
      resolved_at: '2021-08-17T14:28:57.801578Z',
      source_url: 'https://www.my-alerting-platform.com/alerts/my-alert-123',
      status: 'firing',
      title: '*errors.withMessage: PG::Error failed to connect',
      updated_at: '2021-08-17T13:28:57.801578Z',
    },
  ],
  related_incidents: [
    {
      external_id: 123,
      id: '01FDAG4SAP5TYPT98WGR2N7W91',
      name: 'Our database is sad',
      reference: 'INC-123',
      status_category: 'triage',
      summary: "Our database is really really sad, and we don't know why yet.",
      visibility: 'public',
    },
  ],
  status: 'pending',
  title: 'Database CPU is high',
  updated_at: '2021-08-17T13:28:57.801578Z',
} as const

/**
 * The keys incident.io marks optional in each part; every other key of the example is required. `description` is a
 * required key of the escalation object that the example happens to leave out.
 */
const OPTIONAL: Record<string, readonly string[]> = {
  escalation: ['escalation_path_id', 'description'],
  creator: ['alert', 'user', 'workflow'],
  user: ['email', 'slack_user_id'],
  event: ['channels', 'urgency', 'users'],
  channel: ['microsoft_teams_channel_id', 'microsoft_teams_team_id', 'slack_channel_id', 'slack_team_id'],
  alert: ['description', 'resolved_at', 'source_url', 'alert_group_ids'],
  incident: ['summary'],
}

const PART_OF_KEY: Record<string, string> = {
  creator: 'creator',
  user: 'user',
  users: 'user',
  events: 'event',
  channels: 'channel',
  related_alerts: 'alert',
  related_incidents: 'incident',
}

const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:\d\d)$/

/**
 * Where `actual` departs from the shape of `example` (a part of the documented response): a missing required key,
 * a value of another JSON type, an instant that is not RFC 3339, or a key the example does not have. Empty when it
 * conforms. Arrays are checked element by element against the example's first element.
 */
export function shapeProblems(actual: unknown, example: unknown, part = 'escalation', path = 'escalation'): string[] {
  const kind = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v)
  if (kind(actual) !== kind(example)) return [`${path}: ${kind(actual)} where the example has ${kind(example)}`]
  if (Array.isArray(example)) {
    const [first] = example
    return (actual as unknown[]).flatMap((element, i) => (first === undefined ? [] : shapeProblems(element, first, part, `${path}[${i}]`)))
  }
  if (kind(example) !== 'object') {
    if (typeof example === 'string' && RFC3339.test(example) && !RFC3339.test(actual as string)) return [`${path}: ${String(actual)} is not RFC 3339`]
    return []
  }
  const expected = example as Record<string, unknown>
  const got = actual as Record<string, unknown>
  const optional = OPTIONAL[part] ?? []
  const problems: string[] = []
  for (const key of Object.keys(expected)) {
    if (!(key in got)) {
      if (!optional.includes(key)) problems.push(`${path}.${key}: missing`)
      continue
    }
    problems.push(...shapeProblems(got[key], expected[key], PART_OF_KEY[key] ?? key, `${path}.${key}`))
  }
  for (const key of Object.keys(got)) {
    if (!(key in expected) && !optional.includes(key)) problems.push(`${path}.${key}: not in incident.io's object`)
  }
  return problems
}
