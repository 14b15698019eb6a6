import { copyFileSync, mkdirSync, readFileSync, utimesSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../../core/config/index.ts';
import { partitionName } from '../../core/storage/index.ts';
import { postMessage, startTestEngine, waitForFinal, type MessageView, type TestEngine } from '../support/engine.ts';

/**
 * The proprietary-XML reference plugin end to end: the nightly batch export dropped as a file is split
 * into one message per <Accesso>, each mapped, validated and stored in the partition of ASST Demo
 * Brianza (030902) only.
 */
const PLUGIN = 'asst-demo-brianza-triage';
const ENTE = '030902';
const PLUGIN_DIR = path.join(REPO_ROOT, 'plugins', PLUGIN);
const BATCH = path.join(PLUGIN_DIR, 'samples', 'esportazione-2024-03-11.xml');

describe('PS Triage XML export into the partition of ASST Demo Brianza', () => {
  let t: TestEngine;
  let trails: MessageView[];

  beforeAll(async () => {
    t = await startTestEngine('postgres', {}, { fileDropIntervalMs: 0 });
    const dropDir = t.engine.fileDrop?.dropDir(PLUGIN) ?? path.join(t.settings.dataDir, 'inbox', PLUGIN);
    mkdirSync(path.join(dropDir, 'processed'), { recursive: true });
    mkdirSync(path.join(dropDir, 'failed'), { recursive: true });
    const dropped = path.join(dropDir, 'esportazione-2024-03-11.xml');
    copyFileSync(BATCH, dropped);
    // The watcher waits for files to settle; this one is complete.
    const past = new Date(Date.now() - 60_000);
    utimesSync(dropped, past, past);
  });
  afterAll(async () => t?.cleanup());

  const count = async (ente: string, type: string) =>
    (await t.engine.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${partitionName('resource', ente)} WHERE resource_type = $1`, [type])).rows[0]!.n;

  test('the batch file becomes five messages, all stored', async () => {
    const { FileDropWatcher } = await import('../../core/ingest/index.ts');
    const watcher = t.engine.fileDrop ?? new FileDropWatcher({ dataDir: t.settings.dataDir, plugins: t.engine.plugins, ingest: t.engine.ingest, logger: t.engine.logger });
    const [result] = await watcher.scanOnce();
    expect(result).toEqual(expect.objectContaining({ outcome: 'processed', messages: 5 }));
    const rows = await t.engine.db.query<{ message_id: string }>('SELECT message_id FROM inbox WHERE plugin_id = $1 ORDER BY received_at, message_id', [PLUGIN]);
    expect(rows.rows).toHaveLength(5);
    trails = await Promise.all(rows.rows.map((r) => waitForFinal(t.url, r.message_id)));
    for (const trail of trails) {
      expect(trail.state).toBe('stored');
      expect(trail.stages.map((s) => s.stage)).toEqual(['received', 'parsed', 'mapped', 'validated', 'stored']);
    }
  });

  test('the resources land in partition 030902 only, one per business identifier', async () => {
    expect(await count(ENTE, 'Patient')).toBe(5);
    expect(await count(ENTE, 'Encounter')).toBe(5);
    expect(await count(ENTE, 'Location')).toBe(1); // the same emergency department for every visit
    expect(await count(ENTE, 'Condition')).toBe(4); // 2 + 1 + 1 diagnoses; the abandoned and the open visit have none
    expect(await count(ENTE, 'Observation')).toBe(5 + 6 + 4 + 4 + 3 + 5); // a triage level per visit + every parameter
    for (const other of ['030901', '030903']) {
      const elsewhere = await t.engine.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${partitionName('resource', other)}`);
      expect(elsewhere.rows[0]!.n).toBe(0);
    }
  });

  test('an Encounter carries class EMER, the triage priority and the translated outcome', async () => {
    const rows = await t.engine.db.query<{ resource: Record<string, any> }>(
      `SELECT resource FROM ${partitionName('resource', ENTE)} WHERE resource_type = 'Encounter' AND resource->'identifier'->0->>'value' = 'PS24-0001237'`,
    );
    const encounter = rows.rows[0]!.resource;
    expect(encounter.meta.profile).toEqual(['https://fhir.siss.regione.lombardia.it/StructureDefinition/RLEncounterCore']);
    expect(encounter.class.code).toBe('EMER');
    expect(encounter.status).toBe('finished');
    expect(encounter.priority.coding).toEqual([
      { system: 'http://terminology.hl7.org/CodeSystem/v3-ActPriority', code: 'EL', display: 'elective' },
      { system: 'https://fhir.asst-demo-brianza.example.invalid/CodeSystem/pstriage-colore', code: 'B', display: 'Bianco - Non urgenza' },
    ]);
    // ABB (allontanamento spontaneo) through the plugin's ConceptMap
    expect(encounter.hospitalization.dischargeDisposition.coding[0]).toEqual(
      { system: 'http://terminology.hl7.org/CodeSystem/discharge-disposition', code: 'aadvice', display: 'Left against advice' },
    );
    expect(encounter.period).toEqual({ start: '2024-03-11T22:10:00+01:00', end: '2024-03-12T00:50:00+01:00' });
  });

  test('the same export posted over HTTP is split the same way and recognised as a redelivery of each record', async () => {
    const posted = await postMessage(t.url, PLUGIN, readFileSync(BATCH), { 'content-type': 'application/xml' });
    expect(posted.status).toBe(202);
    const ids = posted.body.messageIds as string[];
    expect(ids).toHaveLength(5);
    expect(new Set(ids)).toEqual(new Set(trails.map((trail) => trail.messageId)));
    expect(await count(ENTE, 'Patient')).toBe(5);
  });

  test('the same record posted again is recognised as a redelivery; a record with an unknown code system is dead-lettered at stage map', async () => {
    const record = readFileSync(path.join(PLUGIN_DIR, 'mappings', 'tests', 'ricovero-dolore-toracico.xml'));
    const first = await postMessage(t.url, PLUGIN, record, { 'content-type': 'application/xml' });
    const again = await postMessage(t.url, PLUGIN, record, { 'content-type': 'application/xml' });
    expect(again.body.messageId).toBe(first.body.messageId);
    expect((await waitForFinal(t.url, first.body.messageId as string)).state).toBe('stored');

    const odd = Buffer.from(record.toString('utf8').replace('PS24-0001234', 'PS24-0009999').replace(/sistema="ICD9CM" codice="401.9"/, 'sistema="ICD10" codice="I10"'));
    const posted = await postMessage(t.url, PLUGIN, odd, { 'content-type': 'application/xml' });
    const trail = await waitForFinal(t.url, posted.body.messageId as string);
    expect(trail.state).toBe('dead-lettered');
    expect(trail.deadLetter).toEqual(expect.objectContaining({ stage: 'map' }));
    expect(trail.deadLetter!.reason).toMatch(/<Diagnosi> of visit PS24-0009999 has sistema "ICD10"; known: ICD9CM/);
  });
});
