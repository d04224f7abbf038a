import { readdirSync, readFileSync } from 'node:fs'

/**
 * CPU seconds used so far, from /proc, by this process (API + worker + bench), the Temporal server this bench talks
 * to (found by its port) and PostgreSQL (the backends serving the bench's database, and the WAL writer).
 */
export function cpuSeconds(databaseName: string) {
  const port = (process.env.TOCSIN_TEST_TEMPORAL_ADDRESS ?? '').split(':').pop() ?? ''
  const ticks = 100 // USER_HZ on Linux
  const totals = { 'this process (API + worker + bench)': 0, 'Temporal server': 0, PostgreSQL: 0 }
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
    if (Number(pid) === process.pid) totals['this process (API + worker + bench)'] += seconds
    else if (port !== '' && (command.includes(`--port ${port} `) || command.includes('.tools/server/server start'))) totals['Temporal server'] += seconds
    else if (command.startsWith('postgres:') && (command.includes(databaseName) || command.includes('walwriter'))) totals.PostgreSQL += seconds
  }
  return totals
}
