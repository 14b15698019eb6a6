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
  /** The stored row's `search_keys` (JSON text): the index rows to delete when it is replaced. */
  previousKeys?: string | null;
}

/** The index rows of some resources, as JSON arrays ready for json_to_recordset. */
export interface SearchIndexRows {
  tokens: string;
  references: string;
  dates: string;
  counts: { tokens: number; references: number; dates: number };
  /** Per resource (same order), its `search_keys`: the rows written for it, as JSON text. */
  keys: string[];
}

/** The `search_keys` of a resource row (migration 024): its index rows, without the owner columns. */
export interface SearchKeys {
  t: Array<[param: string, system: string, code: string]>;
  r: Array<[param: string, targetType: string, targetId: string]>;
  d: Array<[param: string, low: string, high: string]>;
}

export function searchIndexRows(resources: readonly IndexedResource[]): SearchIndexRows {
  // JSON text built directly (one string per row, no row objects): this runs for every resource stored.
  const q = JSON.stringify;
  const tokens: string[] = [];
  const references: string[] = [];
  const dates: string[] = [];
  const keys: string[] = [];
  for (const r of resources) {
    const entries = extractSearchEntries(r.resource);
    const owner = `{"ente":${q(r.ente)},"resource_type":${q(r.resourceType)},"id":${q(r.id)},"param":`;
    const tokenKeys: string[] = [];
    const referenceKeys: string[] = [];
    const dateKeys: string[] = [];
    for (const t of entries.tokens) {
      const param = q(t.param), system = q(t.system), code = q(t.code);
      tokens.push(`${owner}${param},"system":${system},"code":${code}}`);
      tokenKeys.push(`[${param},${system},${code}]`);
    }
    for (const ref of entries.references) {
      const param = q(ref.param), targetType = q(ref.targetType), targetId = q(ref.targetId);
      references.push(`${owner}${param},"target_type":${targetType},"target_id":${targetId}}`);
      referenceKeys.push(`[${param},${targetType},${targetId}]`);
    }
    for (const d of entries.dates) {
      const param = q(d.param), low = q(d.low), high = q(d.high);
      dates.push(`${owner}${param},"low":${low},"high":${high}}`);
      dateKeys.push(`[${param},${low},${high}]`);
    }
    keys.push(`{"t":[${tokenKeys.join(',')}],"r":[${referenceKeys.join(',')}],"d":[${dateKeys.join(',')}]}`);
  }
  return {
    tokens: `[${tokens.join(',')}]`, references: `[${references.join(',')}]`, dates: `[${dates.join(',')}]`,
    counts: { tokens: tokens.length, references: references.length, dates: dates.length },
    keys,
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

/** The index tables, in the order of searchDeleteParams' groups of six arrays. */
export const SEARCH_TABLES = ['search_token', 'search_reference', 'search_date'] as const;
export type SearchTable = (typeof SEARCH_TABLES)[number];

/**
 * The delete of one table's index rows by their exact keys ($first … $first+5, one group of
 * searchDeleteParams), through the table's lookup index: no index on the owner columns is needed
 * (migration 024). unnest() arrays rather than a JSON recordset: a generic plan estimates 10 keys and
 * probes the index; json_to_recordset's fixed 100 made a scan of the partition look cheaper.
 * `entiParam`: an array of the Enti concerned, which prunes partitions in a generic plan.
 */
export function searchIndexDelete(table: SearchTable, first: number, entiParam?: number): string {
  const p = (i: number) => `$${first + i}`;
  const enti = entiParam ? `t.ente = ANY($${entiParam}::text[]) AND ` : '';
  const [columns, types, match] = {
    search_token: ['param, system, code', ['text', 'text', 'text'], 't.param = k.param AND t.code = k.code AND t.system = k.system'],
    search_reference: ['param, target_type, target_id', ['text', 'text', 'text'], 't.target_type = k.target_type AND t.target_id = k.target_id AND t.param = k.param'],
    search_date: ['param, low, high', ['text', 'timestamptz', 'timestamptz'], 't.param = k.param AND t.low = k.low AND t.high = k.high'],
  }[table] as [string, string[], string];
  return `DELETE FROM ${table} t
      USING unnest(${p(0)}::text[], ${p(1)}::text[], ${p(2)}::text[], ${types.map((type, i) => `${p(3 + i)}::${type}[]`).join(', ')}) AS k(ente, resource_type, id, ${columns})
      WHERE ${enti}t.ente = k.ente AND t.resource_type = k.resource_type AND ${match} AND t.id = k.id
      RETURNING 1`;
}

/** The stored keys of the resources being replaced, as six arrays per table (SEARCH_TABLES order). */
export function searchDeleteParams(replaced: ReadonlyArray<{ ente: string; resourceType: string; id: string; keys: string | null | undefined }>): string[][] {
  const columns: string[][] = Array.from({ length: 6 * SEARCH_TABLES.length }, () => []);
  const push = (offset: number, r: { ente: string; resourceType: string; id: string }, row: readonly string[]) => {
    columns[offset]!.push(r.ente);
    columns[offset + 1]!.push(r.resourceType);
    columns[offset + 2]!.push(r.id);
    for (let i = 0; i < 3; i++) columns[offset + 3 + i]!.push(row[i]!);
  };
  for (const r of replaced) {
    if (!r.keys) continue;
    const keys = JSON.parse(r.keys) as Partial<SearchKeys>;
    for (const row of keys.t ?? []) push(0, r, row);
    for (const row of keys.r ?? []) push(6, r, row);
    for (const row of keys.d ?? []) push(12, r, row);
  }
  return columns;
}

/**
 * Replaces the index rows of the given current resources (same transaction as the write): delete the
 * rows their stored keys name (`previousKeys`), insert the new ones, record the new keys on the
 * resource rows. The store does the same inside its one combined write statement; this is for rebuilds.
 */
export async function writeSearchIndex(tx: SqlExecutor, resources: IndexedResource[]): Promise<void> {
  if (resources.length === 0) return;
  const rows = searchIndexRows(resources);
  const replaced = resources.filter((r) => r.existed !== false && r.previousKeys);
  if (replaced.length > 0) {
    const params = searchDeleteParams(replaced.map((r) => ({ ente: r.ente, resourceType: r.resourceType, id: r.id, keys: r.previousKeys })));
    for (const [i, table] of SEARCH_TABLES.entries()) {
      const group = params.slice(6 * i, 6 * i + 6);
      if (group[0]!.length > 0) await tx.query(searchIndexDelete(table, 1), group);
    }
  }
  const inserts = searchIndexInserts(1);
  if (rows.counts.tokens > 0) await tx.query(inserts.token, [rows.tokens]);
  if (rows.counts.references > 0) await tx.query(inserts.reference, [rows.references]);
  if (rows.counts.dates > 0) await tx.query(inserts.date, [rows.dates]);
  await tx.query(
    `UPDATE resource r SET search_keys = k.search_keys::jsonb
     FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS k(ente, resource_type, id, search_keys)
     WHERE r.ente = k.ente AND r.resource_type = k.resource_type AND r.id = k.id`,
    [resources.map((r) => r.ente), resources.map((r) => r.resourceType), resources.map((r) => r.id), rows.keys],
  );
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
      const page = await tx.query<{ resource_type: string; id: string; resource: FhirResource; search_keys: string | null }>(
        `SELECT resource_type, id, resource, search_keys::text AS search_keys FROM resource
         WHERE ente = $1 AND ($2::text IS NULL OR (resource_type, id) > ($2::text, $3::text))
         ORDER BY resource_type, id LIMIT $4 FOR SHARE`,
        [ente, after?.type ?? null, after?.id ?? null, pageSize],
      );
      if (page.rows.length === 0) return true;
      await writeSearchIndex(tx, page.rows.map((r) => ({ ente, resourceType: r.resource_type, id: r.id, resource: r.resource, previousKeys: r.search_keys })));
      total += page.rows.length;
      const last = page.rows[page.rows.length - 1]!;
      after = { type: last.resource_type, id: last.id };
      return page.rows.length < pageSize;
    });
    if (done) return total;
  }
}
