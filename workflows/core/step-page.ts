import type { PageTarget } from './program'
import type { DirectPage } from './types'

/** Whom one target of a notify step reached, as the recipient resolver answers. */
export interface ResolvedTarget {
  readonly userIds: readonly string[]
  /** Why nobody is paged, for the timeline. */
  readonly emptyReason?: string
  readonly detail?: Readonly<Record<string, unknown>>
}

/**
 * A notify step's pages and timeline entry from its targets' answers, in target order: a user reached by two
 * targets is paged once, important if either target is; nobody reached makes the step `step_skipped`, with why.
 */
export function stepPageOf(
  targets: readonly PageTarget[],
  resolved: readonly ResolvedTarget[],
  stepInfo: Readonly<Record<string, unknown>>,
): { pages: DirectPage[]; entry: { kind: 'step_triggered' | 'step_skipped'; detail: Record<string, unknown> } } {
  const paged = new Map<string, boolean>()
  const details: Record<string, unknown> = {}
  const emptyReasons: string[] = []
  for (const [index, recipients] of resolved.entries()) {
    const important = targets[index]?.important ?? false
    for (const userId of recipients.userIds) paged.set(userId, (paged.get(userId) ?? false) || important)
    Object.assign(details, recipients.detail ?? {})
    if (recipients.emptyReason) emptyReasons.push(recipients.emptyReason)
  }
  const pages = [...paged].map(([userId, important]) => ({ userId, important }))
  return {
    pages,
    entry: {
      kind: pages.length > 0 ? 'step_triggered' : 'step_skipped',
      detail: {
        ...stepInfo,
        user_ids: pages.map((p) => p.userId),
        important: targets.some((t) => t.important),
        ...details,
        ...(pages.length === 0 && emptyReasons.length > 0 ? { reason: emptyReasons.join('; ') } : {}),
      },
    },
  }
}
