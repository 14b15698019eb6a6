export type { Db, SqlExecutor, SqlParam, QueryResult, Row } from './db.ts';
export { classifyDbError, quoteIdent, toBuffer } from './db.ts';
export { PostgresDb, type PostgresDbOptions } from './postgres-db.ts';
export { PgliteDb } from './pglite-db.ts';
export { migrate, listMigrations } from './migrate.ts';
export {
  registerEnte, registerEnti, listEnti, enteExists, partitionName, partitionStats, remotePartitionDdl, reindexEnte, ensureSearchIndexCurrent,
  PARTITIONED_TABLES, CLINICAL_TABLES, type PartitionedTable, type PartitionInfo, type EntePartitionStats, type EnteRow, type RegisterEnteOptions,
  type RemotePartitionOptions,
} from './partitions.ts';
export {
  extractSearchEntries, writeSearchIndex, rebuildSearchIndex, normalizeSystem, parseLiteralReference, SEARCH_INDEX_VERSION, TOKEN_PARAMS,
  REFERENCE_PARAMS, DATE_PARAMS, type ReferenceParam, type SearchEntries,
} from './search-index.ts';
export { fhirDateRange, fhirPeriodRange, DEFAULT_TIME_ZONE, type DateRange } from './fhir-date-range.ts';
export { assertReferencesInEnte, collectReferences, REFERENCE_OUTSIDE_ENTE, type ReferenceViolation } from './reference-guard.ts';
export {
  upsertDirectoryResource, getDirectoryResource, listDirectory, enteOrganization, enteOrganizationId, DirectoryError, ENTE_IDENTIFIER_SYSTEM,
} from './directory.ts';
export { StatisticsJob, analyzeGrownTables, type StatisticsJobOptions } from './statistics.ts';
export { RetentionJob, applyRetention, type RetentionPolicy, type RetentionReport } from './retention.ts';
export { InboxRepository } from './inbox-repository.ts';
export { ResourceStore, contentHash } from './resource-store.ts';
export { DeadLetterRepository, InvalidCursorError, type DeadLetterFilter, type Page } from './dead-letter-repository.ts';
export { writeAudit, type AuditEntry } from './audit.ts';
export { openStorage, type OpenStorageOptions } from './open.ts';
export type * from './types.ts';
