import { DATE_PARAMS, PATIENT_PARAMS, REFERENCE_PARAMS, type ReferenceParam } from '../storage/search-index.ts';
import { fhirDateRange, DEFAULT_TIME_ZONE, type DateRange } from '../storage/fhir-date-range.ts';
import { FhirError } from './outcome.ts';
import { equivalentSystems } from './system-aliases.ts';

/**
 * The search parameters the API understands, parsed and checked. Unknown parameters are refused
 * (400) rather than ignored: a silently dropped filter would return another patient's data to a
 * clinician who thought the search was narrower.
 */

export const RESOURCE_TYPE = /^[A-Z][A-Za-z]{1,63}$/;
export const RESOURCE_ID = /^[A-Za-z0-9\-.]{1,64}$/;

export const DEFAULT_COUNT = 50;
export const MAX_COUNT = 500;

/** A token value: `code`, `system|code`, `|code` (no system) or `system|` (any code of the system). */
export interface TokenValue {
  /** undefined: any system; []: no system. */
  systems: string[] | undefined;
  code: string | undefined;
}

export type DatePrefix = 'eq' | 'gt' | 'ge' | 'lt' | 'le';

export interface DateComparison {
  prefix: DatePrefix;
  range: DateRange;
}

export type SearchFilter =
  | { kind: 'id'; ids: string[] }
  | { kind: 'token'; param: 'identifier' | 'code' | 'type'; values: TokenValue[] }
  | { kind: 'reference'; params: ReferenceParam[]; targets: Array<{ type: string | undefined; id: string }> }
  | { kind: 'chain'; params: ReferenceParam[]; values: TokenValue[] }
  | { kind: 'date'; param: string; values: DateComparison[] }
  | { kind: 'lastUpdated'; values: DateComparison[] };

export interface RevInclude {
  /** undefined: any type (`*`). */
  sourceType: string | undefined;
  /** undefined: any reference parameter. */
  param: ReferenceParam | undefined;
  targetType: string | undefined;
  iterate: boolean;
}

export interface SearchQuery {
  type: string;
  filters: SearchFilter[];
  count: number;
  cursor: string | undefined;
  revIncludes: RevInclude[];
  /** The parameters as received, minus paging (for self/next links). */
  params: Array<[string, string]>;
}

const TOKEN_PARAMS = ['identifier', 'code', 'type'] as const;
const CHAINS: Record<string, ReferenceParam[]> = {
  'patient.identifier': [...PATIENT_PARAMS],
  'subject.identifier': ['subject'],
  'subject:Patient.identifier': ['subject'],
};
/** Reference parameters accepted as search filters, and the types they apply to (undefined = any). */
const REFERENCE_FILTERS: Record<string, { params: ReferenceParam[]; types?: string[]; targetType?: string }> = {
  subject: { params: ['subject'] },
  patient: { params: [...PATIENT_PARAMS], targetType: 'Patient' },
  encounter: { params: ['encounter'], targetType: 'Encounter' },
  entry: { params: ['entry'], types: ['Composition'] },
  related: { params: ['related'], types: ['DocumentReference'] },
};
const IGNORED = new Set(['_format', '_pretty']);

const invalid = (message: string) => new FhirError('FHIR_INVALID_PARAMETER', message);

function splitOr(value: string): string[] {
  // Commas separate alternatives; "\," is a literal comma.
  return value.split(/(?<!\\),/).map((v) => v.replace(/\\,/g, ','));
}

export function parseToken(raw: string, param: string): TokenValue {
  const bar = raw.indexOf('|');
  if (bar < 0) {
    if (raw === '') throw invalid(`${param}: empty value`);
    return { systems: undefined, code: raw };
  }
  const system = raw.slice(0, bar);
  const code = raw.slice(bar + 1);
  if (system === '' && code === '') throw invalid(`${param}: "|" alone is not a value`);
  return { systems: system === '' ? [] : equivalentSystems(system), code: code === '' ? undefined : code };
}

function parseReferenceTarget(raw: string, param: string, targetType: string | undefined): { type: string | undefined; id: string } {
  const parts = raw.split('/');
  if (parts.length === 1 && RESOURCE_ID.test(raw)) return { type: targetType, id: raw };
  if (parts.length === 2 && RESOURCE_TYPE.test(parts[0]!) && RESOURCE_ID.test(parts[1]!)) {
    if (targetType && parts[0] !== targetType) throw invalid(`${param} must reference a ${targetType}, got "${raw}"`);
    return { type: parts[0], id: parts[1]! };
  }
  throw invalid(`${param}: "${raw}" is not a reference of the form Type/id or id (absolute URLs are not accepted)`);
}

