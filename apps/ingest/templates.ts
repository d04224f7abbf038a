import { spawn, type ChildProcess } from 'node:child_process'
import { pythonJsonDumps, pythonRegex, pythonStr } from './python'

// Jinja templates and user regexes run in a child process: a template that loops forever or a regex that
// backtracks catastrophically is stopped by killing it, never by hoping it returns. A process, not a worker
// thread, because a V8 heap overflow in a worker can abort the whole server. The child sees only the data it is
// given (empty environment), has a small heap, and nunjucks' lookups refuse the prototype chain.

export type TemplateJob =
  | { readonly kind: 'jinja'; readonly source: string; readonly context: unknown }
  | { readonly kind: 'regex'; readonly pattern: string; readonly context: unknown }
  | { readonly kind: 'compile'; readonly source: string }

export type TemplateResult = { readonly ok: true; readonly value: string } | { readonly ok: false; readonly error: string }

export interface TemplateLimits {
  /** Per job; a job over it costs one worker restart. */
  readonly jobTimeoutMs: number
  /** Rendered text longer than this is an error, not a result. */
  readonly maxOutputChars: number
  readonly maxHeapMb: number
}

export const defaultTemplateLimits: TemplateLimits = { jobTimeoutMs: 500, maxOutputChars: 100_000, maxHeapMb: 64 }

// OnCall's JINJA_TEMPLATE_MAX_LENGTH.
export const TEMPLATE_MAX_LENGTH = 50_000

const workerSource = (nunjucksPath: string) => `
'use strict'
// Bundlers that keep function names wrap them in __name(); the embedded helpers must not depend on that.
const __name = (target) => target
const nunjucks = require(${JSON.stringify(nunjucksPath)})
const pythonJsonDumps = ${pythonJsonDumps.toString()}
const pythonStr = ${pythonStr.toString()}
const pythonRegex = ${pythonRegex.toString()}
nunjucks.installJinjaCompat()
const runtime = nunjucks.runtime
const BLOCKED = new Set(['constructor', '__proto__', 'prototype', '__defineGetter__', '__defineSetter__', '__lookupGetter__', '__lookupSetter__', 'valueOf', 'toString', 'apply', 'call', 'bind'])
// Python's str methods that OnCall templates use (nunjucks has them only as filters).
const STR = {
  upper: (s) => () => s.toUpperCase(),
  lower: (s) => () => s.toLowerCase(),
  strip: (s) => (c) => { if (c === undefined || c === null) return s.trim(); let a = 0; let b = s.length; while (a < b && c.includes(s[a])) a++; while (b > a && c.includes(s[b - 1])) b--; return s.slice(a, b) },
  lstrip: (s) => () => s.trimStart(),
  rstrip: (s) => () => s.trimEnd(),
  startswith: (s) => (p) => s.startsWith(p),
  endswith: (s) => (p) => s.endsWith(p),
  split: (s) => (sep, max) => { const parts = sep === undefined || sep === null ? s.trim().split(/\\s+/) : s.split(sep); if (max === undefined || max < 0 || parts.length <= max + 1) return parts; return [...parts.slice(0, max), parts.slice(max).join(sep === undefined || sep === null ? ' ' : sep)] },
  replace: (s) => (a, b) => s.split(a).join(b),
  capitalize: (s) => () => s.charAt(0).toUpperCase() + s.slice(1).toLowerCase(),
  title: (s) => () => s.replace(/\\w\\S*/g, (w) => w.charAt(0).toUpperCase() + w.slice(1).toLowerCase()),
  format: (s) => (...args) => { let i = 0; return s.replace(/{}/g, () => String(args[i++])) },
}
const member = runtime.memberLookup
runtime.memberLookup = function (obj, val, autoescape) {
  if (BLOCKED.has(String(val))) return undefined
  if (typeof obj === 'string' && Object.prototype.hasOwnProperty.call(STR, val)) return STR[val](obj)
  return member.call(this, obj, val, autoescape)
}
const lookup = runtime.contextOrFrameLookup
runtime.contextOrFrameLookup = function (context, frame, name) {
  if (BLOCKED.has(String(name))) return undefined
  return lookup.call(this, context, frame, name)
}
// Objects print as Python would print them, so {{ payload.labels }} reads as it does in OnCall.
const suppress = runtime.suppressValue
runtime.suppressValue = function (val, autoescape) {
  if (val !== null && typeof val === 'object' && !(val instanceof runtime.SafeString)) val = pythonStr(val)
  else if (val === true || val === false) val = val ? 'True' : 'False'
  return suppress.call(this, val, autoescape)
}
const env = new nunjucks.Environment([], { autoescape: false, throwOnUndefined: false })
// Jinja's sandbox bound (MAX_RANGE): range() builds its list eagerly.
env.addGlobal('range', (start, stop, step) => {
  if (stop === undefined) { stop = start; start = 0 }
  step = step || 1
  const n = Math.max(0, Math.ceil((stop - start) / step))
  if (!(n <= 100000)) throw new Error('Range too big. The sandbox blocks ranges larger than MAX_RANGE (100000).')
  const out = []
  for (let i = 0; i < n; i++) out.push(start + i * step)
  return out
})
env.addFilter('tojson', (v) => JSON.stringify(v ?? null))
env.addFilter('json_dumps', (v) => pythonJsonDumps(v))
env.addFilter('parse_json', (v) => { try { return JSON.parse(String(v)) } catch { return null } })
env.addFilter('b64decode', (v) => Buffer.from(String(v), 'base64').toString('utf8'))
env.addFilter('regex_replace', (v, p, r) => String(v).replace(new RegExp(pythonRegex(String(p)).source, 'g'), String(r ?? '')))
env.addFilter('regex_match', (v, p) => { const m = pythonRegex(String(p)).exec(String(v)); return m !== null && m.index === 0 })
env.addFilter('regex_search', (v, p) => pythonRegex(String(p)).test(String(v)))
const compiled = new Map()
function template(source) {
  let t = compiled.get(source)
  if (!t) {
    t = new nunjucks.Template(source, env, undefined, true)
    if (compiled.size > 500) compiled.clear()
    compiled.set(source, t)
  }
  return t
}
function message(err) {
  return String(err && err.message ? err.message : err).replace('(unknown path)', '').replace(/\\s+/g, ' ').trim()
}
const regexes = new Map()
function run(job, maxOutput) {
  try {
    if (job.kind === 'compile') { template(job.source); return { ok: true, value: '' } }
    if (job.kind === 'regex') {
      let re = regexes.get(job.pattern)
      if (!re) { re = pythonRegex(job.pattern); if (regexes.size > 500) regexes.clear(); regexes.set(job.pattern, re) }
      return { ok: true, value: re.test(pythonJsonDumps(job.context)) ? 'true' : 'false' }
    }
    const out = template(job.source).render(job.context)
    if (out.length > maxOutput) return { ok: false, error: 'Template output is too long' }
    return { ok: true, value: out }
  } catch (err) {
    return { ok: false, error: message(err) }
  }
}
process.on('message', ({ id, jobs, maxOutput }) => {
  for (let i = 0; i < jobs.length; i++) process.send({ id, index: i, result: run(jobs[i], maxOutput) })
})
process.on('disconnect', () => process.exit(0))
process.send({ ready: true })
`

