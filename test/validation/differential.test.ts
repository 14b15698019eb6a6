/**
 * Differential tests: the fast engine (default) against the reference engine (Medplum + profile walker, the oracle).
 * Same issues (severity, code, path, message, rule) on every golden output, every fixture, a broken resource per
 * rule kind and a few hundred seeded random mutations; and the screen really does the work on valid resources
 * (it accepts them without the reference engine), so the equality is not obtained by always delegating.
 */
import { beforeAll, describe, expect, it } from '@jest/globals';
import { loadValidator, type FhirValidator, type ValidationResult } from '../../core/validation/index.ts';
import { FastValidator } from '../../core/validation/fast/fast-validator.ts';
import { brokenResources, clone, fixtureResources, goldenResources, igExamples, mutate, prng, type Named } from './corpus.ts';

let fast: FastValidator;
let reference: FhirValidator;

beforeAll(async () => {
  const v = await loadValidator();
  if (!(v instanceof FastValidator)) throw new Error('loadValidator() must return the fast engine by default');
  fast = v;
  reference = await loadValidator({ engine: 'reference' });
});

function summary(r: ValidationResult): Array<{ severity: string; code: string; path: string; message: string; rule?: string }> {
  return r.issues.map(({ severity, code, path, message, rule }) => ({ severity, code, path, message, rule }));
}

describe('engines', () => {
  it('the fast engine states extensible-binding warnings itself, worded and placed as the reference engine does', () => {
    const withWarnings = goldenResources().filter((c) => c.resource.resourceType === 'Condition' && reference.validate(clone(c.resource)).issues.length > 0);
    expect(withWarnings.length).toBeGreaterThan(0); // the CDA Conditions carry a LOINC category (extensible binding)
    for (const c of withWarnings) {
      expect(fast.explainRejection(clone(c.resource))).toBeUndefined();
      const got = fast.validate(clone(c.resource));
      expect(got.valid).toBe(true);
      expect(got.issues).toEqual(reference.validate(clone(c.resource)).issues);
      expect(got.issues[0]).toEqual(expect.objectContaining({ severity: 'warning', code: 'code-invalid', path: 'Condition.category[0]', rule: 'binding' }));
    }
  });

  it('loadValidator() is the fast engine, { engine: "reference" } the reference one, each cached', async () => {
    expect(reference).not.toBe(fast);
    expect(await loadValidator({ engine: 'reference' })).toBe(reference);
    expect(await loadValidator({ engine: 'fast' })).toBe(fast);
    expect(fast.knownProfiles()).toEqual(reference.knownProfiles());
  });
});

describe.each([
  ['golden mapping outputs', goldenResources],
  ['synthetic fixtures', fixtureResources],
])('%s', (_label, load) => {
  const cases: Named[] = load();

  it('has cases', () => {
    expect(cases.length).toBeGreaterThan(5);
  });

  it.each(cases.map((c) => [c.name, c] as const))('%s: same result from both engines', (_n, c) => {
    const ref = reference.validate(clone(c.resource));
    const got = fast.validate(clone(c.resource));
    expect(got.valid).toBe(ref.valid);
    expect(summary(got)).toEqual(summary(ref));
  });

  it('the screen decides on its own (no reference engine) every resource with no error and at most binding/invariant warnings', () => {
    const decidable = cases.filter((c) => {
      const r = reference.validate(clone(c.resource));
      return r.valid && r.issues.every((i) => i.severity === 'warning' && (i.rule === 'binding' || i.code === 'invariant'));
    });
    expect(decidable.length).toBeGreaterThan(0);
    const rejected = decidable.map((c) => [c.name, fast.explainRejection(clone(c.resource))]).filter(([, reason]) => reason !== undefined);
    expect(rejected).toEqual([]);
  });
});

