/**
 * Synthetic, obviously fictitious instances for the validation tests (codice fiscale RSSMRA80A01H501U,
 * "Mario Rossi Test"). Each factory returns a fresh object that is valid against its RL profile.
 */
import type { ValidationIssue, ValidationResult } from '../../core/validation/index.ts';

export const RL = 'https://fhir.siss.regione.lombardia.it/StructureDefinition/';
export const CF_SYSTEM = 'http://hl7.it/sid/codiceFiscale';
export const CF = 'RSSMRA80A01H501U';

export type Resource = Record<string, unknown>;

export function patient(): Resource {
  return {
    resourceType: 'Patient',
    id: 'pat-test-1',
    meta: { profile: [`${RL}RLPatientCore`] },
    identifier: [{ system: CF_SYSTEM, value: CF }],
    name: [{ family: 'Rossi Test', given: ['Mario'] }],
    telecom: [
      { system: 'phone', value: '+39 02 0000 0000' },
      { system: 'email', value: 'mario.rossi.test@example.org' },
    ],
    gender: 'male',
    birthDate: '1980-01-01',
    address: [{ use: 'home', line: ['Via Test 1'], city: 'Milano', postalCode: '20100' }],
    contact: [{ name: { family: 'Bianchi Test', given: ['Anna'] }, telecom: [{ system: 'phone', value: '+39 02 1111 1111' }] }],
    generalPractitioner: [{ reference: 'PractitionerRole/mmg-test-1' }],
  };
}

export function encounter(): Resource {
  return {
    resourceType: 'Encounter',
    id: 'enc-test-1',
    meta: { profile: [`${RL}RLEncounterCore`] },
    identifier: [{ system: 'urn:oid:2.16.840.1.113883.2.9.2.30.4.6', value: 'NOSO-TEST-1' }],
    status: 'finished',
    class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'IMP', display: 'inpatient encounter' },
    subject: { reference: 'Patient/pat-test-1' },
    participant: [{ individual: { reference: 'PractitionerRole/pr-test-1' } }],
    period: { start: '2024-01-10T08:00:00+01:00', end: '2024-01-15T10:00:00+01:00' },
    location: [{ location: { reference: 'Location/loc-test-1' } }],
  };
}

export function organization(): Resource {
  return {
    resourceType: 'Organization',
    id: 'org-test-1',
    meta: { profile: [`${RL}RLOrganizationCore`] },
    identifier: [
      { system: 'https://www.hl7.it/fhir/terminology/ValueSet/minsan-idStrutture', value: '030999' },
      { system: 'http://hl7.it/sid/partitaIva', value: '00000000000' },
    ],
    active: true,
    name: 'ASST Test',
    telecom: [
      { system: 'phone', value: '+39 02 2222 2222' },
      { system: 'email', value: 'info@asst-test.example.org' },
    ],
    address: [{ line: ['Via Test 2'], city: 'Milano' }],
  };
}

export function practitioner(): Resource {
  return {
    resourceType: 'Practitioner',
    id: 'prac-test-1',
    meta: { profile: [`${RL}RLPractitionerCore`] },
    identifier: [
      { system: CF_SYSTEM, value: 'VRDLGU70B02F205X' },
      { system: 'https://fhir.siss.regione.lombardia.it/CodeSystem/HL7', value: 'REG-TEST-1' },
    ],
    name: [{ family: 'Verdi Test', given: ['Luigi'] }],
    telecom: [{ system: 'phone', value: '+39 02 3333 3333' }],
    address: [{ use: 'work', line: ['Via Test 3'], city: 'Milano', postalCode: '20100' }],
  };
}

export function practitionerRole(): Resource {
  return {
    resourceType: 'PractitionerRole',
    id: 'pr-test-1',
    meta: { profile: [`${RL}RLPractitionerRoleCore`] },
    identifier: [{ system: CF_SYSTEM, value: 'VRDLGU70B02F205X' }],
    active: true,
    period: { start: '2020-01-01' },
    practitioner: { reference: 'Practitioner/prac-test-1' },
    organization: { reference: 'Organization/org-test-1' },
    code: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/practitioner-role', code: 'doctor' }] }],
  };
}

