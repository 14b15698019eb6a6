import { Redis } from 'ioredis';
import { TcpProxy } from '../support/tcp-proxy.ts';
import { freePort, spawnEngine, waitForHttp, waitUntil, type EngineProcess } from '../support/processes.ts';
import { startRedisInstance, type RedisInstance } from '../support/redis-instance.ts';
import { deleteRedisPrefix, testRedisUrl } from '../support/engine.ts';
import { testDatabaseUrl } from '../support/storage.ts';
import { ADMIN_TOKEN, countRun, fastRecoveryConfig, postAll, prepareSchema, printCounts, runMessage, type FaultSchema } from './support.ts';

/**
 * Fault injection with real processes, real Redis and real PostgreSQL: every accepted message must
 * end stored or dead-lettered exactly once, whatever fails in between.
 */
const config = fastRecoveryConfig();

function engineEnv(s: FaultSchema, port: number, redisUrl: string, databaseUrl = testDatabaseUrl()): Record<string, string> {
  return {
    CDR_CONFIG: config, CDR_DATABASE_URL: databaseUrl, CDR_DATABASE_SCHEMA: s.schema, CDR_QUEUE_PREFIX: s.prefix, REDIS_URL: redisUrl,
    CDR_PORT: String(port), CDR_MLLP_PORT: '0', CDR_ADMIN_TOKEN: ADMIN_TOKEN, CDR_WORKER_CONCURRENCY: '16',
    CDR_DATA_DIR: `/tmp/cdr-fault-${s.prefix}`,
  };
}

async function allFinal(s: FaultSchema, ids: string[]): Promise<boolean> {
  const counts = await countRun(s.db, ids);
  return counts.lost === 0;
}

describe('fault injection', () => {
  const processes: EngineProcess[] = [];
  afterEach(async () => {
    for (const p of processes.splice(0)) {
      if (p.child.exitCode !== null && p.child.exitCode !== 0) process.stdout.write(`\n[fault] a process exited with ${p.child.exitCode}:\n${p.output().slice(-3000)}\n`);
      await p.kill9().catch(() => undefined);
    }
  });

  test('kill -9 of a worker in the middle of 2,000 messages: each stored or dead-lettered exactly once', async () => {
    const s = await prepareSchema();
    try {
      const port = await freePort();
      const env = engineEnv(s, port, testRedisUrl());
      const api = spawnEngine('api', env);
      processes.push(api);
      await waitForHttp(`http://127.0.0.1:${port}/health/live`);
      let worker = spawnEngine('worker', env);
      processes.push(worker);

      const total = 2000;
      const ids = await postAll(`http://127.0.0.1:${port}`, Array.from({ length: total }, (_, i) => runMessage('KILL', i)));
      await waitUntil(async () => (await countRun(s.db, ids)).stored >= 300, 120_000, '300 messages stored before the kill');
      await worker.kill9();
      const atKill = await countRun(s.db, ids);
      process.stdout.write(`\n[fault] killed the worker with ${atKill.stored + atKill.deadLettered} of ${total} finished\n`);
      worker = spawnEngine('worker', env);
      processes.push(worker);
      await waitUntil(() => allFinal(s, ids), 240_000, 'every message stored or dead-lettered');

      const counts = await countRun(s.db, ids);
      printCounts('kill -9 worker', counts);
      expect(atKill.lost).toBeGreaterThan(0);
      expect(counts).toEqual({ sent: total, stored: total - total / 20, deadLettered: total / 20, lost: 0, duplicated: 0 });
      expect(await api.stop()).toBe(0);
      expect(await worker.stop()).toBe(0);
    } finally {
      await deleteRedisPrefix(testRedisUrl(), s.prefix);
      await s.drop();
    }
  }, 420_000);

  test('PostgreSQL unreachable for ~10 s during processing: jobs retry and all complete after it returns', async () => {
    const s = await prepareSchema();
    const target = new URL(testDatabaseUrl());
    const proxy = new TcpProxy(target.hostname, Number(target.port || 5432));
    await proxy.start();
    try {
      const port = await freePort();
      const api = spawnEngine('api', engineEnv(s, port, testRedisUrl()));
      processes.push(api);
      await waitForHttp(`http://127.0.0.1:${port}/health/live`);
      const viaProxy = new URL(testDatabaseUrl());
      viaProxy.port = String(proxy.port);
      const worker = spawnEngine('worker', engineEnv(s, await freePort(), testRedisUrl(), viaProxy.toString()));
      processes.push(worker);

      const total = 600;
      const ids = await postAll(`http://127.0.0.1:${port}`, Array.from({ length: total }, (_, i) => runMessage('PGDOWN', i)));
      await waitUntil(async () => (await countRun(s.db, ids)).stored >= 50, 120_000, 'processing under way');
      await proxy.cut();
      const atCut = await countRun(s.db, ids);
      await new Promise((r) => setTimeout(r, 10_000));
      const duringOutage = await countRun(s.db, ids);
      await proxy.restore();
      await waitUntil(() => allFinal(s, ids), 180_000, 'every message final after PostgreSQL returned');

      const counts = await countRun(s.db, ids);
      printCounts(`PostgreSQL down 10 s (finished at cut ${atCut.stored + atCut.deadLettered}, after the outage ${duringOutage.stored + duringOutage.deadLettered})`, counts);
      expect(atCut.lost).toBeGreaterThan(0);
      expect(counts).toEqual({ sent: total, stored: total - total / 20, deadLettered: total / 20, lost: 0, duplicated: 0 });
      // The outage is retried, never dead-lettered: only the unroutable messages are dead letters.
      const reasons = await s.db.query<{ error_code: string }>('SELECT DISTINCT error_code FROM dead_letter WHERE message_id = ANY($1::uuid[])', [ids]);
      expect(reasons.rows.map((r) => r.error_code)).toEqual(['ROUTE_NO_MAPPING']);
    } finally {
      await proxy.stop();
      await deleteRedisPrefix(testRedisUrl(), s.prefix);
      await s.drop();
    }
  }, 420_000);

  test('Redis FLUSHALL during processing: the reconciler re-enqueues from the inbox and nothing is lost', async () => {
    const s = await prepareSchema();
    let redis: RedisInstance | undefined;
    try {
      redis = await startRedisInstance();
      const port = await freePort();
      const env = engineEnv(s, port, redis.url);
      const api = spawnEngine('api', env);
      processes.push(api);
      await waitForHttp(`http://127.0.0.1:${port}/health/live`);
      const worker = spawnEngine('worker', env);
      processes.push(worker);

      const total = 1000;
      const ids = await postAll(`http://127.0.0.1:${port}`, Array.from({ length: total }, (_, i) => runMessage('FLUSH', i)));
      await waitUntil(async () => (await countRun(s.db, ids)).stored >= 100, 120_000, 'processing under way');
      const client = new Redis(redis.url);
      await client.flushall();
      client.disconnect();
      const atFlush = await countRun(s.db, ids);
      await waitUntil(() => allFinal(s, ids), 240_000, 'every message final after the flush');

      const counts = await countRun(s.db, ids);
      printCounts(`Redis FLUSHALL (finished at the flush ${atFlush.stored + atFlush.deadLettered})`, counts);
      expect(atFlush.lost).toBeGreaterThan(0);
      expect(counts).toEqual({ sent: total, stored: total - total / 20, deadLettered: total / 20, lost: 0, duplicated: 0 });
    } finally {
      await redis?.stop();
      await s.drop();
    }
  }, 420_000);
});
