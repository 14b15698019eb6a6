/**
 * For each RL profile the engine's mappings use: a valid synthetic instance passes, and one instance per rule kind
 * fails with the right path. Kinds a profile (and its R4 base) does not have are listed in `notApplicable` with the
 * reason, so the table stays honest.
 */
import { beforeAll, describe, expect, it } from '@jest/globals';
import { loadValidator, type FhirValidator, type IssueSeverity, type ValidationResult } from '../../core/validation/index.ts';
import * as fx from './fixtures.ts';

type Mutate = (r: fx.Resource) => void;

interface Expect {
  path: string;
  rule?: string;
  code?: string;
  severity?: IssueSeverity;
}

interface Case {
  kind: 'missing' | 'fixed' | 'slice' | 'binding' | 'invariant' | 'choice-type' | 'reference';
  title: string;
  mutate: Mutate;
  expect: Expect;
}

interface ProfileSpec {
  profile: string;
  valid: () => fx.Resource;
  cases: Case[];
  notApplicable?: Record<string, string>;
}

const at = (r: fx.Resource, key: string): Record<string, unknown>[] => r[key] as Record<string, unknown>[];

const SPECS: ProfileSpec[] = [
  {
    profile: 'RLPatientCore',
    valid: fx.patient,
    cases: [
      { kind: 'missing', title: 'communication without language', mutate: (r) => (r.communication = [{ preferred: true }]), expect: { path: 'Patient.communication[0].language', code: 'required' } },
      {
        kind: 'slice', title: 'two cittadinanza extensions (slice max 1)',
        mutate: (r) => (r.extension = [1, 2].map(() => ({ url: 'http://hl7.org/fhir/StructureDefinition/patient-citizenship', extension: [{ url: 'code', valueCodeableConcept: { text: 'IT' } }] }))),
        expect: { path: 'Patient.extension', rule: 'slice-cardinality' },
      },
      { kind: 'binding', title: 'gender outside administrative-gender', mutate: (r) => (r.gender = 'xyz'), expect: { path: 'Patient.gender', code: 'code-invalid', rule: 'binding' } },
      {
        kind: 'invariant', title: 'malformed codice fiscale (rl-pat-codiceFiscale, warning)',
        mutate: (r) => (at(r, 'identifier')[0].value = 'RSSMRA80A01H501'),
        expect: { path: 'Patient.identifier[0]', rule: 'rl-pat-codiceFiscale', severity: 'warning' },
      },
      { kind: 'invariant', title: 'name with neither given nor family (rl-pat-name, warning)', mutate: (r) => (r.name = [{ text: 'Mario Rossi Test' }]), expect: { path: 'Patient.name[0]', rule: 'rl-pat-name', severity: 'warning' } },
    ],
    notApplicable: {
      fixed: 'every fixed value of RLPatientCore is a slice discriminator (telecom system, address use, extension url), so a wrong value selects no slice instead of failing',
    },
  },
  {
    profile: 'RLEncounterCore',
    valid: fx.encounter,
    cases: [
      { kind: 'missing', title: 'location without location reference (backbone 1..1)', mutate: (r) => (r.location = [{ status: 'active' }]), expect: { path: 'Encounter.location[0].location', code: 'required', rule: 'cardinality' } },
      { kind: 'missing', title: 'no class', mutate: (r) => delete r.class, expect: { path: 'Encounter.class', code: 'required' } },
      { kind: 'binding', title: 'status outside encounter-status', mutate: (r) => (r.status = 'xyz'), expect: { path: 'Encounter.status', rule: 'binding' } },
      { kind: 'invariant', title: 'period ends before it starts (per-1)', mutate: (r) => (r.period = { start: '2024-02-01', end: '2024-01-01' }), expect: { path: 'Encounter.period', rule: 'per-1', code: 'invariant' } },
      { kind: 'reference', title: 'participant.individual to a Practitioner (profile: PractitionerRole)', mutate: (r) => (r.participant = [{ individual: { reference: 'Practitioner/p1' } }]), expect: { path: 'Encounter.participant[0].individual.reference', rule: 'reference-target' } },
    ],
    notApplicable: { fixed: 'no fixed/pattern values in RLEncounterCore', slice: 'no slicing in RLEncounterCore' },
  },
  {
    profile: 'RLOrganizationCore',
    valid: fx.organization,
    cases: [
      { kind: 'binding', title: "telecom system 'mail' (the IG's own typo)", mutate: (r) => (at(r, 'telecom')[1].system = 'mail'), expect: { path: 'Organization.telecom[1].system', rule: 'binding' } },
      {
        kind: 'invariant', title: 'neither name nor identifier (org-1, skipped by Medplum)',
        mutate: (r) => {
          delete r.name;
          delete r.identifier;
        },
        expect: { path: 'Organization', rule: 'org-1' },
      },
      { kind: 'invariant', title: "telecom use 'home' (org-3)", mutate: (r) => (at(r, 'telecom')[0].use = 'home'), expect: { path: 'Organization.telecom[0]', rule: 'org-3' } },
      { kind: 'reference', title: 'partOf a Patient', mutate: (r) => (r.partOf = { reference: 'Patient/x' }), expect: { path: 'Organization.partOf.reference', rule: 'reference-target' } },
    ],
    notApplicable: {
      missing: 'RLOrganizationCore and base Organization have no mandatory element',
      fixed: 'fixed values are only slice discriminators (identifier/telecom system)',
      slice: 'identifier and telecom slicing are open with 0..* slices',
    },
  },
  {
    profile: 'RLPractitionerCore',
    valid: fx.practitioner,
    cases: [
      { kind: 'slice', title: 'codiceFiscale identifier without value (slice requires value 1..)', mutate: (r) => (r.identifier = [{ system: fx.CF_SYSTEM }]), expect: { path: 'Practitioner.identifier[0].value', code: 'required' } },
      { kind: 'binding', title: 'identifier.use outside identifier-use', mutate: (r) => (at(r, 'identifier')[0].use = 'xyz'), expect: { path: 'Practitioner.identifier[0].use', rule: 'binding' } },
      { kind: 'invariant', title: 'telecom value without system (cpt-2)', mutate: (r) => (r.telecom = [{ value: '+39 02 0000' }]), expect: { path: 'Practitioner.telecom[0]', rule: 'cpt-2' } },
      { kind: 'missing', title: 'qualification without code (backbone 1..1)', mutate: (r) => (r.qualification = [{ period: { start: '2000-01-01' } }]), expect: { path: 'Practitioner.qualification[0].code', code: 'required' } },
    ],
    notApplicable: { fixed: 'fixed values are only the identifier slice discriminators (system)' },
  },
  {
    profile: 'RLPractitionerRoleCore',
    valid: fx.practitionerRole,
    cases: [
      { kind: 'slice', title: 'two codici fiscali (slice codiceFiscale max 1)', mutate: (r) => at(r, 'identifier').push({ system: fx.CF_SYSTEM, value: fx.CF }), expect: { path: 'PractitionerRole.identifier', rule: 'slice-cardinality' } },
      { kind: 'binding', title: 'telecom system outside contact-point-system', mutate: (r) => (r.telecom = [{ system: 'xyz', value: '1' }]), expect: { path: 'PractitionerRole.telecom[0].system', rule: 'binding' } },
      { kind: 'invariant', title: 'period ends before it starts (per-1)', mutate: (r) => (r.period = { start: '2024-02-01', end: '2024-01-01' }), expect: { path: 'PractitionerRole.period', rule: 'per-1' } },
      { kind: 'reference', title: 'practitioner points at an Organization', mutate: (r) => (r.practitioner = { reference: 'Organization/o1' }), expect: { path: 'PractitionerRole.practitioner.reference', rule: 'reference-target' } },
      { kind: 'binding', title: 'availableTime.daysOfWeek outside days-of-week (inside a backbone)', mutate: (r) => (r.availableTime = [{ daysOfWeek: ['monday'] }]), expect: { path: 'PractitionerRole.availableTime[0].daysOfWeek[0]', rule: 'binding' } },
    ],
    notApplicable: {
      missing: 'RLPractitionerRoleCore and base PractitionerRole have no mandatory element',
      fixed: 'fixed values are only identifier slice discriminators',
    },
  },
  {
    profile: 'RLLocationCore',
    valid: fx.location,
    cases: [
      { kind: 'missing', title: 'position without longitude', mutate: (r) => (r.position = { latitude: 45.46 }), expect: { path: 'Location.position.longitude', code: 'required' } },
      { kind: 'binding', title: 'status outside location-status', mutate: (r) => (r.status = 'xyz'), expect: { path: 'Location.status', rule: 'binding' } },
      { kind: 'invariant', title: 'telecom value without system (cpt-2)', mutate: (r) => (r.telecom = [{ value: '1' }]), expect: { path: 'Location.telecom[0]', rule: 'cpt-2' } },
      { kind: 'reference', title: 'managingOrganization points at a Patient', mutate: (r) => (r.managingOrganization = { reference: 'Patient/p1' }), expect: { path: 'Location.managingOrganization.reference', rule: 'reference-target' } },
    ],
    notApplicable: { fixed: 'no fixed values in RLLocationCore', slice: 'no slicing in RLLocationCore' },
  },
  {
    profile: 'RLConditionCore',
    valid: fx.condition,
    cases: [
      { kind: 'missing', title: 'no subject', mutate: (r) => delete r.subject, expect: { path: 'Condition.subject', code: 'required' } },
      {
        kind: 'fixed', title: 'category coding with another LOINC code (fixed 75326-9)',
        mutate: (r) => ((at(r, 'category')[0].coding as Record<string, unknown>[])[0].code = '11450-4'),
        expect: { path: 'Condition.category[0].coding[0].code', rule: 'fixed', code: 'value' },
      },
      { kind: 'binding', title: 'clinicalStatus outside condition-clinical', mutate: (r) => (r.clinicalStatus = { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: 'xyz' }] }), expect: { path: 'Condition.clinicalStatus', rule: 'binding' } },
      { kind: 'invariant', title: 'abated but still active (con-4)', mutate: (r) => (r.abatementDateTime = '2024-01-01'), expect: { path: 'Condition', rule: 'con-4' } },
      { kind: 'reference', title: 'subject is a Group', mutate: (r) => (r.subject = { reference: 'Group/g1' }), expect: { path: 'Condition.subject.reference', rule: 'reference-target' } },
    ],
    notApplicable: { slice: 'no slicing in RLConditionCore' },
  },
  {
    profile: 'RLAllergyIntoleranceCore',
    valid: fx.allergy,
    cases: [
      { kind: 'missing', title: 'no note (profile 1..1)', mutate: (r) => delete r.note, expect: { path: 'AllergyIntolerance.note', code: 'required' } },
      {
        kind: 'fixed', title: 'manifestation coding version other than ICD9-CM (inside the reaction backbone)',
        mutate: (r) => (((at(r, 'reaction')[0].manifestation as Record<string, unknown>[])[0].coding as Record<string, unknown>[])[0].version = '2007'),
        expect: { path: 'AllergyIntolerance.reaction[0].manifestation[0].coding[0].version', rule: 'fixed' },
      },
      {
        kind: 'fixed', title: 'clinicalStatus coding system other than allergyintolerance-clinical',
        mutate: (r) => (r.clinicalStatus = { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: 'active' }] }),
        expect: { path: 'AllergyIntolerance.clinicalStatus.coding[0].system', rule: 'fixed' },
      },
      { kind: 'binding', title: 'criticality outside allergy-intolerance-criticality', mutate: (r) => (r.criticality = 'very-high'), expect: { path: 'AllergyIntolerance.criticality', rule: 'binding' } },
      {
        kind: 'invariant', title: 'entered-in-error with a clinical status (ait-2)',
        mutate: (r) => (r.verificationStatus = { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/allergyintolerance-verification', code: 'entered-in-error' }] }),
        expect: { path: 'AllergyIntolerance', rule: 'ait-2' },
      },
    ],
    notApplicable: { slice: 'no slicing in RLAllergyIntoleranceCore' },
  },
  {
    profile: 'RLServiceRequestCore',
    valid: fx.serviceRequest,
    cases: [
      { kind: 'missing', title: 'no intent', mutate: (r) => delete r.intent, expect: { path: 'ServiceRequest.intent', code: 'required' } },
      { kind: 'binding', title: 'intent outside request-intent', mutate: (r) => (r.intent = 'intent'), expect: { path: 'ServiceRequest.intent', rule: 'binding' } },
      { kind: 'invariant', title: 'orderDetail without code (prr-1)', mutate: (r) => (r.orderDetail = [{ text: 'dettaglio' }]), expect: { path: 'ServiceRequest', rule: 'prr-1' } },
      { kind: 'reference', title: 'requester is a Patient (profile: RLPractitionerRoleCore)', mutate: (r) => (r.requester = { reference: 'Patient/p1' }), expect: { path: 'ServiceRequest.requester.reference', rule: 'reference-target' } },
    ],
    notApplicable: { fixed: 'no fixed values in RLServiceRequestCore', slice: 'no slicing in RLServiceRequestCore' },
  },
  {
    profile: 'RLObservationCoreDecorsoClinico',
    valid: fx.decorsoClinico,
    cases: [
      { kind: 'missing', title: 'no code', mutate: (r) => delete r.code, expect: { path: 'Observation.code', code: 'required' } },
      { kind: 'fixed', title: "status 'preliminary' (fixed final)", mutate: (r) => (r.status = 'preliminary'), expect: { path: 'Observation.status', rule: 'fixed' } },
      {
        kind: 'fixed', title: 'value coding system other than the fixed criticità OID',
        mutate: (r) => (r.valueCodeableConcept = { coding: [{ system: 'http://example.org/other', code: 'LA18821-1' }] }),
        expect: { path: 'Observation.valueCodeableConcept.coding[0].system', rule: 'fixed' },
      },
      { kind: 'choice-type', title: 'valueString where value[x] is narrowed to CodeableConcept', mutate: (r) => { delete r.valueCodeableConcept; r.valueString = 'acuto'; }, expect: { path: 'Observation.valueString' } },
      {
        kind: 'binding', title: 'value code outside CriticitaClinica',
        mutate: (r) => (r.valueCodeableConcept = { coding: [{ system: 'urn:oid:2.16.840.1.113883.2.9.77.22.11.10', code: 'LA00000-0' }] }),
        expect: { path: 'Observation.valueCodeableConcept', rule: 'binding', code: 'code-invalid' },
      },
      { kind: 'invariant', title: 'dataAbsentReason together with a value (obs-6)', mutate: (r) => (r.dataAbsentReason = { text: 'non rilevato' }), expect: { path: 'Observation', rule: 'obs-6' } },
    ],
    notApplicable: { slice: 'no slicing in RLObservationCoreDecorsoClinico' },
  },
];

