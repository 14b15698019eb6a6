import { readFileSync } from 'node:fs';
import { newMessageId } from '../../core/common/ids.ts';
import { sqlText, type Db, type SqlExecutor } from '../../core/storage/db.ts';
import { extractSearchEntries, InboxRepository, rebuildSearchIndex, ResourceStore, type FhirResource, type StoreRequest } from '../../core/storage/index.ts';
import { openTestDb, STORAGE_KINDS, type TestDb } from '../support/storage.ts';

/*
 * Migration 024: a replaced resource's index rows are deleted by the exact keys recorded on its row
 * (`search_keys`), not through an index on the owner columns. What must hold: after any sequence of
 * writes, rebuilds and the migration's own fill, a resource has exactly the index rows its current
 * content yields, and no row of an older version is left behind (a stale row would make a search
 * return a resource for an identifier, code or date it no longer has).
 */
const ENTE = '030901';

const patient = (id: string, cf: string): FhirResource => ({
  resourceType: 'Patient', id, identifier: [{ system: 'http://hl7.it/sid/codiceFiscale', value: cf }],
});
const encounter = (id: string, patientId: string, start: string): FhirResource => ({
  resourceType: 'Encounter', id, status: 'finished', class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'IMP' },
  subject: { reference: `Patient/${patientId}` }, period: { start },
});

/** Every index row of one resource, in a comparable form (dates as instants). */
async function indexRows(db: SqlExecutor, type: string, id: string): Promise<string[]> {
  const rows = await db.query<{ row: string }>(
    `SELECT 't|' || param || '|' || system || '|' || code AS row FROM search_token WHERE ente = $1 AND resource_type = $2 AND id = $3
     UNION ALL SELECT 'r|' || param || '|' || target_type || '|' || target_id FROM search_reference WHERE ente = $1 AND resource_type = $2 AND id = $3
     UNION ALL SELECT 'd|' || param || '|' || extract(epoch FROM low)::float8::text || '|' || extract(epoch FROM high)::float8::text FROM search_date WHERE ente = $1 AND resource_type = $2 AND id = $3`,
    [ENTE, type, id],
  );
  return rows.rows.map((r) => r.row).sort();
}

/** The rows the resource's content yields under the current extraction rules. */
function expectedRows(resource: FhirResource): string[] {
  const entries = extractSearchEntries(resource);
  const epoch = (instant: string) => (instant === '-infinity' ? '-Infinity' : instant === 'infinity' ? 'Infinity' : String(Date.parse(instant) / 1000));
  return [
    ...entries.tokens.map((t) => `t|${t.param}|${t.system}|${t.code}`),
    ...entries.references.map((r) => `r|${r.param}|${r.targetType}|${r.targetId}`),
    ...entries.dates.map((d) => `d|${d.param}|${epoch(d.low)}|${epoch(d.high)}`),
  ].sort();
}

