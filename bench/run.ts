/**
 * `npm run bench`: throughput per stage and end to end, beside the reference pipeline measured in the
 * same run. Prints a table and writes bench/results/<timestamp>.json (and latest.json).
 *
 *   npm run bench                         # full run: 60 s measured after 10 s warm-up, median of 3 runs
 *   npm run bench -- --quick              # smoke run: 10 s, 1 run
 *   npm run bench -- --only stages|e2e|reference --scenarios adt,oru,cda --seconds 60 --runs 3
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import cliProgress from 'cli-progress';
import { REPO_ROOT } from '../core/config/index.ts';
import { DEFAULT_REDIS_URL } from '../core/queue/index.ts';
import { runE2e, type E2eResult, type Topology } from './e2e.ts';
import { median } from './proc.ts';
import { runReference, type ReferenceResult } from './reference.ts';
import { adtScenario, cdaLabScenario, oruScenario, type BenchScenario } from './scenarios.ts';
import { benchStages, type StageResult } from './stages.ts';
import { benchValidation } from './validation.ts';

interface Args {
  seconds: number;
  warmup: number;
  runs: number;
  only: Set<string>;
  scenarios: Set<string>;
  topology: Topology;
}

function parseArgs(argv: string[]): Args {
  const get = (name: string) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const quick = argv.includes('--quick');
  return {
    seconds: Number(get('seconds') ?? (quick ? 10 : 60)),
    warmup: Number(get('warmup') ?? (quick ? 3 : 10)),
    runs: Number(get('runs') ?? (quick ? 1 : 3)),
    only: new Set((get('only') ?? 'stages,reference,e2e').split(',')),
    scenarios: new Set((get('scenarios') ?? 'adt,oru,cda').split(',')),
    topology: {
      workers: Number(get('workers') ?? 1),
      workerConcurrency: Number(get('concurrency') ?? 64),
      apiRunsWorkers: get('api-workers') !== 'no',
    },
  };
}

const f = (n: number, digits = 0) => (Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : '—');

function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
  return [line(headers), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

const TARGETS: Record<string, number> = { adt: 1000, oru: 400, cda: 60 };

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const redisUrl = process.env.REDIS_URL || DEFAULT_REDIS_URL;
  const cda = cdaLabScenario();
  const scenarios: Array<{ key: 'adt' | 'oru' | 'cda'; scenario: BenchScenario }> = [];
  if (args.scenarios.has('adt')) scenarios.push({ key: 'adt', scenario: adtScenario });
  if (args.scenarios.has('oru')) scenarios.push({ key: 'oru', scenario: oruScenario });
  if (args.scenarios.has('cda')) {
    if (cda) scenarios.push({ key: 'cda', scenario: cda });
    else process.stdout.write('no CDA plugin with a LAB (11502-2) route and sample: CDA scenario skipped\n');
  }
  const bars = new cliProgress.MultiBar(
    { format: ' {bar} {percentage}% | {label} | {value}/{total} s | stored {stored}', hideCursor: true, clearOnComplete: true, stopOnComplete: true },
    cliProgress.Presets.shades_classic,
  );
  const progressFor = (label: string, total: number) => {
    const bar = bars.create(total, 0, { label, stored: 0 });
    return (elapsed: number, _total: number, stored: number) => bar.update(Math.min(total, Math.round(elapsed)), { stored });
  };

  const results: {
    machine: Record<string, unknown>;
    args: Record<string, unknown>;
    stages: StageResult[];
    validation: Array<{ profile: string; perSec: number }>;
    reference: Record<string, ReferenceResult[]>;
    e2e: Record<string, E2eResult[]>;
    latency: Record<string, E2eResult>;
  } = {
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version, memGb: Math.round(os.totalmem() / 2 ** 30), date: new Date().toISOString() },
    args: { ...args, only: [...args.only], scenarios: [...args.scenarios] },
    stages: [], validation: [], reference: {}, e2e: {}, latency: {},
  };

  if (args.only.has('stages')) {
    const stageBar = bars.create(scenarios.length * 5, 0, { label: 'stages', stored: '-' });
    results.stages = await benchStages(scenarios.map((s) => s.scenario), {
      runs: Math.max(3, args.runs), seconds: args.seconds >= 60 ? 3 : 1, onStage: (label) => stageBar.increment(1, { label: `stages: ${label}` }),
    });
    stageBar.stop();
    results.validation = await benchValidation({ seconds: args.seconds >= 60 ? 2 : 0.5 });
  }

  for (const { key, scenario } of scenarios) {
    if (args.only.has('reference')) {
      results.reference[key] = [];
      for (let r = 0; r < args.runs; r++) {
        results.reference[key]!.push(await runReference(key, scenario.name, {
          warmupSeconds: args.warmup, seconds: args.seconds, redisUrl, onProgress: progressFor(`reference ${scenario.name} run ${r + 1}`, args.warmup + args.seconds),
        }));
      }
    }
    if (args.only.has('e2e')) {
      const channels: Array<'http' | 'mllp'> = key === 'cda' ? ['http'] : ['http', 'mllp'];
      for (const channel of channels) {
        const runs: E2eResult[] = [];
        for (let r = 0; r < args.runs; r++) {
          runs.push(await runE2e(scenario, {
            channel, warmupSeconds: args.warmup, seconds: args.seconds, senders: channel === 'http' ? 32 : 16, maxBacklog: 4000,
            topology: args.topology, redisUrl, onProgress: progressFor(`${scenario.name} ${channel} max run ${r + 1}`, args.warmup + args.seconds),
          }, 18300, 18301, `cdrbench-${key}`));
        }
        results.e2e[`${key}/${channel}`] = runs;
      }
      const maxRate = median(results.e2e[`${key}/http`]!.map((r) => r.throughput));
      results.latency[key] = await runE2e(scenario, {
        channel: 'http', warmupSeconds: args.warmup, seconds: args.seconds, senders: 32, maxBacklog: 1e9, rate: Math.max(1, Math.round(maxRate / 2)),
        topology: args.topology, redisUrl, onProgress: progressFor(`${scenario.name} latency at ${Math.round(maxRate / 2)}/s`, args.warmup + args.seconds),
      }, 18300, 18301, `cdrbench-${key}`);
    }
  }
  bars.stop();

  const out: string[] = [];
  out.push(`\ncdr-engine benchmark — ${results.machine.cpus} cores (${results.machine.model}), Node ${process.version}, ${args.seconds} s after ${args.warmup} s warm-up, median of ${args.runs} run(s)\n`);
  if (results.stages.length) {
    out.push('Per stage (one core):');
    out.push(table(['scenario', 'stage', 'items/s', 'CPU ms/item', 'note'], results.stages.map((s) => [s.scenario, s.stage, f(s.perSec), f(s.cpuMsPerItem, 3), s.note ?? ''])));
    const ratios = scenarios.map(({ scenario }) => {
      const c = results.stages.find((s) => s.scenario === scenario.name && s.stage === 'map (compiled)');
      const i = results.stages.find((s) => s.scenario === scenario.name && s.stage === 'map (interpreter)');
      return [scenario.name, f(i?.perSec ?? NaN), f(c?.perSec ?? NaN), c && i ? `${f(c.perSec / i.perSec, 1)}×` : '—'];
    });
    out.push('\nMapping engines (same process): compiled JavaScript vs JSONata interpreter, target ≥ 10×');
    out.push(table(['scenario', 'interpreter msg/s', 'compiled msg/s', 'speed-up'], ratios));
    out.push('\nValidation per profile:');
    out.push(table(['profile', 'validations/s'], results.validation.map((v) => [v.profile, f(v.perSec)])));
  }
  if (Object.keys(results.e2e).length || Object.keys(results.reference).length) {
    out.push('\nEnd to end (ingest → stored, durable inbox, validation and history on; Redis and PostgreSQL on this machine):');
    const rows: string[][] = [];
    for (const { key, scenario } of scenarios) {
      const reference = median((results.reference[key] ?? []).map((r) => r.throughput));
      for (const channel of ['http', 'mllp']) {
        const runs = results.e2e[`${key}/${channel}`];
        if (!runs) continue;
        const throughput = median(runs.map((r) => r.throughput));
        const cpu = runs[0]!.cpuCores;
        rows.push([
          scenario.name, channel.toUpperCase(), f(throughput), `≥ ${TARGETS[key]}`, f(reference), Number.isFinite(reference) ? `${f((throughput / reference) * 100)} %` : '—',
          Object.entries(cpu).map(([k, v]) => `${k} ${f(v, 2)}`).join(', '),
          Object.entries(runs[0]!.peakMemoryMb).map(([k, v]) => `${k} ${f(v)} MB`).join(', '),
        ]);
      }
      if (!results.e2e[`${key}/http`] && Number.isFinite(reference)) rows.push([scenario.name, 'reference only', '—', '', f(reference), '', '', '']);
    }
    out.push(table(['scenario', 'channel', 'msg/s', 'target', 'reference msg/s', 'vs reference (≥ 80 %)', 'CPU cores', 'peak memory'], rows));
    const lat = Object.entries(results.latency);
    if (lat.length) {
      out.push('\nLatency ingest → stored at half the maximum rate (target p99 < 250 ms):');
      out.push(table(['scenario', 'rate msg/s', 'stored msg/s', 'p50 ms', 'p95 ms', 'p99 ms'], lat.map(([key, r]) => [
        scenarios.find((s) => s.key === key)!.scenario.name, String(r.rate), f(r.throughput), f(r.latencyMs.p50), f(r.latencyMs.p95), f(r.latencyMs.p99),
      ])));
    }
  }
  const text = out.join('\n');
  process.stdout.write(`${text}\n`);
  const dir = path.join(REPO_ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(path.join(dir, 'latest.json'), `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(path.join(dir, 'latest.md'), `${text}\n`);
  process.stdout.write(`\nresults: ${path.relative(process.cwd(), file)}\n`);
}

await main();
process.exit(0);
