/**
 * Message search over a large inbox: fills a throw-away PostgreSQL schema with N synthetic inbox rows
 * (3 Enti, 4 plugins, ~2% dead-lettered, one patient identifier per 10 messages), then times the
 * searches of GET /admin/messages through searchMessages(). Drops the schema at the end.
 *
 *   CDR_BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres node --import tsx bench/message-search.ts [rows]
 */
import { randomBytes } from 'node:crypto';
import { searchMessages, type MessageSearchFilter } from '../core/admin/message-search.ts';
import { migrate, PostgresDb, registerEnti } from '../core/storage/index.ts';

const rows = Number(process.argv[2] ?? 1_000_000);
const url = process.env.CDR_BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const schema = `bench_search_${randomBytes(4).toString('hex')}`;
const db = new PostgresDb({ connectionString: url, schema, poolSize: 2 });
const CF = 'http://hl7.it/sid/codiceFiscale';

async function time<T>(label: string, work: () => Promise<T>): Promise<T> {
  const started = performance.now();
  const result = await work();
  process.stdout.write(`${label.padEnd(58)} ${(performance.now() - started).toFixed(1).padStart(9)} ms\n`);
  return result;
}

try {
  await migrate(db, schema);
  await registerEnti(db, [
    { code: '030901', name: 'ASST Demo Milano Nord' },
    { code: '030902', name: 'ASST Demo Brianza' },
    { code: '030903', name: 'IRCCS Demo Ospedale Maggiore' },
  ]);
  const chunk = 200_000;
  await time(`insert ${rows} inbox rows`, async () => {
    for (let start = 0; start < rows; start += chunk) {
      const end = Math.min(rows, start + chunk) - 1;
      await db.query(
        `INSERT INTO inbox (ente, message_id, plugin_id, channel, received_at, raw, raw_sha256, dedup_key, message_type, control_id, state, trail)
         SELECT (ARRAY['030901','030902','030903'])[1 + g % 3], md5('m' || g)::uuid, (ARRAY['adt-nord','lab-nord','adt-brianza','cda-maggiore'])[1 + g % 4], 'http',
                now() - (($3::int - g) * interval '600 milliseconds'), '\\x4d5348'::bytea, md5('r' || g), 'k' || g,
                'ADT^A01', 'CTRL-' || g, CASE WHEN g % 50 = 0 THEN 'dead-lettered' ELSE 'stored' END, '[]'::jsonb
         FROM generate_series($1::int, $2::int) AS g`,
        [start, end, rows],
      );
      await db.query(
        `INSERT INTO message_patient (system, value, ente, message_id)
         SELECT $3, 'CF' || lpad((g / 10)::text, 14, '0'), (ARRAY['030901','030902','030903'])[1 + g % 3], md5('m' || g)::uuid
         FROM generate_series($1::int, $2::int) AS g WHERE g % 50 <> 0 ON CONFLICT DO NOTHING`,
        [start, end, CF],
      );
    }
  });
  await time('ANALYZE', () => db.exec('ANALYZE'));
  const size = await db.query<{ s: string }>(`SELECT pg_size_pretty(sum(pg_total_relation_size(c.oid))) AS s FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname LIKE 'inbox%' AND c.relkind = 'r'`, [schema]);
  process.stdout.write(`inbox size (tables + indexes): ${size.rows[0]?.s}\n\n`);

  const mid = rows / 2;
  const cases: Array<[string, MessageSearchFilter]> = [
    ['latest 50, no filter', {}],
    ['plugin=lab-nord', { pluginId: 'lab-nord' }],
    ['state=dead-lettered', { state: 'dead-lettered' }],
    ['ente=030902 & plugin=adt-brianza', { enti: ['030902'], pluginId: 'adt-brianza' }],
    ['controlId (exact)', { controlId: `CTRL-${mid}` }],
    ['documentId prefix', { documentId: `CTRL-${mid}` }],
    ['patientIdentifier (10 messages)', { patientIdentifier: { system: CF, value: `CF${String(Math.floor(mid / 10)).padStart(14, '0')}` } }],
    ['since/until one hour, 2 days back', { since: new Date(Date.now() - 50 * 3600_000), until: new Date(Date.now() - 49 * 3600_000) }],
    ['operator of one Ente, state=stored', { enti: ['030901'], state: 'stored' }],
  ];
  for (const [label, filter] of cases) {
    await searchMessages(db, filter, 50); // warm
    const page = await time(`search: ${label}`, () => searchMessages(db, filter, 50));
    if (page.next) await time(`  next page`, () => searchMessages(db, filter, 50, page.next!));
  }
} finally {
  await db.exec(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => undefined);
  await db.close();
}