function parseDate(raw: string, param: string, timeZone: string): DateComparison {
  const match = /^(eq|ne|gt|ge|lt|le|sa|eb|ap)?(.*)$/.exec(raw)!;
  const prefix = (match[1] ?? 'eq') as DatePrefix | 'ne' | 'sa' | 'eb' | 'ap';
  if (prefix === 'ne' || prefix === 'sa' || prefix === 'eb' || prefix === 'ap') {
    throw new FhirError('FHIR_UNSUPPORTED_PARAMETER', `${param}: the prefix "${prefix}" is not supported (use eq, gt, ge, lt, le)`);
  }
  // An unencoded "+" of a time zone arrives as a space.
  const value = match[2]!.replace(/ (\d{2}:\d{2})$/, '+$1');
  const range = fhirDateRange(value, timeZone);
  if (!range) throw invalid(`${param}: "${raw}" is not a FHIR date, dateTime or instant`);
  return { prefix, range };
}

function parseRevInclude(raw: string, iterate: boolean): RevInclude {
  if (raw === '*') return { sourceType: undefined, param: undefined, targetType: undefined, iterate };
  const [sourceType, param, targetType, extra] = raw.split(':');
  if (extra !== undefined || !sourceType || !RESOURCE_TYPE.test(sourceType) || !param) {
    throw invalid(`_revinclude: "${raw}" is not of the form Type:parameter[:TargetType] or *`);
  }
  if (!(REFERENCE_PARAMS as readonly string[]).includes(param) && param !== '*') {
    throw new FhirError('FHIR_UNSUPPORTED_PARAMETER', `_revinclude: "${param}" is not a supported reference parameter (${REFERENCE_PARAMS.join(', ')})`);
  }
  if (targetType !== undefined && !RESOURCE_TYPE.test(targetType)) throw invalid(`_revinclude: "${targetType}" is not a resource type`);
  return { sourceType, param: param === '*' ? undefined : (param as ReferenceParam), targetType, iterate };
}

/** Parses the query string of a search on `type`. */
export function parseSearch(type: string, search: URLSearchParams, timeZone = DEFAULT_TIME_ZONE): SearchQuery {
  const query: SearchQuery = { type, filters: [], count: DEFAULT_COUNT, cursor: undefined, revIncludes: [], params: [] };
  const dateParams = DATE_PARAMS[type] ?? {};
  for (const [name, value] of search) {
    if (name === '_count') {
      const n = Number(value);
      if (!Number.isInteger(n) || n < 1 || n > MAX_COUNT) throw invalid(`_count must be an integer from 1 to ${MAX_COUNT}`);
      query.count = n;
      continue;
    }
    if (name === '_cursor') {
      query.cursor = value;
      continue;
    }
    if (IGNORED.has(name)) {
      if (name === '_format' && !/json/i.test(value)) throw new FhirError('FHIR_UNSUPPORTED_PARAMETER', '_format: only JSON is served');
      continue;
    }
    query.params.push([name, value]);
    if (name === '_revinclude' || name === '_revinclude:iterate') {
      query.revIncludes.push(parseRevInclude(value, name === '_revinclude:iterate'));
    } else if (name === '_id') {
      const ids = splitOr(value);
      for (const id of ids) if (!RESOURCE_ID.test(id)) throw invalid(`_id: "${id}" is not a resource id`);
      query.filters.push({ kind: 'id', ids });
    } else if (name === '_lastUpdated') {
      query.filters.push({ kind: 'lastUpdated', values: splitOr(value).map((v) => parseDate(v, name, timeZone)) });
    } else if ((TOKEN_PARAMS as readonly string[]).includes(name)) {
      query.filters.push({ kind: 'token', param: name as 'identifier' | 'code' | 'type', values: splitOr(value).map((v) => parseToken(v, name)) });
    } else if (CHAINS[name]) {
      query.filters.push({ kind: 'chain', params: CHAINS[name], values: splitOr(value).map((v) => parseToken(v, name)) });
    } else if (REFERENCE_FILTERS[name.split(':')[0]!]) {
      const [base, modifier] = name.split(':') as [string, string | undefined];
      const spec = REFERENCE_FILTERS[base]!;
      if (spec.types && !spec.types.includes(type)) throw new FhirError('FHIR_UNSUPPORTED_PARAMETER', `${base} is not a search parameter of ${type}`);
      if (modifier !== undefined && !RESOURCE_TYPE.test(modifier)) throw new FhirError('FHIR_UNSUPPORTED_PARAMETER', `${name}: unsupported modifier`);
      const targetType = modifier ?? spec.targetType;
      query.filters.push({ kind: 'reference', params: spec.params, targets: splitOr(value).map((v) => parseReferenceTarget(v, name, targetType)) });
    } else if (dateParams[name]) {
      query.filters.push({ kind: 'date', param: name, values: splitOr(value).map((v) => parseDate(v, name, timeZone)) });
    } else {
      const known = ['_id', '_lastUpdated', '_count', '_revinclude', '_revinclude:iterate', ...TOKEN_PARAMS, ...Object.keys(CHAINS), ...Object.keys(REFERENCE_FILTERS), ...Object.keys(dateParams)];
      throw new FhirError('FHIR_UNSUPPORTED_PARAMETER', `"${name}" is not a supported search parameter of ${type} (supported: ${known.join(', ')})`);
    }
  }
  return query;
}
