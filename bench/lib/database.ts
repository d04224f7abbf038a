import { Client } from 'pg'

/** A bench's own database is of no use afterwards: drop it (from the server's `postgres` database). */
export async function dropDatabase(url: string): Promise<void> {
  const admin = new URL(url)
  const name = decodeURIComponent(admin.pathname.slice(1))
  admin.pathname = '/postgres'
  const client = new Client({ connectionString: admin.toString() })
  await client.connect()
  try {
    await client.query(`drop database if exists "${name.replace(/"/g, '""')}" with (force)`)
  } finally {
    await client.end()
  }
}
