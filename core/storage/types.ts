/** Plain shapes that cross the storage boundary. */

export type MessageState = 'received' | 'processing' | 'stored' | 'dead-lettered';
export type Channel = 'http' | 'mllp' | 'file' | 'replay';

export interface TrailEntry {
  stage: string;
  at: string;
  ok: boolean;
  /** Milliseconds spent in this stage. */
  ms?: number;
  error?: { stage: string; code: string; message: string };
  warnings?: string[];
  info?: Record<string, unknown>;
}

export interface FhirResource {
  resourceType: string;
  id?: string;
  meta?: { versionId?: string; lastUpdated?: string; profile?: string[]; source?: string; [key: string]: unknown };
  [key: string]: unknown;
}

export type WriteOutcome = 'created' | 'updated' | 'unchanged' | 'out-of-order' | 'kept';

export interface WrittenResource {
  resourceType: string;
  id: string;
  versionId: string;
  outcome: WriteOutcome;
}

export interface NewInboxMessage {
  ente: string;
  messageId: string;
  pluginId: string;
  channel: Channel;
  raw: Buffer;
  /** SHA-256 of raw (hex), when the caller has it already. */
  rawSha256?: string | undefined;
  contentType?: string | undefined;
  /** Identifies a redelivery of the same message (control id + content hash); null disables dedup. */
  dedupKey?: string | null | undefined;
  messageType?: string | null | undefined;
  controlId?: string | null | undefined;
  sourceTime?: Date | null | undefined;
}

export interface InboxAcceptResult {
  messageId: string;
  /** true when an identical message was already in the inbox: no new job is needed. */
  duplicate: boolean;
}

export interface InboxMessage {
  ente: string;
  messageId: string;
  pluginId: string;
  channel: Channel;
  receivedAt: Date;
  raw: Buffer;
  rawSha256: string;
  contentType: string | null;
  dedupKey: string | null;
  messageType: string | null;
  controlId: string | null;
  sourceTime: Date | null;
  state: MessageState;
  trail: TrailEntry[];
  resources: WrittenResource[] | null;
  attempts: number;
}

export interface StoreRequest {
  ente: string;
  messageId: string;
  producerHash: string;
  sourceTime: Date | null;
  resources: FhirResource[];
  /** Aligned with resources: true = write only if the resource does not exist yet (conditional create). */
  createIfAbsent?: boolean[] | undefined;
  /** Trail entries of this processing run, appended to the inbox trail with the final 'stored' entry. */
  trail: TrailEntry[];
  attempts: number;
}

export interface StoreResult {
  messageId: string;
  resources: WrittenResource[];
}

export interface DeadLetterInput {
  ente: string;
  messageId: string;
  pluginId: string;
  stage: string;
  errorCode: string;
  reason: string;
  details?: Record<string, unknown> | undefined;
  attempts: number;
  producerHash?: string | null | undefined;
  trail: TrailEntry[];
}

export interface DeadLetter {
  id: string;
  ente: string;
  messageId: string;
  pluginId: string;
  stage: string;
  errorCode: string;
  reason: string;
  details: Record<string, unknown> | null;
  attempts: number;
  producerHash: string | null;
  createdAt: Date;
  status: 'open' | 'replayed' | 'discarded';
  resolvedAt: Date | null;
  resolvedBy: string | null;
}

export interface StoredResource {
  ente: string;
  resourceType: string;
  id: string;
  versionId: number;
  lastUpdated: Date;
  messageId: string | null;
  producerHash: string | null;
  resource: FhirResource;
}
