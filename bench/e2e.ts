import { Redis } from 'ioredis';
import pg from 'pg';
import { frame, MllpFramer } from '../core/ingest/mllp/framer.ts';
import http from 'node:http';
import net from 'node:net';
import { BENCH_TOKEN, benchDatabaseUrl, recreateBenchDatabase, spawnRole, stopProcess, waitProcessReady, waitReady, type RunningProcess } from './engine-processes.ts';
import { cpuSeconds, groupCpuSeconds, peakMemoryMb, pidsOf } from './proc.ts';

export interface Scenario {
  name: string;
  pluginId: string;
  /** The i-th input of the run (distinct patients, control ids...). */
  make: (i: number, run: string) => Buffer;
}

export interface Topology {
  /** Worker processes besides the api process (which also runs workers when `apiRunsWorkers`). */
  workers: number;
  workerConcurrency: number;
  apiRunsWorkers: boolean;
}

export interface E2eOptions {
  channel: 'http' | 'mllp';
  warmupSeconds: number;
  seconds: number;
  /** Parallel senders (HTTP requests in flight, or MLLP connections). */
  senders: number;
  /** Open-loop rate in messages/s; undefined = as fast as the engine drains (backlog kept under maxBacklog). */
  rate?: number;
  maxBacklog: number;
  topology: Topology;
  redisUrl: string;
  onProgress?: (elapsedSeconds: number, totalSeconds: number, stored: number) => void;
}

export interface E2eResult {
  scenario: string;
  channel: string;
  rate: number | 'max';
  /** Messages stored per second during the measured window. */
  throughput: number;
  ingested: number;
  stored: number;
  deadLettered: number;
  latencyMs: { p50: number; p95: number; p99: number; samples: number };
  /** Cores used on average during the window, per process group. */
  cpuCores: Record<string, number>;
  peakMemoryMb: Record<string, number>;
}

/**
 * HTTP client of the load generator: node:http over keep-alive sockets. It shares the two cores with
 * the engine, and fetch() (undici) cost about 0.7 ms of CPU per request here, a third of a core at
 * the rates measured; this costs a fraction of that, so the figure is more the engine's.
 */
class HttpSender {
  private readonly agent: http.Agent;

  constructor(private readonly url: string, sockets: number) {
    this.agent = new http.Agent({ keepAlive: true, maxSockets: sockets });
  }

