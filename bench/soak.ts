/**
 * `npm run soak`: a long run through the real engine (HTTP ingest → stored, PostgreSQL + Redis), memory of
 * every engine process sampled every 10 s. It fails if memory keeps growing.
 *
 * Resident memory saw-tooths as the garbage collector lets the old generation grow and then compacts it
 * (250 MB swings over minutes in a 1M run), so a straight line through every sample measures where the
 * run happened to stop in a tooth. What a leak raises is the floor: the memory left after collections.
 * Two floors are measured, after the first tenth of the run (warm-up):
 * - the V8 heap left by each full collection (Mark-Compact), read from the processes' --trace-gc output:
 *   a JavaScript leak (a cache or a map that keeps every message) raises it at once;
 * - the troughs of resident memory: the run is cut into ten windows by messages sent, each window's
 *   lowest sample is its trough (native memory, buffers outside the heap).
 * The least-squares slope of each, in MB per million messages, must stay under the allowed one.
 *
 *   npm run soak                                   # 1,000,000 ADT^A01 messages
 *   npm run soak -- --messages 50000               # shorter
 *   npm run soak -- --evaluate bench/results/soak-latest.json   # the verdict of saved samples
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { REPO_ROOT } from '../core/config/index.ts';
import { DEFAULT_REDIS_URL } from '../core/queue/index.ts';
import { BENCH_TOKEN, benchDatabaseUrl, type RunningProcess, recreateBenchDatabase, spawnRole, stopProcess, waitProcessReady, waitReady } from './engine-processes.ts';
import { residentMemoryMb } from './proc.ts';
import { adtScenario } from './scenarios.ts';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const total = arg('messages', 1_000_000);
const sampleSeconds = arg('sample-seconds', 10);
/** Allowed growth of the resident-memory troughs, in MB per million messages. */
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

interface Sample {
  at: number;
  sent: number;
  stored: number;
  apiMb: number;
  workerMb: number;
}

/** The V8 heap one full collection left, and how many messages had been sent then. */
interface FullGc {
  sent: number;
  heapMb: number;
}

/**
 * Records the heap after every full collection of a process's main thread (`--trace-gc` lines on its
 * stdout). Each line names its V8 isolate; the loader's worker thread has its own small heap, so the
 * isolate that reports the largest heap is the engine's.
 */
function watchFullCollections(child: RunningProcess, sent: () => number): () => FullGc[] {
  const byIsolate = new Map<string, FullGc[]>();
  let pending = '';
  child.child.stdout!.on('data', (chunk: Buffer) => {
    const lines = (pending + chunk.toString()).split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      // "[pid:0x…]  1234 ms: Mark-Compact 61.6 (80.1) -> 51.8 (86.3) MB, …"
      const match = /^\[\d+:(0x[0-9a-f]+)\].*Mark-Compact(?: \(reduce\))? [\d.]+ \([\d.]+\) -> ([\d.]+) \(/.exec(line);
      if (!match) continue;
      const events = byIsolate.get(match[1]!) ?? [];
      events.push({ sent: sent(), heapMb: Number(match[2]) });
      byIsolate.set(match[1]!, events);
    }
  });
  const peak = (events: FullGc[]) => Math.max(...events.map((e) => e.heapMb));
  return () => [...byIsolate.values()].reduce<FullGc[]>((main, events) => (main.length === 0 || peak(events) > peak(main) ? events : main), []);
}

/** Least-squares slope of the heap after full collections, after the first tenth of the run. */
function heapFloor(events: FullGc[], total: number) {
  const warm = events.filter((e) => e.sent > total / 10);
  return {
    fullCollections: warm.length,
    heapSlopeMbPerMillion: Math.round(slope(warm.map((e) => [e.sent / 1e6, e.heapMb])) * 10) / 10,
    heapAfterFullGcMb: warm.length > 0 ? { first: warm[0]!.heapMb, min: Math.min(...warm.map((e) => e.heapMb)), max: Math.max(...warm.map((e) => e.heapMb)), last: warm.at(-1)!.heapMb } : undefined,
  };
}

type ProcessKey = 'apiMb' | 'workerMb';

