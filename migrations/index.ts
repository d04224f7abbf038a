import type { Migration, MigrationProvider } from 'kysely'
import * as foundation from './20261201T000000Z-foundation'
import * as configuration from './20261201T010000Z-configuration'
import * as schedules from './20261201T020000Z-schedules'
import * as ingestion from './20261201T030000Z-ingestion'
import * as engine from './20261201T040000Z-engine'
import * as incidentStepKey from './20261205T000000Z-incident-step-key'
import * as heartbeats from './20261205T010000Z-heartbeats'
import * as escalationPaths from './20261206T000000Z-escalation-paths'
import * as escalations from './20261206T010000Z-escalations'
import * as alertGroupResolution from './20261206T020000Z-alert-group-resolution'
import * as roundRobinQueues from './20261206T030000Z-round-robin-queues'
import * as personalNotificationRules from './20261207T000000Z-personal-notification-rules'

// @NOTE An explicit, append-only list: a globbing provider breaks once the code is bundled or compiled.
const migrations: Record<string, Migration> = {
  '20261201T000000Z-foundation': foundation,
  '20261201T010000Z-configuration': configuration,
  '20261201T020000Z-schedules': schedules,
  '20261201T030000Z-ingestion': ingestion,
  '20261201T040000Z-engine': engine,
  '20261205T000000Z-incident-step-key': incidentStepKey,
  '20261205T010000Z-heartbeats': heartbeats,
  '20261206T000000Z-escalation-paths': escalationPaths,
  '20261206T010000Z-escalations': escalations,
  '20261206T020000Z-alert-group-resolution': alertGroupResolution,
  '20261206T030000Z-round-robin-queues': roundRobinQueues,
  '20261207T000000Z-personal-notification-rules': personalNotificationRules,
}

export const migrationProvider: MigrationProvider = {
  getMigrations: async () => migrations,
}
