/**
 * Resources for the differential tests: the golden outputs of the mappings (mappings/**\/tests/*.expected.json:
 * HL7 v2 ADT and the CDA LAB/LDO/VPS documents), the synthetic fixtures, deliberately broken resources, and a
 * seeded mutator that breaks valid resources at random.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as fx from './fixtures.ts';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface Named {
  name: string;
  resource: fx.Resource;
}

function expectedFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) out.push(...expectedFiles(full));
    else if (name.endsWith('.expected.json') && path.basename(dir) === 'tests') out.push(full);
  }
  return out.sort();
}

/** Each golden Bundle, and each of its entry resources on its own (as the pipeline validates them). */
export function goldenResources(): Named[] {
  const out: Named[] = [];
  for (const file of expectedFiles(path.join(REPO, 'mappings'))) {
    const rel = path.relative(REPO, file);
    const bundle = JSON.parse(readFileSync(file, 'utf8')) as fx.Resource;
    out.push({ name: rel, resource: bundle });
    const entries = Array.isArray(bundle.entry) ? (bundle.entry as Array<{ resource?: fx.Resource }>) : [];
    entries.forEach((e, i) => {
      if (e.resource) out.push({ name: `${rel}#${i} ${String(e.resource.resourceType)}`, resource: e.resource });
    });
  }
  return out;
}

/**
 * The IG's own examples (valid and invalid ones), when the shared folder is reachable (CDR_SHARED_DIR or
 * <repo>/../shared, as examples.test.ts); empty otherwise.
 */
export function igExamples(): Named[] {
  const shared = process.env.CDR_SHARED_DIR ? path.resolve(process.env.CDR_SHARED_DIR) : path.resolve(REPO, '..', 'shared');
  const dir = path.join(shared, 'ig', 'fhir.rl', 'Examples');
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith('.json')).sort();
  } catch {
    return [];
  }
  return names.map((n) => ({ name: `IG example ${n}`, resource: JSON.parse(readFileSync(path.join(dir, n), 'utf8')) as fx.Resource }));
}

export function fixtureResources(): Named[] {
  const makers: Array<[string, () => fx.Resource]> = [
    ['patient', fx.patient], ['encounter', fx.encounter], ['organization', fx.organization], ['practitioner', fx.practitioner],
    ['practitionerRole', fx.practitionerRole], ['location', fx.location], ['condition', fx.condition], ['allergy', fx.allergy],
    ['serviceRequest', fx.serviceRequest], ['decorsoClinico', fx.decorsoClinico],
  ];
  return makers.map(([name, make]) => ({ name: `fixture ${name}`, resource: make() }));
}

export function clone<T>(v: T): T {
  return structuredClone(v);
}