interface Batch {
  readonly id: number
  readonly jobs: readonly TemplateJob[]
  readonly results: Array<TemplateResult | undefined>
  /** Batch index of each job the current worker was sent, by the index it was sent at. */
  mapping: number[]
  timer?: NodeJS.Timeout
  resolve: (results: TemplateResult[]) => void
}

type WorkerMessage = { readonly ready: true } | { readonly id: number; readonly index: number; readonly result: TemplateResult }

// A new sandbox loads Node and nunjucks before it can run anything; under CPU load that alone can exceed a job's
// limit, so a job's time counts from the sandbox saying it is ready (a sandbox that never gets ready fails too).
const SANDBOX_START_TIMEOUT_MS = 15_000

/** One sandboxed worker; batches run one at a time, each job within its time limit. */
export class TemplateEngine {
  private worker: ChildProcess | undefined
  private queue: Promise<unknown> = Promise.resolve()
  private batchSeq = 0
  private current: Batch | undefined
  private closed = false
  /** The current sandbox has loaded and answers: jobs get their own limit from then on. */
  private workerReady = false
  /** Worker restarts caused by time limits or crashes (observable in tests). */
  restarts = 0

  constructor(readonly limits: TemplateLimits = defaultTemplateLimits) {}

  /** Runs jobs in order; never rejects: a failing job has `ok: false`. */
  run(jobs: readonly TemplateJob[]): Promise<TemplateResult[]> {
    if (jobs.length === 0) return Promise.resolve([])
    const result = this.queue.then(() => this.runBatch(jobs))
    this.queue = result.catch(() => undefined)
    return result
  }

  async render(source: string, context: unknown): Promise<TemplateResult> {
    return (await this.run([{ kind: 'jinja', source, context }]))[0] as TemplateResult
  }

  /** OnCall's write-time check: the template compiles (within the time limit) and is not too long. */
  async compileError(source: string): Promise<string | undefined> {
    if (source.length > TEMPLATE_MAX_LENGTH) return `Template exceeds length limit (${source.length} > ${TEMPLATE_MAX_LENGTH})`
    const [result] = await this.run([{ kind: 'compile', source }])
    return result?.ok ? undefined : (result?.error ?? 'invalid template')
  }

