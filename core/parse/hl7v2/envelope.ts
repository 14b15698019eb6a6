import { splitSegments } from './parser.ts';

/**
 * What ingest and MLLP routing need before full parsing: read from the MSH line only, never throws.
 * Fields are the raw (escaped) first components.
 */
export interface Hl7Envelope {
  messageType: string | null;
  controlId: string | null;
  messageDateTime: string | null;
  version: string | null;
  sendingApplication: string | null;
  sendingFacility: string | null;
  receivingApplication: string | null;
  receivingFacility: string | null;
  processingId: string | null;
  acceptAckType: string | null;
  applicationAckType: string | null;
  /** MSH-1..MSH-2 as sent, for building the ACK with the same delimiters. */
  fieldSeparator: string;
  encodingCharacters: string;
}

export function readHl7Envelope(raw: Buffer | string): Hl7Envelope | undefined {
  const head = typeof raw === 'string' ? raw.slice(0, 8192) : raw.toString('latin1', 0, Math.min(raw.length, 8192));
  const line = splitSegments(head).find((l) => l.startsWith('MSH'));
  if (!line || line.length < 8) return undefined;
  const fs = line[3]!;
  const fields = line.split(fs);
  const encodingCharacters = fields[1] ?? '^~\\&';
  const cs = encodingCharacters[0] ?? '^';
  const f = (n: number, whole = false): string | null => {
    const value = fields[n - 1];
    if (!value) return null;
    return whole ? value : (value.split(cs)[0] ?? null) || null;
  };
  const type = f(9, true);
  return {
    messageType: type ? type.split(cs).slice(0, 2).filter(Boolean).join('^') : null,
    controlId: f(10),
    messageDateTime: f(7),
    version: f(12),
    sendingApplication: f(3, true),
    sendingFacility: f(4, true),
    receivingApplication: f(5, true),
    receivingFacility: f(6, true),
    processingId: f(11),
    acceptAckType: f(15),
    applicationAckType: f(16),
    fieldSeparator: fs,
    encodingCharacters,
  };
}
