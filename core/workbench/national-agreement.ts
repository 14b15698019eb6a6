import { codeSystemUri } from '../mapping/functions/cda.ts';

/**
 * Agreement between our FHIR output for a CDA document and the national FSE gateway's FHIR bundle for
 * the same document (shared/ig/it-fse-esempi: CDA/*.xml beside FHIR/*.json). The two differ by design
 * (profiles, ids, identifier systems), so only the clinical facts are compared:
 *  - every codice fiscale of the gateway's Patient is an identifier of one of our Patients;
 *  - every gateway Observation that carries a value is found among ours by code, with the same value
 *    (number, coded value, text, boolean), the same unit, and the same effective time (as instants).
 * A gateway "Problem" observation (LOINC 75326-9, value = the problem) may be matched by one of our
 * Conditions with that code: the same CDA problem entry, mapped to the resource the RL profiles want.
 * Each fact is one check; `differences` says, for each failed check, what differs.
 */
export interface AgreementResult {
  checks: number;
  agreed: number;
  differences: string[];
}

type Resource = Record<string, unknown> & { resourceType?: string };
type Coding = { system?: string; code?: string };

const CODICE_FISCALE_SYSTEMS = new Set(['http://hl7.it/sid/codiceFiscale', 'urn:oid:2.16.840.1.113883.2.9.4.3.2']);
const PROBLEM = 'http://loinc.org|75326-9';
/** Spellings of the same code system met in the national gateway and the RL sources. */
const SYSTEM_ALIASES: Record<string, string> = {
  'http://hl7.org/fhir/sid/icd-9': 'http://hl7.org/fhir/sid/icd-9-cm',
  'http://terminology.hl7.org/ValueSet/v3-DiagnosisICD9CM': 'http://hl7.org/fhir/sid/icd-9-cm',
  'https://terminology.hl7.org/CodeSystem-icd9': 'http://hl7.org/fhir/sid/icd-9-cm',
  'urn:oid:2.16.840.1.113883.6.73': 'http://www.whocc.no/atc',
};

export function resourcesOf(bundleOrResources: unknown): Resource[] {
  if (Array.isArray(bundleOrResources)) return bundleOrResources.filter((r): r is Resource => typeof r === 'object' && r !== null);
  const bundle = bundleOrResources as { resourceType?: string; entry?: Array<{ resource?: Resource }> } | undefined;
  if (bundle?.resourceType === 'Bundle') return (bundle.entry ?? []).map((e) => e.resource).filter((r): r is Resource => r !== undefined);
  return bundleOrResources && typeof bundleOrResources === 'object' ? [bundleOrResources as Resource] : [];
}

function normalizeSystem(system: string | undefined): string {
  if (!system) return '';
  const oid = system.startsWith('urn:oid:') ? system.slice(8) : undefined;
  const uri = oid ? codeSystemUri(oid) : system;
  return SYSTEM_ALIASES[uri] ?? uri;
}

function codeKeys(concept: unknown): string[] {
  const codings = ((concept as { coding?: Coding[] } | undefined)?.coding ?? []).filter((c) => c.code);
  return codings.map((c) => `${normalizeSystem(c.system)}|${c.code}`);
}

function codesOnly(concept: unknown): string[] {
  return ((concept as { coding?: Coding[] } | undefined)?.coding ?? []).map((c) => c.code ?? '').filter(Boolean);
}

function cfValues(patient: Resource): string[] {
  const identifiers = (patient.identifier as Array<{ system?: string; value?: string }> | undefined) ?? [];
  return identifiers.filter((i) => i.system && CODICE_FISCALE_SYSTEMS.has(i.system) && i.value).map((i) => i.value!.toUpperCase());
}

interface ObservedValue {
  kind: 'quantity' | 'coded' | 'text' | 'boolean' | 'none';
  number?: number;
  unit?: string;
  codes?: string[];
  text?: string;
  bool?: boolean;
}

