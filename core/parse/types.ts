import type { PluginManifest } from '../plugins/manifest.ts';

export type Format = 'hl7v2' | 'cda' | 'xml';

/** Cheap facts read from the raw bytes without a full parse (ingest dedup, MLLP routing). Never throws. */
export interface Envelope {
  /** What routes match on: HL7 message type, CDA document code, XML root element. */
  routeKey: string | null;
  /** Identifies the message at its source: MSH-10, CDA id root/extension/version, XML record id. */
  sourceMessageId: string | null;
  /** Source timestamp as sent (MSH-7, CDA effectiveTime). */
  sourceTime: string | null;
  sendingApplication: string | null;
  sendingFacility: string | null;
}

export interface ParsedDocument {
  /** The JSON tree mappings read (see docs/parsed-trees.md). */
  tree: unknown;
  routeKey: string;
  sourceMessageId: string | null;
  sourceTime: string | null;
}

export interface FormatParser {
  readonly format: Format;
  envelope(raw: Buffer): Envelope;
  parse(raw: Buffer, manifest: PluginManifest): ParsedDocument;
  /**
   * Batch files (HL7 FHS/BHS batches, several MSH in one file, XML exports with a record path):
   * the raw bytes of each message/record, in order, each becoming its own inbox message.
   * Returns [raw] when the input is a single message. Never parses more than needed to find boundaries.
   */
  split?(raw: Buffer, manifest: PluginManifest): Buffer[];
}
