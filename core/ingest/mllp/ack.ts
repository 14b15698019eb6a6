import { randomBytes } from 'node:crypto';
import type { Hl7Envelope } from '../../parse/hl7v2/envelope.ts';

/** HL7 acknowledgment codes: original mode (AA/AE/AR) and enhanced mode commit acks (CA/CE/CR). */
export type AckCode = 'AA' | 'AE' | 'AR' | 'CA' | 'CE' | 'CR';

export interface AckError {
  /** HL7 table 0357: 100 segment sequence, 102 data type, 200 unsupported message type, 207 application internal error... */
  hl7Code: string;
  text: string;
}

/** Enhanced mode when the sender filled MSH-15 or MSH-16 (HL7 v2.x §2.9); original mode otherwise. */
export function isEnhancedMode(envelope: Hl7Envelope | undefined): boolean {
  return Boolean(envelope?.acceptAckType || envelope?.applicationAckType);
}

function timestamp(now: Date): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${now.getUTCFullYear()}${p(now.getUTCMonth() + 1)}${p(now.getUTCDate())}${p(now.getUTCHours())}${p(now.getUTCMinutes())}${p(now.getUTCSeconds())}+0000`;
}

function clean(text: string, delimiters: string): string {
  // Delimiters inside the free text would break the ACK's structure.
  let out = '';
  for (const ch of text.slice(0, 200)) out += delimiters.includes(ch) || ch === '\r' || ch === '\n' ? ' ' : ch;
  return out;
}

/**
 * An ACK answering the message whose header is `envelope` (or a generic one when the header could
 * not be read), swapping sender and receiver and echoing the control id in MSA-2.
 */
export function buildAck(envelope: Hl7Envelope | undefined, code: AckCode, error?: AckError, now = new Date()): string {
  const fs = envelope?.fieldSeparator ?? '|';
  const enc = envelope?.encodingCharacters ?? '^~\\&';
  const cs = enc[0] ?? '^';
  const delimiters = fs + enc;
  const trigger = envelope?.messageType?.split('^')[1] ?? '';
  const msh = [
    'MSH', enc, envelope?.receivingApplication ?? 'CDR', envelope?.receivingFacility ?? '', envelope?.sendingApplication ?? '',
    envelope?.sendingFacility ?? '', timestamp(now), '', `ACK${trigger ? `${cs}${trigger}` : ''}${cs}ACK`, `ACK${randomBytes(6).toString('hex')}`,
    envelope?.processingId ?? 'P', envelope?.version ?? '2.5',
  ].join(fs);
  const msa = ['MSA', code, envelope?.controlId ?? '', error ? clean(error.text, delimiters) : ''].join(fs);
  const segments = [msh, msa];
  if (error) {
    // ERR-3 (error code, table 0357) and ERR-4 (severity E), HL7 v2.5 layout.
    segments.push(['ERR', '', '', `${error.hl7Code}${cs}${cs}HL70357`, 'E', '', '', '', clean(error.text, delimiters)].join(fs));
  }
  return `${segments.join('\r')}\r`;
}
