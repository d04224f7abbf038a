import { DefaultLogger, Runtime, Worker } from '@temporalio/worker'
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'

// Replays every recorded history against today's workflow code: a change to the workflow's shape that would
// break running escalations fails here (record a new history, and guard the change with patched()).
const historiesDir = path.join(__dirname, 'histories')
const histories = readdirSync(historiesDir).filter((file) => file.endsWith('.json'))

beforeAll(() => {
  Runtime.install({ logger: new DefaultLogger('WARN') })
})

test('there is at least one recorded history', () => {
  expect(histories.length).toBeGreaterThan(0)
})

test.each(histories)('replays %s deterministically', async (file) => {
  const history = JSON.parse(readFileSync(path.join(historiesDir, file), 'utf8'))
  await expect(
    Worker.runReplayHistory({ workflowsPath: require.resolve('./index') }, history, `replay-${file}`),
  ).resolves.toBeUndefined()
}, 60_000)
