import { analyzeGrownTables } from '../../core/storage/index.ts';
import { openTestDb, type TestDb } from '../support/storage.ts';

/**
 * The hot statements reuse a generic plan made from the statistics of the moment, so a table that grows
 * must be analysed again before its plan is far out of date: when it has changed by half of its analysed
 * size (and at least the minimum), not a minute later when autovacuum comes round.
 */
describe('planner statistics follow a growing table', () => {
  let t: TestDb;

  beforeAll(async () => {
    t = await openTestDb('postgres');
    // Autovacuum must not analyse it behind the test's back.
    await t.db.exec('CREATE TABLE growing (id int PRIMARY KEY) WITH (autovacuum_enabled = false)');
  });

  afterAll(async () => {
    await t?.cleanup();
  });

  const insert = (from: number, count: number) => t.db.exec(`INSERT INTO growing SELECT g FROM generate_series(${from}, ${from + count - 1}) g`);

  /**
   * Table statistics reach the shared counters after the inserting transaction: at its commit when the
   * backend last flushed over a second ago, else when it has been idle for up to 10 s (PostgreSQL 15's
   * PGSTAT_IDLE_INTERVAL). Under a loaded machine the second case is common: wait up to 15 s.
   */
  async function analysedWhenCountersSettle(expectedChanges: number, maxAnalysedRows?: number): Promise<string[]> {
    for (let i = 0; i < 150; i++) {
      const { rows } = await t.db.query<{ n: number }>(`SELECT n_mod_since_analyze::int AS n FROM pg_stat_user_tables WHERE schemaname = current_schema() AND relname = 'growing'`);
      if ((rows[0]?.n ?? 0) >= expectedChanges) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    return (await analyzeGrownTables(t.db, 500, maxAnalysedRows)).filter((table) => table === 'growing');
  }

  const analysedRows = async () =>
    (await t.db.query<{ n: number }>(`SELECT reltuples::int AS n FROM pg_class WHERE oid = 'growing'::regclass`)).rows[0]!.n;

  test('a new table is analysed once it has the minimum of changed rows, then at each half again of its size', async () => {
    await insert(1, 400);
    expect(await analysedWhenCountersSettle(400)).toEqual([]); // below the minimum
    await insert(401, 200);
    expect(await analysedWhenCountersSettle(600)).toEqual(['growing']);
    expect(await analysedRows()).toBe(600);

    await insert(601, 299);
    expect(await analysedWhenCountersSettle(299)).toEqual([]); // 299 < 500
    await insert(900, 201);
    expect(await analysedWhenCountersSettle(500)).toEqual(['growing']);
    expect(await analysedRows()).toBe(1100);

    await insert(1101, 549);
    expect(await analysedWhenCountersSettle(549)).toEqual([]); // 549 < half of 1,100
    await insert(1650, 1);
    expect(await analysedWhenCountersSettle(550)).toEqual(['growing']);
    expect(await analysedRows()).toBe(1650);
  });

  test('a table analysed at the maximum size is left to autovacuum, however much it grows', async () => {
    // Continues from the previous test: analysed at 1,650 rows.
    await insert(1651, 1000);
    expect(await analysedWhenCountersSettle(1000, 1650)).toEqual([]); // analysed size not below 1,650
    expect(await analysedRows()).toBe(1650);
    expect(await analysedWhenCountersSettle(1000, 1651)).toEqual(['growing']);
    expect(await analysedRows()).toBe(2650);
  });
});
