/** Behaviour of the validator beyond single profiles: profiles selection, Bundles, caching, closed slicing, output. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync, copyFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DEFAULT_IG_DIR, loadValidator, toOperationOutcome, ValidatorLoadError, type FhirValidator } from '../../core/validation/index.ts';
import * as fx from './fixtures.ts';

let validator: FhirValidator;
beforeAll(async () => {
  validator = await loadValidator();
});

describe('loading', () => {
  it('caches the validator per ig folder', async () => {
    expect(await loadValidator()).toBe(validator);
    expect(await loadValidator({ igDir: DEFAULT_IG_DIR })).toBe(validator);
  });

  it('knows the CORE profiles and the required LAB/LDO/MP/DDC/DOC ones', () => {
    const names = validator.knownProfiles().map((u) => u.split('/').pop());
    for (const n of [
      'RLPatientCore', 'RLEncounterCore', 'RLOrganizationCore', 'RLPractitionerCore', 'RLPractitionerRoleCore', 'RLLocationCore',
      'RLConditionCore', 'RLAllergyIntoleranceCore', 'RLServiceRequestCore', 'RLObservationCoreDecorsoClinico',
      'RLObservationCoreStoriaClinica', 'RLObservationCorePrecedentiEsamiEseguiti', 'RLFamilyMemberHistoryCore', 'RLRelatedPersonCore',
      'RLEncounterMP', 'RLOrganizationL1', 'RLOrganizationL2', 'RLOrganizationL3', 'RLProvenanceLab', 'RLObservationLDO', 'RLDiagnosticReportReferto',
    ]) expect(names).toContain(n);
    expect(validator.hasProfile(`${fx.RL}RLPatientCore|1.0.0`)).toBe(true);
    expect(validator.hasProfile(`${fx.RL}RLNope`)).toBe(false);
  });

  it('fails with a typed error when the IG data is missing', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'cdr-ig-empty-'));
    try {
      await expect(loadValidator({ igDir: dir })).rejects.toBeInstanceOf(ValidatorLoadError);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('profile selection', () => {
  it('reports an unknown meta.profile as not-supported instead of passing', () => {
    const p = fx.patient();
    p.meta = { profile: [`${fx.RL}RLPatientDoesNotExist`] };
    const r = validator.validate(p);
    expect(r.valid).toBe(false);
    expect(r.issues).toContainEqual(expect.objectContaining({ severity: 'error', code: 'not-supported', path: 'Patient.meta.profile[0]' }));
  });

  it('validates against the base resource type when there is no meta.profile', () => {
    const p = fx.patient();
    delete p.meta;
    expect(validator.validate(p).valid).toBe(true);
    p.gender = 'xyz';
    expect(validator.validate(p).issues).toContainEqual(expect.objectContaining({ path: 'Patient.gender', rule: 'binding' }));
  });

  it('uses options.profile instead of meta.profile', () => {
    const a = fx.allergy();
    delete a.meta;
    delete a.note; // required by RLAllergyIntoleranceCore only
    expect(validator.validate(a).valid).toBe(true);
    const r = validator.validate(a, { profile: `${fx.RL}RLAllergyIntoleranceCore` });
    expect(r.issues).toContainEqual(expect.objectContaining({ path: 'AllergyIntolerance.note', code: 'required' }));
  });

  it('rejects a profile made for another resource type', () => {
    const r = validator.validate(fx.patient(), { profile: `${fx.RL}RLEncounterCore` });
    expect(r.issues).toContainEqual(expect.objectContaining({ severity: 'error', rule: 'profile-type', path: 'Patient' }));
  });

  it('rejects something that is not a resource', () => {
    const r = validator.validate({ foo: 1 } as Record<string, unknown>);
    expect(r.valid).toBe(false);
  });
});

describe('identifier slices that fix the system', () => {
  it('RLOrganizationL1: an Ente code with a wrong system leaves the mandatory L1 slice empty', () => {
    const org = {
      resourceType: 'Organization',
      id: 'l1-test',
      meta: { profile: [`${fx.RL}RLOrganizationL1`] },
      extension: [
        { url: 'https://fhir.siss.regione.lombardia.it/StructureDefinition/RLOrganizationDataInsert', valueDate: '2024-01-01' },
        { url: 'https://fhir.siss.regione.lombardia.it/StructureDefinition/RLOrganizationDataInizioValidita', valueDate: '2024-01-01' },
      ],
      identifier: [{ system: 'https://fhir.siss.regione.lombardia.it/sid/codiceIdentificativoEnte', value: '999' }],
      type: [{ coding: [{ system: 'https://fhir.siss.regione.lombardia.it/ValueSet/DDC-DescL1', code: 'ASST', display: 'ASST' }] }],
      name: 'ASST Test',
    };
    const ok = validator.validate(org);
    expect(fx.errors(ok)).toEqual([]);
    org.identifier[0].system = 'https://fhir.siss.regione.lombardia.it/sid/codiceEnte';
    const bad = validator.validate(org);
    expect(bad.issues).toContainEqual(expect.objectContaining({ path: 'Organization.identifier', rule: 'slice-cardinality', severity: 'error' }));
    org.type[0].coding[0].code = 'XYZ';
    expect(validator.validate(org).issues).toContainEqual(expect.objectContaining({ path: 'Organization.type[0].coding[0].code', rule: 'binding' }));
  });

  it('RLEncounterMP: an episode number with another system violates the fixed system', () => {
    const e = fx.encounter();
    e.meta = { profile: [`${fx.RL}RLEncounterMP`] };
    e.identifier = [{ system: 'urn:oid:2.16.840.1.113883.2.9.2.30.4.6', value: 'EP-1' }];
    const r = validator.validate(e);
    expect(r.issues).toContainEqual(expect.objectContaining({ path: 'Encounter.identifier[0].system', rule: 'fixed', severity: 'error' }));
  });
});

describe('closed slicing (synthetic profile derived from RLPractitionerCore)', () => {
  let dir: string;
  let closed: FhirValidator;
  const url = 'https://example.org/StructureDefinition/TestClosedPractitioner';
  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'cdr-ig-closed-'));
    mkdirSync(path.join(dir, 'profiles'));
    mkdirSync(path.join(dir, 'terminology'));
    copyFileSync(path.join(DEFAULT_IG_DIR, 'terminology', 'valuesets.json'), path.join(dir, 'terminology', 'valuesets.json'));
    const sd = JSON.parse(readFileSync(path.join(DEFAULT_IG_DIR, 'profiles', 'RLPractitionerCore.json'), 'utf8')) as {
      url: string; id: string; name: string; snapshot: { element: Array<{ id: string; slicing?: { rules: string } }> };
    };
    sd.url = url;
    sd.id = 'TestClosedPractitioner';
    sd.name = 'TestClosedPractitioner';
    const head = sd.snapshot.element.find((e) => e.id === 'Practitioner.identifier');
    if (!head?.slicing) throw new Error('fixture: identifier slicing not found');
    head.slicing.rules = 'closed';
    writeFileSync(path.join(dir, 'profiles', 'TestClosedPractitioner.json'), JSON.stringify(sd));
    writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify({ profiles: [{ url, id: sd.id, type: 'Practitioner', file: 'profiles/TestClosedPractitioner.json', role: 'profile' }] }));
    closed = await loadValidator({ igDir: dir });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('rejects an identifier that matches no slice', () => {
    const p = fx.practitioner();
    p.meta = { profile: [url] };
    expect(fx.errors(closed.validate(p))).toEqual([]);
    (p.identifier as Array<Record<string, unknown>>).push({ system: 'urn:oid:2.16.840.1.113883.2.9.4.3.2', value: 'VRDLGU70B02F205X' });
    const r = closed.validate(p);
    expect(r.issues).toContainEqual(expect.objectContaining({ path: 'Practitioner.identifier[2]', rule: 'slice-closed', severity: 'error' }));
  });

  it('the same identifier is fine under the published (open) slicing', () => {
    const p = fx.practitioner();
    (p.identifier as Array<Record<string, unknown>>).push({ system: 'urn:oid:2.16.840.1.113883.2.9.4.3.2', value: 'VRDLGU70B02F205X' });
    expect(validator.validate(p).valid).toBe(true);
  });
});

describe('Bundles', () => {
  const bundle = (): Record<string, unknown> => ({
    resourceType: 'Bundle',
    type: 'transaction',
    entry: [
      { fullUrl: 'urn:uuid:00000000-0000-4000-8000-000000000001', resource: fx.patient(), request: { method: 'PUT', url: 'Patient/pat-test-1' } },
      { fullUrl: 'urn:uuid:00000000-0000-4000-8000-000000000002', resource: fx.encounter(), request: { method: 'PUT', url: 'Encounter/enc-test-1' } },
      { fullUrl: 'urn:uuid:00000000-0000-4000-8000-000000000003', resource: fx.practitioner(), request: { method: 'PUT', url: 'Practitioner/prac-test-1' } },
    ],
  });
  const entry = (b: Record<string, unknown>, i: number): Record<string, unknown> =>
    (b.entry as Array<{ resource: Record<string, unknown> }>)[i].resource;

  it('accepts a valid transaction', () => {
    const r = validator.validate(bundle());
    expect({ valid: r.valid, errors: fx.errors(r) }).toEqual({ valid: true, errors: [] });
  });

  it('validates every entry against its own profile, with entry paths', () => {
    const b = bundle();
    entry(b, 0).gender = 'xyz';
    entry(b, 1).location = [{ status: 'active' }];
    const r = validator.validate(b);
    expect(r.issues).toContainEqual(expect.objectContaining({ path: 'Bundle.entry[0].resource.Patient.gender', rule: 'binding' }));
    expect(r.issues).toContainEqual(expect.objectContaining({ path: 'Bundle.entry[1].resource.Encounter.location[0].location', code: 'required' }));
  });

  it('resolves urn:uuid references through the entries to check target types', () => {
    const b = bundle();
    entry(b, 1).participant = [{ individual: { reference: 'urn:uuid:00000000-0000-4000-8000-000000000003' } }];
    const r = validator.validate(b);
    expect(r.issues).toContainEqual(
      expect.objectContaining({ path: 'Bundle.entry[1].resource.Encounter.participant[0].individual.reference', rule: 'reference-target' }),
    );
  });

  it('checks the Bundle invariants on the real entries (bdl-7)', () => {
    const b = bundle();
    (b.entry as Array<Record<string, unknown>>)[1].fullUrl = 'urn:uuid:00000000-0000-4000-8000-000000000001';
    expect(validator.validate(b).issues).toContainEqual(expect.objectContaining({ path: 'Bundle', rule: 'bdl-7', severity: 'error' }));
  });

  it('checks the Bundle structure itself', () => {
    const b = bundle();
    b.type = 'not-a-type';
    expect(validator.validate(b).issues).toContainEqual(expect.objectContaining({ path: 'Bundle.type', rule: 'binding' }));
  });
});

describe('toOperationOutcome', () => {
  it('maps issues to OperationOutcome.issue with expression and details', () => {
    const p = fx.patient();
    p.gender = 'xyz';
    const oo = toOperationOutcome(validator.validate(p)) as { resourceType: string; issue: Array<Record<string, unknown>> };
    expect(oo.resourceType).toBe('OperationOutcome');
    expect(oo.issue).toContainEqual(expect.objectContaining({ severity: 'error', code: 'code-invalid', expression: ['Patient.gender'] }));
    // and the outcome itself is a valid OperationOutcome
    expect(validator.validate(oo).valid).toBe(true);
  });

  it('says so when there is nothing to report', () => {
    const oo = toOperationOutcome(validator.validate(fx.patient())) as { issue: Array<{ severity: string }> };
    expect(oo.issue).toEqual([expect.objectContaining({ severity: 'information' })]);
  });
});

describe('robustness', () => {
  it('never throws on malformed JSON shapes and never passes them silently as exceptions', () => {
    const weird: unknown[] = [null, 1, 'x', [], {}, [null], ['x'], { coding: 'x' }, { reference: 5 }];
    const paths = (o: unknown, pre: string[] = [], out: string[][] = []): string[][] => {
      if (o && typeof o === 'object') for (const k of Object.keys(o)) { out.push([...pre, k]); paths((o as Record<string, unknown>)[k], [...pre, k], out); }
      return out;
    };
    for (const make of [fx.patient, fx.condition, fx.decorsoClinico]) {
      for (const p of paths(make())) {
        for (const w of weird) {
          const r = make();
          let cur = r as Record<string, unknown>;
          for (const k of p.slice(0, -1)) cur = cur[k] as Record<string, unknown>;
          cur[p[p.length - 1]] = structuredClone(w);
          const result = validator.validate(r);
          expect(result.issues.filter((i) => i.code === 'exception')).toEqual([]);
        }
      }
    }
  });
});
