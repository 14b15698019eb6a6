/**
 * Validation throughput per profile: validations per second (median of 5 runs) of a valid synthetic instance,
 * plus a 10-entry transaction Bundle. Run directly: `npx tsx bench/validation.ts [--seconds N]`
 * (prints a table and writes bench/results/validation.json).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadValidator } from '../core/validation/index.ts';
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

export async function benchValidation(opts?: { seconds?: number }): Promise<Array<{ profile: string; perSec: number }>> {
  const seconds = opts?.seconds ?? 1;
  const validator = await loadValidator();
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

async function main(): Promise<void> {
  const i = process.argv.indexOf('--seconds');
  const seconds = i > 0 ? Number(process.argv[i + 1]) : 1;
  const results = await benchValidation({ seconds });
  const width = Math.max(...results.map((r) => r.profile.length));
  process.stdout.write(`${'profile'.padEnd(width)}  validations/s   µs/validation\n`);
  for (const r of results) process.stdout.write(`${r.profile.padEnd(width)}  ${String(r.perSec).padStart(13)}   ${(1e6 / r.perSec).toFixed(0).padStart(13)}\n`);
  const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'validation.json'), `${JSON.stringify({ node: process.version, seconds, results }, null, 2)}\n`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((e: unknown) => {
    process.stderr.write(`bench failed: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  });
}
