/**
 * Structure validation with @medplum/core 4.5.2 (cardinality, types, primitive formats, fixed/pattern,
 * slice counts, base invariants).
 *
 * Speed: `validateResource(r, { profile })` re-parses the StructureDefinition on every call (~7 ms). Instead each
 * profile is parsed once with `parseStructureDefinition` and its InternalTypeSchema is registered in Medplum's
 * data-type map under a private type name (`cdr-profile:<url>`); `validateTypedValue({ type: <that name>, value })`
 * then looks the schema up instead of parsing. A side effect worth having: property lookups on the root go through
 * the profile's elements, so a choice type narrowed by the profile (value[x] → CodeableConcept only) is enforced.
 */
import {
  getAllDataTypes,
  indexStructureDefinitionBundle,
  OperationOutcomeError,
  parseStructureDefinition,
  validateTypedValue,
} from '@medplum/core';
import type { OperationOutcomeIssue, StructureDefinition } from '@medplum/fhirtypes';
import type { ElementDefinitionLike, StructureDefinitionLike } from './model.ts';
import { isBaseConstraint } from './model.ts';

const TYPE_PREFIX = 'cdr-profile:';

let baseIndexed = false;

/** Indexes the R4 base types and resources into Medplum (once per process). */
export function indexBaseDefinitions(definitions: StructureDefinitionLike[]): void {
  if (baseIndexed) return;
  indexStructureDefinitionBundle(definitions as unknown as StructureDefinition[]);
  baseIndexed = true;
}

/**
 * The snapshot as Medplum should see it:
 * - constraints the profile adds are removed: the walker evaluates them with fhirpath.js (one engine, one report);
 * - a `contentReference` to an element that the profile slices (Provenance.entity.agent → Provenance.agent) is
 *   replaced by a plain BackboneElement of the base inner type: Medplum resolves content references to the last
 *   element with that path, which is then a slice, and refuses the profile ("Invalid slice start");
 * - slices inside slices (complex extensions such as distrettoAccreditamento.extension:codiceDistretto) are
 *   dropped: Medplum's single-level slicing parser files them as slices of the outer element and counts them
 *   there, producing false "Incorrect number of values provided for slice" errors;
 * - fixed/pattern values on repeating elements are dropped: Medplum compares them with the whole array
 *   (meta.profile fixedCanonical never matches) instead of each repetition.
 * - (speed) elements two or more levels down that only repeat their base definition (same cardinality, no
 *   fixed/pattern/slicing, not a choice, not a backbone) are dropped: Medplum's crawl of the base data type
 *   checks them anyway, and each extra nested key costs a property walk on every validation.
 * The walker checks everything removed here.
 */
function repeatsBase(e: ElementDefinitionLike): boolean {
  if ((e.id ?? '').includes(':') || e.path.split('.').length < 3 || e.path.endsWith('[x]') || e.slicing || e.sliceName) return false;
  if (e.type?.some((t) => t.code === 'BackboneElement' || t.code === 'Element' || t.profile || t.targetProfile)) return false;
  if (Object.keys(e).some((k) => /^(fixed|pattern)[A-Z]/.test(k)) || e.constraint?.some((c) => !isBaseConstraint(c))) return false;
  return e.base !== undefined && (e.min ?? 0) === (e.base.min ?? 0) && (e.max ?? '*') === (e.base.max ?? '*');
}

export function medplumView(sd: StructureDefinitionLike): StructureDefinitionLike {
  const elements = (sd.snapshot?.element ?? []).filter(
    (e) => (e.id ?? '').split('.').filter((seg) => seg.includes(':')).length < 2 && !repeatsBase(e),
  );
  const slicedPaths = new Set(elements.filter((e) => e.sliceName).map((e) => e.path));
  const out: ElementDefinitionLike[] = elements.map((e) => {
    let el = e;
    const repeating = e.base?.max !== undefined && e.base.max !== '1' && e.base.max !== '0';
    if (repeating && Object.keys(e).some((k) => /^(fixed|pattern)[A-Z]/.test(k))) {
      el = Object.fromEntries(Object.entries(el).filter(([k]) => !/^(fixed|pattern)[A-Z]/.test(k))) as ElementDefinitionLike;
    }
    if (e.constraint?.some((c) => !isBaseConstraint(c))) el = { ...el, constraint: e.constraint.filter(isBaseConstraint) };
    if (e.contentReference) {
      const target = e.contentReference.slice(e.contentReference.indexOf('#') + 1);
      if (slicedPaths.has(target)) {
        const { contentReference: _cr, ...rest } = el;
        void _cr;
        el = { ...rest, type: [{ code: 'BackboneElement' }], base: { path: target, min: e.base?.min ?? 0, max: e.base?.max ?? '*' } };
      }
    }
    return el;
  });
  return { ...sd, snapshot: { element: out } };
}

/** The private Medplum type name a profile is registered under. */
export function medplumTypeName(url: string): string {
  return TYPE_PREFIX + url;
}

/** Parses a profile once and registers it; returns the private type name to validate with. */
export function registerProfileSchema(sd: StructureDefinitionLike): string {
  const schema = parseStructureDefinition(medplumView(sd) as unknown as StructureDefinition);
  const typeName = medplumTypeName(sd.url);
  getAllDataTypes()[typeName] = schema;
  return typeName;
}

export interface MedplumIssue {
  severity: 'error' | 'warning' | 'information' | 'fatal';
  code: string;
  path: string;
  message: string;
}

function convert(i: OperationOutcomeIssue): MedplumIssue {
  const severity = i.severity === 'fatal' || i.severity === 'error' || i.severity === 'warning' ? i.severity : 'information';
  return {
    severity,
    code: i.code ?? 'structure',
    path: i.expression?.[0] ?? '',
    message: i.details?.text ?? i.diagnostics ?? 'invalid',
  };
}

/** Validates against a registered profile type name, or against the base type when `typeName` is the resourceType. */
export function medplumValidate(resource: Record<string, unknown>, typeName: string): MedplumIssue[] {
  try {
    return validateTypedValue({ type: typeName, value: resource }).map(convert);
  } catch (e) {
    if (e instanceof OperationOutcomeError) return (e.outcome.issue ?? []).map(convert);
    throw e;
  }
}

const BUNDLE_SHELL = 'cdr-bundle-shell';

/**
 * Structure of a Bundle without its entries' resources: entries are validated one by one (each against its own
 * profile, with indexed paths), so Medplum must not crawl them a second time. The Bundle invariants (bdl-*) refer
 * to entry resources, so they are removed from this schema and evaluated on the real Bundle by the validator.
 */
export function medplumValidateBundleShell(bundle: Record<string, unknown>): MedplumIssue[] {
  const all = getAllDataTypes();
  if (!all[BUNDLE_SHELL]) {
    const base = all.Bundle;
    const entry = base.elements.entry;
    all[BUNDLE_SHELL] = { ...base, constraints: [], elements: { ...base.elements, entry: { ...entry, constraints: [] } } };
  }
  const entries = Array.isArray(bundle.entry) ? (bundle.entry as unknown[]) : undefined;
  const shell = entries
    ? {
        ...bundle,
        entry: entries.map((e) => {
          if (!e || typeof e !== 'object' || Array.isArray(e)) return e;
          const { resource: _r, ...rest } = e as Record<string, unknown>;
          void _r;
          // an entry that only had a resource must not become an (invalid) empty object
          return Object.keys(rest).length ? rest : { fullUrl: 'urn:cdr:entry' };
        }),
      }
    : bundle;
  return medplumValidate(shell, BUNDLE_SHELL);
}
