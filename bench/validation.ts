/**
 * Validation throughput per profile: validations per second (median of 5 runs) of a valid synthetic instance,
 * plus a 10-entry transaction Bundle; and µs per resource of the fast engine against the reference engine on the
 * golden mapping outputs (ADT^A01 Patient and Encounter, the LAB report's Observations, the whole CDA LAB Bundle).
 * Run directly: `npx tsx bench/validation.ts [--seconds N]` (prints tables, writes bench/results/validation.json).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadValidator, type FhirValidator, type ValidatorEngine } from '../core/validation/index.ts';
import * as fx from '../test/validation/fixtures.ts';

const RUNS = 5;

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function bundle(): fx.Resource {
  const resources = [fx.patient(), fx.encounter(), fx.organization(), fx.practitioner(), fx.practitionerRole(), fx.location(), fx.condition(), fx.allergy(), fx.serviceRequest(), fx.decorsoClinico()];
  return {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: resources.map((r, i) => ({
      fullUrl: `urn:uuid:00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
      resource: r,
      request: { method: 'PUT', url: `${String(r.resourceType)}/${String(r.id)}` },
    })),
  };
}

export async function benchValidation(opts?: { seconds?: number; engine?: ValidatorEngine }): Promise<Array<{ profile: string; perSec: number }>> {
  const seconds = opts?.seconds ?? 1;
  const validator = await loadValidator({ engine: opts?.engine ?? 'fast' });
  const cases: Array<[string, () => fx.Resource]> = [
    ['RLPatientCore', fx.patient],
    ['RLEncounterCore', fx.encounter],
    ['RLOrganizationCore', fx.organization],
    ['RLPractitionerCore', fx.practitioner],
    ['RLPractitionerRoleCore', fx.practitionerRole],
    ['RLLocationCore', fx.location],
    ['RLConditionCore', fx.condition],
    ['RLAllergyIntoleranceCore', fx.allergy],
    ['RLServiceRequestCore', fx.serviceRequest],
    ['RLObservationCoreDecorsoClinico', fx.decorsoClinico],
    ['Bundle (10 profiled entries)', bundle],
  ];
  const out: Array<{ profile: string; perSec: number }> = [];
  for (const [profile, make] of cases) {
    const resource = make();
    if (!validator.validate(resource).valid) throw new Error(`bench fixture for ${profile} is not valid`);
    for (let i = 0; i < 200; i++) validator.validate(resource); // warm-up (JIT, FHIRPath compile cache)
    const rates: number[] = [];
    const budget = (seconds * 1000) / RUNS;
    for (let run = 0; run < RUNS; run++) {
      let n = 0;
      const start = performance.now();
      let now = start;
      while (now - start < budget) {
        for (let i = 0; i < 20; i++) validator.validate(resource);
        n += 20;
        now = performance.now();
      }
      rates.push((n * 1000) / (now - start));
    }
    out.push({ profile, perSec: Math.round(median(rates)) });
  }
  return out;
}

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function golden(file: string): fx.Resource {
  return JSON.parse(readFileSync(path.join(REPO, file), 'utf8')) as fx.Resource;
}

function entries(bundle: fx.Resource, type?: string): fx.Resource[] {
  return ((bundle.entry ?? []) as Array<{ resource: fx.Resource }>).map((e) => e.resource).filter((r) => !type || r.resourceType === type);
}

/** Median µs per resource of validating `resources` (each pass validates all of them once). */
function microsPerResource(validator: FhirValidator, resources: fx.Resource[], seconds: number): number {
  for (let i = 0; i < 100; i++) for (const r of resources) validator.validate(r); // warm-up: JIT, compiled plans, FHIRPath cache
  const samples: number[] = [];
  const budget = (seconds * 1000) / RUNS;
  for (let run = 0; run < RUNS; run++) {
    let n = 0;
    const start = performance.now();
    let now = start;
    while (now - start < budget) {
      for (const r of resources) validator.validate(r);
      n += resources.length;
      now = performance.now();
    }
    samples.push(((now - start) * 1000) / n);
  }
  return median(samples);
}

export interface EngineComparison {
  case: string;
  resources: number;
  referenceMicros: number;
  fastMicros: number;
}

/** Fast against reference engine on the golden outputs, µs per resource (a Bundle counts as one resource). */
export async function benchEngines(opts?: { seconds?: number }): Promise<EngineComparison[]> {
  const seconds = opts?.seconds ?? 1;
  const reference = await loadValidator({ engine: 'reference' });
  const fast = await loadValidator({ engine: 'fast' });
  const adt = golden('mappings/hl7v2/adt/tests/a01-admission.expected.json');
  const lab = golden('mappings/cda/lab/tests/referto-chimica-urine.expected.json');
  const cases: Array<[string, fx.Resource[]]> = [
    ['ADT^A01 Patient (RLPatientCore)', entries(adt, 'Patient')],
    ['ADT^A01 Encounter (RLEncounterCore)', entries(adt, 'Encounter')],
    ['ADT^A01 all resources', entries(adt)],
    ['ORU-like Observation (CDA LAB results)', entries(lab, 'Observation')],
    ['CDA LAB: each entry resource', entries(lab)],
    ['CDA LAB Bundle (16 entries, validated as one)', [lab]],
  ];
  const out: EngineComparison[] = [];
  for (const [name, resources] of cases) {
    for (const r of resources) {
      const a = JSON.stringify(reference.validate(r).issues);
      if (a !== JSON.stringify(fast.validate(r).issues)) throw new Error(`engines disagree on ${name}`);
    }
    out.push({
      case: name,
      resources: resources.length,
      referenceMicros: Math.round(microsPerResource(reference, resources, seconds)),
      fastMicros: Math.round(microsPerResource(fast, resources, seconds)),
    });
  }
  return out;
}

async function main(): Promise<void> {
  const i = process.argv.indexOf('--seconds');
  const seconds = i > 0 ? Number(process.argv[i + 1]) : 1;
  const engines = await benchEngines({ seconds });
  const w = Math.max(...engines.map((e) => e.case.length));
  process.stdout.write(`${'golden outputs'.padEnd(w)}  reference µs/res   fast µs/res   speed-up\n`);
  for (const e of engines) {
    process.stdout.write(`${e.case.padEnd(w)}  ${String(e.referenceMicros).padStart(16)}   ${String(e.fastMicros).padStart(11)}   ${(e.referenceMicros / e.fastMicros).toFixed(1).padStart(7)}x\n`);
  }
  const results = await benchValidation({ seconds });
  const before = await benchValidation({ seconds, engine: 'reference' });
  const width = Math.max(...results.map((r) => r.profile.length));
  process.stdout.write(`\n${'synthetic fixtures'.padEnd(width)}  reference µs   fast µs   fast validations/s\n`);
  results.forEach((r, i) => {
    const ref = before[i] as { perSec: number };
    process.stdout.write(`${r.profile.padEnd(width)}  ${(1e6 / ref.perSec).toFixed(0).padStart(12)}   ${(1e6 / r.perSec).toFixed(0).padStart(7)}   ${String(r.perSec).padStart(18)}\n`);
  });
  const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'validation.json'), `${JSON.stringify({ node: process.version, seconds, engines, results, reference: before }, null, 2)}\n`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((e: unknown) => {
    process.stderr.write(`bench failed: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  });
}
