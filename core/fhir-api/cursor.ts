import { createHash } from 'node:crypto';
import { FhirError } from './outcome.ts';

/**
 * Opaque keyset cursor for search pages: the sort key of the last entry sent (last_updated as
 * PostgreSQL text with microseconds, Ente, id) plus a fingerprint of the search it belongs to, so a
 * cursor cannot be replayed against another search or perimeter.
 */
export interface CursorKey {
  lastUpdated: string;
  ente: string;
  id: string;
}

export function searchFingerprint(scope: string, params: Array<[string, string]>): string {
  return createHash('sha256').update(scope).update('\u0000').update(JSON.stringify(params)).digest('base64url').slice(0, 16);
}

export function encodeCursor(key: CursorKey, fingerprint: string): string {
  return Buffer.from(JSON.stringify([1, fingerprint, key.lastUpdated, key.ente, key.id])).toString('base64url');
}

export function decodeCursor(cursor: string, fingerprint: string): CursorKey {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new FhirError('FHIR_INVALID_CURSOR', '_cursor is not a cursor this server issued');
  }
  if (!Array.isArray(parsed) || parsed.length !== 5 || parsed[0] !== 1 || !parsed.slice(2).every((v) => typeof v === 'string')) {
    throw new FhirError('FHIR_INVALID_CURSOR', '_cursor is not a cursor this server issued');
  }
  if (parsed[1] !== fingerprint) throw new FhirError('FHIR_INVALID_CURSOR', '_cursor belongs to another search: follow the "next" link as given');
  if (Number.isNaN(Date.parse(parsed[2] as string))) throw new FhirError('FHIR_INVALID_CURSOR', '_cursor is not a cursor this server issued');
  return { lastUpdated: parsed[2] as string, ente: parsed[3] as string, id: parsed[4] as string };
}
