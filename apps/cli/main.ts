import { Connection } from '@temporalio/client'
import { createDb, ensureDatabase, migrateToLatest } from '../../db/connect'
import { createOrganization } from '../../db/organizations.repo'
import { loadConfig } from '../config'
import { ensureNamespace, ensureSearchAttributes } from '../temporal-setup'

const usage = `usage:
  npm run cli -- org create <name>     create an organization; prints {"organization_id", "token"} (token shown once)
  npm run cli -- db migrate            create the database if missing and apply pending migrations
  npm run cli -- temporal setup        register the Temporal namespace if missing, and Tocsin's search attributes in it`

async function main(argv: string[]): Promise<number> {
  const config = loadConfig()
  const [noun, verb, ...rest] = argv
  if (noun === 'org' && verb === 'create') {
    const name = rest.join(' ').trim()
    if (!name) return fail('org create needs a name')
    const db = createDb(config.db.url, { max: 1 })
    try {
      const created = await createOrganization(db, name)
      process.stdout.write(`${JSON.stringify({ organization_id: created.organizationId, token: created.token })}\n`)
      return 0
    } finally {
      await db.destroy()
    }
  }
  if (noun === 'db' && verb === 'migrate') {
    const created = await ensureDatabase(config.db.url)
    const db = createDb(config.db.url, { max: 1 })
    try {
      const applied = await migrateToLatest(db)
      console.error(`${created ? 'created database; ' : ''}${applied.length ? `applied ${applied.join(', ')}` : 'schema up to date'}`)
      return 0
    } finally {
      await db.destroy()
    }
  }
  if (noun === 'temporal' && verb === 'setup') {
    const connection = await Connection.connect({ address: config.temporal.address })
    try {
      const { namespace } = config.temporal
      if (await ensureNamespace(connection, namespace)) console.error(`registered namespace ${namespace}`)
      const added = await ensureSearchAttributes(connection, namespace)
      console.error(added.length ? `registered search attributes ${added.join(', ')}` : 'search attributes present')
      return 0
    } finally {
      await connection.close()
    }
  }
  return fail(noun ? `unknown command: ${argv.join(' ')}` : 'no command given')
}

function fail(message: string): number {
  console.error(`${message}\n${usage}`)
  return 2
}

main(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (err) => {
    console.error(err instanceof Error ? err.message : err)
    process.exitCode = 1
  },
)