function matches(result: ValidationResult, e: Expect): boolean {
  return result.issues.some(
    (i) =>
      i.path === e.path &&
      (e.rule === undefined || i.rule === e.rule) &&
      (e.code === undefined || i.code === e.code) &&
      i.severity === (e.severity ?? 'error'),
  );
}

let validator: FhirValidator;
beforeAll(async () => {
  validator = await loadValidator();
});

describe.each(SPECS)('$profile', (spec) => {
  it('is a profile the validator knows', () => {
    expect(validator.hasProfile(`${fx.RL}${spec.profile}`)).toBe(true);
  });

  it('accepts the valid synthetic instance', () => {
    const result = validator.validate(spec.valid());
    expect({ valid: result.valid, errors: fx.errors(result) }).toEqual({ valid: true, errors: [] });
  });

  it('covers every rule kind or says why not', () => {
    const covered = new Set(spec.cases.map((c) => c.kind));
    for (const kind of ['missing', 'fixed', 'slice', 'binding', 'invariant']) {
      expect(covered.has(kind as Case['kind']) || !!spec.notApplicable?.[kind]).toBe(true);
    }
  });

  it.each(spec.cases)('$kind: $title', (c) => {
    const r = spec.valid();
    c.mutate(r);
    const result = validator.validate(r);
    if (!matches(result, c.expect)) throw new Error(`expected ${JSON.stringify(c.expect)} in:\n${fx.show(result)}`);
    if ((c.expect.severity ?? 'error') === 'error') expect(result.valid).toBe(false);
  });
});
