/**
 * Mechanical fixes applied to every RL differential before snapshot generation (shared/notes/fhir-snapshots.md §3).
 * These make up for Simplifier/Forge export conventions that fhir-snapshot-generator does not apply; they do not
 * change what a profile means. Semantic corrections of IG defects live in ig/overrides.json instead.
 */
import { lastSegment, type ElementDefinition, type StructureDefinition } from './common.ts';

const PRIMITIVE_TYPES = new Set([
  'base64Binary', 'boolean', 'canonical', 'code', 'date', 'dateTime', 'decimal', 'id', 'instant', 'integer',
  'markdown', 'oid', 'positiveInt', 'string', 'time', 'unsignedInt', 'uri', 'url', 'uuid', 'xhtml',
]);

/** FHIR type code for a choice-type suffix: primitives keep a lower-case first letter (`DateTime` → `dateTime`). */
export function typeCodeFromSuffix(suffix: string): string {
  const lower = suffix.charAt(0).toLowerCase() + suffix.slice(1);
  return PRIMITIVE_TYPES.has(lower) ? lower : suffix;
}

/** Fix 1: Simplifier exports lack `id`; use the last segment of the canonical url. */
export function fixId(sd: StructureDefinition): void {
  if (!sd.id) sd.id = lastSegment(sd.url);
}

/**
 * Fix 2: a differential that renames one choice element to two or more different concrete types
 * (`effectiveDateTime` and `effectivePeriod`) becomes type slices on `effective[x]`.
 * A single-type shortcut is legal and FSG narrows the choice itself, so it is left alone.
 */
export function fixMultiTypeChoiceShortcuts(sd: StructureDefinition): void {
  const elements = sd.differential?.element;
  if (!elements) return;
  const choiceHeads = elements.filter((e) => e.path.endsWith('[x]') && !e.sliceName);
  for (const head of choiceHeads) {
    const stem = head.path.slice(0, -3); // e.g. Observation.effective
    const lastName = stem.split('.').pop() ?? '';
    const renamed = new Map<string, string>(); // suffix → type code
    for (const e of elements) {
      const seg = e.path.slice(stem.length);
      const m = e.path.startsWith(stem) ? /^([A-Z][A-Za-z0-9]*)(\.|$)/.exec(seg) : null;
      if (m && !e.path.startsWith(head.path)) renamed.set(m[1], typeCodeFromSuffix(m[1]));
    }
    if (renamed.size < 2) continue;
    head.slicing = { discriminator: [{ type: 'type', path: '$this' }], rules: 'open' };
    for (const e of elements) {
      if (!e.path.startsWith(stem) || e.path.startsWith(head.path)) continue;
      const seg = e.path.slice(stem.length);
      const m = /^([A-Z][A-Za-z0-9]*)(.*)$/.exec(seg);
      if (!m || !renamed.has(m[1])) continue;
      const sliceName = lastName + m[1];
      const rest = m[2];
      e.path = `${head.path}${rest}`;
      e.id = `${head.id ?? head.path}:${sliceName}${rest}`;
      if (!rest) {
        e.sliceName = sliceName;
        e.type = [{ code: renamed.get(m[1]) as string }];
      }
    }
  }
}

/**
 * Fix 3: slices on `.extension` / `.modifierExtension` need the head element with the implicit
 * "sliced by url" slicing (the Java generator adds it; FSG does not and Medplum then refuses the profile).
 */
export function fixExtensionSlicingHeads(sd: StructureDefinition): void {
  const elements = sd.differential?.element;
  if (!elements) return;
  const out: ElementDefinition[] = [];
  const seenHeads = new Map<string, ElementDefinition>();
  for (const e of elements) {
    if (!e.sliceName && /(^|\.)(extension|modifierExtension)$/.test(e.path)) seenHeads.set(e.id ?? e.path, e);
  }
  for (const e of elements) {
    const m = /^(.*):([^.:]+)$/.exec(e.id ?? '');
    if (e.sliceName && m && /(^|\.)(extension|modifierExtension)$/.test(e.path)) {
      const headId = m[1];
      let head = seenHeads.get(headId);
      if (!head) {
        head = { id: headId, path: e.path };
        seenHeads.set(headId, head);
        out.push(head);
      }
      if (!head.slicing) head.slicing = { discriminator: [{ type: 'value', path: 'url' }], ordered: false, rules: 'open' };
    }
    out.push(e);
  }
  sd.differential = { element: out };
}

export function applyMechanicalFixes(sd: StructureDefinition): void {
  fixId(sd);
  fixMultiTypeChoiceShortcuts(sd);
  fixExtensionSlicingHeads(sd);
}
