import { execFile } from 'node:child_process'
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { freePort } from './temporal-dev-server'

const run = promisify(execFile)

/** The newest PostgreSQL server binaries installed from Debian's packages (initdb, pg_ctl). */
function postgresBinDir(): string {
  const root = '/usr/lib/postgresql'
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => existsSync(path.join(root, v, 'bin', 'initdb')))
        .sort((a, b) => Number(b) - Number(a))
    : []
  if (versions.length === 0) throw new Error(`no PostgreSQL server binaries under ${root}`)
  return path.join(root, versions[0] as string, 'bin')
}

/** PostgreSQL refuses to run as root: when the tests run as root, the cluster belongs to the postgres user. */
function clusterOwner(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postgres:'))
  if (!line) throw new Error('running as root, but there is no postgres user to own a private cluster')
  const [, , uid, gid] = line.split(':')
  return { uid: Number(uid), gid: Number(gid) }
}

/**
 * A PostgreSQL cluster of one's own (`initdb` into a temporary directory, on a free loopback port, trust auth),
 * for tests that stop and start the database under a running Tocsin. Crash-like stops: `stopImmediately()`.
 */
export class PrivatePostgres {
  private running = false

  private constructor(
    readonly port: number,
    private readonly dir: string,
    private readonly bin: string,
    private readonly owner: { uid: number; gid: number } | undefined,
  ) {}

  static async create(): Promise<PrivatePostgres> {
    const dir = mkdtempSync(path.join(tmpdir(), 'tocsin-pg-'))
    const owner = clusterOwner()
    if (owner) chownSync(dir, owner.uid, owner.gid)
    const cluster = new PrivatePostgres(await freePort(), dir, postgresBinDir(), owner)
    await cluster.exec('initdb', ['-D', cluster.dataDir, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C'])
    await cluster.start()
    return cluster
  }

  /** A connection URL for `database` on this cluster. */
  url(database = 'postgres'): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${database}`
  }

  get isRunning(): boolean {
    return this.running
  }

  /** Starts the server and waits until it accepts connections. */
  async start(): Promise<void> {
    // Durability against a power cut is not what these tests are about; a process crash loses nothing anyway.
    const options = `-p ${this.port} -c listen_addresses=127.0.0.1 -k ${this.dir} -c fsync=off -c full_page_writes=off -c max_connections=200`
    await this.exec('pg_ctl', ['-D', this.dataDir, '-l', path.join(this.dir, 'server.log'), '-o', options, '-w', '-t', '60', 'start'])
    this.running = true
  }

  /** Stops the server the way a crash does: connections are cut at once, recovery runs at the next start. */
  async stopImmediately(): Promise<void> {
    await this.exec('pg_ctl', ['-D', this.dataDir, '-m', 'immediate', '-w', 'stop'])
    this.running = false
  }

  /** Stops the server (if it runs) and deletes the cluster. */
  async destroy(): Promise<void> {
    if (this.running) await this.stopImmediately().catch(() => undefined)
    rmSync(this.dir, { recursive: true, force: true })
  }

  /** The server's own log, for a failing test's message. */
  serverLog(): string {
    const file = path.join(this.dir, 'server.log')
    return existsSync(file) ? readFileSync(file, 'utf8') : ''
  }

  private get dataDir(): string {
    return path.join(this.dir, 'data')
  }

  private async exec(program: string, args: string[]): Promise<void> {
    await run(path.join(this.bin, program), args, { cwd: this.dir, ...(this.owner ?? {}), timeout: 120_000 })
  }
}
