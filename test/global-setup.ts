import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { freePort, startDevServer } from './temporal-dev-server'

// One Temporal dev server for the whole integration run (suites isolate themselves by task queue and database).
export default async function globalSetup(): Promise<void> {
  if (process.env.TOCSIN_TEST_TEMPORAL_ADDRESS) return
  const port = await freePort()
  const dir = mkdtempSync(path.join(tmpdir(), 'tocsin-temporal-'))
  const child = await startDevServer({ port, dbFile: path.join(dir, 'temporal.db') })
  ;(globalThis as { __tocsinTemporal?: unknown }).__tocsinTemporal = child
  process.env.TOCSIN_TEST_TEMPORAL_ADDRESS = `127.0.0.1:${port}`
}
