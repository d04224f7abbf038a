import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common'

// Custom search attributes, so operators can filter escalations in the Temporal Web UI.
export const AlertGroupIdKey = defineSearchAttributeKey('AlertGroupId', SearchAttributeType.KEYWORD)
export const AlertGroupStateKey = defineSearchAttributeKey('AlertGroupState', SearchAttributeType.KEYWORD)
export const OrganizationIdKey = defineSearchAttributeKey('OrganizationId', SearchAttributeType.KEYWORD)
export const EscalationChainIdKey = defineSearchAttributeKey('EscalationChainId', SearchAttributeType.KEYWORD)
export const TeamIdKey = defineSearchAttributeKey('TeamId', SearchAttributeType.KEYWORD)

export const tocsinSearchAttributes = [
  AlertGroupIdKey,
  AlertGroupStateKey,
  OrganizationIdKey,
  EscalationChainIdKey,
  TeamIdKey,
] as const
