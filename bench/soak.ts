/**
 * `npm run soak`: a long run through the real engine (HTTP ingest → stored, PostgreSQL + Redis), memory of
 * every engine process sampled every 10 s. It fails if memory keeps growing: the resident size over the
 * second half of the run must not trend upward by more than the allowed slope.
 *
 *   npm run soak                       # 1,000,000 ADT^A01 messages
 *   npm run soak -- --messages 50000   # shorter
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { REPO_ROOT } from '../core/config/index.ts';
import { DEFAULT_REDIS_URL } from '../core/queue/index.ts';
import { BENCH_TOKEN, benchDatabaseUrl, recreateBenchDatabase, spawnRole, stopProcess, waitProcessReady, waitReady } from './engine-processes.ts';
import { residentMemoryMb } from './proc.ts';
import { adtScenario } from './scenarios.ts';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const total = arg('messages', 1_000_000);
const sampleSeconds = arg('sample-seconds', 10);
/** Allowed growth of resident memory over the second half, in MB per million messages. */
const allowedSlope = arg('max-mb-per-million', 64);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Least-squares slope of y over x. */
function slope(points: Array<[number, number]>): number {
  const n = points.length;
  const mx = points.reduce((s, p) => s + p[0], 0) / n;
  const my = points.reduce((s, p) => s + p[1], 0) / n;
  const num = points.reduce((s, p) => s + (p[0] - mx) * (p[1] - my), 0);
  const den = points.reduce((s, p) => s + (p[0] - mx) ** 2, 0);
  return den === 0 ? 0 : num / den;
}

async function main(): Promise<void> {
  const redisUrl = process.env.REDIS_URL || DEFAULT_REDIS_URL;
  await recreateBenchDatabase();
  const prefix = 'cdrsoak';
  const redis = new Redis(redisUrl);
  for (const key of await redis.keys(`{${prefix}}*`)) await redis.del(key);
  const env = {
    CDR_DATABASE_URL: benchDatabaseUrl(), REDIS_URL: redisUrl, CDR_QUEUE_PREFIX: prefix, CDR_ADMIN_TOKEN: BENCH_TOKEN,
    CDR_PORT: '18400', CDR_MLLP_PORT: '0', CDR_WORKER_CONCURRENCY: '64', CDR_DATA_DIR: '/tmp/cdr-soak',
  };
  const api = spawnRole('all', env);
  const url = 'http://127.0.0.1:18400';
  await waitReady(url);
  const worker = spawnRole('worker', { ...env, CDR_PORT: '0' });
  await waitProcessReady(worker);
  const db = new pg.Client({ connectionString: benchDatabaseUrl() });
  await db.connect();

  const samples: Array<{ at: number; sent: number; stored: number; apiMb: number; workerMb: number }> = [];
  let sent = 0;
  let next = 0;
  let waiting = 0;
  const started = Date.now();
  const sampler = setInterval(() => {
    void (async () => {
      const stored = (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM inbox WHERE state = 'stored'`)).rows[0]!.n;
      const sample = { at: (Date.now() - started) / 1000, sent, stored, apiMb: residentMemoryMb(api.pid) ?? NaN, workerMb: residentMemoryMb(worker.pid) ?? NaN };
      samples.push(sample);
      process.stdout.write(`\r${sample.at.toFixed(0)} s: sent ${sent}, stored ${stored}, RSS api ${sample.apiMb.toFixed(0)} MB, worker ${sample.workerMb.toFixed(0)} MB   `);
    })().catch(() => undefined);
  }, sampleSeconds * 1000);
  const poller = setInterval(() => void redis.llen(`{${prefix}}:process:wait`).then((n) => (waiting = n)).catch(() => undefined), 200);

  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < total) {
        if (waiting > 4000) {
          await sleep(20);
          continue;
        }
        const i = next++;
        const response = await fetch(`${url}/ingest/${adtScenario.pluginId}`, { method: 'POST', body: new Uint8Array(adtScenario.make(i, 'SOAK')) });
        await response.arrayBuffer();
        if (response.status === 202) sent++;
      }
    }),
  );
  while ((await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM inbox WHERE state = 'received'`)).rows[0]!.n > 0) await sleep(1000);
  clearInterval(sampler);
  clearInterval(poller);
  await db.end();
  await stopProcess(worker);
  await stopProcess(api);
  redis.disconnect();

  const secondHalf = samples.slice(Math.floor(samples.length / 2));
  const perMillion = (key: 'apiMb' | 'workerMb') => slope(secondHalf.map((s) => [s.sent / 1e6, s[key]])) ;
  const verdict = {
    messages: total, seconds: (Date.now() - started) / 1000, samples: samples.length,
    apiSlopeMbPerMillion: perMillion('apiMb'), workerSlopeMbPerMillion: perMillion('workerMb'), allowedSlope,
    apiMb: { first: samples[0]?.apiMb, max: Math.max(...samples.map((s) => s.apiMb)), last: samples.at(-1)?.apiMb },
    workerMb: { first: samples[0]?.workerMb, max: Math.max(...samples.map((s) => s.workerMb)), last: samples.at(-1)?.workerMb },
  };
  const dir = path.join(REPO_ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'soak-latest.json'), `${JSON.stringify({ verdict, samples }, null, 2)}\n`);
  const flat = verdict.apiSlopeMbPerMillion <= allowedSlope && verdict.workerSlopeMbPerMillion <= allowedSlope;
  process.stdout.write(`\n\nsoak: ${JSON.stringify(verdict, null, 2)}\n${flat ? 'PASS: memory is flat' : 'FAIL: memory keeps growing'}\n`);
  process.exit(flat ? 0 : 1);
}

await main();