/** The lowest sample of each tenth of the run after the first (by messages sent). */
function troughs(samples: Sample[], key: ProcessKey, windows = 10): Array<[number, number]> {
  const valid = samples.filter((s) => Number.isFinite(s[key]));
  const total = valid.at(-1)?.sent ?? 0;
  const points: Array<[number, number]> = [];
  for (let w = 0; w < windows; w++) {
    const from = total / 10 + ((total * 0.9) / windows) * w;
    const to = from + (total * 0.9) / windows;
    const inWindow = valid.filter((s) => s.sent > from && s.sent <= to);
    if (inWindow.length === 0) continue;
    const lowest = inWindow.reduce((a, b) => (b[key] < a[key] ? b : a));
    points.push([lowest.sent / 1e6, lowest[key]]);
  }
  return points;
}

function verdictOf(samples: Sample[], messages: number, seconds: number, collections?: Record<ProcessKey, FullGc[]>) {
  const perProcess = (key: ProcessKey) => {
    const lows = troughs(samples, key);
    const secondHalf = samples.slice(Math.floor(samples.length / 2));
    return {
      ...(collections ? heapFloor(collections[key], messages) : {}),
      troughSlopeMbPerMillion: Math.round(slope(lows) * 10) / 10,
      troughsMb: lows.map(([, mb]) => Math.round(mb)),
      // For comparison only: a line through every sample of the second half (the saw-tooth's phase moves it).
      allSamplesSlopeMbPerMillion: Math.round(slope(secondHalf.map((s) => [s.sent / 1e6, s[key]])) * 10) / 10,
      first: samples[0]?.[key], max: Math.max(...samples.map((s) => s[key])), last: samples.at(-1)?.[key],
    };
  };
  const api = perProcess('apiMb');
  const worker = perProcess('workerMb');
  const floorsFlat = (p: typeof api) => p.troughsMb.length >= 5 && p.troughSlopeMbPerMillion <= allowedSlope
    && (!collections || (p.fullCollections! >= 5 && p.heapSlopeMbPerMillion! <= allowedSlope));
  const flat = floorsFlat(api) && floorsFlat(worker);
  return { messages, seconds, samples: samples.length, allowedSlopeMbPerMillion: allowedSlope, flat, api, worker };
}

function report(verdict: ReturnType<typeof verdictOf>): never {
  process.stdout.write(`\n\nsoak: ${JSON.stringify(verdict, null, 2)}\n${verdict.flat ? 'PASS: memory is flat' : 'FAIL: memory keeps growing (or too few samples to tell)'}\n`);
  process.exit(verdict.flat ? 0 : 1);
}

async function main(): Promise<void> {
  const evaluate = process.argv.indexOf('--evaluate');
  if (evaluate >= 0) {
    const saved = JSON.parse(readFileSync(process.argv[evaluate + 1]!, 'utf8')) as {
      verdict: { messages: number; seconds: number }; samples: Sample[]; fullCollections?: Record<ProcessKey, FullGc[]>;
    };
    report(verdictOf(saved.samples, saved.verdict.messages, saved.verdict.seconds, saved.fullCollections));
  }
  const redisUrl = process.env.REDIS_URL || DEFAULT_REDIS_URL;
  await recreateBenchDatabase();
  const prefix = 'cdrsoak';
  const redis = new Redis(redisUrl);
  for (const key of await redis.keys(`{${prefix}}*`)) await redis.del(key);
  const env = {
    CDR_DATABASE_URL: benchDatabaseUrl(), REDIS_URL: redisUrl, CDR_QUEUE_PREFIX: prefix, CDR_ADMIN_TOKEN: BENCH_TOKEN,
    CDR_PORT: '18400', CDR_MLLP_PORT: '0', CDR_WORKER_CONCURRENCY: '64', CDR_DATA_DIR: '/tmp/cdr-soak',
  };
  const api = spawnRole('all', env, ['--trace-gc']);
  const url = 'http://127.0.0.1:18400';
  await waitReady(url);
  const worker = spawnRole('worker', { ...env, CDR_PORT: '0' }, ['--trace-gc']);
  await waitProcessReady(worker);
  const db = new pg.Client({ connectionString: benchDatabaseUrl() });
  await db.connect();

  const samples: Sample[] = [];
  let sent = 0;
  const fullCollectionsOf = { apiMb: watchFullCollections(api, () => sent), workerMb: watchFullCollections(worker, () => sent) };
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

  const collections = { apiMb: fullCollectionsOf.apiMb(), workerMb: fullCollectionsOf.workerMb() };
  const verdict = verdictOf(samples, total, (Date.now() - started) / 1000, collections);
  const dir = path.join(REPO_ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'soak-latest.json'), `${JSON.stringify({ verdict, samples, fullCollections: collections }, null, 2)}\n`);
  report(verdict);
}

await main();
