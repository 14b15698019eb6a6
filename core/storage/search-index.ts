import type { SqlExecutor } from './db.ts';
import { DEFAULT_TIME_ZONE, fhirDateRange, fhirPeriodRange, type DateRange } from './fhir-date-range.ts';
import type { FhirResource } from './types.ts';

/**
 * What the FHIR search API can filter on, extracted from each current resource at write time into
 * three side tables partitioned per Ente (migration 011): tokens, literal references and clinical
 * dates. Bump SEARCH_INDEX_VERSION whenever the extraction changes: Enti indexed with an older
 * version are rebuilt at start (registerEnti).
 */
export const SEARCH_INDEX_VERSION = 1;

/** Token parameters and the top-level elements they read (CodeableConcept, Coding or Identifier). */
export const TOKEN_PARAMS = {
  identifier: ['identifier'],
  code: ['code', 'medicationCodeableConcept', 'vaccineCode'],
  type: ['type'],
} as const;

/** Reference parameters. subject/patient/encounter are top-level elements of any type. */
export const REFERENCE_PARAMS = ['subject', 'patient', 'encounter', 'entry', 'related'] as const;
export type ReferenceParam = (typeof REFERENCE_PARAMS)[number];
/** The index rows a `patient` search reads: a `patient` element, or a `subject` that points to a Patient. */
export const PATIENT_PARAMS: readonly ReferenceParam[] = ['patient', 'subject'];

/** Date parameters per resource type (FHIR R4 "clinical-date" `date` plus a few type-specific ones). */
export const DATE_PARAMS: Record<string, Record<string, readonly string[]>> = {
  AllergyIntolerance: { date: ['recordedDate'] },
  CarePlan: { date: ['period'] },
  CareTeam: { date: ['period'] },
  ClinicalImpression: { date: ['date'] },
  Composition: { date: ['date'] },
  Condition: { 'onset-date': ['onsetDateTime', 'onsetPeriod'], 'recorded-date': ['recordedDate'] },
  Consent: { date: ['dateTime'] },
  DiagnosticReport: { date: ['effectiveDateTime', 'effectivePeriod'] },
  DocumentReference: { date: ['date'] },
  Encounter: { date: ['period'] },
  EpisodeOfCare: { date: ['period'] },
  FamilyMemberHistory: { date: ['date'] },
  Flag: { date: ['period'] },
  Immunization: { date: ['occurrenceDateTime'] },
  List: { date: ['date'] },
  MedicationRequest: { authoredon: ['authoredOn'] },
  Observation: { date: ['effectiveDateTime', 'effectivePeriod', 'effectiveInstant'] },
  Procedure: { date: ['performedDateTime', 'performedPeriod'] },
  RiskAssessment: { date: ['occurrenceDateTime', 'occurrencePeriod'] },
  ServiceRequest: { authored: ['authoredOn'] },
  SupplyRequest: { date: ['authoredOn'] },
};

export interface TokenEntry {
  param: string;
  system: string;
  code: string;
}

export interface ReferenceEntry {
  param: ReferenceParam;
  targetType: string;
  targetId: string;
}

export interface DateEntry extends DateRange {
  param: string;
}

export interface SearchEntries {
  tokens: TokenEntry[];
  references: ReferenceEntry[];
  dates: DateEntry[];
}

/** `urn:oid:X` and `X` are the same system; everything else is kept as written. */
export function normalizeSystem(system: string | undefined | null): string {
  if (!system) return '';
  return system.startsWith('urn:oid:') ? system.slice('urn:oid:'.length) : system;
}

const LITERAL_REFERENCE = /^([A-Z][A-Za-z]{1,63})\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[A-Za-z0-9\-.]{1,64})?$/;

/** "Type/id" (optionally versioned) → its parts; undefined for contained, absolute, urn or malformed references. */
export function parseLiteralReference(reference: string): { type: string; id: string } | undefined {
  const match = LITERAL_REFERENCE.exec(reference);
  return match ? { type: match[1]!, id: match[2]! } : undefined;
}

const asArray = (value: unknown): unknown[] => (Array.isArray(value) ? value : value === undefined || value === null ? [] : [value]);
const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