  post(body: Buffer): Promise<number> {
    return new Promise((resolve, reject) => {
      const request = http.request(this.url, {
        method: 'POST', agent: this.agent, headers: { 'content-type': 'application/octet-stream', 'content-length': body.length },
      }, (response) => {
        response.resume();
        response.on('end', () => resolve(response.statusCode ?? 0));
        response.on('error', reject);
      });
      request.on('error', reject);
      request.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

class MllpSender {
  private readonly framer = new MllpFramer(1 << 26);
  private pending: Array<() => void> = [];
  private constructor(private readonly socket: net.Socket) {
    socket.on('data', (data: Buffer) => {
      for (const event of this.framer.push(data)) if (event.kind === 'frame') this.pending.shift()?.();
    });
    socket.on('error', () => undefined);
  }
  static async connect(port: number): Promise<MllpSender> {
    const socket = net.connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => socket.once('connect', () => resolve()).once('error', reject));
    socket.setNoDelay(true);
    return new MllpSender(socket);
  }
  send(payload: Buffer): Promise<void> {
    return new Promise((resolve) => {
      this.pending.push(resolve);
      this.socket.write(frame(payload));
    });
  }
  close(): void {
    this.socket.destroy();
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One end-to-end run: fresh database, real engine processes, load for warm-up + measured window. */
export async function runE2e(scenario: Scenario, options: E2eOptions, port: number, mllpPort: number, prefix: string): Promise<E2eResult> {
  await recreateBenchDatabase();
  const redis = new Redis(options.redisUrl);
  for (const key of await redis.keys(`{${prefix}}*`)) await redis.del(key);
  const env = {
    CDR_DATABASE_URL: benchDatabaseUrl(), REDIS_URL: options.redisUrl, CDR_QUEUE_PREFIX: prefix, CDR_ADMIN_TOKEN: BENCH_TOKEN,
    CDR_PORT: String(port), CDR_MLLP_PORT: String(mllpPort), CDR_WORKER_CONCURRENCY: String(options.topology.workerConcurrency),
    CDR_DATA_DIR: `/tmp/cdr-bench-${prefix}`,
  };
  // CDR_BENCH_PROFILE=DIR: each engine process writes a V8 CPU profile there when it stops (node --cpu-prof).
  const profile = process.env.CDR_BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.CDR_BENCH_PROFILE}`] : [];
  const processes: RunningProcess[] = [spawnRole(options.topology.apiRunsWorkers ? 'all' : 'api', env, profile)];
  const url = `http://127.0.0.1:${port}`;
  const db = new pg.Client({ connectionString: benchDatabaseUrl() });
  try {
    await waitReady(url);
    for (let w = 0; w < options.topology.workers; w++) processes.push(spawnRole('worker', { ...env, CDR_PORT: '0', CDR_MLLP_PORT: '0' }, profile));
    for (const p of processes) await waitProcessReady(p);
    await db.connect();

    let next = 0;
    let stop = false;
    let ingested = 0;
    const backlog = { waiting: 0 };
    const queueKey = `{${prefix}}:process:wait`;
    const poller = (async () => {
      while (!stop) {
        backlog.waiting = await redis.llen(queueKey).catch(() => 0);
        await sleep(100);
      }
    })();
    const interval = options.rate ? (1000 * options.senders) / options.rate : 0;
    const httpSender = new HttpSender(`${url}/ingest/${scenario.pluginId}`, options.senders);
    const sender = async (index: number) => {
      const mllp = options.channel === 'mllp' ? await MllpSender.connect(mllpPort) : undefined;
      let due = performance.now() + (interval * index) / options.senders;
      try {
        while (!stop) {
          if (interval > 0) {
            const wait = due - performance.now();
            if (wait > 0) await sleep(wait);
            due += interval;
          } else if (backlog.waiting > options.maxBacklog) {
            await sleep(20);
            continue;
          }
          const body = scenario.make(next++, prefix);
          if (mllp) await mllp.send(body);
          else {
            const status = await httpSender.post(body);
            if (status !== 202) throw new Error(`ingest answered ${status}`);
          }
          ingested++;
        }
      } finally {
        mllp?.close();
      }
    };
    const senders = Array.from({ length: options.senders }, (_, i) => sender(i));

    const total = options.warmupSeconds + options.seconds;
    const started = Date.now();
    while (Date.now() - started < options.warmupSeconds * 1000) {
      await sleep(1000);
      options.onProgress?.((Date.now() - started) / 1000, total, 0);
    }
    const groups = () => ({
      api: cpuSeconds(processes[0]!.pid) ?? 0,
      workers: processes.slice(1).reduce((s, p) => s + (cpuSeconds(p.pid) ?? 0), 0),
      redis: groupCpuSeconds(pidsOf('redis-server')),
      postgres: groupCpuSeconds(pidsOf('postgres')),
      loadgen: process.cpuUsage().user / 1e6 + process.cpuUsage().system / 1e6,
    });
    const t0 = (await db.query<{ now: Date }>('SELECT now()')).rows[0]!.now;
    const cpu0 = groups();
    const wall0 = performance.now();
    const ingested0 = ingested;
    while (Date.now() - started < total * 1000) {
      await sleep(1000);
      const stored = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM inbox WHERE state = 'stored' AND updated_at >= $1`, [t0]).catch(() => ({ rows: [{ n: 0 }] }));
      options.onProgress?.((Date.now() - started) / 1000, total, stored.rows[0]!.n);
    }
    const t1 = (await db.query<{ now: Date }>('SELECT now()')).rows[0]!.now;
    const cpu1 = groups();
    const wall = (performance.now() - wall0) / 1000;
    const ingestedInWindow = ingested - ingested0;
    stop = true;
    await Promise.allSettled(senders);
    httpSender.close();
    await poller;

    const window = await db.query<{ stored: number; dead: number }>(
      `SELECT count(*) FILTER (WHERE state = 'stored')::int AS stored, count(*) FILTER (WHERE state = 'dead-lettered')::int AS dead
       FROM inbox WHERE updated_at >= $1 AND updated_at < $2`, [t0, t1],
    );
    const latency = await db.query<{ p50: number; p95: number; p99: number; n: number }>(
      `SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS p50, percentile_cont(0.95) WITHIN GROUP (ORDER BY ms) AS p95,
              percentile_cont(0.99) WITHIN GROUP (ORDER BY ms) AS p99, count(*)::int AS n
       FROM (SELECT extract(epoch FROM updated_at - received_at) * 1000 AS ms FROM inbox
             WHERE state = 'stored' AND received_at >= $1 AND received_at < $2) x`, [t0, t1],
    );
    const seconds = (t1.getTime() - t0.getTime()) / 1000;
    const row = window.rows[0]!;
    const lat = latency.rows[0]!;
    return {
      scenario: scenario.name,
      channel: options.channel,
      rate: options.rate ?? 'max',
      throughput: row.stored / seconds,
      ingested: ingestedInWindow / seconds,
      stored: row.stored,
      deadLettered: row.dead,
      latencyMs: { p50: Number(lat.p50), p95: Number(lat.p95), p99: Number(lat.p99), samples: lat.n },
      cpuCores: Object.fromEntries(Object.entries(cpu1).map(([k, v]) => [k, (v - cpu0[k as keyof typeof cpu0]) / wall])),
      peakMemoryMb: Object.fromEntries(processes.map((p, i) => [i === 0 ? 'api' : `worker${i}`, peakMemoryMb(p.pid) ?? NaN])),
    };
  } finally {
    await db.end().catch(() => undefined);
    for (const p of processes) await stopProcess(p);
    redis.disconnect();
  }
}
