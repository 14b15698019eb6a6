/**
 * One Ente's clinical partitions on a second PostgreSQL server (postgres_fdw foreign tables), the
 * others local: writes and reads go through the parent tables unchanged. The second server is a
 * throw-away cluster started here with initdb/pg_ctl on another port, removed afterwards; without
 * those binaries the suite is skipped with a notice.
 */
import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import express from 'express';
import pg from 'pg';
import { createFhirRouter } from '../../core/fhir-api/index.ts';
import { StoreError } from '../../core/common/errors.ts';
import {
  applyRetention, InboxRepository, partitionStats, registerEnte, remotePartitionDdl, ResourceStore, type FhirResource,
} from '../../core/storage/index.ts';
import { newMessageId } from '../../core/common/ids.ts';
import { openTestDb, type TestDb } from '../support/storage.ts';
import { CF_ROSSI, CF_SYSTEM, clinicalDocument, patientResource, storeRequest } from '../fhir-api/support/fixtures.ts';
import { ENTE_A, getJson, serve, StaticTokenAuthenticator, TEST_TOKENS, type TokenServer } from '../fhir-api/support/tokens.ts';

const REMOTE_ENTE = '030903';

function findPostgresBin(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root).filter((v) => existsSync(path.join(root, v, 'bin', 'initdb')) && existsSync(path.join(root, v, 'bin', 'pg_ctl')));
  versions.sort((a, b) => Number(b) - Number(a));
  return versions[0] ? path.join(root, versions[0], 'bin') : undefined;
}

const bin = findPostgresBin();
if (!bin) process.stdout.write('postgres_fdw test skipped: initdb/pg_ctl not found under /usr/lib/postgresql/*/bin\n');
const describeIfBinaries = bin ? describe : describe.skip;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
    server.once('error', reject);
  });
}

/** A PostgreSQL cluster in a temp dir (initdb refuses root: run as the postgres user then). */
class ThrowawayCluster {
  readonly dir = mkdtempSync(path.join(os.tmpdir(), 'cdr-fdw-'));
  port = 0;
  private readonly asUser: string[];

  constructor(private readonly binDir: string) {
    this.asUser = process.getuid?.() === 0 ? ['runuser', '-u', 'postgres', '--'] : [];
    if (this.asUser.length > 0) {
      const uid = Number(execFileSync('id', ['-u', 'postgres']).toString());
      const gid = Number(execFileSync('id', ['-g', 'postgres']).toString());
      chownSync(this.dir, uid, gid);
    }
  }

  private run(program: string, args: string[]): void {
    const [command, ...rest] = [...this.asUser, path.join(this.binDir, program), ...args];
    execFileSync(command!, rest, { stdio: 'pipe' });
  }