export function extractSearchEntries(resource: FhirResource, timeZone = DEFAULT_TIME_ZONE): SearchEntries {
  const tokens = new Map<string, TokenEntry>();
  const addToken = (param: string, system: unknown, code: unknown) => {
    if (typeof code !== 'string' || code === '') return;
    const entry = { param, system: normalizeSystem(typeof system === 'string' ? system : ''), code };
    tokens.set(`${entry.param}\u0000${entry.system}\u0000${entry.code}`, entry);
  };
  for (const element of TOKEN_PARAMS.identifier) {
    for (const identifier of asArray(resource[element])) if (isObject(identifier)) addToken('identifier', identifier.system, identifier.value);
  }
  for (const param of ['code', 'type'] as const) {
    for (const element of TOKEN_PARAMS[param]) {
      for (const concept of asArray(resource[element])) {
        if (!isObject(concept)) continue;
        // A CodeableConcept carries codings; a bare Coding (e.g. Encounter.class style) is its own coding.
        const codings = Array.isArray(concept.coding) ? concept.coding : [concept];
        for (const coding of codings) if (isObject(coding)) addToken(param, coding.system, coding.code);
      }
    }
  }

  const references = new Map<string, ReferenceEntry>();
  const addReference = (param: ReferenceParam, value: unknown) => {
    if (!isObject(value) || typeof value.reference !== 'string') return;
    const target = parseLiteralReference(value.reference);
    if (!target) return;
    references.set(`${param}\u0000${target.type}\u0000${target.id}`, { param, targetType: target.type, targetId: target.id });
  };
  // FHIR's `patient` parameter also covers a subject that is a Patient: queries read both params
  // (PATIENT_PARAMS) rather than the index storing the row twice.
  for (const value of asArray(resource.subject)) addReference('subject', value);
  for (const value of asArray(resource.patient)) addReference('patient', value);
  for (const value of asArray(resource.encounter)) addReference('encounter', value);
  if (resource.resourceType === 'Composition') {
    const walk = (sections: unknown) => {
      for (const section of asArray(sections)) {
        if (!isObject(section)) continue;
        for (const entry of asArray(section.entry)) addReference('entry', entry);
        walk(section.section);
      }
    };
    walk(resource.section);
  }
  if (resource.resourceType === 'DocumentReference' && isObject(resource.context)) {
    for (const value of asArray(resource.context.encounter)) addReference('encounter', value);
    for (const value of asArray(resource.context.related)) addReference('related', value);
  }

  const dates: DateEntry[] = [];
  for (const [param, elements] of Object.entries(DATE_PARAMS[resource.resourceType] ?? {})) {
    for (const element of elements) {
      const value = resource[element];
      const range = typeof value === 'string' ? fhirDateRange(value, timeZone) : isObject(value) ? fhirPeriodRange(value, timeZone) : undefined;
      if (range) dates.push({ param, ...range });
    }
  }
  return { tokens: [...tokens.values()], references: [...references.values()], dates };
}

export interface IndexedResource {
  ente: string;
  resourceType: string;
  id: string;
  resource: FhirResource;
  /** false when the resource is new: it has no index rows to delete. */
  existed?: boolean;
}

/** The index rows of some resources, as JSON arrays ready for json_to_recordset. */
export interface SearchIndexRows {
  tokens: string;
  references: string;
  dates: string;
  counts: { tokens: number; references: number; dates: number };
}

export function searchIndexRows(resources: readonly IndexedResource[]): SearchIndexRows {
  // JSON text built directly (one string per row, no row objects): this runs for every resource stored.
  const q = JSON.stringify;
  const tokens: string[] = [];
  const references: string[] = [];
  const dates: string[] = [];
  for (const r of resources) {
    const entries = extractSearchEntries(r.resource);
    const owner = `{"ente":${q(r.ente)},"resource_type":${q(r.resourceType)},"id":${q(r.id)},"param":`;
    for (const t of entries.tokens) tokens.push(`${owner}${q(t.param)},"system":${q(t.system)},"code":${q(t.code)}}`);
    for (const ref of entries.references) references.push(`${owner}${q(ref.param)},"target_type":${q(ref.targetType)},"target_id":${q(ref.targetId)}}`);
    for (const d of entries.dates) dates.push(`${owner}${q(d.param)},"low":${q(d.low)},"high":${q(d.high)}}`);
  }
  return {
    tokens: `[${tokens.join(',')}]`, references: `[${references.join(',')}]`, dates: `[${dates.join(',')}]`,
    counts: { tokens: tokens.length, references: references.length, dates: dates.length },
  };
}

