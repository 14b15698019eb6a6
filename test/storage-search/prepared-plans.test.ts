import pg from 'pg';
import { createRequire } from 'node:module';
import { sqlText, type Db, type PreparedSql, type SqlExecutor, type SqlParam } from '../../core/storage/db.ts';
import { InboxRepository, ResourceStore, type FhirResource, type StoreRequest } from '../../core/storage/index.ts';
import { openTestDb, testDatabaseUrl, type TestDb } from '../support/storage.ts';

interface Captured {
  sql: string | PreparedSql;
  params: SqlParam[];
}

/** The same database, recording every statement sent (to explain them afterwards with their real parameters). */
function recording(db: Db, captured: Captured[]): Db {
  const record = (executor: SqlExecutor): SqlExecutor => ({
    query: (sql, params = []) => {
      captured.push({ sql, params });
      return executor.query(sql, params);
    },
  });
  return Object.assign(Object.create(db) as Db, {
    query: record(db).query,
    transaction: <T>(work: (tx: SqlExecutor) => Promise<T>) => db.transaction((tx) => work(record(tx))),
  });
}

/**
 * A store batch must reach the big tables by index whatever their size: a sequential scan there
 * means every batch reads the whole partition (seen in a benchmark: resource partitions scanned
 * hundreds of times a minute, PostgreSQL's CPU doubled). Each statement a real batch sends is
 * explained with its real parameters against partitions of 20,000 rows (below a few thousand, a
 * sequential scan is as cheap, and the planner rightly takes it). A prepared statement is explained as
 * a custom plan and as its generic plan, the one reused once PostgreSQL stops planning it per call.
 */
// node-postgres' own conversion of a parameter to its text form (arrays, dates, buffers).
const { prepareValue } = createRequire(import.meta.url)('pg/lib/utils.js') as { prepareValue: (value: unknown) => string | Buffer | null | undefined };

