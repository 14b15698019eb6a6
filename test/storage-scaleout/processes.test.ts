/**
 * Scale-out on one machine: one `cdr start --role api` and two `--role worker` processes sharing one
 * PostgreSQL schema and one Redis prefix, configured only through the environment (ARCHITECTURE §4).
 * Workers keep no state: messages posted to the API are stored whichever worker takes them, and one
 * worker going away leaves the other to carry on. Every Redis key of the queue carries the hash tag
 * `{prefix}`, so the whole queue lives in one Redis Cluster slot.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { REPO_ROOT } from '../../core/config/index.ts';
import { PostgresDb } from '../../core/storage/index.ts';
import { deleteRedisPrefix, postMessage, TEST_ADMIN_TOKEN as TOKEN, testRedisUrl, waitForFinal } from '../support/engine.ts';
import { testDatabaseUrl, uniqueSchema } from '../support/storage.ts';

const ADT = `MSH|^~\\&|ADT_DEMO|ASST_DEMO_NORD|CDR|REGIONE_LOMBARDIA|20240311095000||ADT^A01^ADT_A01|{CTL}|P|2.5|||AL|NE||UNICODE UTF-8\r`
  + 'EVN|A01|20240311094500\r'
  + 'PID|1||{PID}^^^ASST_DEMO_NORD^PI~RSSMRA80A01H501U^^^MEF^NNITA||ROSSI^MARIO^^^^^L||19800101|M\r'
  + 'PV1|1|I|MED1^101^A^ASST_DEMO_NORD^^^^^MEDICINA GENERALE|U|||||||||||||||{VISIT}|||||||||||||||||||||||||20240311094500\r';
const message = (i: number, patients: number) => ADT.replace('{CTL}', `SCALE-${i}`).replace('{PID}', `PZ90000${i % patients}`).replace('{VISIT}', `NOS-SCALE-${i}`);

/** Redis Cluster's key slot: CRC16/XMODEM of the hash tag (the first non-empty {...}) or of the whole key, mod 16384. */
function clusterSlot(key: string): number {
  const open = key.indexOf('{');
  const close = open >= 0 ? key.indexOf('}', open + 1) : -1;
  const hashed = open >= 0 && close > open + 1 ? key.slice(open + 1, close) : key;
  let crc = 0;
  for (const byte of Buffer.from(hashed, 'utf8')) {
    crc ^= byte << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc % 16384;
}

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

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 90_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe('one api and two worker processes on one PostgreSQL and one Redis', () => {
  const schema = uniqueSchema();
  const prefix = `cdrscale-${Math.random().toString(16).slice(2, 10)}`;
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'cdr-scaleout-'));
  const processes: Array<{ role: string; child: ChildProcess; output: string[] }> = [];
  let url: string;
  let queue: Queue;
  let queueConnection: Redis;
  let db: PostgresDb;

  const start = (role: 'api' | 'worker', port: number) => {
    const output: string[] = [];
    const child = spawn(process.execPath, [path.join(REPO_ROOT, 'bin', 'cdr.js'), 'start', '--role', role], {
      cwd: REPO_ROOT,
      env: {
        ...process.env,
        CDR_DATABASE_URL: testDatabaseUrl(), CDR_DATABASE_SCHEMA: schema, REDIS_URL: testRedisUrl(), CDR_QUEUE_PREFIX: prefix,
        CDR_PORT: String(port), CDR_MLLP_PORT: '0', CDR_ADMIN_TOKEN: TOKEN, CDR_DATA_DIR: dataDir, CDR_WORKER_CONCURRENCY: '4', CDR_LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    processes.push({ role, child, output });
    return child;
  };
  const stop = async (child: ChildProcess) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([exited, new Promise((r) => { timer = setTimeout(r, 20_000); })]);
    clearTimeout(timer);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };

  beforeAll(async () => {
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    // The API first, so the schema is migrated once; workers migrate too, under the same advisory lock.
    start('api', port);
    await until('the api process to be ready', async () => ((await fetch(`${url}/health/ready`)).status === 200 ? true : undefined));
    start('worker', 0);
    start('worker', 0);
    queueConnection = new Redis(testRedisUrl(), { maxRetriesPerRequest: null });
    queue = new Queue('process', { connection: queueConnection, prefix: `{${prefix}}` });
    await until('two workers on the queue', async () => ((await queue.getWorkersCount()) === 2 ? true : undefined));
    db = new PostgresDb({ connectionString: testDatabaseUrl(), schema });
  }, 180_000);

  afterAll(async () => {
    for (const p of processes) await stop(p.child);
    await queue?.close();
    queueConnection?.disconnect();
    await db?.exec(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => undefined);
    await db?.close();
    await deleteRedisPrefix(testRedisUrl(), prefix);
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('messages posted to the api are stored by the workers; one worker leaving changes nothing', async () => {
    try {
      // 20 admissions of 5 patients: both workers write new and existing Patients concurrently.
      const posted = await Promise.all(Array.from({ length: 20 }, (_, i) => postMessage(url, 'asst-demo-nord-adt', message(i, 5))));
      expect(posted.every((p) => p.status === 202)).toBe(true);
      const final = await Promise.all(posted.map((p) => waitForFinal(url, p.body.messageId as string, 90_000)));
      expect(final.map((f) => f.state)).toEqual(Array(20).fill('stored'));
      const counts = await db.query<{ resource_type: string; n: number }>('SELECT resource_type, count(*)::int AS n FROM resource GROUP BY 1 ORDER BY 1');
      expect(counts.rows).toEqual([{ resource_type: 'Encounter', n: 20 }, { resource_type: 'Location', n: 1 }, { resource_type: 'Patient', n: 5 }]);

      // The api process serves the FHIR API from the same database.
      const search = await fetch(`${url}/fhir/030901/Patient?identifier=${encodeURIComponent('http://hl7.it/sid/codiceFiscale|RSSMRA80A01H501U')}`, {
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      expect(((await search.json()) as { entry: unknown[] }).entry).toHaveLength(5);

      const [firstWorker] = processes.filter((p) => p.role === 'worker');
      await stop(firstWorker!.child);
      await until('one worker left', async () => ((await queue.getWorkersCount()) === 1 ? true : undefined));
      const more = await Promise.all(Array.from({ length: 5 }, (_, i) => postMessage(url, 'asst-demo-nord-adt', message(100 + i, 5))));
      const after = await Promise.all(more.map((p) => waitForFinal(url, p.body.messageId as string, 90_000)));
      expect(after.map((f) => f.state)).toEqual(Array(5).fill('stored'));
    } catch (error) {
      for (const p of processes) process.stderr.write(`--- ${p.role} (pid ${p.child.pid}) output:\n${p.output.join('').slice(-4000)}\n`);
      throw error;
    }
  }, 180_000);

  test('every Redis key of the queue carries the {prefix} hash tag: one Cluster slot', async () => {
    const redis = new Redis(testRedisUrl());
    try {
      const keys: string[] = [];
      let cursor = '0';
      do {
        const [next, batch] = await redis.scan(cursor, 'MATCH', `*${prefix}*`, 'COUNT', 1000);
        cursor = next;
        keys.push(...batch);
      } while (cursor !== '0');
      // The queue really was used: job hashes (one per ingest flush, so few), events stream, meta, id counter...
      expect(keys.length).toBeGreaterThan(4);
      expect(keys.some((k) => /:process:(batch-)?[0-9a-f-]{36}$/.test(k))).toBe(true);
      expect(keys.some((k) => k.endsWith(':process:events'))).toBe(true);
      expect(keys.some((k) => k.endsWith(':process:meta'))).toBe(true);
      // Known values from the Redis Cluster specification, so the slot function itself is checked.
      expect(clusterSlot('foo')).toBe(12182);
      expect(clusterSlot('{user1000}.following')).toBe(clusterSlot('{user1000}.followers'));
      const slot = clusterSlot(`{${prefix}}`);
      const outside = keys.filter((k) => !k.startsWith(`{${prefix}}:`) || clusterSlot(k) !== slot);
      expect(outside).toEqual([]);
    } finally {
      redis.disconnect();
    }
  });
});
