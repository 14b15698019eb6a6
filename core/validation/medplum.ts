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
 *   element with that path, which is then a slice, and refuses the profile ("Invalid slice start").
 */
export function medplumView(sd: StructureDefinitionLike): StructureDefinitionLike {
  const elements = sd.snapshot?.element ?? [];
  const slicedPaths = new Set(elements.filter((e) => e.sliceName).map((e) => e.path));
  const out: ElementDefinitionLike[] = elements.map((e) => {
    let el = e;
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

/** Parses a profile once and registers it; returns the private type name to validate with. */
export function registerProfileSchema(sd: StructureDefinitionLike): string {
  const schema = parseStructureDefinition(medplumView(sd) as unknown as StructureDefinition);
  const typeName = TYPE_PREFIX + sd.url;
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