/** One broken resource per rule kind, with the rule the reference engine must report. */
export function brokenResources(): Array<Named & { rule: string; path: string }> {
  const cases: Array<Named & { rule: string; path: string }> = [];
  const add = (name: string, rule: string, p: string, resource: fx.Resource): void => {
    cases.push({ name, rule, path: p, resource });
  };
  {
    const r = fx.encounter();
    delete r.status;
    add('missing required element (Encounter.status)', 'cardinality', 'Encounter.status', r);
  }
  {
    const r = fx.patient();
    r.gender = ['male', 'female'];
    add('single-valued element given twice (Patient.gender)', 'structure', 'Patient.gender', r);
  }
  {
    const r = fx.patient();
    r.birthDate = 19800101;
    add('wrong type (Patient.birthDate as a number)', 'structure', 'Patient.birthDate', r);
  }
  {
    const r = fx.patient();
    r.active = 'yes';
    add('wrong type (Patient.active as a string)', 'structure', 'Patient.active', r);
  }
  {
    const r = fx.patient();
    r.gender = 'not-a-gender';
    add('code outside a required ValueSet (Patient.gender)', 'binding', 'Patient.gender', r);
  }
  {
    const r = fx.encounter();
    r.status = 'almost-finished';
    add('code outside a required ValueSet (Encounter.status)', 'binding', 'Encounter.status', r);
  }
  {
    const r = fx.patient();
    (r.identifier as Array<Record<string, unknown>>)[0].value = 'NOT-A-CODICE-FISCALE';
    add('failed invariant (rl-pat-codiceFiscale)', 'rl-pat-codiceFiscale', 'Patient.identifier[0]', r);
  }
  {
    const r = fx.patient();
    (r.name as Array<Record<string, unknown>>)[0] = { text: 'Mario Rossi Test' };
    add('failed invariant (rl-pat-name)', 'rl-pat-name', 'Patient.name[0]', r);
  }
  {
    const r = fx.encounter();
    r.period = { start: '2024-02-01T10:00:00+01:00', end: '2024-01-01T10:00:00+01:00' };
    add('failed invariant (per-1: end before start)', 'per-1', 'Encounter.period', r);
  }
  {
    const r = fx.condition();
    r.verificationStatus = { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-ver-status', code: 'entered-in-error' }] };
    add('failed base invariant (con-5: entered-in-error with a clinical status)', 'con-5', 'Condition', r);
  }
  {
    const r = fx.allergy();
    delete r.clinicalStatus;
    r.verificationStatus = { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/allergyintolerance-verification', code: 'confirmed' }] };
    add('failed base invariant (ait-1: no clinical status)', 'ait-1', 'AllergyIntolerance', r);
  }
  {
    const r = fx.patient();
    r.favouriteColour = 'blue';
    add('unknown element', 'structure', 'Patient.favouriteColour', r);
  }
  {
    const r = fx.organization();
    r.meta = { profile: [`${fx.RL}RLOrganizationL3`] };
    add('required identifier slices missing (RLOrganizationL3)', 'slice-cardinality', 'Organization.identifier', r);
  }
  {
    const r = fx.organization();
    r.extension = [{ url: `${fx.RL}RLOrganizationDataInizioValidita`, valueString: 'not a date' }];
    add('broken extension slice content (wrong value type)', 'structure', 'Organization.extension', r);
  }
  {
    const r = fx.patient();
    r.meta = { profile: [`${fx.RL}RLPatientDoesNotExist`] };
    add('unknown profile', 'unknown-profile', 'Patient.meta.profile[0]', r);
  }
  {
    const r = fx.condition();
    r.subject = { reference: 'Organization/org-test-1' };
    add('reference to a disallowed target type', 'reference-target', 'Condition.subject', r);
  }
  return cases;
}

/** Deterministic PRNG (mulberry32): the same seed gives the same mutations on every run. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Slot {
  parent: Record<string, unknown> | unknown[];
  key: string | number;
  path: string;
}

function slots(value: unknown, p: string, out: Slot[]): Slot[] {
  if (Array.isArray(value)) {
    value.forEach((v, i) => {
      out.push({ parent: value, key: i, path: `${p}[${i}]` });
      slots(v, `${p}[${i}]`, out);
    });
  } else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k === 'resourceType') continue;
      out.push({ parent: value as Record<string, unknown>, key: k, path: `${p}.${k}` });
      slots(v, `${p}.${k}`, out);
    }
  }
  return out;
}

const ODD_CODES = ['zzz-not-a-code', 'final', 'male', 'IMP', 'http://example.org/not-a-system', '75326-9', 'phone', 'official', 'entered-in-error', 'resolved'];

/**
 * Applies one random mutation and returns its description: delete an element, duplicate a single value (or one
 * item of an array), change a code or system, change a JSON type, add an unknown element, or empty a value.
 */
export function mutate(resource: fx.Resource, rand: () => number): string {
  const all = slots(resource, String(resource.resourceType), []);
  const pick = <T>(list: T[]): T => list[Math.floor(rand() * list.length)] as T;
  const slot = pick(all);
  const get = (): unknown => (slot.parent as Record<string | number, unknown>)[slot.key];
  const set = (v: unknown): void => {
    (slot.parent as Record<string | number, unknown>)[slot.key] = v;
  };
  const kind = Math.floor(rand() * 7);
  const current = get();
  switch (kind) {
    case 0:
      if (Array.isArray(slot.parent)) slot.parent.splice(slot.key as number, 1);
      else delete slot.parent[slot.key as string];
      return `delete ${slot.path}`;
    case 1:
      if (Array.isArray(current)) {
        current.push(clone(current[Math.floor(rand() * current.length)]));
        return `duplicate an item of ${slot.path}`;
      }
      set([current, clone(current)]);
      return `duplicate single value ${slot.path}`;
    case 2: {
      const codes = all.filter((s) => s.key === 'code' || s.key === 'system' || s.key === 'use' || s.key === 'status' || s.key === 'gender');
      const target = codes.length ? pick(codes) : slot;
      const code = pick(ODD_CODES);
      (target.parent as Record<string | number, unknown>)[target.key] = code;
      return `change code ${target.path} to ${code}`;
    }
    case 3:
      if (typeof current === 'string') set(rand() < 0.5 ? 42 : { value: current });
      else if (typeof current === 'number') set(String(current));
      else if (typeof current === 'boolean') set(current ? 'true' : 1);
      else if (Array.isArray(current)) set(current[0] ?? 'x');
      else set('not-an-object');
      return `change type of ${slot.path}`;
    case 4: {
      const objects = all.filter((s) => {
        const v = (s.parent as Record<string | number, unknown>)[s.key];
        return v !== null && typeof v === 'object' && !Array.isArray(v);
      });
      const target = objects.length ? pick(objects) : undefined;
      const host = target ? ((target.parent as Record<string | number, unknown>)[target.key] as Record<string, unknown>) : resource;
      host[pick(['unknownElement', 'valueFoo', 'colour', 'extensionX'])] = 'x';
      return `add unknown element under ${target?.path ?? String(resource.resourceType)}`;
    }
    case 5:
      set(typeof current === 'string' ? (rand() < 0.5 ? '' : '  ') : Array.isArray(current) ? [] : {});
      return `empty ${slot.path}`;
    default:
      if (typeof current === 'string') {
        set(rand() < 0.5 ? `${current} ` : current.replace(/[0-9]/g, 'X'));
        return `alter text of ${slot.path}`;
      }
      set(null);
      return `null ${slot.path}`;
  }
}
