/**
 * TEST HELPER — source plugins for the read-path tests and the demo server: Ente B's copy of the ADT
 * feed, a lab report feed per Ente (ORU^R01 → Observations, DiagnosticReport, Composition,
 * DocumentReference) and a "leaky" mapping pointing at a patient of another Ente. Written into a
 * temporary plugins folder; nothing here ships.
 */
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../../../core/config/index.ts';
import { deterministicId } from '../../../core/mapping/functions/identity.ts';
import { ENTE_A, ENTE_B } from './tokens.ts';

export const ADT_A01 = readFileSync(path.join(REPO_ROOT, 'plugins', 'asst-demo-nord-adt', 'samples', 'adt-a01.hl7'), 'utf8');
export const withControlId = (raw: string, id: string) => raw.replace(/\|(MSG-[A-Z0-9-]+)\|P\|/, `|${id}|P|`);

/** A lab report for ROSSI MARIO (PID as in the ADT sample): two results under one OBR. */
export const oru = (controlId: string, reportId: string) => [
  `MSH|^~\\&|LAB_DEMO|DEMO|CDR|REGIONE_LOMBARDIA|20240312103000||ORU^R01^ORU_R01|${controlId}|P|2.5|||AL|NE||UNICODE UTF-8`,
  'PID|1||PZ0000123^^^DEMO^PI~RSSMRA80A01H501U^^^MEF^NNITA||ROSSI^MARIO^^^^^L||19800101|M',
  `OBR|1|ORD-${reportId}|${reportId}|11502-2^Referto di laboratorio^LN|||20240312090000`,
  'OBX|1|NM|718-7^Hemoglobin^LN||13.2|g/dL|||||F|||20240312093000',
  'OBX|2|NM|2345-7^Glucose^LN||92|mg/dL|||||F|||20240312093000',
  '',
].join('\r');

export const LAB_MAPPING = `(
  $pid := PID[0];
  $obr := OBR[0];
  $localId := $pid.F3[C5 in ['PI', 'MR', 'PT']][0].C1;
  $cf := $pid.F3[C5 = 'NNITA'][0].C1;
  /* The Patient the ADT feed of the same Ente stored: referenced, not repeated. */
  $patient := $localId ? $reference('Patient', $idSystem('patientLocalId'), $localId) : $reference('Patient', $idSystem('codiceFiscale'), $cf);
  $docId := $obr.F3[0].C1;
  $loinc := function($code) { { 'coding': [{ 'system': 'http://loinc.org', 'code': $code }] } };
  $observations := $append([], OBX.{
    'resourceType': 'Observation', 'id': $resourceId('Observation', $docId, F1[0].C1), 'status': 'final',
    'code': { 'coding': [{ 'system': 'http://loinc.org', 'code': F3[0].C1, 'display': F3[0].C2 }] },
    'subject': $patient, 'effectiveDateTime': $dateTime(F14[0].C1),
    'valueQuantity': { 'value': $number(F5[0].C1), 'unit': F6[0].C1 }
  });
  $obsRefs := $observations.{ 'reference': 'Observation/' & id };
  $report := {
    'resourceType': 'DiagnosticReport', 'id': $resourceId('DiagnosticReport', $docId), 'status': 'final', 'code': $loinc('11502-2'),
    'subject': $patient, 'effectiveDateTime': $dateTime($obr.F7[0].C1), 'result': $obsRefs
  };
  $composition := {
    'resourceType': 'Composition', 'id': $resourceId('Composition', $docId), 'status': 'final', 'type': $loinc('11502-2'),
    'subject': $patient, 'date': $dateTime(MSH[0].F7[0].C1), 'title': 'Referto di Laboratorio',
    'author': [{ 'reference': 'Organization/ente-' & $ente }], 'custodian': { 'reference': 'Organization/ente-' & $ente },
    'section': [{ 'title': 'Esami', 'entry': $append([{ 'reference': 'DiagnosticReport/' & $report.id }], $obsRefs) }]
  };
  $documentReference := {
    'resourceType': 'DocumentReference', 'id': $resourceId('DocumentReference', $docId), 'status': 'current', 'type': $loinc('11502-2'),
    'subject': $patient, 'date': $dateTime(MSH[0].F7[0].C1),
    'content': [{ 'attachment': { 'contentType': 'application/pdf', 'title': 'Referto ' & $docId } }],
    'context': { 'related': [{ 'reference': 'Composition/' & $composition.id }] }
  };
  { 'resourceType': 'Bundle', 'type': 'collection', 'entry': $append($observations, [$report, $composition, $documentReference]).{ 'resource': $ } }
)`;