function valueOf(resource: Resource): ObservedValue {
  if (resource.resourceType === 'Condition') return { kind: 'coded', codes: codesOnly(resource.code) };
  const quantity = resource.valueQuantity as { value?: number; unit?: string; code?: string } | undefined;
  if (quantity) return { kind: 'quantity', ...(quantity.value !== undefined ? { number: quantity.value } : {}), ...(quantity.unit ?? quantity.code ? { unit: quantity.unit ?? quantity.code } : {}) };
  if (typeof resource.valueInteger === 'number') return { kind: 'quantity', number: resource.valueInteger };
  if (resource.valueCodeableConcept) return { kind: 'coded', codes: codesOnly(resource.valueCodeableConcept) };
  if (typeof resource.valueString === 'string') return { kind: 'text', text: resource.valueString.trim() };
  if (typeof resource.valueBoolean === 'boolean') return { kind: 'boolean', bool: resource.valueBoolean };
  return { kind: 'none' };
}

function effectiveOf(resource: Resource): string | undefined {
  if (resource.resourceType === 'Condition') return (resource.onsetDateTime as string | undefined) ?? (resource.onsetPeriod as { start?: string } | undefined)?.start;
  return (
    (resource.effectiveDateTime as string | undefined) ??
    (resource.effectiveInstant as string | undefined) ??
    (resource.effectivePeriod as { start?: string } | undefined)?.start
  );
}

/** Same moment: instants compared as times; dates (no time) compared as written. */
function sameTime(a: string, b: string): boolean {
  if (a === b) return true;
  if (a.length <= 10 || b.length <= 10) return a.slice(0, 10) === b.slice(0, 10) && a.length <= 10 && b.length <= 10;
  const ta = Date.parse(a);
  const tb = Date.parse(b);
  return Number.isFinite(ta) && ta === tb;
}

function describe(value: ObservedValue): string {
  switch (value.kind) {
    case 'quantity': return `${value.number}${value.unit ? ` ${value.unit}` : ''}`;
    case 'coded': return (value.codes ?? []).join('/');
    case 'text': return JSON.stringify(value.text);
    case 'boolean': return String(value.bool);
    default: return 'no value';
  }
}

interface Comparison {
  checks: number;
  agreed: number;
  differences: string[];
}

/** The checks of one gateway observation against one of our candidates. */
function compareObservation(label: string, theirs: Resource, ours: Resource): Comparison {
  // The code matched (that is how the candidate was found): the presence check agrees.
  const result: Comparison = { checks: 1, agreed: 1, differences: [] };
  const check = (ok: boolean, difference: string) => {
    result.checks++;
    if (ok) result.agreed++;
    else result.differences.push(`${label}: ${difference}`);
  };
  const theirValue = theirs.resourceType === 'Observation' && codeKeys(theirs.code).includes(PROBLEM) && ours.resourceType === 'Condition'
    ? { kind: 'coded' as const, codes: codesOnly(theirs.valueCodeableConcept) }
    : valueOf(theirs);
  const ourValue = valueOf(ours);
  if (theirValue.kind === 'quantity') {
    check(ourValue.kind === 'quantity' && ourValue.number !== undefined && theirValue.number !== undefined && Math.abs(ourValue.number - theirValue.number) < 1e-9,
      `value ${describe(theirValue)} (gateway) ≠ ${describe(ourValue)} (ours)`);
    if (theirValue.unit) check(ourValue.unit === theirValue.unit, `unit "${theirValue.unit}" (gateway) ≠ "${ourValue.unit ?? ''}" (ours)`);
  } else if (theirValue.kind === 'coded') {
    check(ourValue.kind === 'coded' && (ourValue.codes ?? []).some((c) => (theirValue.codes ?? []).includes(c)), `coded value ${describe(theirValue)} (gateway) ≠ ${describe(ourValue)} (ours)`);
  } else if (theirValue.kind === 'text') {
    check(ourValue.kind === 'text' && ourValue.text === theirValue.text, `text ${describe(theirValue)} (gateway) ≠ ${describe(ourValue)} (ours)`);
  } else if (theirValue.kind === 'boolean') {
    check(ourValue.kind === 'boolean' && ourValue.bool === theirValue.bool, `boolean ${describe(theirValue)} (gateway) ≠ ${describe(ourValue)} (ours)`);
  }
  const theirTime = effectiveOf(theirs);
  if (theirTime) {
    const ourTime = effectiveOf(ours);
    check(ourTime !== undefined && sameTime(ourTime, theirTime), `effective time ${theirTime} (gateway) ≠ ${ourTime ?? 'none'} (ours)`);
  }
  return result;
}

