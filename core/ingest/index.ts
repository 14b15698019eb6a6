export { IngestService, UNASSIGNED_ENTE, UNROUTED_PLUGIN, type IngestRequest, type IngestResult, type IngestServiceOptions } from './ingest-service.ts';
export { createIngestRouter } from './http-ingest.ts';
export { MllpListener, MllpFramer, buildAck, frame, type MllpListenerOptions } from './mllp/index.ts';
export { FileDropWatcher, type FileDropOptions } from './file-drop.ts';
