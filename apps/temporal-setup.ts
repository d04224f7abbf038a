import { isGrpcServiceError, type Connection } from '@temporalio/client'
import { msToTs } from '@temporalio/common/lib/time'
import { temporal } from '@temporalio/proto'
import { tocsinSearchAttributes } from '../workflows/search-attributes'

const { IndexedValueType } = temporal.api.enums.v1

// gRPC status codes (NamespaceNotFound is NOT_FOUND; NamespaceAlreadyExists is ALREADY_EXISTS).
const NOT_FOUND = 5
const ALREADY_EXISTS = 6

/** How long closed escalations stay visible in Temporal (UI, `workflow list`) before the server deletes them. */
export const NAMESPACE_RETENTION_SECONDS = 3 * 24 * 60 * 60

/**
 * Registers the namespace when it does not exist, with NAMESPACE_RETENTION_SECONDS of retention; true when it did.
 * The dev server creates `default` itself, the full server creates no namespace.
 */
export async function ensureNamespace(connection: Connection, namespace: string): Promise<boolean> {
  try {
    await connection.workflowService.describeNamespace({ namespace })
    return false
  } catch (err) {
    if (!hasCode(err, NOT_FOUND)) throw err
  }
  try {
    await connection.workflowService.registerNamespace({
      namespace,
      workflowExecutionRetentionPeriod: msToTs(NAMESPACE_RETENTION_SECONDS * 1000),
    })
    return true
  } catch (err) {
    // Another setup job got there first.
    if (hasCode(err, ALREADY_EXISTS)) return false
    throw err
  }
}

/**
 * Registers Tocsin's custom search attributes that the namespace lacks. The dev server applies
 * `--search-attribute` only when it first creates its database, so a persisted server needs this too.
 * A namespace registered moments ago is unknown to the server's caches for a few seconds (NamespaceNotFound):
 * retried until `namespaceWaitMs` has passed.
 */
export async function ensureSearchAttributes(
  connection: Connection,
  namespace: string,
  { namespaceWaitMs = 30_000 }: { namespaceWaitMs?: number } = {},
): Promise<string[]> {
  const deadline = Date.now() + namespaceWaitMs
  for (let delayMs = 250; ; delayMs = Math.min(delayMs * 2, 2_000)) {
    try {
      return await addMissingSearchAttributes(connection, namespace)
    } catch (err) {
      if (!hasCode(err, NOT_FOUND) || Date.now() + delayMs > deadline) throw err
      await new Promise((resolve) => setTimeout(resolve, delayMs))
    }
  }
}

async function addMissingSearchAttributes(connection: Connection, namespace: string): Promise<string[]> {
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

function hasCode(err: unknown, code: number): boolean {
  return isGrpcServiceError(err) && err.code === code
}
