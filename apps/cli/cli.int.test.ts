import { execFile } from 'node:child_process'
import path from 'node:path'
import { promisify } from 'node:util'
import { caller, startStack, type Stack } from '../../test/stack'

const run = promisify(execFile)
let stack: Stack

beforeAll(async () => {
  stack = await startStack('cli', { worker: false })
})
afterAll(() => stack.stop())

test('`npm run cli -- org create <name>` prints only JSON with a working admin token, stored hashed', async () => {
  const root = path.join(__dirname, '..', '..')
  const { stdout } = await run('npm', ['run', 'cli', '--', 'org', 'create', 'Night Shift Ltd'], {
    cwd: root,
    env: { ...process.env, DATABASE_URL: stack.dbUrl },
  })
  const printed = JSON.parse(stdout)
  expect(Object.keys(printed).sort()).toEqual(['organization_id', 'token'])
  expect(printed.organization_id).toMatch(/^O[A-NP-Z1-9]{12}$/)
  expect(printed.token).toMatch(/^[0-9a-f]{64}$/)

  const org = await stack.db.selectFrom('organizations').selectAll().where('id', '=', printed.organization_id).executeTakeFirst()
  expect(org?.name).toBe('Night Shift Ltd')
  const tokens = await stack.db.selectFrom('api_tokens').selectAll().where('organization_id', '=', printed.organization_id).execute()
  expect(tokens).toHaveLength(1)
  expect(JSON.stringify(tokens)).not.toContain(printed.token)

  const me = await caller(stack.baseUrl, printed.token)('GET', '/api/v1/users/current/')
  expect(me).toMatchObject({ status: 200, body: { role: 'admin', username: 'admin' } })
})

test('a missing name is a usage error with exit code 2', async () => {
  const cli = path.join(__dirname, 'main.ts')
  const tsx = path.join(__dirname, '..', '..', 'node_modules', '.bin', 'tsx')
  await expect(run(tsx, [cli, 'org', 'create'], { env: { ...process.env, DATABASE_URL: stack.dbUrl } })).rejects.toMatchObject({
    code: 2,
    stderr: expect.stringContaining('org create needs a name'),
  })
})