export function location(): Resource {
  return {
    resourceType: 'Location',
    id: 'loc-test-1',
    meta: { profile: [`${RL}RLLocationCore`] },
    identifier: [{ system: 'urn:oid:2.16.840.1.113883.2.9.4.1.6', value: 'REP-TEST-1' }],
    status: 'active',
    name: 'Reparto Test',
    physicalType: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/location-physical-type', code: 'wa' }] },
    managingOrganization: { reference: 'Organization/org-test-1' },
  };
}

export function condition(): Resource {
  return {
    resourceType: 'Condition',
    id: 'cond-test-1',
    meta: { profile: [`${RL}RLConditionCore`] },
    clinicalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: 'active' }] },
    category: [{ coding: [{ system: 'http://loinc.org', code: '75326-9', version: 'LOINC', display: 'Problem' }] }],
    code: { coding: [{ system: 'http://hl7.org/fhir/sid/icd-9-cm', code: '401.9' }], text: 'Ipertensione (test)' },
    subject: { reference: 'Patient/pat-test-1' },
    encounter: { reference: 'Encounter/enc-test-1' },
  };
}

export function allergy(): Resource {
  return {
    resourceType: 'AllergyIntolerance',
    id: 'alg-test-1',
    meta: { profile: [`${RL}RLAllergyIntoleranceCore`] },
    clinicalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical', code: 'active' }] },
    verificationStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/allergyintolerance-verification', code: 'confirmed' }] },
    type: 'allergy',
    category: ['medication'],
    criticality: 'high',
    patient: { reference: 'Patient/pat-test-1' },
    note: [{ text: 'Allergia di test' }],
    reaction: [{ manifestation: [{ coding: [{ system: 'http://hl7.org/fhir/sid/icd-9-cm', version: 'ICD9-CM', code: '995.3' }] }] }],
  };
}

export function serviceRequest(): Resource {
  return {
    resourceType: 'ServiceRequest',
    id: 'sr-test-1',
    meta: { profile: [`${RL}RLServiceRequestCore`] },
    identifier: [{ system: 'urn:oid:2.16.840.1.113883.2.9.4.3.9', value: 'NRE-TEST-1', assigner: { reference: 'Organization/org-test-1' } }],
    status: 'active',
    intent: 'order',
    subject: { reference: 'Patient/pat-test-1' },
    authoredOn: '2024-01-09',
    requester: { reference: 'PractitionerRole/pr-test-1' },
    performer: [{ reference: 'Practitioner/prac-test-1' }],
    encounter: { reference: 'Encounter/enc-test-1' },
  };
}

export function decorsoClinico(): Resource {
  return {
    resourceType: 'Observation',
    id: 'obs-test-1',
    meta: { profile: [`${RL}RLObservationCoreDecorsoClinico`] },
    status: 'final',
    code: { coding: [{ system: 'http://loinc.org', code: '89261-2', display: 'Decorso Clinico' }] },
    subject: { reference: 'Patient/pat-test-1' },
    encounter: { reference: 'Encounter/enc-test-1' },
    valueCodeableConcept: { coding: [{ system: 'urn:oid:2.16.840.1.113883.2.9.77.22.11.10', code: 'LA18821-1', display: 'Acute' }] },
  };
}

export function errors(result: ValidationResult): ValidationIssue[] {
  return result.issues.filter((i) => i.severity === 'error' || i.severity === 'fatal');
}

/** Compact rendering for assertion messages. */
export function show(result: ValidationResult): string {
  return result.issues.map((i) => `${i.severity} ${i.code} ${i.rule ?? ''} ${i.path}: ${i.message}`).join('\n');
}