const examples = igExamples();
(examples.length ? describe : describe.skip)('IG examples (shared/ig/fhir.rl/Examples, valid and invalid)', () => {
  it('300 seeded mutations of the IG examples (Bundles included): same issues from both engines', () => {
    const rand = prng(7);
    const mismatches: string[] = [];
    for (let i = 0; i < 300; i++) {
      const base = examples[Math.floor(rand() * examples.length)] as Named;
      const resource = clone(base.resource);
      const what = mutate(resource, rand);
      const ref = reference.validate(clone(resource));
      const got = fast.validate(clone(resource));
      if (got.valid !== ref.valid || JSON.stringify(summary(got)) !== JSON.stringify(summary(ref))) mismatches.push(`${base.name}: ${what}`);
    }
    expect(mismatches).toEqual([]);
  });

  it.each(examples.map((c) => [c.name, c] as const))('%s: same result from both engines', (_n, c) => {
    const ref = reference.validate(clone(c.resource));
    const got = fast.validate(clone(c.resource));
    expect(got.valid).toBe(ref.valid);
    expect(summary(got)).toEqual(summary(ref));
  });
});

describe('deliberately broken resources', () => {
  it.each(brokenResources().map((c) => [c.name, c] as const))('%s', (_n, c) => {
    const ref = reference.validate(clone(c.resource));
    // the case really is broken, for the reason it names
    expect(ref.issues).toContainEqual(expect.objectContaining({ path: expect.stringContaining(c.path) as unknown }));
    expect(ref.issues.some((i) => i.rule === c.rule || i.code === c.rule)).toBe(true);
    // the screen stops on errors (the reference engine explains them) and states warnings itself
    const warningsOnly = ref.issues.every((i) => i.severity === 'warning' && (i.rule === 'binding' || i.code === 'invariant'));
    expect(fast.explainRejection(clone(c.resource)) === undefined).toBe(warningsOnly);
    const got = fast.validate(clone(c.resource));
    expect(got.valid).toBe(ref.valid);
    expect(summary(got)).toEqual(summary(ref));
  });
});

describe('random mutations (seeded)', () => {
  const SEED = 20261126;
  const CASES = 400;

  it(`${CASES} mutated resources: same issues from both engines`, () => {
    const rand = prng(SEED);
    const valid = [...goldenResources().filter((c) => c.resource.resourceType !== 'Bundle'), ...fixtureResources()];
    const mismatches: string[] = [];
    let acceptedByScreen = 0;
    let reportedByReference = 0;
    for (let i = 0; i < CASES; i++) {
      const base = valid[Math.floor(rand() * valid.length)] as Named;
      const resource = clone(base.resource);
      const what = [mutate(resource, rand)];
      if (rand() < 0.3) what.push(mutate(resource, rand));
      const ref = reference.validate(clone(resource));
      const got = fast.validate(clone(resource));
      if (ref.issues.length) reportedByReference++;
      if (fast.explainRejection(clone(resource)) === undefined) acceptedByScreen++;
      if (got.valid !== ref.valid || JSON.stringify(summary(got)) !== JSON.stringify(summary(ref))) {
        mismatches.push(`${base.name}: ${what.join('; ')} → reference ${JSON.stringify(summary(ref))} fast ${JSON.stringify(summary(got))}`);
      }
    }
    expect(mismatches).toEqual([]);
    // the mutations mostly break something, and some are harmless (e.g. deleting an optional element)
    expect(reportedByReference).toBeGreaterThan(CASES / 2);
    expect(acceptedByScreen).toBeGreaterThan(0);
  });

  it('100 mutated golden Bundles: same issues, with entry-prefixed paths, from both engines', () => {
    const rand = prng(SEED + 1);
    const bundles = goldenResources().filter((c) => c.resource.resourceType === 'Bundle');
    const mismatches: string[] = [];
    let reported = 0;
    for (let i = 0; i < 100; i++) {
      const base = bundles[Math.floor(rand() * bundles.length)] as Named;
      const resource = clone(base.resource);
      const what = mutate(resource, rand);
      const ref = reference.validate(clone(resource));
      const got = fast.validate(clone(resource));
      if (ref.issues.some((x) => x.path.startsWith('Bundle.entry['))) reported++;
      if (got.valid !== ref.valid || JSON.stringify(summary(got)) !== JSON.stringify(summary(ref))) mismatches.push(`${base.name}: ${what}`);
    }
    expect(mismatches).toEqual([]);
    expect(reported).toBeGreaterThan(20);
  });
});
