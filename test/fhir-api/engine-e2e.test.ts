/**
 * The whole path: HL7 v2 messages of two Enti through ingest → mapping → reference guard → store →
 * search index, then the FHIR API with a clinician token of Ente A, of Ente B and a sovra-aziendale one.
 * Test plugins (a second Ente's ADT, a lab report producing a Composition and a DocumentReference, and a
 * mapping that points into another Ente) live in a temporary plugins folder.
 */
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from '../../core/config/index.ts';
import { deterministicId } from '../../core/mapping/functions/identity.ts';
import type { FhirResource } from '../../core/storage/index.ts';
import { postMessage, startTestEngine, waitForFinal, type TestEngine } from '../support/engine.ts';
import { STORAGE_KINDS } from '../support/storage.ts';
import { CF_ROSSI, CF_SYSTEM } from './support/fixtures.ts';
import { ENTE_A, ENTE_B, getJson, outcomeCode, serveEngineWithTokens, type TokenServer } from './support/tokens.ts';

interface Bundle {
  entry: Array<{ fullUrl: string; resource: FhirResource; search: { mode: string } }>;
}

const ADT = readFileSync(path.join(REPO_ROOT, 'plugins', 'asst-demo-nord-adt', 'samples', 'adt-a01.hl7'), 'utf8');
const withControlId = (raw: string, id: string) => raw.replace(/\|(MSG-[A-Z0-9-]+)\|P\|/, `|${id}|P|`);
const oru = (controlId: string, reportId: string) => [
  `MSH|^~\\&|LAB_DEMO|DEMO|CDR|REGIONE_LOMBARDIA|20240312103000||ORU^R01^ORU_R01|${controlId}|P|2.5|||AL|NE||UNICODE UTF-8`,
  'PID|1||PZ0000123^^^DEMO^PI~RSSMRA80A01H501U^^^MEF^NNITA||ROSSI^MARIO^^^^^L||19800101|M',
  `OBR|1|ORD-${reportId}|${reportId}|11502-2^Referto di laboratorio^LN|||20240312090000`,
  'OBX|1|NM|718-7^Hemoglobin^LN||13.2|g/dL|||||F|||20240312093000',
  'OBX|2|NM|2345-7^Glucose^LN||92|mg/dL|||||F|||20240312093000',
  '',
].join('\r');

