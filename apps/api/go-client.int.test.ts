import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { issueToken } from '../../db/tokens.repo'
import { createOrg, startStack, type Stack } from '../../test/stack'

// The real Grafana OnCall Go client (github.com/grafana/amixr-api-go-client, what Terraform's
// grafana_oncall_user_notification_rule drives) against /api/v1/personal_notification_rules: test/go-client creates,
// reads, updates, lists and deletes rules and checks every answer; here we check its exit and the rows it left.
// The build uses only the local module cache (no network in tests): `go mod download` in test/go-client once.

const GO_CLIENT_DIR = join(__dirname, '..', '..', 'test', 'go-client')
// The first build compiles the client and its dependencies.
const FIRST_BUILD_MS = 180_000

let stack: Stack

beforeAll(async () => {
  stack = await startStack('go_client', { worker: false })
})
afterAll(() => stack.stop())

function runGoClient(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = {
    ...process.env,
    PATH: `/usr/local/go/bin:${process.env.PATH ?? ''}`,
    GOTOOLCHAIN: 'local',
    GOFLAGS: '-mod=readonly',
    GOPROXY: 'off',
    GOSUMDB: 'off',
    GOWORK: 'off',
  }
  return new Promise((resolve) => {
    execFile('go', ['run', '.', ...args], { cwd: GO_CLIENT_DIR, env, timeout: FIRST_BUILD_MS - 10_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0
      resolve({ code, stdout, stderr })
    })
  })
}

test(
  'the Go client creates, gets, updates, lists and deletes personal notification rules, and every answer checks out',
  async () => {
    const org = await createOrg(stack, 'Go Client Co')
    const user = await org.call('POST', '/api/v1/users/', { username: 'gopher', email: 'gopher@example.test', role: 'editor' })
    expect(user.status).toBe(201)
    const userId = user.body.id as string
    // Personal notification rules take user API tokens only: the user's own.
    const token = await issueToken(stack.db, org.organizationId, userId, 'go client')

    const run = await runGoClient(['-base-url', stack.baseUrl, '-token', token, '-user-id', userId])
    if (run.code !== 0) {
      const missingModules = /GOPROXY=off|module lookup disabled|missing go.sum entry/.test(run.stderr)
      throw new Error(
        `go client exited ${run.code}${missingModules ? ' (run `go mod download` in test/go-client first)' : ''}:\n${run.stderr.slice(-4000)}`,
      )
    }
    const kept = JSON.parse(run.stdout.trim().split('\n').pop() as string) as { wait: string; phone: string; deleted: string }

    const rows = await stack.db
      .selectFrom('personal_notification_rules')
      .select(['id', 'organization_id', 'user_id', 'important', 'position', 'type', 'duration_seconds'])
      .where('user_id', '=', userId)
      .orderBy('important')
      .orderBy('position')
      .execute()
    const common = { organization_id: org.organizationId, user_id: userId }
    expect(rows).toEqual([
      { ...common, id: kept.wait, important: false, position: 0, type: 'wait', duration_seconds: 900 },
      { ...common, id: kept.phone, important: true, position: 0, type: 'notify_by_phone_call', duration_seconds: null },
    ])
    expect(rows.map((row) => row.id)).not.toContain(kept.deleted)
  },
  FIRST_BUILD_MS,
)
