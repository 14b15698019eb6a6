/**
 * Measures the FHIR search path on a few hundred thousand resources, in a throw-away database that is
 * dropped at the end. Not part of `npm test` (no .test.ts); run by hand, once:
 *
 *   node --import tsx test/fhir-api/bench-search.ts [patientsPerEnte=10000] [--keep]
 *
 * --keep leaves the database (its name is printed) for EXPLAIN; drop it by hand afterwards;
 * --database NAME measures the queries again on a database kept earlier (no writes).
 * Each patient gets one lab document (8 resources: Patient, Encounter, 2 Observations, Condition,
 * DiagnosticReport, Composition, DocumentReference) in each of 3 Enti.
 */
import { randomBytes } from 'node:crypto';
import { FhirRepository, parseSearch } from '../../core/fhir-api/index.ts';
import { migrate, partitionStats, PostgresDb, rebuildSearchIndex, registerEnti, ResourceStore } from '../../core/storage/index.ts';
import { adminDatabaseUrl, adminQuery, withDatabase } from '../support/postgres.ts';
import { clinicalDocument, storeRequest } from './support/fixtures.ts';

const ENTI = ['030901', '030902', '030903'];
const patientsPerEnte = Number(process.argv.slice(2).find((a) => /^\d+$/.test(a)) ?? 10_000);
const keep = process.argv.includes('--keep');
const reuse = process.argv.includes('--database') ? process.argv[process.argv.indexOf('--database') + 1] : undefined;
const cf = (i: number) => `TSTPAZ${String(i).padStart(10, '0')}`;
const day = (i: number) => new Date(Date.UTC(2023, 0, 1) + (i % 700) * 86_400_000).toISOString().slice(0, 10);

async function timed<T>(runs: number, work: () => Promise<T>): Promise<{ medianMs: number; p95Ms: number; last: T }> {
  const times: number[] = [];
  let last!: T;
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    last = await work();
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  return { medianMs: times[Math.floor(times.length / 2)]!, p95Ms: times[Math.floor(times.length * 0.95)]!, last };
}

