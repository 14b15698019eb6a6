import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { REPO_ROOT } from '../core/config/index.ts';
import { benchDatabaseUrl, recreateBenchDatabase } from './engine-processes.ts';
import { cpuSeconds, groupCpuSeconds, pidsOf } from './proc.ts';

export interface ReferenceResult {
  scenario: string;
  throughput: number;
  cpuCores: Record<string, number>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function spawnReference(args: string[]): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'bench', 'reference-pipeline.ts'), ...args], {
    cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** The naive pipeline with the same inputs: 2 producer processes + 1 worker process, no inbox, no validation. */
export async function runReference(
  scenarioKey: 'adt' | 'oru' | 'cda',
  scenarioName: string,
  options: { warmupSeconds: number; seconds: number; redisUrl: string; onProgress?: (elapsed: number, total: number, stored: number) => void },
): Promise<ReferenceResult> {
  await recreateBenchDatabase();
  const prefix = `cdrref-${scenarioKey}`;
  const redis = new Redis(options.redisUrl);
  for (const key of await redis.keys(`{${prefix}}*`)) await redis.del(key);
  const worker = spawnReference(['worker', options.redisUrl, prefix, benchDatabaseUrl()]);
  let out = '';
  worker.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  worker.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const deadline = Date.now() + 60_000;
  while (!out.includes('reference: ready')) {
    if (Date.now() > deadline || worker.exitCode !== null) throw new Error(`reference worker did not start:\n${out}`);
    await sleep(100);
  }
  const producers = [0, 1].map((k) => spawnReference(['producer', scenarioKey, options.redisUrl, prefix, String(k), '2']));
  const db = new pg.Client({ connectionString: benchDatabaseUrl() });
  await db.connect();
  try {
    // Producers need a few seconds to load; the warm-up starts when the first message is stored.
    const startDeadline = Date.now() + 120_000;
    while ((await db.query<{ n: number }>('SELECT count(*)::int AS n FROM ref_message')).rows[0]!.n === 0) {
      if (Date.now() > startDeadline) throw new Error(`the reference pipeline stored nothing:\n${out}`);
      await sleep(250);
    }
    const total = options.warmupSeconds + options.seconds;
    const started = Date.now();
    while (Date.now() - started < options.warmupSeconds * 1000) {
      await sleep(1000);
      options.onProgress?.((Date.now() - started) / 1000, total, 0);
    }
    const pids = { producers: producers.map((p) => p.pid!), worker: [worker.pid!] };
    const snapshot = () => ({
      producers: pids.producers.reduce((s, pid) => s + (cpuSeconds(pid) ?? 0), 0),
      worker: cpuSeconds(worker.pid!) ?? 0,
      redis: groupCpuSeconds(pidsOf('redis-server')),
      postgres: groupCpuSeconds(pidsOf('postgres')),
    });
    const t0 = (await db.query<{ now: Date }>('SELECT clock_timestamp() AS now')).rows[0]!.now;
    const c0 = snapshot();
    const w0 = performance.now();
    while (Date.now() - started < total * 1000) {
      await sleep(1000);
      const n = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM ref_message WHERE stored_at >= $1', [t0]);
      options.onProgress?.((Date.now() - started) / 1000, total, n.rows[0]!.n);
    }
    const t1 = (await db.query<{ now: Date }>('SELECT clock_timestamp() AS now')).rows[0]!.now;
    const c1 = snapshot();
    const wall = (performance.now() - w0) / 1000;
    const stored = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM ref_message WHERE stored_at >= $1 AND stored_at < $2', [t0, t1]);
    return {
      scenario: scenarioName,
      throughput: stored.rows[0]!.n / ((t1.getTime() - t0.getTime()) / 1000),
      cpuCores: Object.fromEntries(Object.entries(c1).map(([k, v]) => [k, (v - c0[k as keyof typeof c0]) / wall])),
    };
  } finally {
    await db.end();
    for (const p of [...producers, worker]) p.kill('SIGKILL');
    for (const key of await redis.keys(`{${prefix}}*`)) await redis.del(key);
    redis.disconnect();
  }
}
