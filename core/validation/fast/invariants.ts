/**
 * Invariants for the fast engine: each (FHIRPath base, expression) is prepared once — a native JavaScript check for
 * the few expressions evaluated on nearly every resource, otherwise the expression compiled once with `fhirpath`.
 *
 * Two verdicts, because the reference engine has two evaluators: Medplum passes a constraint only when the result
 * is exactly `true` ('strict'); the profile walker also passes an empty result ('lenient', e.g. ref-1 on a
 * Reference without `reference`).
 */
import fhirpath from 'fhirpath';
import r4Model from 'fhirpath/fhir-context/r4';

type Compiled = (resource: unknown, env?: Record<string, unknown>) => unknown[];

/** true / false: the verdict is known; undefined: the native check cannot tell, evaluate the FHIRPath. */
type Native = (value: Record<string, unknown>, resource: Record<string, unknown>) => boolean | undefined;

export type Verdict = 'true' | 'false' | 'empty' | 'error';

const noTrace = (): void => undefined;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function nonEmpty(v: unknown): boolean {
  return v !== undefined && v !== null && (!Array.isArray(v) || v.length > 0);
}

/** a dateTime to the second with an explicit zone; group 1 is the zone */
const FULL_DATE_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)$/;

function hasChoice(obj: Record<string, unknown>, stem: string): boolean {
  for (const k in obj) if (k.length > stem.length && k.startsWith(stem) && k.charCodeAt(stem.length) <= 90 && k.charCodeAt(stem.length) >= 65) return true;
  return false;
}

const CONDITION_VER_STATUS = 'http://terminology.hl7.org/CodeSystem/condition-ver-status';
const ALLERGY_VERIFICATION = 'http://terminology.hl7.org/CodeSystem/allergyintolerance-verification';

/** Whether a CodeableConcept has the coding system|code; undefined when its shape is not plain JSON strings. */
function hasCoding(cc: unknown, system: string, code: string): boolean | undefined {
  if (cc === undefined) return false;
  if (!isPlainObject(cc)) return undefined;
  const codings = cc.coding;
  if (codings === undefined) return false;
  if (!Array.isArray(codings)) return undefined;
  let found = false;
  for (const c of codings) {
    if (!isPlainObject(c)) return undefined;
    if ((c.system !== undefined && typeof c.system !== 'string') || (c.code !== undefined && typeof c.code !== 'string')) return undefined;
    if (c.system === system && c.code === code) found = true;
  }
  return found;
}

function entryObjects(bundle: Record<string, unknown>): Array<Record<string, unknown>> | undefined {
  const entries = bundle.entry;
  if (entries === undefined) return [];
  if (!Array.isArray(entries) || !entries.every((e) => e !== null && typeof e === 'object' && !Array.isArray(e))) return undefined;
  return entries as Array<Record<string, unknown>>;
}

/** bdl-3 / bdl-4: every entry has `prop` exactly when the Bundle type is one of `types` (true, or undefined = ask FHIRPath). */
function entriesAll(bundle: Record<string, unknown>, resource: Record<string, unknown>, prop: string, types: string[]): boolean | undefined {
  const entries = entryObjects(bundle);
  if (!entries || bundle !== resource || typeof bundle.type !== 'string') return undefined;
  const expected = types.includes(bundle.type);
  return entries.every((e) => nonEmpty(e[prop]) === expected) ? true : undefined;
}

/**
 * Native forms of frequent R4 base invariants. Each returns a verdict only where the FHIRPath result is certainly a
 * single boolean; anything subtler (date comparison, %resource navigation) is left to the FHIRPath engine.
 */