/** How many checks a gateway observation has (presence, value, unit, time), for a missing match. */
function checksOf(theirs: Resource): number {
  const value = valueOf(theirs);
  return 1 + (value.kind === 'none' ? 0 : 1) + (value.kind === 'quantity' && value.unit ? 1 : 0) + (effectiveOf(theirs) ? 1 : 0);
}

export function compareWithGateway(ourBundle: unknown, gatewayBundle: unknown): AgreementResult {
  const ours = resourcesOf(ourBundle);
  const theirs = resourcesOf(gatewayBundle);
  const result: AgreementResult = { checks: 0, agreed: 0, differences: [] };

  const ourCfs = new Set(ours.filter((r) => r.resourceType === 'Patient').flatMap(cfValues));
  for (const cf of new Set(theirs.filter((r) => r.resourceType === 'Patient').flatMap(cfValues))) {
    result.checks++;
    if (ourCfs.has(cf)) result.agreed++;
    else result.differences.push(`Patient: codice fiscale ${cf} (gateway) is not an identifier of our Patient (ours: ${[...ourCfs].join(', ') || 'none'})`);
  }

  const ourObservations = ours.filter((r) => r.resourceType === 'Observation');
  const ourConditions = ours.filter((r) => r.resourceType === 'Condition');
  const used = new Set<Resource>();
  for (const observation of theirs.filter((r) => r.resourceType === 'Observation' && valueOf(r).kind !== 'none')) {
    const keys = codeKeys(observation.code);
    const label = `Observation ${keys[0] ?? '(no code)'}`;
    const isProblem = keys.includes(PROBLEM);
    const problemCodes = isProblem ? codesOnly(observation.valueCodeableConcept) : [];
    const candidates = [
      ...ourObservations.filter((o) => codeKeys(o.code).some((k) => keys.includes(k))),
      ...(isProblem ? ourConditions.filter((c) => codesOnly(c.code).some((code) => problemCodes.includes(code))) : []),
    ].filter((c) => !used.has(c));
    if (candidates.length === 0) {
      const missing = checksOf(observation);
      result.checks += missing;
      result.differences.push(`${label} = ${describe(valueOf(observation))}: no Observation with this code in our output`);
      continue;
    }
    // The candidate agreeing best (repeated codes: e.g. the same test in two sections).
    let best: { candidate: Resource; comparison: Comparison } | undefined;
    for (const candidate of candidates) {
      const comparison = compareObservation(label, observation, candidate);
      if (!best || comparison.agreed > best.comparison.agreed) best = { candidate, comparison };
    }
    used.add(best!.candidate);
    result.checks += best!.comparison.checks;
    result.agreed += best!.comparison.agreed;
    result.differences.push(...best!.comparison.differences);
  }
  return result;
}

/** "LAB 12/14 (85.7%)" */
export function formatAgreement(label: string, result: AgreementResult): string {
  const percent = result.checks === 0 ? 100 : (100 * result.agreed) / result.checks;
  return `${label} ${result.agreed}/${result.checks} (${percent.toFixed(1)}%)`;
}
