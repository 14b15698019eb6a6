/**
 * The whole path: HL7 v2 messages of two Enti through ingest → mapping → reference guard → store →
 * search index, then the FHIR API with a clinician token of Ente A, of Ente B and a sovra-aziendale one.
 * Test plugins (a second Ente's ADT, a lab report producing a Composition and a DocumentReference, and a
 * mapping that points into another Ente) live in a temporary plugins folder.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FhirResource } from '../../core/storage/index.ts';
import { postMessage, startTestEngine, waitForFinal, type TestEngine } from '../support/engine.ts';
import { STORAGE_KINDS } from '../support/storage.ts';
import { ADT_A01 as ADT, oru, PATIENT_ID_IN_B, withControlId, writeDemoPlugins } from './support/demo-plugins.ts';
import { CF_ROSSI, CF_SYSTEM } from './support/fixtures.ts';
import { ENTE_A, ENTE_B, getJson, outcomeCode, serveEngineWithTokens, type TokenServer } from './support/tokens.ts';

interface Bundle {
  entry: Array<{ fullUrl: string; resource: FhirResource; search: { mode: string } }>;
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
    writeDemoPlugins(pluginsDir);
    // No validator: the store and read paths are under test (the demo server runs with it).
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
