export { IngestService, type IngestRequest, type IngestResult, type IngestServiceOptions } from './ingest-service.ts';
export { createIngestRouter } from './http-ingest.ts';