const NATIVE: Record<string, Native> = {
  // ext-1
  'extension.exists() != value.exists()': (v) => nonEmpty(v.extension) !== hasChoice(v, 'value'),
  // dom-2, dom-4, dom-5: only about contained resources
  'contained.contained.empty()': (v) => (nonEmpty(v.contained) ? undefined : true),
  'contained.meta.versionId.empty() and contained.meta.lastUpdated.empty()': (v) => (nonEmpty(v.contained) ? undefined : true),
  'contained.meta.security.empty()': (v) => (nonEmpty(v.contained) ? undefined : true),
  // cpt-2
  'value.empty() or system.exists()': (v) => !nonEmpty(v.value) || nonEmpty(v.system),
  // qty-3
  'code.empty() or system.exists()': (v) => !nonEmpty(v.code) || nonEmpty(v.system),
  // att-1
  'data.empty() or contentType.exists()': (v) => !nonEmpty(v.data) || nonEmpty(v.contentType),
  // per-1: decided natively only when one end is missing (comparing partial dates is left to FHIRPath)
  'start.hasValue().not() or end.hasValue().not() or (start <= end)': (v) => {
    if (v.start === undefined || v.end === undefined) return true;
    if (typeof v.start !== 'string' || typeof v.end !== 'string') return undefined;
    const a = FULL_DATE_TIME.exec(v.start);
    const b = FULL_DATE_TIME.exec(v.end);
    return a && b && a[1] === b[1] && v.start <= v.end ? true : undefined;
  },
  // per-1 with two full dateTimes in the same zone: the strings order as the instants do
  // (undefined when start > end, so a violation is always confirmed by FHIRPath)
  // obs-6, obs-7, obs-3
  'dataAbsentReason.empty() or value.empty()': (v) => !nonEmpty(v.dataAbsentReason) || !hasChoice(v, 'value'),
  'value.empty() or component.code.where(coding.intersect(%resource.code.coding).exists()).empty()': (v) =>
    !hasChoice(v, 'value') || !nonEmpty(v.component) ? true : undefined,
  'low.exists() or high.exists() or text.exists()': (v) => nonEmpty(v.low) || nonEmpty(v.high) || nonEmpty(v.text),
  // cmp-1, cmp-2
  'text.exists() or entry.exists() or section.exists()': (v) => nonEmpty(v.text) || nonEmpty(v.entry) || nonEmpty(v.section),
  'emptyReason.empty() or entry.empty()': (v) => !nonEmpty(v.emptyReason) || !nonEmpty(v.entry),
  // rl-pat-name
  'given.exists() or family.exists()': (v) => nonEmpty(v.given) || nonEmpty(v.family),
  // con-4, con-5, ait-1, ait-2: decided natively only in their trivially true cases
  "abatement.empty() or clinicalStatus.coding.where(system='http://terminology.hl7.org/CodeSystem/condition-clinical' and (code='resolved' or code='remission' or code='inactive')).exists()": (v) =>
    !hasChoice(v, 'abatement') ? true : undefined,
  "verificationStatus.coding.where(system='http://terminology.hl7.org/CodeSystem/condition-ver-status' and code='entered-in-error').empty() or clinicalStatus.empty()": (v) =>
    v.clinicalStatus === undefined || hasCoding(v.verificationStatus, CONDITION_VER_STATUS, 'entered-in-error') === false ? true : undefined,
  "verificationStatus.coding.where(system = 'http://terminology.hl7.org/CodeSystem/allergyintolerance-verification' and code = 'entered-in-error').exists() or clinicalStatus.exists()": (v) =>
    nonEmpty(v.clinicalStatus) || hasCoding(v.verificationStatus, ALLERGY_VERIFICATION, 'entered-in-error') === true ? true : undefined,
  "verificationStatus.coding.where(system = 'http://terminology.hl7.org/CodeSystem/allergyintolerance-verification' and code = 'entered-in-error').empty() or clinicalStatus.empty()": (v) =>
    v.clinicalStatus === undefined || hasCoding(v.verificationStatus, ALLERGY_VERIFICATION, 'entered-in-error') === false ? true : undefined,
  // RL Organization telecom/address: no 'home' use
  "where(use = 'home').empty()": (v) => v.use !== 'home',
  // org-1
  '(identifier.count() + name.count()) > 0': (v) => nonEmpty(v.identifier) || nonEmpty(v.name),
  // Bundle invariants (bdl-*), evaluated on the whole Bundle: natively they cost nothing, in FHIRPath ~1 ms
  "total.empty() or (type = 'searchset') or (type = 'history')": (v) => (!nonEmpty(v.total) ? true : typeof v.type === 'string' ? v.type === 'searchset' || v.type === 'history' : undefined),
  "entry.search.empty() or (type = 'searchset')": (v) => {
    const entries = entryObjects(v);
    return entries && (v.type === 'searchset' || !entries.some((e) => nonEmpty(e.search))) ? true : undefined;
  },
  "entry.all(request.exists() = (%resource.type = 'batch' or %resource.type = 'transaction' or %resource.type = 'history'))": (v, r) =>
    entriesAll(v, r, 'request', ['batch', 'transaction', 'history']),
  "entry.all(response.exists() = (%resource.type = 'batch-response' or %resource.type = 'transaction-response' or %resource.type = 'history'))": (v, r) =>
    entriesAll(v, r, 'response', ['batch-response', 'transaction-response', 'history']),
  "(type = 'history') or entry.where(fullUrl.exists()).select(fullUrl&resource.meta.versionId).isDistinct()": (v) => {
    if (v.type === 'history') return true;
    const entries = entryObjects(v);
    if (!entries) return undefined;
    const seen = new Set<string>();
    for (const e of entries) {
      if (e.fullUrl === undefined) continue;
      // the entry resources are screened as separate nodes: any odd shape here is left to FHIRPath
      const resource = e.resource;
      if (resource !== undefined && !isPlainObject(resource)) return undefined;
      const meta = resource?.meta;
      if (meta !== undefined && !isPlainObject(meta)) return undefined;
      const version = meta?.versionId;
      if (typeof e.fullUrl !== 'string' || (version !== undefined && typeof version !== 'string')) return undefined;
      const key = e.fullUrl + (version ?? '');
      if (seen.has(key)) return undefined;
      seen.add(key);
    }
    return true;
  },
  "type = 'document' implies (identifier.system.exists() and identifier.value.exists())": (v) => (typeof v.type === 'string' && v.type !== 'document' ? true : undefined),
  "type = 'document' implies (timestamp.hasValue())": (v) => (typeof v.type === 'string' && v.type !== 'document' ? true : undefined),
  "type = 'document' implies entry.first().resource.is(Composition)": (v) => (typeof v.type === 'string' && v.type !== 'document' ? true : undefined),
  "type = 'message' implies entry.first().resource.is(MessageHeader)": (v) => (typeof v.type === 'string' && v.type !== 'message' ? true : undefined),
  'resource.exists() or request.exists() or response.exists()': (v) => (nonEmpty(v.resource) || nonEmpty(v.request) || nonEmpty(v.response) ? true : undefined),
  "fullUrl.exists() implies fullUrl.contains('/_history/').not()": (v) =>
    v.fullUrl === undefined || (typeof v.fullUrl === 'string' && !v.fullUrl.includes('/_history/')) ? true : undefined,
  // ref-1: a non-local reference (or none) cannot fail
  "reference.startsWith('#').not() or (reference.substring(1).trace('url') in %rootResource.contained.id.trace('ids'))": (v) =>
    typeof v.reference !== 'string' ? undefined : v.reference.startsWith('#') ? undefined : true,
};

