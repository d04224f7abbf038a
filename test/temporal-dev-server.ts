import { spawn, type ChildProcess } from 'node:child_process'
import { closeSync, existsSync, openSync } from 'node:fs'
import { createServer, Socket } from 'node:net'
import path from 'node:path'
import { tocsinSearchAttributes } from '../workflows/search-attributes'

/** The Temporal CLI to run: TEMPORAL_CLI_PATH, else the one the test command built into .tools/bin. */
export function temporalCliPath(): string {
  const candidate = process.env.TEMPORAL_CLI_PATH ?? path.join(__dirname, '..', '.tools', 'bin', 'temporal')
  if (!existsSync(candidate)) {
    throw new Error(`no Temporal CLI at ${candidate}: run the README's test command (npm test), which builds it`)
  }
  return candidate
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))))
    })
  })
}

export async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = new Socket()
      socket.once('connect', () => (socket.destroy(), resolve(true)))
      socket.once('error', () => (socket.destroy(), resolve(false)))
      socket.connect(port, '127.0.0.1')
    })
    if (open) return
    await new Promise((r) => setTimeout(r, 200))
  }
  throw new Error(`nothing listening on 127.0.0.1:${port} after ${timeoutMs} ms`)
}

/**
 * Starts `temporal server start-dev` headless on `port`, with Tocsin's search attributes, persisting to `dbFile`
 * (a server that is restarted must keep its state) or, without one, in memory (about 10 ms less per transition
 * here, since SQLite then writes no file). Its output goes to ours, or is appended to `logFile` when given.
 */
export async function startDevServer(options: { port: number; dbFile?: string; extraArgs?: string[]; logFile?: string }): Promise<ChildProcess> {
  const args = [
    'server',
    'start-dev',
    '--headless',
    '--ip',
    '127.0.0.1',
    '--port',
    String(options.port),
    ...(options.dbFile ? ['--db-filename', options.dbFile] : []),
    '--log-level',
    'error',
    '--dynamic-config-value',
    'frontend.enableServerVersionCheck=false',
    // A workflow task that schedules an activity gets the activity back in its answer, skipping a trip through matching.
    '--dynamic-config-value',
    'system.enableActivityEagerExecution=true',
    // The CLI turns this on so that search attributes added at run time show at once; every request that touches
    // search attributes then reads them from the database. Tocsin registers its own at start (below).
    '--dynamic-config-value',
    'system.forceSearchAttributesCacheRefreshOnRead=false',
    ...tocsinSearchAttributes.flatMap((key) => ['--search-attribute', `${key.name}=Keyword`]),
    ...(options.extraArgs ?? []),
  ]
  const output = options.logFile ? openSync(options.logFile, 'a') : 'inherit'
  const child = spawn(temporalCliPath(), args, { stdio: ['ignore', output, output] })
  if (typeof output === 'number') closeSync(output)
  await waitForPort(options.port, 60_000)
  return child
}

/**
 * For scripts (benchmarks): use TOCSIN_TEST_TEMPORAL_ADDRESS, or start a dev server and set it. Returns the
 * function that stops what was started, waiting for it to exit. `inMemory`: the server keeps no SQLite file (as the
 * test suites' server), else it persists to one as `npm start`'s does.
 */
export async function ensureTemporalForScript(options: { inMemory?: boolean } = {}): Promise<() => Promise<void>> {
  if (process.env.TOCSIN_TEST_TEMPORAL_ADDRESS) return async () => undefined
  const { mkdtempSync, rmSync } = await import('node:fs')
  const { tmpdir } = await import('node:os')
  const port = await freePort()
  const dir = mkdtempSync(path.join(tmpdir(), 'tocsin-script-'))
  const child = await startDevServer({ port, ...(options.inMemory ? {} : { dbFile: path.join(dir, 'temporal.db') }) })
  process.env.TOCSIN_TEST_TEMPORAL_ADDRESS = `127.0.0.1:${port}`
  return async () => {
    if (child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve))
      child.kill('SIGTERM')
      await exited
    }
    rmSync(dir, { recursive: true, force: true })
  }
}
