import { freePort, startDevServer } from './temporal-dev-server'

// One Temporal dev server for the whole integration run (suites isolate themselves by task queue and database).
// Nothing restarts it, so it keeps its state in memory (the suites that restart Temporal run servers of their own).
export default async function globalSetup(): Promise<void> {
  if (process.env.TOCSIN_TEST_TEMPORAL_ADDRESS) return
  const port = await freePort()
  const child = await startDevServer({ port })
  ;(globalThis as { __tocsinTemporal?: unknown }).__tocsinTemporal = child
  process.env.TOCSIN_TEST_TEMPORAL_ADDRESS = `127.0.0.1:${port}`
}
