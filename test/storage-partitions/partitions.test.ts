import express from 'express';
import { createEntiRouter, requireAuth } from '../../core/admin/index.ts';
import { loadSettings } from '../../core/config/index.ts';
import { newMessageId } from '../../core/common/ids.ts';
import { createLogger } from '../../core/common/logger.ts';
import { errorHandler } from '../../core/server/http-errors.ts';
import {
  applyRetention, DeadLetterRepository, InboxRepository, partitionName, PARTITIONED_TABLES, reindexEnte, registerEnte, registerEnti,
  ResourceStore, RetentionJob, SEARCH_INDEX_VERSION, type RetentionPolicy,
} from '../../core/storage/index.ts';
import { openTestDb, STORAGE_KINDS, type TestDb } from '../support/storage.ts';
import { CF_ROSSI, clinicalDocument, storeRequest } from '../fhir-api/support/fixtures.ts';
import { ENTE_A, ENTE_B, serve, StaticTokenAuthenticator, TEST_TOKENS, type TokenServer } from '../fhir-api/support/tokens.ts';

const ADMIN = 'admin-token';
const tokens = { ...TEST_TOKENS, [ADMIN]: { id: 'admin', role: 'admin' as const, enti: '*' as const, scopes: ['sovra-aziendale'] } };