  async close(): Promise<void> {
    this.closed = true
    await this.queue
    const worker = this.worker
    this.worker = undefined
    worker?.kill('SIGKILL')
  }

  private spawn(): ChildProcess {
    const worker = spawn(
      process.execPath,
      [`--max-old-space-size=${this.limits.maxHeapMb}`, '--stack-size=2000', '-e', workerSource(require.resolve('nunjucks'))],
      { env: {}, stdio: ['ignore', 'ignore', 'ignore', 'ipc'], serialization: 'advanced' },
    )
    // Never what keeps the server alive: a pending job holds its own timer.
    worker.unref()
    worker.channel?.unref()
    worker.on('message', (msg: WorkerMessage) => this.onResult(worker, msg))
    worker.on('error', () => this.onDeath(worker, 'Template rendering failed (could not run)'))
    worker.on('exit', () => this.onDeath(worker, 'Template rendering failed (out of memory or crashed)'))
    return worker
  }

  private runBatch(jobs: readonly TemplateJob[]): Promise<TemplateResult[]> {
    if (this.closed) return Promise.resolve(jobs.map(() => ({ ok: false, error: 'template engine closed' }) as const))
    return new Promise((resolve) => {
      const batch: Batch = { id: ++this.batchSeq, jobs, results: new Array(jobs.length).fill(undefined), mapping: [], resolve }
      this.current = batch
      this.send(batch)
    })
  }

  /** Sends the batch's unanswered jobs to the worker (a new one after a failure) and arms the deadline. */
  private send(batch: Batch): void {
    batch.mapping = []
    const jobs: TemplateJob[] = []
    batch.jobs.forEach((job, i) => {
      if (batch.results[i] === undefined) {
        batch.mapping.push(i)
        jobs.push(job)
      }
    })
    if (jobs.length === 0) return this.finish(batch)
    if (!this.worker) {
      this.worker = this.spawn()
      this.workerReady = false
    }
    this.worker.send({ id: batch.id, jobs, maxOutput: this.limits.maxOutputChars })
    this.arm(batch)
  }

  private arm(batch: Batch): void {
    clearTimeout(batch.timer)
    const limitMs = this.workerReady ? this.limits.jobTimeoutMs : SANDBOX_START_TIMEOUT_MS + this.limits.jobTimeoutMs
    batch.timer = setTimeout(() => this.fail(batch, `Template rendering exceeded ${this.limits.jobTimeoutMs} ms`, true), limitMs)
  }

  private onResult(worker: ChildProcess, msg: WorkerMessage): void {
    if ('ready' in msg) {
      if (worker !== this.worker) return
      this.workerReady = true
      if (this.current) this.arm(this.current)
      return
    }
    const batch = this.current
    if (worker !== this.worker || !batch || msg.id !== batch.id) return
    batch.results[batch.mapping[msg.index] as number] = msg.result
    if (batch.results.every((r) => r !== undefined)) return this.finish(batch)
    this.arm(batch)
  }

  private onDeath(worker: ChildProcess, error: string): void {
    if (worker !== this.worker) return
    this.worker = undefined
    if (this.current) this.fail(this.current, error, false)
  }

  /** The first unanswered job failed: it, and every other job of the same template, get `error`; the rest go on. */
  private fail(batch: Batch, error: string, terminate: boolean): void {
    if (this.current !== batch) return
    clearTimeout(batch.timer)
    this.restarts += 1
    const worker = this.worker
    this.worker = undefined
    if (terminate) worker?.kill('SIGKILL')
    const first = batch.results.findIndex((r) => r === undefined)
    if (first === -1) return this.finish(batch)
    const key = jobKey(batch.jobs[first] as TemplateJob)
    batch.jobs.forEach((job, i) => {
      if (batch.results[i] === undefined && jobKey(job) === key) batch.results[i] = { ok: false, error }
    })
    this.send(batch)
  }

  private finish(batch: Batch): void {
    clearTimeout(batch.timer)
    if (this.current === batch) this.current = undefined
    batch.resolve(batch.results as TemplateResult[])
  }
}

function jobKey(job: TemplateJob): string {
  return job.kind === 'regex' ? `regex:${job.pattern}` : `jinja:${job.source}`
}


let shared: TemplateEngine | undefined

/** The process's engine: one sandbox process, started on first use. */
export function sharedTemplateEngine(): TemplateEngine {
  shared ??= new TemplateEngine()
  return shared
}

/** Stops the process's engine (its sandbox child) on shutdown; a later use starts a new one. */
export async function closeSharedTemplateEngine(): Promise<void> {
  const engine = shared
  shared = undefined
  await engine?.close()
}