/** Inserts into the three index tables from a JSON array parameter ($n), shared by the store's combined write and writeSearchIndex. */
export const searchIndexInserts = (token: number, reference = token, date = token) => ({
  token: `INSERT INTO search_token (ente, resource_type, id, param, system, code)
       SELECT ente, resource_type, id, param, system, code
       FROM json_to_recordset($${token}::json) AS x(ente text, resource_type text, id text, param text, system text, code text)`,
  reference: `INSERT INTO search_reference (ente, resource_type, id, param, target_type, target_id)
       SELECT ente, resource_type, id, param, target_type, target_id
       FROM json_to_recordset($${reference}::json) AS x(ente text, resource_type text, id text, param text, target_type text, target_id text)`,
  date: `INSERT INTO search_date (ente, resource_type, id, param, low, high)
       SELECT ente, resource_type, id, param, low, high
       FROM json_to_recordset($${date}::json) AS x(ente text, resource_type text, id text, param text, low timestamptz, high timestamptz)`,
});

/**
 * Replaces the index rows of the given current resources (same transaction as the write): delete the
 * old rows of each table (skipped when every resource is new), insert the new ones. The store does
 * the same inside its one combined write statement; this is for rebuilds.
 */
export async function writeSearchIndex(tx: SqlExecutor, resources: IndexedResource[]): Promise<void> {
  if (resources.length === 0) return;
  const replaced = resources.filter((r) => r.existed !== false);
  const keys = [replaced.map((r) => r.ente), replaced.map((r) => r.resourceType), replaced.map((r) => r.id)];
  const rows = searchIndexRows(resources);
  for (const table of replaced.length > 0 ? ['search_token', 'search_reference', 'search_date'] : []) {
    await tx.query(
      `DELETE FROM ${table} t USING unnest($1::text[], $2::text[], $3::text[]) AS k(ente, resource_type, id)
       WHERE t.ente = k.ente AND t.resource_type = k.resource_type AND t.id = k.id`,
      keys,
    );
  }
  const inserts = searchIndexInserts(1);
  if (rows.counts.tokens > 0) await tx.query(inserts.token, [rows.tokens]);
  if (rows.counts.references > 0) await tx.query(inserts.reference, [rows.references]);
  if (rows.counts.dates > 0) await tx.query(inserts.date, [rows.dates]);
}

/**
 * Rebuilds one Ente's search index from its current resources, in pages (one transaction per page,
 * so a large partition never holds one long transaction). The page's rows are share-locked so a
 * concurrent write cannot interleave; `advisoryLock` (PostgreSQL) serialises rebuilds started by
 * several processes at once. Returns the number of resources indexed.
 */
export async function rebuildSearchIndex(
  db: { transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T> },
  ente: string,
  pageSize = 1000,
  advisoryLock?: number,
): Promise<number> {
  let after: { type: string; id: string } | undefined;
  let total = 0;
  for (;;) {
    const done = await db.transaction(async (tx) => {
      if (advisoryLock !== undefined) await tx.query('SELECT pg_advisory_xact_lock($1)', [advisoryLock]);
      const page = await tx.query<{ resource_type: string; id: string; resource: FhirResource }>(
        `SELECT resource_type, id, resource FROM resource
         WHERE ente = $1 AND ($2::text IS NULL OR (resource_type, id) > ($2::text, $3::text))
         ORDER BY resource_type, id LIMIT $4 FOR SHARE`,
        [ente, after?.type ?? null, after?.id ?? null, pageSize],
      );
      if (page.rows.length === 0) return true;
      await writeSearchIndex(tx, page.rows.map((r) => ({ ente, resourceType: r.resource_type, id: r.id, resource: r.resource })));
      total += page.rows.length;
      const last = page.rows[page.rows.length - 1]!;
      after = { type: last.resource_type, id: last.id };
      return page.rows.length < pageSize;
    });
    if (done) return total;
  }
}
