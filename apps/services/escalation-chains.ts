import type { Db } from '../../db/connect'
import * as chains from '../../db/escalation-chains.repo'
import type { EscalationChain } from '../../db/escalation-chains.repo'
import { getTeam } from '../../db/teams.repo'
import { ServiceError } from './errors'

export type { EscalationChain }

export interface ChainFilter {
  readonly name?: string
  /** null: chains without a team. */
  readonly teamId?: string | null
}

export function listEscalationChains(
  db: Db,
  organizationId: string,
  filter: ChainFilter,
  page: { offset: number; limit: number },
): Promise<{ rows: EscalationChain[]; count: number }> {
  return chains.listEscalationChains(db, organizationId, filter, page)
}

/** The chain, or `not_found`. */
export async function getEscalationChain(db: Db, organizationId: string, id: string): Promise<EscalationChain> {
  const chain = await chains.getEscalationChain(db, organizationId, id)
  if (!chain) throw new ServiceError('not_found', `no escalation chain ${id}`)
  return chain
}

/** A chain's team must be a team of the organization (`invalid_reference` on `teamId`). */
async function checkTeam(db: Db, organizationId: string, teamId: string | null | undefined): Promise<void> {
  if (teamId !== null && teamId !== undefined && !(await getTeam(db, organizationId, teamId))) {
    throw new ServiceError('invalid_reference', `no team ${teamId}`, { field: 'teamId' })
  }
}

/** Names are unique within an organization (`invalid_value` on `name`). */
function duplicateName(err: unknown): never {
  if (err instanceof chains.DuplicateChainNameError) {
    throw new ServiceError('invalid_value', 'an escalation chain with this name exists', { field: 'name' })
  }
  throw err
}

export async function createEscalationChain(
  db: Db,
  organizationId: string,
  fields: { name: string; teamId: string | null },
): Promise<EscalationChain> {
  await checkTeam(db, organizationId, fields.teamId)
  return chains.createEscalationChain(db, organizationId, fields).catch(duplicateName)
}

/** Renames the chain or moves it to another team (or none); absent fields stay. */
export async function updateEscalationChain(
  db: Db,
  organizationId: string,
  id: string,
  fields: { name?: string; teamId?: string | null },
): Promise<EscalationChain> {
  await checkTeam(db, organizationId, fields.teamId)
  const chain = await chains.updateEscalationChain(db, organizationId, id, fields).catch(duplicateName)
  if (!chain) throw new ServiceError('not_found', `no escalation chain ${id}`)
  return chain
}

/** Deletes the chain with its policies; routes that used it keep routing without a chain. */
export async function deleteEscalationChain(db: Db, organizationId: string, id: string): Promise<void> {
  if (!(await chains.deleteEscalationChain(db, organizationId, id))) {
    throw new ServiceError('not_found', `no escalation chain ${id}`)
  }
}
