import { readFileSync } from 'node:fs';
import path from 'node:path';
import { loadSettings, REPO_ROOT } from '../../core/config/index.ts';
import { partitionName } from '../../core/storage/index.ts';
import { TcpProxy } from '../support/tcp-proxy.ts';
import { postMessage, startTestEngine, TEST_ADMIN_TOKEN, waitForFinal, type TestEngine } from '../support/engine.ts';
import { STORAGE_KINDS, testDatabaseUrl } from '../support/storage.ts';

const PLUGIN = 'asst-demo-nord-adt';
const ENTE = '030901';
const sample = (name: string) => readFileSync(path.join(REPO_ROOT, 'plugins', PLUGIN, 'samples', name));
/** A copy of a sample with another control id (MSH-10), so it is a new message and not a redelivery. */
const withControlId = (raw: Buffer, controlId: string) => Buffer.from(raw.toString('utf8').replace(/\|(MSG-[A-Z0-9-]+)\|P\|/, `|${controlId}|P|`));

describe.each(STORAGE_KINDS)('HTTP ingest to the Ente partition on %s', (kind) => {
  let t: TestEngine;
  beforeAll(async () => {
    t = await startTestEngine(kind);
  });
  afterAll(async () => t.cleanup());

  const patientRows = async (id: string) =>
    (await t.engine.db.query<{ version_id: number }>(`SELECT version_id FROM ${partitionName('resource', ENTE)} WHERE resource_type = 'Patient' AND id = $1`, [id])).rows;

  test('an ADT^A01 is stored as RLPatientCore and RLEncounterCore in its Ente partition', async () => {
    const posted = await postMessage(t.url, PLUGIN, withControlId(sample('adt-a01.hl7'), `A01-${kind}-1`));
    expect(posted.status).toBe(202);
    const messageId = posted.body.messageId as string;
    const trail = await waitForFinal(t.url, messageId);
    expect(trail.state).toBe('stored');
    expect(trail.stages.map((s) => s.stage)).toEqual(['received', 'parsed', 'mapped', 'validated', 'stored']);
    const types = trail.resources.map((r) => r.resourceType).sort();
    expect(types).toEqual(['Encounter', 'Location', 'Patient']);

    const patient = trail.resources.find((r) => r.resourceType === 'Patient')!;
    // Queried on the partition table itself, not only through the parent.
    const row = await t.engine.db.query<{ resource: Record<string, unknown> }>(
      `SELECT resource FROM ${partitionName('resource', ENTE)} WHERE resource_type = 'Patient' AND id = $1`, [patient.id],
    );
    const resource = row.rows[0]!.resource as { meta: { profile: string[] }; identifier: Array<{ system: string; value: string }>; birthDate: string };
    expect(resource.meta.profile).toEqual(['https://fhir.siss.regione.lombardia.it/StructureDefinition/RLPatientCore']);
    expect(resource.identifier).toContainEqual({ system: 'http://hl7.it/sid/codiceFiscale', value: 'RSSMRA80A01H501U' });
    expect(resource.birthDate).toBe('1980-01-01');
    const encounter = await t.engine.db.query<{ resource: { class: { code: string }; identifier: Array<{ value: string }> } }>(
      `SELECT resource FROM ${partitionName('resource', ENTE)} WHERE resource_type = 'Encounter'`,
    );
    expect(encounter.rows[0]!.resource.class.code).toBe('IMP');
    expect(encounter.rows[0]!.resource.identifier[0]!.value).toBe('NOS-2024-000123');
    // No other Ente's partition received anything.
    const elsewhere = await t.engine.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${partitionName('resource', '030902')}`);
    expect(elsewhere.rows[0]!.n).toBe(0);
  });

  test('the same message delivered twice is accepted once and gives one Patient', async () => {
    const raw = withControlId(sample('adt-a01.hl7'), `A01-${kind}-dup`);
    const first = await postMessage(t.url, PLUGIN, raw);
    const second = await postMessage(t.url, PLUGIN, raw);
    expect(first.status).toBe(202);
    expect(second.status).toBe(202);
    expect(second.body.messageId).toBe(first.body.messageId);
    expect(second.body.duplicate).toBe(true);
    const trail = await waitForFinal(t.url, first.body.messageId as string);
    const patient = trail.resources.find((r) => r.resourceType === 'Patient')!;
    expect(await patientRows(patient.id)).toHaveLength(1);
    const inbox = await t.engine.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM inbox WHERE control_id = $1`, [`A01-${kind}-dup`]);
    expect(inbox.rows[0]!.n).toBe(1);
  });

  test('an ADT^A08 after the A01 makes version 2 of the same Patient, version 1 in history', async () => {
    // Same patient as the A01 test, so the Patient already exists: A08 must update it, not create another.
    const a01 = await waitForFinal(t.url, (await postMessage(t.url, PLUGIN, withControlId(sample('adt-a01.hl7'), `A01-${kind}-v`))).body.messageId as string);
    const patientId = a01.resources.find((r) => r.resourceType === 'Patient')!.id;
    const before = Number((await patientRows(patientId))[0]!.version_id);
    const a08 = await waitForFinal(t.url, (await postMessage(t.url, PLUGIN, sample('adt-a08.hl7'))).body.messageId as string);
    expect(a08.state).toBe('stored');
    const updated = a08.resources.find((r) => r.resourceType === 'Patient')!;
    expect(updated.id).toBe(patientId);
    expect(updated.versionId).toBe(String(before + 1));
    expect(updated.outcome).toBe('updated');
    const current = await t.engine.db.query<{ version_id: number; resource: { name: Array<{ given: string[] }> } }>(
      `SELECT version_id, resource FROM ${partitionName('resource', ENTE)} WHERE resource_type = 'Patient' AND id = $1`, [patientId],
    );
    expect(current.rows).toHaveLength(1);
    expect(current.rows[0]!.resource.name[0]!.given).toEqual(['MARIO', 'LUIGI']);
    const history = await t.engine.db.query<{ version_id: number }>(
      `SELECT version_id FROM ${partitionName('resource_history', ENTE)} WHERE resource_type = 'Patient' AND id = $1 ORDER BY version_id`, [patientId],
    );
    expect(history.rows.map((r) => Number(r.version_id))).toContain(before);
  });

  test('an unparseable message ends dead-lettered with the stage and a readable reason, writing no resources', async () => {
    const before = await t.engine.db.query<{ n: number }>('SELECT count(*)::int AS n FROM resource');
    const posted = await postMessage(t.url, PLUGIN, 'this is not an HL7 message\r');
    expect(posted.status).toBe(202);
    const trail = await waitForFinal(t.url, posted.body.messageId as string);
    expect(trail.state).toBe('dead-lettered');
    const last = trail.stages.at(-1)!;
    expect(last.stage).toBe('dead-lettered');
    expect(last.error?.stage).toBe('parse');
    expect(last.error?.message).toMatch(/must start with MSH/);
    expect(trail.deadLetter?.stage).toBe('parse');
    expect(trail.resources).toEqual([]);
    const after = await t.engine.db.query<{ n: number }>('SELECT count(*)::int AS n FROM resource');
    expect(after.rows[0]!.n).toBe(before.rows[0]!.n);
  });

  test('an unknown plugin is 404 and an empty body 400, and nothing is accepted', async () => {
    const before = await t.engine.db.query<{ n: number }>('SELECT count(*)::int AS n FROM inbox');
    const unknown = await postMessage(t.url, 'no-such-plugin', sample('adt-a01.hl7'));
    expect(unknown.status).toBe(404);
    expect(unknown.body.code).toBe('RECEIVE_UNKNOWN_PLUGIN');
    const empty = await postMessage(t.url, PLUGIN, '');
    expect(empty.status).toBe(400);
    expect(empty.body.code).toBe('RECEIVE_EMPTY');
    const after = await t.engine.db.query<{ n: number }>('SELECT count(*)::int AS n FROM inbox');
    expect(after.rows[0]!.n).toBe(before.rows[0]!.n);
  });

  test('/messages and /admin need the bearer token', async () => {
    const noToken = await fetch(`${t.url}/admin/queues`);
    expect(noToken.status).toBe(401);
    expect(((await noToken.json()) as { code: string }).code).toBe('UNAUTHENTICATED');
    const badToken = await fetch(`${t.url}/messages/0190f3a0-0000-7000-8000-000000000000`, { headers: { authorization: 'Bearer wrong' } });
    expect(badToken.status).toBe(401);
    const queues = await fetch(`${t.url}/admin/queues`, { headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` } });
    expect(queues.status).toBe(200);
    const body = (await queues.json()) as { items: Array<Record<string, unknown>> };
    expect(Object.keys(body.items[0]!)).toEqual(expect.arrayContaining(['name', 'waiting', 'active', 'delayed', 'completed', 'failed', 'paused']));
    expect((await fetch(`${t.url}/health/ready`)).status).toBe(200);
    expect((await fetch(`${t.url}/health/live`)).status).toBe(200);
  });
});

describe('a body over the size limit', () => {
  let t: TestEngine;
  beforeAll(async () => {
    const config = loadSettings().config;
    t = await startTestEngine('postgres', { config: { ...config, ingest: { maxBodyBytes: 1024 } } });
  });
  afterAll(async () => t.cleanup());

  test('is refused with 413 and nothing is accepted', async () => {
    const big = Buffer.concat([sample('adt-a01.hl7'), Buffer.from(`NTE|1||${'x'.repeat(2000)}\r`)]);
    const posted = await postMessage(t.url, PLUGIN, big);
    expect(posted.status).toBe(413);
    expect(posted.body.code).toBe('RECEIVE_TOO_LARGE');
    const inbox = await t.engine.db.query<{ n: number }>('SELECT count(*)::int AS n FROM inbox');
    expect(inbox.rows[0]!.n).toBe(0);
  });
});

describe('storage down (PostgreSQL unreachable)', () => {
  let proxy: TcpProxy;
  let t: TestEngine;
  beforeAll(async () => {
    const target = new URL(testDatabaseUrl());
    proxy = new TcpProxy(target.hostname, Number(target.port || 5432));
    await proxy.start();
    const viaProxy = new URL(testDatabaseUrl());
    viaProxy.port = String(proxy.port);
    t = await startTestEngine('postgres', { databaseUrl: viaProxy.toString() });
  });
  afterAll(async () => {
    await proxy.restore().catch(() => undefined);
    await t.cleanup();
    await proxy.stop();
  });

  test('ingest answers 503 and no inbox row is written', async () => {
    const count = async () => (await t.engine.db.query<{ n: number }>('SELECT count(*)::int AS n FROM inbox')).rows[0]!.n;
    const before = await count();
    await proxy.cut();
    const posted = await postMessage(t.url, PLUGIN, withControlId(sample('adt-a01.hl7'), 'A01-down'));
    expect(posted.status).toBe(503);
    expect(posted.body.code).toBe('STORAGE_UNAVAILABLE');
    const ready = await fetch(`${t.url}/health/ready`);
    expect(ready.status).toBe(503);
    await proxy.restore();
    expect(await count()).toBe(before);
    const inbox = await t.engine.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM inbox WHERE control_id = 'A01-down'`);
    expect(inbox.rows[0]!.n).toBe(0);
  });
});