/**
 * `value.empty() or value.matches('^…$')` (the RL identifier-format invariants, e.g. the codice fiscale): native
 * when the regex is anchored and made only of literals, character classes and counted repetitions, where the
 * JavaScript and FHIRPath readings cannot differ. Only a match is decided natively; a mismatch is confirmed by FHIRPath.
 */
const VALUE_MATCHES = /^value\.empty\(\) or value\.matches\('(\^[A-Za-z0-9[\]{}\-,]*\$)'\)$/;

function derivedNative(expression: string): Native | undefined {
  const m = VALUE_MATCHES.exec(expression);
  if (!m) return undefined;
  const re = new RegExp(m[1] as string, 'u');
  return (v) => (v.value === undefined ? true : typeof v.value === 'string' && re.test(v.value) ? true : undefined);
}

export class FastInvariants {
  private readonly compiled = new Map<string, Compiled | string>();
  private readonly derived = new Map<string, Native | null>();

  private native(expression: string): Native | undefined {
    const fixed = NATIVE[expression];
    if (fixed) return fixed;
    let d = this.derived.get(expression);
    if (d === undefined) {
      d = derivedNative(expression) ?? null;
      this.derived.set(expression, d);
    }
    return d ?? undefined;
  }

  private compile(base: string, expression: string): Compiled | string {
    const key = `${base}\u0000${expression}`;
    let fn = this.compiled.get(key);
    if (fn === undefined) {
      try {
        fn = fhirpath.compile({ base, expression }, r4Model, { traceFn: noTrace }) as unknown as Compiled;
      } catch (e) {
        fn = e instanceof Error ? e.message : String(e);
      }
      this.compiled.set(key, fn);
    }
    return fn;
  }

  /** The outcome of `expression` on `value` (found at FHIRPath `base`), `resource` being %resource. */
  evaluate(base: string, expression: string, value: unknown, resource: Record<string, unknown>): Verdict {
    const native = this.native(expression);
    if (native && value !== null && typeof value === 'object' && !Array.isArray(value)) {
      const v = native(value as Record<string, unknown>, resource);
      if (v !== undefined) return v ? 'true' : 'false';
    }
    const fn = this.compile(base, expression);
    if (typeof fn === 'string') return 'error';
    try {
      const out = fn(value, { resource, rootResource: resource });
      if (out.length === 0) return 'empty';
      return out.length === 1 && out[0] === true ? 'true' : 'false';
    } catch {
      return 'error';
    }
  }
}
