import { readdirSync, readFileSync } from 'node:fs'

/**
 * CPU seconds used so far, from /proc, by this process (named `self`), the bench's other processes (by name: pid),
 * the Temporal server this bench talks to (found by its port) and PostgreSQL (the backends serving the bench's
 * database, the WAL writer, and backends that ended meanwhile).
 */
export function cpuSeconds(
  databaseName: string,
  self = 'this process (API + worker + bench)',
  others: Readonly<Record<string, number | undefined>> = {},
): Record<string, number> {
  const port = (process.env.TOCSIN_TEST_TEMPORAL_ADDRESS ?? '').split(':').pop() ?? ''
  const ticks = 100 // USER_HZ on Linux
  const totals: Record<string, number> = { [self]: 0, ...Object.fromEntries(Object.keys(others).map((name) => [name, 0])), 'Temporal server': 0, PostgreSQL: 0 }
  const otherByPid = new Map(Object.entries(others).map(([name, pid]) => [pid, name]))
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    let stat: string
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    } catch {
      continue // ended meanwhile
    }
    let command = ''
    try {
      command = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ')
    } catch {
      continue
    }
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    const seconds = (Number(fields[11]) + Number(fields[12])) / ticks
    const add = (name: string) => (totals[name] = (totals[name] ?? 0) + seconds)
    const other = otherByPid.get(Number(pid))
    if (Number(pid) === process.pid) add(self)
    else if (other !== undefined) add(other)
    else if (port !== '' && (command.includes(`--port ${port} `) || command.includes('.tools/server/server start'))) add('Temporal server')
    else if (command.startsWith('postgres:') && (command.includes(databaseName) || command.includes('walwriter'))) add('PostgreSQL')
    // Backends that ended (a pool closing idle connections) live on in the postmaster's reaped-children time; on a
    // quiet machine those are the bench's.
    else if (/\bbin\/postgres\b/.test(command)) totals.PostgreSQL = (totals.PostgreSQL ?? 0) + (Number(fields[13]) + Number(fields[14])) / ticks
  }
  return totals
}
