import type { Migration, MigrationProvider } from 'kysely'
import * as foundation from './20261201T000000Z-foundation'
import * as configuration from './20261201T010000Z-configuration'

// @NOTE An explicit, append-only list: a globbing provider breaks once the code is bundled or compiled.
const migrations: Record<string, Migration> = {
  '20261201T000000Z-foundation': foundation,
  '20261201T010000Z-configuration': configuration,
}

export const migrationProvider: MigrationProvider = {
  getMigrations: async () => migrations,
}
