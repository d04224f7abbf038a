import { type Connection } from '@temporalio/client'
import { temporal } from '@temporalio/proto'
import { tocsinSearchAttributes } from '../workflows/search-attributes'

const { IndexedValueType } = temporal.api.enums.v1

/**
 * Registers Tocsin's custom search attributes that the namespace lacks. The dev server applies
 * `--search-attribute` only when it first creates its database, so a persisted server needs this too.
 */
export async function ensureSearchAttributes(connection: Connection, namespace: string): Promise<string[]> {
  const existing = await connection.operatorService.listSearchAttributes({ namespace })
  const known = new Set(Object.keys(existing.customAttributes ?? {}))
  const missing = tocsinSearchAttributes.filter((key) => !known.has(key.name))
  if (missing.length === 0) return []
  await connection.operatorService.addSearchAttributes({
    namespace,
    searchAttributes: Object.fromEntries(missing.map((key) => [key.name, IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD])),
  })
  return missing.map((key) => key.name)
}