/** The Patient id Ente B's ADT mapping gives ROSSI MARIO (local id PZ0000123 under B's patient-id OID). */
export const PATIENT_ID_IN_B = deterministicId(ENTE_B, 'Patient', ['urn:oid:2.16.840.1.113883.2.9.2.30902.4.1', 'PZ0000123']);

function writePlugin(dir: string, id: string, ente: string, routes: Array<{ match: string; mapping: string }>, files: Record<string, string> = {}): void {
  mkdirSync(path.join(dir, id, 'samples'), { recursive: true });
  // "warn": the test mappings are not written against the RL profiles; the store and read paths are what they exercise.
  writeFileSync(path.join(dir, id, 'plugin.json'), JSON.stringify({ id, version: '1.0.0', ente, format: 'hl7v2', routes, validation: { policy: 'warn' } }, null, 2));
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, id, name), text);
}

/** Fills `dir` with the reference ADT plugin and the test plugins; returns the sample files written. */
export function writeDemoPlugins(dir: string): Record<string, string> {
  cpSync(path.join(REPO_ROOT, 'plugins', 'asst-demo-nord-adt'), path.join(dir, 'asst-demo-nord-adt'), { recursive: true });
  writePlugin(dir, 'test-brianza-adt', ENTE_B, [{ match: 'ADT^A01', mapping: 'hl7v2/adt/patient-encounter.jsonata' }], {
    'samples/adt-a01.hl7': withControlId(ADT_A01, 'MSG-B-A01-0001'),
  });
  writePlugin(dir, 'test-nord-lab', ENTE_A, [{ match: 'ORU^R01', mapping: './lab-document.jsonata' }], {
    'lab-document.jsonata': LAB_MAPPING, 'samples/oru-r01.hl7': oru('LAB-A-MSG-0001', 'LAB-A-0001'),
  });
  writePlugin(dir, 'test-brianza-lab', ENTE_B, [{ match: 'ORU^R01', mapping: './lab-document.jsonata' }], {
    'lab-document.jsonata': LAB_MAPPING, 'samples/oru-r01.hl7': oru('LAB-B-MSG-0007', 'LAB-B-0007'),
  });
  writePlugin(dir, 'test-nord-leaky', ENTE_A, [{ match: 'ORU^R01', mapping: './leaky.jsonata' }], {
    'leaky.jsonata': `{ 'resourceType': 'Observation', 'id': $resourceId('Observation', OBR[0].F3[0].C1), 'status': 'final',
      'code': { 'text': 'points at a patient of another Ente' }, 'subject': { 'reference': 'Patient/${PATIENT_ID_IN_B}' } }`,
    'samples/oru-r01.hl7': oru('LEAK-MSG-0001', 'LEAK-0001'),
  });
  return {
    adtA: path.join(dir, 'asst-demo-nord-adt', 'samples', 'adt-a01.hl7'),
    adtB: path.join(dir, 'test-brianza-adt', 'samples', 'adt-a01.hl7'),
    labA: path.join(dir, 'test-nord-lab', 'samples', 'oru-r01.hl7'),
    labB: path.join(dir, 'test-brianza-lab', 'samples', 'oru-r01.hl7'),
    leaky: path.join(dir, 'test-nord-leaky', 'samples', 'oru-r01.hl7'),
  };
}

export { ENTE_A, ENTE_B };
