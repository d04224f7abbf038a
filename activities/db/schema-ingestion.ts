// Table types added by the ingestion issue (integrations, routes, incoming alerts); merged into Database in schema.ts.
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface IngestionTables {}