describe('store and inbox statements reach the partitions by index', () => {
  let t: TestDb;
  let client: pg.Client;
  const captured: Captured[] = [];
  const ente = '030901';

  beforeAll(async () => {
    t = await openTestDb('postgres');
    client = new pg.Client({ connectionString: testDatabaseUrl(), options: `-c search_path=${t.schema}` });
    await client.connect();
    const rows = 20_000;
    await client.query(`
      INSERT INTO resource (ente, resource_type, id, version_id, version_seq, last_updated, message_id, producer_hash, content_hash, resource)
      SELECT '${ente}', (ARRAY['Patient','Encounter','Observation'])[1 + g % 3], 'r' || g, 1, 1, now(), gen_random_uuid(), 'p', md5(g::text),
             jsonb_build_object('resourceType', 'Patient', 'id', 'r' || g)
      FROM generate_series(1, ${rows}) g`);
    await client.query(`
      INSERT INTO inbox (ente, message_id, plugin_id, channel, raw, raw_sha256, dedup_key, trail)
      SELECT '${ente}', gen_random_uuid(), 'plugin', 'http', convert_to('MSH|' || g, 'UTF8'), md5(g::text), 'k' || g, '[]'::jsonb
      FROM generate_series(1, ${rows}) g`);
    for (const [table, columns, values] of [
      ['search_token', 'param, system, code', `'identifier', 's', 'c' || g`],
      ['search_reference', 'param, target_type, target_id', `'subject', 'Patient', 'r' || g`],
      ['search_date', 'param, low, high', `'date', now(), now()`],
    ] as const) {
      await client.query(`INSERT INTO ${table} (ente, resource_type, id, ${columns})
        SELECT '${ente}', (ARRAY['Patient','Encounter','Observation'])[1 + g % 3], 'r' || g, ${values} FROM generate_series(1, ${rows}) g`);
    }
    await client.query('ANALYZE');

    // A batch like the engine's: new messages in the inbox, each creating a Patient and an Encounter
    // and updating one stored Observation (so every write path runs: insert, update, history, index).
    const db = recording(t.db, captured);
    const inbox = new InboxRepository(db);
    const messages = Array.from({ length: 20 }, (_, i) => ({
      ente, messageId: crypto.randomUUID(), pluginId: 'plugin', channel: 'http' as const, raw: Buffer.from(`MSH|new${i}`), dedupKey: `new${i}`,
    }));
    await inbox.acceptBatch(messages);
    await inbox.getMany(messages.map((m) => ({ ente, messageId: m.messageId })));
    const requests: StoreRequest[] = messages.map((m, i) => ({
      ente, messageId: m.messageId, producerHash: 'p', sourceTime: null, trail: [], attempts: 1,
      resources: [
        { resourceType: 'Patient', id: `new-p${i}`, identifier: [{ system: 'urn:oid:1.2.3', value: `P${i}` }] },
        { resourceType: 'Encounter', id: `new-e${i}`, status: 'finished', subject: { reference: `Patient/new-p${i}` }, period: { start: '2024-01-01' } },
        { resourceType: 'Observation', id: `r${3 * i + 2}`, status: 'final', subject: { reference: `Patient/r${3 * i + 3}` } },
      ] as FhirResource[],
    }));
    await new ResourceStore(db).storeBatch(requests);
  });

  afterAll(async () => {
    await client?.end();
    await t?.cleanup();
  });

  test('the batch stored: created, updated with history, indexed', async () => {
    const counts = await client.query<{ created: number; history: number; tokens: number }>(`SELECT
      (SELECT count(*)::int FROM resource WHERE id LIKE 'new-%') AS created,
      (SELECT count(*)::int FROM resource_history) AS history,
      (SELECT count(*)::int FROM search_token WHERE code LIKE 'P%') AS tokens`);
    expect(counts.rows[0]).toEqual({ created: 40, history: 20, tokens: 20 });
  });

  /** A literal for EXPLAIN EXECUTE (a prepared statement takes its arguments inline there). */
  const literal = (value: SqlParam): string => {
    const text = prepareValue(value);
    if (text === null || text === undefined) return 'NULL';
    return client.escapeLiteral(Buffer.isBuffer(text) ? `\\x${text.toString('hex')}` : String(text));
  };

  /**
   * The plans a statement can run with: a one-shot statement is planned for its values; a prepared one
   * gets custom plans first, then its generic plan (plan_cache_mode "auto"), so both must use indexes.
   */
  async function plansOf(statement: Captured): Promise<Array<{ kind: string; plan: string }>> {
    const text = sqlText(statement.sql);
    const explain = async (sql: string, params?: SqlParam[]) =>
      (await client.query<{ 'QUERY PLAN': string }>(sql, params)).rows.map((r) => r['QUERY PLAN']).join('\n');
    if (typeof statement.sql === 'string') return [{ kind: 'one-shot', plan: await explain(`EXPLAIN ${text}`, statement.params) }];
    await client.query('DEALLOCATE ALL');
    await client.query(`PREPARE under_test AS ${text}`);
    const execute = `EXPLAIN EXECUTE under_test(${statement.params.map(literal).join(', ')})`;
    const plans = [];
    for (const mode of ['force_custom_plan', 'force_generic_plan']) {
      await client.query(`SET plan_cache_mode = ${mode}`);
      plans.push({ kind: mode === 'force_generic_plan' ? 'generic' : 'custom', plan: await explain(execute) });
    }
    await client.query('RESET plan_cache_mode');
    return plans;
  }

  test('no statement of the batch scans a partition sequentially, with custom or generic plans', async () => {
    const prepared = captured.filter((c) => typeof c.sql !== 'string');
    expect(new Set(prepared.map((c) => (c.sql as PreparedSql).name))).toEqual(new Set(['cdr_inbox_accept_20', 'cdr_inbox_get_many', 'cdr_store_read', 'cdr_store_write']));
    const scans: string[] = [];
    let explained = 0;
    for (const statement of captured) {
      const text = sqlText(statement.sql);
      if (!/^\s*(WITH|SELECT|INSERT|UPDATE|DELETE)/i.test(text)) continue;
      for (const { kind, plan } of await plansOf(statement)) {
        explained++;
        if (process.env.SHOW_PLANS) console.log(`${kind}:\n${plan}`);
        for (const scan of plan.match(/Seq Scan on (resource|inbox|search_\w+)_e030901\b/g) ?? []) scans.push(`${kind} ${text.trim().slice(0, 60)}…: ${scan}`);
      }
    }
    expect(explained).toBeGreaterThanOrEqual(8);
    expect(scans).toEqual([]);
  });
});