async function main(): Promise<void> {
  const database = reuse ?? `cdr_bench_${randomBytes(4).toString('hex')}`;
  if (!reuse) await adminQuery(adminDatabaseUrl(), `CREATE DATABASE ${database}`);
  const db = new PostgresDb({ connectionString: withDatabase(adminDatabaseUrl(), database), poolSize: 4 });
  try {
    await migrate(db);
    await registerEnti(db, ENTI.map((code) => ({ code, name: `Ente ${code}` })));
    const store = new ResourceStore(db);

    const started = performance.now();
    let resources = 0;
    const batch = 50;
    for (let i = 0; i < (reuse ? 0 : patientsPerEnte); i += batch) {
      const requests = ENTI.flatMap((ente) =>
        Array.from({ length: Math.min(batch, patientsPerEnte - i) }, (_, k) => storeRequest(ente, clinicalDocument(ente, cf(i + k), { day: day(i + k) }).all)));
      // Three Enti per round, in parallel as concurrent worker batches would be.
      await Promise.all(ENTI.map((ente) => store.storeBatch(requests.filter((r) => r.ente === ente))));
      resources += requests.reduce((n, r) => n + r.resources.length, 0);
      if ((i / batch) % 40 === 0) process.stderr.write(`  ${resources} resources stored\n`);
    }
    const writeSeconds = (performance.now() - started) / 1000;
    await db.exec('ANALYZE');

    const sizes = await db.query<{ table: string; bytes: string; rows: string }>(
      `SELECT p.relname AS table, sum(pg_total_relation_size(c.oid))::bigint AS bytes, sum(c.reltuples)::bigint AS rows
       FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
       WHERE p.relname IN ('resource', 'search_token', 'search_reference', 'search_date') GROUP BY 1 ORDER BY 1`,
    );

    const repo = new FhirRepository(db);
    const one = ['030902'];
    const target = cf(Math.floor(patientsPerEnte / 2));
    const q = (type: string, query: string) => parseSearch(type, new URLSearchParams(query));
    const search = async (type: string, query: string, enti: string[]) => {
      const parsed = q(type, query);
      const page = await repo.search(parsed, enti, undefined);
      const included = parsed.revIncludes.length > 0 ? await repo.revInclude(parsed.revIncludes, page.matches, enti, 1000) : [];
      // One iterate round, as the router does for the document chain.
      const iterate = parsed.revIncludes.filter((s) => s.iterate);
      const more = iterate.length > 0 && included.length > 0 ? await repo.revInclude(iterate, included, enti, 1000) : [];
      return page.matches.length + included.length + more.length;
    };
    const cases: Array<[string, () => Promise<number>]> = [
      ['Patient?identifier=CF (one Ente)', () => search('Patient', `identifier=http://hl7.it/sid/codiceFiscale|${target}`, one)],
      ['Patient?identifier=CF (3 Enti, sovra-aziendale)', () => search('Patient', `identifier=http://hl7.it/sid/codiceFiscale|${target}`, ENTI)],
      ['Observation?patient.identifier=CF&_revinclude=Composition:entry', () => search('Observation', `patient.identifier=2.16.840.1.113883.2.9.4.3.2|${target}&_revinclude=Composition:entry`, one)],
      ['Patient?identifier=CF&_revinclude=*&_revinclude:iterate=Composition:entry', () => search('Patient', `identifier=${target}&_revinclude=*&_revinclude:iterate=Composition:entry`, one)],
      ['Observation?code=LOINC|718-7&date=ge2024-06-01&date=lt2024-07-01 (page of 50)', () => search('Observation', 'code=2.16.840.1.113883.6.1|718-7&date=ge2024-06-01&date=lt2024-07-01', one)],
      ['Observation (no filter, newest 50)', () => search('Observation', '', one)],
      ['$stats period=month basis=stored (3 Enti)', async () => (await repo.stats(ENTI, 'month', 'stored', undefined, {})).length],
      ['$stats period=month basis=clinical (3 Enti)', async () => (await repo.stats(ENTI, 'month', 'clinical', undefined, {})).length],
      ['GET /admin/partitions (partitionStats)', async () => (await partitionStats(db)).length],
    ];
    const results: Array<{ query: string; rows: number; medianMs: number; p95Ms: number }> = [];
    for (const [name, run] of cases) {
      await run();
      const r = await timed(name.startsWith('$stats') || name.startsWith('GET') ? 5 : 25, run);
      results.push({ query: name, rows: r.last, medianMs: Math.round(r.medianMs * 10) / 10, p95Ms: Math.round(r.p95Ms * 10) / 10 });
    }
    const reindexStarted = performance.now();
    const reindexed = reuse ? 0 : await rebuildSearchIndex(db, '030901', 1000);
    const reindexSeconds = (performance.now() - reindexStarted) / 1000;

    const plan = await db.query<{ 'QUERY PLAN': string }>(
      `EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
       SELECT r.id FROM resource r WHERE r.ente = ANY('{030902}'::text[]) AND r.resource_type = 'Observation'
         AND (r.ente, r.resource_type, r.id) IN (
           SELECT l.ente, l.resource_type, l.id FROM search_token t
           JOIN search_reference l ON l.ente = t.ente AND l.target_type = 'Patient' AND l.target_id = t.id
           WHERE t.ente = ANY('{030902}'::text[]) AND t.resource_type = 'Patient' AND t.param = 'identifier' AND t.code = '${target}'
             AND l.resource_type = 'Observation' AND l.param = ANY('{patient}'::text[]))`,
    );

    console.log(JSON.stringify({
      resources, writeSeconds: Math.round(writeSeconds), writeResourcesPerSecond: Math.round(resources / writeSeconds),
      reindex: { resources: reindexed, seconds: Math.round(reindexSeconds * 10) / 10, resourcesPerSecond: Math.round(reindexed / reindexSeconds) },
      sizes: sizes.rows.map((s) => ({ table: s.table, rows: Number(s.rows), megabytes: Math.round(Number(s.bytes) / 1048576) })),
      queries: results,
    }, null, 2));
    console.log(plan.rows.map((r) => r['QUERY PLAN']).join('\n'));
  } finally {
    await db.close();
    if (keep || reuse) process.stderr.write(`kept database ${database}\n`);
    else await adminQuery(adminDatabaseUrl(), `DROP DATABASE IF EXISTS ${database}`);
  }
}

await main();