  async start(): Promise<void> {
    this.port = await freePort();
    this.run('initdb', ['-D', path.join(this.dir, 'data'), '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
    this.run('pg_ctl', ['-D', path.join(this.dir, 'data'), '-l', path.join(this.dir, 'log'), '-w', '-t', '60', '-o',
      `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off`, 'start']);
  }

  url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  stop(): void {
    try {
      this.run('pg_ctl', ['-D', path.join(this.dir, 'data'), '-m', 'immediate', '-w', 'stop']);
    } finally {
      rmSync(this.dir, { recursive: true, force: true });
    }
  }
}

describeIfBinaries('an Ente hosted on another PostgreSQL server through postgres_fdw', () => {
  const cluster = new ThrowawayCluster(bin ?? '');
  const server = `cdr_remote_${Math.random().toString(16).slice(2, 10)}`;
  let t: TestDb;
  let remote: pg.Client;
  let http: TokenServer;
  const doc = clinicalDocument(REMOTE_ENTE, CF_ROSSI, { day: '2024-06-03' });
  const local = clinicalDocument(ENTE_A, CF_ROSSI, { day: '2024-03-11' });

  beforeAll(async () => {
    await cluster.start();
    remote = new pg.Client({ connectionString: cluster.url() });
    await remote.connect();
    t = await openTestDb('postgres');
    await t.db.exec('CREATE EXTENSION IF NOT EXISTS postgres_fdw WITH SCHEMA public');
    await t.db.exec(`CREATE SERVER ${server} FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host '127.0.0.1', port '${cluster.port}', dbname 'postgres')`);
    await t.db.exec(`CREATE USER MAPPING FOR CURRENT_USER SERVER ${server} OPTIONS (user 'postgres')`);
    // The DBA's two steps: create the tables on the remote server, then register the Ente with its partitions there.
    for (const statement of await remotePartitionDdl(t.db, REMOTE_ENTE)) await remote.query(statement);
    await registerEnte(t.db, { code: REMOTE_ENTE, name: 'IRCCS Demo Ospedale Maggiore', type: 'IRCCS' }, { remote: { server, schema: 'public' } });
    const app = express();
    app.use(createFhirRouter({ db: t.db, auth: new StaticTokenAuthenticator({ ...TEST_TOKENS, 'clinician-c': { id: 'clinician-c', role: 'reader', enti: [REMOTE_ENTE], scopes: [] } }) }));
    http = await serve(app);
  }, 120_000);

  afterAll(async () => {
    await http?.close();
    await t?.db.exec(`DROP SERVER IF EXISTS ${server} CASCADE`).catch(() => undefined);
    await t?.cleanup();
    await remote?.end().catch(() => undefined);
    cluster.stop();
  });

  test('the clinical partitions of the Ente are foreign tables; its inbox stays on the engine database', async () => {
    const [stats] = await partitionStats(t.db, [REMOTE_ENTE]);
    const kinds = Object.fromEntries(stats!.partitions.map((p) => [p.table, `${p.kind}${p.server ? `@${p.server}` : ''}`]));
    expect(kinds).toEqual({
      inbox: 'local', resource: `foreign@${server}`, resource_history: `foreign@${server}`,
      search_token: `foreign@${server}`, search_reference: `foreign@${server}`, search_date: `foreign@${server}`,
    });
  });

  test('writes through the parent tables land on the remote server: create, update with history, search index', async () => {
    const inbox = new InboxRepository(t.db);
    const messageId = newMessageId();
    await inbox.acceptBatch([{ ente: REMOTE_ENTE, messageId, pluginId: 'p', channel: 'http', raw: Buffer.from('MSH|remote'), dedupKey: 'remote-1' }]);
    const store = new ResourceStore(t.db);
    // One batch mixing the remote Ente and a local one, as a worker would.
    const [remoteResult] = await store.storeBatch([storeRequest(REMOTE_ENTE, doc.all, messageId), storeRequest(ENTE_A, local.all)]);
    expect(remoteResult!.resources.every((r) => r.outcome === 'created')).toBe(true);
    const renamed: FhirResource = { ...doc.patient, name: [{ family: 'ROSSI', given: ['MARIO', 'LUIGI'] }] };
    const [update] = await store.storeBatch([storeRequest(REMOTE_ENTE, [renamed])]);
    expect(update!.resources[0]).toMatchObject({ outcome: 'updated', versionId: '2' });

    const onRemote = await remote.query(`SELECT resource_type, count(*)::int AS n FROM resource_e${REMOTE_ENTE} GROUP BY 1 ORDER BY 1`);
    expect(onRemote.rows).toEqual([
      { resource_type: 'Composition', n: 1 }, { resource_type: 'Condition', n: 1 }, { resource_type: 'DiagnosticReport', n: 1 },
      { resource_type: 'DocumentReference', n: 1 }, { resource_type: 'Encounter', n: 1 }, { resource_type: 'Observation', n: 2 }, { resource_type: 'Patient', n: 1 },
    ]);
    expect((await remote.query(`SELECT version_id FROM resource_history_e${REMOTE_ENTE} WHERE id = $1`, [doc.patient.id])).rows).toEqual([{ version_id: 1 }]);
    expect((await remote.query(`SELECT count(*)::int AS n FROM search_reference_e${REMOTE_ENTE}`)).rows[0].n).toBeGreaterThan(10);
    // Nothing of this Ente on the engine's database but its inbox row.
    const localTables = await t.db.query<{ relname: string }>(
      `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = current_schema() AND c.relkind = 'r' AND c.relname LIKE '%e${REMOTE_ENTE}'`,
    );
    expect(localTables.rows.map((r) => r.relname)).toEqual([`inbox_e${REMOTE_ENTE}`]);
    expect((await inbox.get(messageId))?.state).toBe('stored');
    // Per-partition keys hold on the remote server too: a duplicate row is refused there.
    await expect(remote.query(`INSERT INTO resource_e${REMOTE_ENTE} (ente, resource_type, id, version_id, version_seq, last_updated, content_hash, resource)
      SELECT ente, resource_type, id, version_id, version_seq, last_updated, content_hash, resource FROM resource_e${REMOTE_ENTE} LIMIT 1`)).rejects.toThrow(/duplicate key/);
  });

  test('reads, searches, includes and governance counts through the parent tables', async () => {
    const cf = encodeURIComponent(`${CF_SYSTEM}|${CF_ROSSI}`);
    const read = await getJson<FhirResource>(`${http.url}/fhir/${REMOTE_ENTE}/Patient/${doc.patient.id}/_history/1`, 'clinician-c');
    expect(read.body.name).toEqual([{ family: 'ROSSI', given: ['MARIO'] }]);
    type Bundle = { entry: Array<{ fullUrl: string; resource: FhirResource; search: { mode: string } }> };
    const observations = await getJson<Bundle>(`${http.url}/fhir/${REMOTE_ENTE}/Observation?patient.identifier=${cf}&date=2024-06&_revinclude=Composition:entry`, 'clinician-c');
    expect(observations.body.entry.map((e) => `${e.search.mode}:${e.resource.resourceType}/${e.resource.id}`).sort()).toEqual([
      `include:Composition/${doc.composition.id}`, ...doc.observations.map((o) => `match:Observation/${o.id}`),
    ].sort());
    // Across Enti, the remote and the local partition answer the same query.
    const across = await getJson<Bundle>(`${http.url}/fhir/Patient?identifier=${cf}`, 'governance');
    expect(across.body.entry.map((e) => e.fullUrl.split('/fhir/')[1]!.split('/')[0]).sort()).toEqual([ENTE_A, REMOTE_ENTE]);
    expect((await getJson(`${http.url}/fhir/${REMOTE_ENTE}/Patient/${doc.patient.id}`, 'clinician-a')).status).toBe(403);
    const stats = await getJson<{ parameter: Array<{ name: string; part?: Array<{ name: string; valueString?: string; valueCode?: string; valueInteger?: number }> }> }>(
      `${http.url}/fhir/$stats?period=month&basis=clinical&type=Observation`, 'governance');
    const rows = stats.body.parameter.filter((p) => p.name === 'count').map((p) => p.part!.map((x) => x.valueString ?? x.valueCode ?? x.valueInteger).join(' '));
    expect(rows).toEqual([`${ENTE_A} Observation 2024-03 2`, `${REMOTE_ENTE} Observation 2024-06 2`]);
  });

  test('the reference guard and retention work on the remote partitions', async () => {
    const store = new ResourceStore(t.db);
    const elsewhere = patientResource(ENTE_A, CF_ROSSI, 'ROSSI', 'MARIO');
    const refused = await store.storeBatch([storeRequest(REMOTE_ENTE, [{ resourceType: 'Observation', id: 'x', status: 'final', subject: { reference: `Patient/${elsewhere.id}` } }])])
      .then(() => undefined, (e: unknown) => e);
    expect(refused).toBeInstanceOf(StoreError);
    expect((refused as StoreError).code).toBe('STORE_REFERENCE_OUTSIDE_ENTE');
    await remote.query(`UPDATE resource_history_e${REMOTE_ENTE} SET superseded_at = now() - interval '10 years'`);
    const report = await applyRetention(t.db, { intervalMinutes: 60, batchSize: 100, inbox: { storedDays: null, deadLetteredDays: null }, history: { maxAgeDays: 365 } });
    expect(report.deleted).toEqual([{ table: 'resource_history', ente: REMOTE_ENTE, rows: 1 }]);
    expect((await remote.query(`SELECT count(*)::int AS n FROM resource_history_e${REMOTE_ENTE}`)).rows[0].n).toBe(0);
    expect((await remote.query(`SELECT version_id FROM resource_e${REMOTE_ENTE} WHERE id = $1`, [doc.patient.id])).rows).toEqual([{ version_id: 2 }]);
  });
});
