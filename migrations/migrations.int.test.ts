import { Migrator, sql } from 'kysely'
import { migrateToLatest } from '../db/connect'
import { createTestDatabase } from '../test/stack'
import { migrationProvider } from '.'

test('every migration goes up, down to nothing, and up again', async () => {
  const { db } = await createTestDatabase('migrations')
  try {
    const tables = async () =>
      (await sql<{ n: number }>`select count(*)::int as n from information_schema.tables where table_schema = 'public'
        and table_name not like 'kysely_%'`.execute(db)).rows[0]?.n
    const migrated = await tables()
    expect(migrated).toBeGreaterThan(10)
    const migrator = new Migrator({ db, provider: migrationProvider })
    const all = Object.keys(await migrationProvider.getMigrations())
    for (let i = 0; i < all.length; i++) {
      const { error } = await migrator.migrateDown()
      expect(error).toBeUndefined()
    }
    expect(await tables()).toBe(0)
    expect(await migrateToLatest(db)).toEqual(all)
    expect(await tables()).toBe(migrated)
  } finally {
    await db.destroy()
  }
})