const LAB_MAPPING = `(
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
const PATIENT_ID_IN_B = deterministicId(ENTE_B, 'Patient', ['urn:oid:2.16.840.1.113883.2.9.2.30902.4.1', 'PZ0000123']);

function writePlugin(dir: string, id: string, ente: string, routes: Array<{ match: string; mapping: string }>, files: Record<string, string> = {}): void {
  mkdirSync(path.join(dir, id), { recursive: true });
  writeFileSync(path.join(dir, id, 'plugin.json'), JSON.stringify({ id, version: '1.0.0', ente, format: 'hl7v2', routes }, null, 2));
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, id, name), text);
}

describe.each(STORAGE_KINDS)('CDR read path end to end on %s', (kind) => {
  let pluginsDir: string;
  let t: TestEngine;
  let api: TokenServer;
  const get = (p: string, token: string) => getJson<Bundle>(`${api.url}${p}`, token);
  const stored = async (pluginId: string, raw: string) => {
    const posted = await postMessage(t.url, pluginId, raw);
    expect(posted.status).toBe(202);
    return waitForFinal(t.url, posted.body.messageId as string);
  };

  beforeAll(async () => {
    pluginsDir = mkdtempSync(path.join(os.tmpdir(), 'cdr-fhir-plugins-'));
    cpSync(path.join(REPO_ROOT, 'plugins', 'asst-demo-nord-adt'), path.join(pluginsDir, 'asst-demo-nord-adt'), { recursive: true });
    writePlugin(pluginsDir, 'test-brianza-adt', ENTE_B, [{ match: 'ADT^A01', mapping: 'hl7v2/adt/patient-encounter.jsonata' }]);
    writePlugin(pluginsDir, 'test-nord-lab', ENTE_A, [{ match: 'ORU^R01', mapping: './lab-document.jsonata' }], { 'lab-document.jsonata': LAB_MAPPING });
    writePlugin(pluginsDir, 'test-brianza-lab', ENTE_B, [{ match: 'ORU^R01', mapping: './lab-document.jsonata' }], { 'lab-document.jsonata': LAB_MAPPING });
    writePlugin(pluginsDir, 'test-nord-leaky', ENTE_A, [{ match: 'ORU^R01', mapping: './leaky.jsonata' }], {
      'leaky.jsonata': `{ 'resourceType': 'Observation', 'id': $resourceId('Observation', OBR[0].F3[0].C1), 'status': 'final',
        'code': { 'text': 'points at a patient of another Ente' }, 'subject': { 'reference': 'Patient/${PATIENT_ID_IN_B}' } }`,
    });
    // Validation off: the test mappings are not written against the RL profiles; the store path is what is tested.
    t = await startTestEngine(kind, { pluginsDir }, { validator: null });
    api = await serveEngineWithTokens(t.engine);
  });
  afterAll(async () => {
    await api?.close();
    await t?.cleanup();
    rmSync(pluginsDir, { recursive: true, force: true });
  });

  test('clinician of A reads A\'s patient by codice fiscale with every document-derived resource; 403 on B; sovra-aziendale sees both', async () => {
    const adtA = await stored('asst-demo-nord-adt', withControlId(ADT, `E2E-${kind}-A`));
    expect(adtA.state).toBe('stored');
    // The ADT mapping's Patient/Encounter/Location references all resolve inside the message.
    expect(adtA.resources.map((r) => r.resourceType).sort()).toEqual(['Encounter', 'Location', 'Patient']);
    const adtB = await stored('test-brianza-adt', withControlId(ADT, `E2E-${kind}-B`));
    expect(adtB.resources.find((r) => r.resourceType === 'Patient')!.id).toBe(PATIENT_ID_IN_B);
    // Lab reports reference the Patient stored by the ADT feed of the same Ente.
    const labA = await stored('test-nord-lab', oru(`LAB-${kind}-A`, 'LAB-A-0001'));
    expect(labA.state).toBe('stored');
    expect(labA.resources).toHaveLength(5);
    expect((await stored('test-brianza-lab', oru(`LAB-${kind}-B`, 'LAB-B-0007'))).state).toBe('stored');

    const cf = encodeURIComponent(`${CF_SYSTEM}|${CF_ROSSI}`);
    const everything = `identifier=${cf}&_revinclude=*&_revinclude:iterate=Composition:entry&_revinclude:iterate=DocumentReference:related`;
    const inA = await get(`/fhir/${ENTE_A}/Patient?${everything}`, 'clinician-a');
    expect(inA.status).toBe(200);
    const typesA = inA.body.entry.map((e) => `${e.search.mode}:${e.resource.resourceType}`).sort();
    expect(typesA).toEqual([
      'include:Composition', 'include:DiagnosticReport', 'include:DocumentReference', 'include:Encounter',
      'include:Observation', 'include:Observation', 'match:Patient',
    ]);
    expect(inA.body.entry.every((e) => e.fullUrl.startsWith(`${api.url}/fhir/${ENTE_A}/`))).toBe(true);
    const observationsA = await get(`/fhir/${ENTE_A}/Observation?patient.identifier=${cf}&code=${encodeURIComponent('2.16.840.1.113883.6.1|718-7')}&_revinclude=Composition:entry`, 'clinician-a');
    expect(observationsA.body.entry.map((e) => `${e.search.mode}:${e.resource.resourceType}`)).toEqual(['match:Observation', 'include:Composition']);

    const forbidden = await get(`/fhir/${ENTE_B}/Patient?${everything}`, 'clinician-a');
    expect(forbidden.status).toBe(403);
    expect(outcomeCode(forbidden.body)).toBe('FHIR_FORBIDDEN_ENTE');
    const audited = await t.engine.db.query<{ actor: string; ente: string }>(`SELECT actor, ente FROM audit_log WHERE action = 'fhir.denied'`);
    expect(audited.rows).toEqual([{ actor: 'clinician-a', ente: ENTE_B }]);
    expect((await get(`/fhir/Patient?identifier=${cf}`, 'clinician-a')).status).toBe(403);

    const across = await get(`/fhir/Observation?patient.identifier=${cf}&_revinclude=Composition:entry`, 'governance');
    expect(across.status).toBe(200);
    const byEnte = (mode: string, type: string) => across.body.entry
      .filter((e) => e.search.mode === mode && e.resource.resourceType === type)
      .map((e) => e.fullUrl.split('/fhir/')[1]!.split('/')[0]).sort();
    expect(byEnte('match', 'Observation')).toEqual([ENTE_A, ENTE_A, ENTE_B, ENTE_B]);
    expect(byEnte('include', 'Composition')).toEqual([ENTE_A, ENTE_B]);
  });

  test('a mapping whose output points into another Ente is dead-lettered at stage store, nothing written', async () => {
    const trail = await stored('test-nord-leaky', oru(`LEAK-${kind}`, 'LEAK-0001'));
    expect(trail.state).toBe('dead-lettered');
    expect(trail.deadLetter).toMatchObject({ stage: 'store', code: 'STORE_REFERENCE_OUTSIDE_ENTE' });
    expect(trail.deadLetter!.reason).toContain(`"Patient/${PATIENT_ID_IN_B}"`);
    expect(trail.resources).toEqual([]);
    const rows = await t.engine.db.query(`SELECT 1 FROM resource WHERE ente = $1 AND resource_type = 'Observation' AND resource->'code'->>'text' IS NOT NULL`, [ENTE_A]);
    expect(rows.rows).toEqual([]);
  });
});