describe.each(STORAGE_KINDS)('search index rows deleted by their recorded keys, on %s', (kind) => {
  let t: TestDb;
  let store: ResourceStore;
  let inbox: InboxRepository;

  beforeAll(async () => {
    t = await openTestDb(kind);
    store = new ResourceStore(t.db);
    inbox = new InboxRepository(t.db);
  });
  afterAll(async () => t.cleanup());

  async function request(resources: FhirResource[]): Promise<StoreRequest> {
    const messageId = newMessageId();
    await inbox.acceptBatch([{ ente: ENTE, messageId, pluginId: 'p', channel: 'http', raw: Buffer.from(`MSH|${messageId}`), dedupKey: messageId }]);
    return { ente: ENTE, messageId, producerHash: 'h', sourceTime: null, resources, trail: [], attempts: 1 };
  }

  test('an update replaces exactly the old rows, and the row records the keys it now has', async () => {
    await store.storeBatch([await request([patient('sk-p1', 'RSSMRA80A01F205X'), encounter('sk-e1', 'sk-p1', '2024-03-01T10:00:00+01:00')])]);
    // Another resource with the same identifier and date: an exact-key delete must not touch it.
    await store.storeBatch([await request([patient('sk-p2', 'RSSMRA80A01F205X'), encounter('sk-e2', 'sk-p1', '2024-03-01T10:00:00+01:00')])]);
    const renamed = patient('sk-p1', 'BNCLCU75B02F205Y');
    const moved = encounter('sk-e1', 'sk-p2', '2024-03-02');
    const [result] = await store.storeBatch([await request([renamed, moved])]);
    expect(result!.resources.map((r) => r.outcome)).toEqual(['updated', 'updated']);

    expect(await indexRows(t.db, 'Patient', 'sk-p1')).toEqual(expectedRows(renamed));
    expect(await indexRows(t.db, 'Encounter', 'sk-e1')).toEqual(expectedRows(moved));
    expect(await indexRows(t.db, 'Patient', 'sk-p2')).toEqual(expectedRows(patient('sk-p2', 'RSSMRA80A01F205X')));
    expect(await indexRows(t.db, 'Encounter', 'sk-e2')).toEqual(expectedRows(encounter('sk-e2', 'sk-p1', '2024-03-01T10:00:00+01:00')));
    const keys = await t.db.query<{ search_keys: { t: string[][]; r: string[][]; d: string[][] } }>(
      'SELECT search_keys FROM resource WHERE ente = $1 AND resource_type = $2 AND id = $3', [ENTE, 'Encounter', 'sk-e1']);
    expect(keys.rows[0]!.search_keys.r).toEqual([['subject', 'Patient', 'sk-p2']]);
    expect(keys.rows[0]!.search_keys.d).toHaveLength(1);
  });

  test('rows filled by migration 024 from the index (dates in PostgreSQL\'s spelling) are found and deleted on the next update', async () => {
    await store.storeBatch([await request([patient('sk-p3', 'VRDGPP70C03F205Z'), encounter('sk-e3', 'sk-p3', '2024-04-01')])]);
    // As before the migration: no keys on the rows; then the migration's own fill statement.
    await t.db.query(`UPDATE resource SET search_keys = NULL WHERE ente = $1 AND id IN ('sk-p3', 'sk-e3')`, [ENTE]);
    const migration = readFileSync(new URL('../../core/storage/migrations/024_search_keys.sql', import.meta.url), 'utf8');
    const fill = migration.split(/;\s*\n/).map((s) => s.replace(/^\s*--.*$/gm, '').trim()).find((s) => s.startsWith('UPDATE resource r SET search_keys'));
    expect(fill).toBeDefined();
    await t.db.query(fill!);
    const filled = await t.db.query<{ keys: { d: string[][] } }>(`SELECT search_keys AS keys FROM resource WHERE ente = $1 AND id = 'sk-e3'`, [ENTE]);
    expect(filled.rows[0]!.keys.d).toHaveLength(1);

    const updated = encounter('sk-e3', 'sk-p3', '2024-04-05');
    await store.storeBatch([await request([patient('sk-p3', 'VRDGPP70C03F205W'), updated])]);
    expect(await indexRows(t.db, 'Encounter', 'sk-e3')).toEqual(expectedRows(updated));
    expect(await indexRows(t.db, 'Patient', 'sk-p3')).toEqual(expectedRows(patient('sk-p3', 'VRDGPP70C03F205W')));
  });

  test('a rebuild replaces the rows its resources recorded, including rows no current rule would write', async () => {
    await store.storeBatch([await request([patient('sk-p4', 'NREFNC60D04F205V')])]);
    // A row written under older extraction rules, recorded on the resource as the rules then did.
    await t.db.query(`INSERT INTO search_token (ente, resource_type, id, param, system, code) VALUES ($1, 'Patient', 'sk-p4', 'legacy', 's', 'old')`, [ENTE]);
    await t.db.query(
      `UPDATE resource SET search_keys = jsonb_set(search_keys, '{t}', search_keys->'t' || '[["legacy", "s", "old"]]'::jsonb) WHERE ente = $1 AND id = 'sk-p4'`, [ENTE]);
    await rebuildSearchIndex(t.db, ENTE);
    expect(await indexRows(t.db, 'Patient', 'sk-p4')).toEqual(expectedRows(patient('sk-p4', 'NREFNC60D04F205V')));
  });
});

describe('a rebuild that rewrites a resource\'s index between the store\'s read and its write', () => {
  let t: TestDb;
  beforeAll(async () => {
    t = await openTestDb('postgres');
  });
  afterAll(async () => t.cleanup());

  test('fails the write\'s guard; the batch is read again and leaves no row of the rebuild behind', async () => {
    const inbox = new InboxRepository(t.db);
    const accept = async () => {
      const messageId = newMessageId();
      await inbox.acceptBatch([{ ente: ENTE, messageId, pluginId: 'p', channel: 'http', raw: Buffer.from(`MSH|${messageId}`), dedupKey: messageId }]);
      return messageId;
    };
    const request = (messageId: string, resources: FhirResource[]): StoreRequest => ({ ente: ENTE, messageId, producerHash: 'h', sourceTime: null, resources, trail: [], attempts: 1 });
    await new ResourceStore(t.db).storeBatch([request(await accept(), [patient('race-p', 'RZZCRS90E05F205U')])]);

    // The rebuild runs on its own connection, committed, just before the store's write statement is sent.
    let rebuilds = 0;
    const interposed: Db = Object.assign(Object.create(t.db) as Db, {
      query: async (sql: Parameters<Db['query']>[0], params?: Parameters<Db['query']>[1]) => {
        if (rebuilds === 0 && sqlText(sql).includes('inbox_stored AS')) {
          rebuilds++;
          await t.db.transaction(async (tx) => {
            await tx.query(`INSERT INTO search_token (ente, resource_type, id, param, system, code) VALUES ($1, 'Patient', 'race-p', 'rebuilt', 's', 'x')`, [ENTE]);
            await tx.query(
              `UPDATE resource SET search_keys = jsonb_set(search_keys, '{t}', search_keys->'t' || '[["rebuilt", "s", "x"]]'::jsonb) WHERE ente = $1 AND id = 'race-p'`, [ENTE]);
          });
        }
        return t.db.query(sql as never, params as never);
      },
    });
    const updated = patient('race-p', 'RZZCRS90E05F205T');
    const [result] = await new ResourceStore(interposed).storeBatch([request(await accept(), [updated])]);
    expect(rebuilds).toBe(1);
    expect(result!.resources[0]).toMatchObject({ outcome: 'updated', versionId: '2' });
    // Without the guard on search_keys the write would have deleted only the keys it read, and the
    // rebuild's row would remain, pointing a search for "rebuilt|x" at this Patient.
    expect(await indexRows(t.db, 'Patient', 'race-p')).toEqual(expectedRows(updated));
  });
});