describe.each(STORAGE_KINDS)('Ente partitions on %s', (kind) => {
  let t: TestDb;
  let server: TokenServer;
  const policy: RetentionPolicy = { intervalMinutes: 60, batchSize: 2, inbox: { storedDays: 30, deadLetteredDays: 90 }, history: { maxAgeDays: 365 } };

  beforeAll(async () => {
    t = await openTestDb(kind);
    const app = express();
    app.use('/admin', requireAuth(new StaticTokenAuthenticator(tokens)));
    app.use(createEntiRouter({ db: t.db, retention: policy }));
    app.use(errorHandler(createLogger('test', 'silent')));
    server = await serve(app);
  });
  afterAll(async () => {
    await server.close();
    await t.cleanup();
  });

  const call = async (method: string, path: string, token: string, body?: unknown) => {
    const response = await fetch(`${server.url}${path}`, {
      method, headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) }, ...(body ? { body: JSON.stringify(body) } : {}),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> & { items?: Array<Record<string, unknown>> } };
  };

  test('registering an Ente creates its six partitions with their keys and its L1 Organization; twice is harmless', async () => {
    await registerEnte(t.db, { code: '030903', name: 'IRCCS Demo Ospedale Maggiore', type: 'IRCCS' });
    await registerEnte(t.db, { code: '030903', name: 'IRCCS Demo Ospedale Maggiore', type: 'IRCCS' });
    const tables = await t.db.query<{ relname: string }>(
      `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = current_schema() AND c.relname LIKE '%\\_e030903' ORDER BY 1`,
    );
    expect(tables.rows.map((r) => r.relname)).toEqual(PARTITIONED_TABLES.map((table) => partitionName(table, '030903')).sort());
    const keys = await t.db.query<{ table: string; def: string }>(
      `SELECT conrelid::regclass::text AS table, pg_get_constraintdef(oid) AS def FROM pg_constraint
       WHERE contype = 'p' AND conrelid::regclass::text IN ('resource_e030903', 'resource_history_e030903') ORDER BY 1`,
    );
    expect(keys.rows).toEqual([
      { table: 'resource_e030903', def: 'PRIMARY KEY (ente, resource_type, id)' },
      { table: 'resource_history_e030903', def: 'PRIMARY KEY (ente, resource_type, id, version_id)' },
    ]);
    const org = await t.db.query<{ resource: { identifier: Array<{ value: string }>; name: string } }>(
      `SELECT resource FROM directory_resource WHERE resource_type = 'Organization' AND id = 'ente-030903'`,
    );
    expect(org.rows[0]!.resource).toMatchObject({ name: 'IRCCS Demo Ospedale Maggiore', identifier: [{ value: '030903' }] });
    // Uniqueness still holds, per partition (the parent has no unique index since migration 010).
    const insert = `INSERT INTO resource (ente, resource_type, id, version_id, version_seq, last_updated, content_hash, resource) VALUES ('030903', 'Patient', 'dup', 1, 1, now(), 'x', '{}')`;
    await t.db.query(insert);
    await expect(t.db.query(insert)).rejects.toThrow(/duplicate key/);
  });

  test('POST /admin/enti registers an Ente; GET /admin/partitions reports partitions, counts by type, size and last write', async () => {
    const created = await call('POST', '/admin/enti', ADMIN, { code: '030904', name: 'ASST Demo Lago', type: 'ASST' });
    expect(created.status).toBe(201);
    expect((created.body.partitions as unknown[]).length).toBe(PARTITIONED_TABLES.length);
    expect((await call('POST', '/admin/enti', ADMIN, { code: '030904', name: 'ASST Demo Lago (rinominata)' })).status).toBe(200);
    expect((await call('POST', '/admin/enti', ADMIN, { code: 'bad code!', name: 'x' })).body.code).toBe('BAD_ENTE');
    expect((await call('POST', '/admin/enti', 'clinician-a', { code: '030905', name: 'x' })).status).toBe(403);
    expect((await call('POST', '/admin/enti', 'operator-a', { code: '030905', name: 'x' })).status).toBe(403);
    const audit = await t.db.query<{ action: string }>(`SELECT action FROM audit_log WHERE target = '030904' ORDER BY id`);
    expect(audit.rows.map((r) => r.action)).toEqual(['ente.register', 'ente.update']);

    await new ResourceStore(t.db).storeBatch([storeRequest(ENTE_A, clinicalDocument(ENTE_A, CF_ROSSI).all)]);
    const listed = await call('GET', '/admin/partitions', ADMIN);
    const a = listed.body.items!.find((e) => e.code === ENTE_A)!;
    expect(a.resources).toEqual({ Composition: 1, Condition: 1, DiagnosticReport: 1, DocumentReference: 1, Encounter: 1, Observation: 2, Patient: 1 });
    expect(a.resourceCount).toBe(8);
    expect(Date.now() - Date.parse(a.lastWrite as string)).toBeLessThan(60_000);
    expect(a.bytes as number).toBeGreaterThan(0);
    const resourcePartition = (a.partitions as Array<{ table: string; name: string; kind: string; bytes: number }>).find((p) => p.table === 'resource')!;
    expect(resourcePartition).toMatchObject({ name: 'resource_e030901', kind: 'local' });
    expect(resourcePartition.bytes).toBeGreaterThan(0);
    expect(listed.body.items!.find((e) => e.code === '030904')).toMatchObject({ name: 'ASST Demo Lago (rinominata)', resourceCount: 0, lastWrite: null });
    // An operator of one Ente sees its partitions only.
    const own = await call('GET', '/admin/partitions', 'operator-a');
    expect(own.body.items!.map((e) => e.code)).toEqual([ENTE_A]);
  });

  test('the search index is rebuilt on demand and when the extraction rules change', async () => {
    const count = async () => (await t.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM search_token WHERE ente = $1`, [ENTE_A])).rows[0]!.n;
    const indexed = await count();
    expect(indexed).toBeGreaterThan(0);
    await t.db.query('DELETE FROM search_token WHERE ente = $1', [ENTE_A]);
    const rebuilt = await call('POST', `/admin/partitions/${ENTE_A}/reindex`, 'operator-a');
    expect(rebuilt.body).toEqual({ ente: ENTE_A, indexed: 8 });
    expect(await count()).toBe(indexed);
    expect((await call('POST', `/admin/partitions/${ENTE_B}/reindex`, 'operator-a')).status).toBe(403);

    // An Ente indexed by older rules is rebuilt when the engine registers its Enti at start.
    await t.db.query('DELETE FROM search_token WHERE ente = $1', [ENTE_A]);
    await t.db.query('UPDATE ente SET search_index_version = 0 WHERE code = $1', [ENTE_A]);
    await registerEnti(t.db, [{ code: ENTE_A, name: 'ASST Demo Milano Nord' }]);
    expect(await count()).toBe(indexed);
    expect((await t.db.query<{ v: number }>('SELECT search_index_version AS v FROM ente WHERE code = $1', [ENTE_A])).rows[0]!.v).toBe(SEARCH_INDEX_VERSION);
    expect(await reindexEnte(t.db, '030904')).toBe(0);
  });

  test('retention deletes old stored inbox rows, resolved dead-lettered ones and old history, never live rows or current versions', async () => {
    const inbox = new InboxRepository(t.db);
    const deadLetters = new DeadLetterRepository(t.db);
    const store = new ResourceStore(t.db);
    const accept = async (label: string) => {
      const messageId = newMessageId();
      await inbox.acceptBatch([{ ente: ENTE_B, messageId, pluginId: 'p', channel: 'http', raw: Buffer.from(`MSH|${label}`), dedupKey: label }]);
      return messageId;
    };
    const age = async (messageId: string, days: number) =>
      t.db.query(`UPDATE inbox SET updated_at = now() - make_interval(days => $2) WHERE message_id = $1::uuid`, [messageId, days]);

    const storedOld = await accept('stored-old');
    const storedNew = await accept('stored-new');
    const receivedOld = await accept('received-old');
    const deadOpen = await accept('dead-open');
    const deadDiscarded = await accept('dead-discarded');
    const patient = { resourceType: 'Patient', id: 'retention-p', name: [{ family: 'V1' }] };
    await store.storeBatch([storeRequest(ENTE_B, [patient], storedOld)]);
    await store.storeBatch([storeRequest(ENTE_B, [{ ...patient, name: [{ family: 'V2' }] }], storedNew)]);
    await store.storeBatch([storeRequest(ENTE_B, [{ ...patient, name: [{ family: 'V3' }] }], newMessageId())]);
    const onlyVersion = { resourceType: 'Patient', id: 'retention-single', name: [{ family: 'ONLY' }] };
    await store.storeBatch([storeRequest(ENTE_B, [onlyVersion])]);
    for (const id of [deadOpen, deadDiscarded]) {
      await deadLetters.record({ ente: ENTE_B, messageId: id, pluginId: 'p', stage: 'parse', errorCode: 'PARSE_FAILED', reason: 'x', attempts: 1, trail: [] });
    }
    const discarded = await deadLetters.latestForMessage(deadDiscarded);
    await t.db.transaction((tx) => deadLetters.markResolved(tx, discarded!.id, 'discarded', 'test'));
    for (const id of [storedOld, receivedOld, deadOpen, deadDiscarded]) await age(id, 400);
    // Version 1 superseded long ago, version 2 recently; the current version 3 is old too, and stays.
    await t.db.query(`UPDATE resource_history SET superseded_at = now() - interval '400 days' WHERE ente = $1 AND id = 'retention-p' AND version_id = 1`, [ENTE_B]);
    await t.db.query(`UPDATE resource SET last_updated = now() - interval '900 days' WHERE ente = $1`, [ENTE_B]);

    const report = await applyRetention(t.db, policy);
    // One stored row, one dead-lettered row whose dead letter was discarded, one superseded version.
    expect(report.deleted).toEqual([{ table: 'inbox', ente: ENTE_B, rows: 1 }, { table: 'inbox', ente: ENTE_B, rows: 1 }, { table: 'resource_history', ente: ENTE_B, rows: 1 }]);
    const left = await t.db.query<{ message_id: string }>('SELECT message_id FROM inbox WHERE ente = $1', [ENTE_B]);
    expect(left.rows.map((r) => r.message_id).sort()).toEqual([storedNew, receivedOld, deadOpen].sort());
    const history = await t.db.query<{ version_id: number }>(`SELECT version_id FROM resource_history WHERE ente = $1 AND id = 'retention-p'`, [ENTE_B]);
    expect(history.rows.map((r) => Number(r.version_id))).toEqual([2]);
    const current = await t.db.query<{ id: string; version_id: number }>(`SELECT id, version_id FROM resource WHERE ente = $1 ORDER BY id`, [ENTE_B]);
    expect(current.rows.map((r) => [r.id, Number(r.version_id)])).toEqual([['retention-p', 3], ['retention-single', 1]]);
    const runs = await t.db.query<{ table_name: string; deleted: number }>('SELECT table_name, deleted FROM retention_run WHERE ente = $1 ORDER BY id', [ENTE_B]);
    expect(runs.rows.map((r) => [r.table_name, r.deleted])).toEqual([['inbox', 1], ['inbox', 1], ['resource_history', 1]]);

    // A second pass has nothing left to delete; null keeps forever.
    expect((await applyRetention(t.db, policy)).deleted).toEqual([]);
    await age(storedNew, 1000);
    const keepAll: RetentionPolicy = { ...policy, inbox: { storedDays: null, deadLetteredDays: null }, history: { maxAgeDays: null } };
    expect((await applyRetention(t.db, keepAll)).deleted).toEqual([]);
    // The periodic job runs the same pass.
    const job = new RetentionJob({ db: t.db, policy, logger: createLogger('test', 'silent'), initialDelayMs: 10 });
    job.start();
    await new Promise((r) => setTimeout(r, 1500));
    await job.stop();
    expect((await t.db.query('SELECT 1 FROM inbox WHERE message_id = $1::uuid', [storedNew])).rows).toEqual([]);
  });

  test('raw messages and resources are compressed with lz4 on PostgreSQL, in partitions made before and after migration 022', async () => {
    await registerEnte(t.db, { code: '030906', name: 'ASST Demo Compressione', type: 'ASST' });
    const settings = await t.db.query<{ rel: string; col: string; method: string }>(
      `SELECT a.attrelid::regclass::text AS rel, a.attname AS col, a.attcompression::text AS method FROM pg_attribute a
       WHERE a.attrelid::regclass::text IN ('inbox', 'inbox_unassigned', 'inbox_e030906', 'resource', 'resource_e030906', 'resource_history_e030906')
         AND a.attname IN ('raw', 'trail', 'resources', 'resource') ORDER BY 1, 2`,
    );
    // inbox_unassigned was created by migration 001, before 022: the loop set it. The Ente's partitions inherit it.
    const expected = kind === 'postgres' ? 'l' : '';
    expect(settings.rows.length).toBe(3 + 3 + 3 + 1 + 1 + 1);
    expect(settings.rows.filter((row) => row.method !== expected)).toEqual([]);

    // A raw message above the 2 KB threshold is really stored compressed, and reads back intact.
    const raw = Buffer.from(`MSH|^~\\&|LAB|030906|CDR|R|20260101||ORU^R01|1|P|2.5\r${'OBX|1|NM|718-7^Emoglobina^LN||13.5|g/dL\r'.repeat(120)}`);
    const messageId = newMessageId();
    await new InboxRepository(t.db).acceptBatch([{ ente: '030906', messageId, pluginId: 'p', channel: 'http', raw, dedupKey: messageId }]);
    const stored = await t.db.query<{ method: string | null }>(`SELECT pg_column_compression(raw) AS method FROM inbox WHERE message_id = $1::uuid`, [messageId]);
    expect(stored.rows[0]!.method).toBe(kind === 'postgres' ? 'lz4' : 'pglz');
    expect((await new InboxRepository(t.db).get(messageId))!.raw.equals(raw)).toBe(true);
  });

  test('the search tables find a resource\'s index rows through a hash index on id, in every Ente\'s partitions (migration 024)', async () => {
    await registerEnte(t.db, { code: '030907', name: 'ASST Demo Indici', type: 'ASST' });
    const owners = await t.db.query<{ rel: string; definition: string }>(
      `SELECT c.relname AS rel, pg_get_indexdef(i.indexrelid) AS definition
       FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_am am ON am.oid = ic.relam
       JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname = current_schema() AND c.relname ~ '^search_(token|reference|date)_e03090[17]$' AND am.amname = 'hash' ORDER BY 1`,
    );
    // An index made on the parent reaches every partition, those attached later included (030907, just now).
    expect(owners.rows.map((r) => r.rel)).toEqual([
      'search_date_e030901', 'search_date_e030907', 'search_reference_e030901', 'search_reference_e030907', 'search_token_e030901', 'search_token_e030907',
    ]);
    expect(owners.rows.every((r) => /USING hash \(id\)/.test(r.definition))).toBe(true);
    // No B-tree on the owner columns is left beside them.
    const btrees = await t.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_indexes WHERE schemaname = current_schema() AND tablename ~ '^search_' AND indexdef LIKE '%btree (ente, resource_type, id)'`,
    );
    expect(btrees.rows[0]!.n).toBe(0);
  });

  test('the default configuration carries a retention policy', () => {
    const retention = loadSettings({}).config.retention;
    expect(retention.inbox).toEqual({ storedDays: 30, deadLetteredDays: 180 });
    expect(retention.history).toEqual({ maxAgeDays: null });
  });
});
