import type { Db } from '../../db/connect'
import { getIntegrationByToken, type Integration } from '../../db/integrations.repo'

// Token lookups of the alert endpoint, kept for a few seconds: under a storm every alert would otherwise pay a
// join of integrations and routes before its insert. The API empties this cache as soon as it deletes or changes
// an integration, so this process answers 403 for a deleted integration at once; another API process can still
// accept alerts for it until its own entry expires (TOKEN_TTL_MS), and the processor drops those alerts as it
// drops any alert of a deleted integration.

export const TOKEN_TTL_MS = 2000

interface Entry {
  readonly lookup: Promise<Integration | undefined>
  readonly expiresAt: number
}

export class IntegrationTokenCache {
  private readonly byToken = new Map<string, Entry>()

  constructor(
    private readonly db: Db,
    private readonly ttlMs = TOKEN_TTL_MS,
  ) {}

  /** The live integration with this token, or undefined; concurrent requests for one token share one query. */
  async get(token: string, nowMs = Date.now()): Promise<Integration | undefined> {
    const cached = this.byToken.get(token)
    if (cached && cached.expiresAt > nowMs) return cached.lookup
    const entry: Entry = { lookup: getIntegrationByToken(this.db, token), expiresAt: nowMs + this.ttlMs }
    this.byToken.set(token, entry)
    try {
      const integration = await entry.lookup
      // Unknown tokens are not kept: the map holds live tokens only.
      if (!integration) this.drop(token, entry)
      return integration
    } catch (err) {
      this.drop(token, entry)
      throw err
    }
  }

  /**
   * An integration was deleted or changed: every later request reads again. All entries go, lookups in flight
   * included (their answer may predate the change); changes are rare, a re-read per live token is cheap.
   */
  invalidate(): void {
    this.byToken.clear()
  }

  private drop(token: string, entry: Entry): void {
    if (this.byToken.get(token) === entry) this.byToken.delete(token)
  }
}
