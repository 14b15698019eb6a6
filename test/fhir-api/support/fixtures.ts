/**
 * Synthetic clinical documents for the FHIR API tests (fictitious patients). Ids are built like the
 * mappings build them ($resourceId: Ente + type + business identifier), so the same patient gets a
 * different id in each Ente.
 */
import { newMessageId } from '../../../core/common/ids.ts';
import { deterministicId } from '../../../core/mapping/functions/identity.ts';
import { enteOrganizationId } from '../../../core/storage/directory.ts';
import type { FhirResource, StoreRequest } from '../../../core/storage/types.ts';

export const CF_SYSTEM = 'http://hl7.it/sid/codiceFiscale';
export const CF_OID = '2.16.840.1.113883.2.9.4.3.2';
/** ROSSI MARIO, the patient of the plugin samples. */
export const CF_ROSSI = 'RSSMRA80A01H501U';
/** BIANCHI LAURA, a second fictitious patient. */
export const CF_BIANCHI = 'BNCLRA85M41F205X';

export interface ClinicalDocument {
  ente: string;
  patient: FhirResource;
  encounter: FhirResource;
  observations: FhirResource[];
  condition: FhirResource;
  report: FhirResource;
  composition: FhirResource;
  documentReference: FhirResource;
  all: FhirResource[];
}

const ref = (r: FhirResource) => ({ reference: `${r.resourceType}/${r.id}` });

export function patientResource(ente: string, cf: string, family: string, given: string): FhirResource {
  return {
    resourceType: 'Patient',
    id: deterministicId(ente, 'Patient', [CF_SYSTEM, cf]),
    identifier: [{ system: CF_SYSTEM, value: cf }],
    name: [{ family, given: [given] }],
  };
}

/**
 * A lab report document: Patient, Encounter, two Observations, a Condition, a DiagnosticReport, the
 * Composition whose sections list them, and the DocumentReference related to the Composition.
 */
export function clinicalDocument(ente: string, cf: string, options: { family?: string; given?: string; documentId?: string; day?: string } = {}): ClinicalDocument {
  const documentId = options.documentId ?? `DOC-${cf}`;
  const day = options.day ?? '2024-03-11';
  const id = (type: string, ...parts: string[]) => deterministicId(ente, type, [documentId, ...parts]);
  const patient = patientResource(ente, cf, options.family ?? 'ROSSI', options.given ?? 'MARIO');
  const encounter: FhirResource = {
    resourceType: 'Encounter', id: id('Encounter'), status: 'finished',
    class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
    subject: ref(patient), period: { start: `${day}T08:00:00+01:00`, end: `${day}T12:00:00+01:00` },
  };
  const hemoglobin: FhirResource = {
    resourceType: 'Observation', id: id('Observation', '718-7'), status: 'final',
    code: { coding: [{ system: 'http://loinc.org', code: '718-7', display: 'Hemoglobin' }] },
    subject: ref(patient), encounter: ref(encounter), effectiveDateTime: `${day}T09:50:00+01:00`,
    valueQuantity: { value: 13.2, unit: 'g/dL' },
  };
  const glucose: FhirResource = {
    resourceType: 'Observation', id: id('Observation', '2345-7'), status: 'final',
    // The OID spelling of LOINC, as the national gateway writes it.
    code: { coding: [{ system: 'urn:oid:2.16.840.1.113883.6.1', code: '2345-7', display: 'Glucose' }] },
    subject: ref(patient), encounter: ref(encounter), effectiveDateTime: day,
    valueQuantity: { value: 92, unit: 'mg/dL' },
  };
  const condition: FhirResource = {
    resourceType: 'Condition', id: id('Condition'),
    code: { coding: [{ system: 'http://hl7.org/fhir/sid/icd-9-cm', code: '428.0', display: 'Insufficienza cardiaca congestizia' }] },
    subject: ref(patient), encounter: ref(encounter), recordedDate: day,
  };
  const report: FhirResource = {
    resourceType: 'DiagnosticReport', id: id('DiagnosticReport'), status: 'final',
    code: { coding: [{ system: 'http://loinc.org', code: '11502-2' }] },
    subject: ref(patient), encounter: ref(encounter), effectiveDateTime: `${day}T10:00:00+01:00`,
    result: [ref(hemoglobin), ref(glucose)],
  };
  const composition: FhirResource = {
    resourceType: 'Composition', id: id('Composition'), status: 'final',
    identifier: { system: 'urn:oid:2.16.840.1.113883.2.9.2.30.4.4', value: documentId },
    type: { coding: [{ system: 'http://loinc.org', code: '11502-2' }] },
    subject: ref(patient), encounter: ref(encounter), date: `${day}T11:00:00+01:00`, title: 'Referto di Laboratorio',
    author: [{ reference: `Organization/${enteOrganizationId(ente)}` }],
    custodian: { reference: `Organization/${enteOrganizationId(ente)}` },
    section: [
      { title: 'Esami', entry: [ref(report), ref(hemoglobin), ref(glucose)] },
      { title: 'Diagnosi', section: [{ title: 'Diagnosi principale', entry: [ref(condition)] }] },
    ],
  };
  const documentReference: FhirResource = {
    resourceType: 'DocumentReference', id: id('DocumentReference'), status: 'current',
    type: { coding: [{ system: 'http://loinc.org', code: '11502-2' }] },
    subject: ref(patient), date: `${day}T11:05:00+01:00`,
    content: [{ attachment: { contentType: 'application/pdf', url: `urn:document:${documentId}` } }],
    context: { related: [ref(composition)] },
  };
  const observations = [hemoglobin, glucose];
  return {
    ente, patient, encounter, observations, condition, report, composition, documentReference,
    all: [patient, encounter, ...observations, condition, report, composition, documentReference],
  };
}

export function storeRequest(ente: string, resources: FhirResource[], messageId = newMessageId()): StoreRequest {
  return { ente, messageId, producerHash: 'test', sourceTime: null, resources, trail: [], attempts: 1 };
}