describe('an HL7 batch posted over HTTP', () => {
  let t: TestEngine;
  beforeAll(async () => {
    t = await startTestEngine('postgres');
  });
  afterAll(async () => t.cleanup());

  test('becomes one inbox message per MSH, each stored', async () => {
    const a = withControlId(sample('adt-a01.hl7'), 'BATCH-1').toString();
    const b = withControlId(sample('adt-a08.hl7'), 'BATCH-2').toString();
    const batch = `FHS|^~\\&|ADT_DEMO\rBHS|^~\\&|ADT_DEMO\r${a}${b}BTS|2\rFTS|1\r`;
    const posted = await postMessage(t.url, PLUGIN, batch);
    expect(posted.status).toBe(202);
    const ids = posted.body.messageIds as string[];
    expect(ids).toHaveLength(2);
    expect(posted.body.messageId).toBe(ids[0]);
    for (const id of ids) expect((await waitForFinal(t.url, id)).state).toBe('stored');
    const controlIds = await t.engine.db.query<{ control_id: string }>('SELECT control_id FROM inbox WHERE message_id = ANY($1::uuid[]) ORDER BY control_id', [ids]);
    expect(controlIds.rows.map((r) => r.control_id)).toEqual(['BATCH-1', 'BATCH-2']);
  });
});
