import { loadSettings } from '../core/config/index.ts';
import { compileMappingSource } from '../core/mapping/index.ts';
import { formatParser } from '../core/parse/index.ts';
import { findRoute } from '../core/plugins/index.ts';
import { migrate, PostgresDb, registerEnti, ResourceStore, InboxRepository } from '../core/storage/index.ts';
import { newMessageId } from '../core/common/ids.ts';
import { openAuthoringSession, FIXED_MESSAGE_ID, FIXED_RECEIVED_AT } from '../core/workbench/index.ts';
import { benchDatabaseUrl, recreateBenchDatabase } from './engine-processes.ts';
import { groupCpuSeconds, median, pidsOf } from './proc.ts';
import type { BenchScenario } from './scenarios.ts';

export interface StageResult {
  scenario: string;
  stage: string;
  /** Items per second on one core (median of runs): messages, or rows for storage. */
  perSec: number;
  unit: string;
  /** CPU milliseconds per item. */
  cpuMsPerItem: number;
  /** PostgreSQL's CPU milliseconds per item (every local postgres process), where the stage writes to it. */
  serverCpuMsPerItem?: number;
  note?: string;
}

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** Runs `work` over `items` repeatedly for about `seconds`, `runs` times; median rate and CPU per item. */
async function measure<T>(items: T[], runs: number, seconds: number, work: (item: T) => unknown | Promise<unknown>) {
  for (let i = 0; i < Math.min(items.length, 200); i++) await work(items[i]!); // warm-up
  const rates: number[] = [];
  const cpus: number[] = [];
  for (let r = 0; r < runs; r++) {
    let done = 0;
    const t0 = performance.now();
    const c0 = cpuMs();
    while (performance.now() - t0 < seconds * 1000) {
      for (let i = 0; i < items.length && performance.now() - t0 < seconds * 1000; i++) {
        await work(items[i]!);
        done++;
      }
    }
    rates.push(done / ((performance.now() - t0) / 1000));
    cpus.push((cpuMs() - c0) / done);
  }
  return { perSec: median(rates), cpuMsPerItem: median(cpus) };
}

/** Per-stage throughput on one core: parse, mapping (interpreter vs compiled), validation, storage batch. */
export async function benchStages(scenarios: BenchScenario[], options: { runs: number; seconds: number; onStage?: (label: string) => void }): Promise<StageResult[]> {
  const settings = loadSettings();
  const session = await openAuthoringSession(settings);
  const results: StageResult[] = [];
  for (const scenario of scenarios) {
    const plugin = session.plugins.get(scenario.pluginId);
    if (!plugin) {
      results.push({ scenario: scenario.name, stage: 'all', perSec: NaN, unit: '-', cpuMsPerItem: NaN, note: `plugin ${scenario.pluginId} not active` });
      continue;
    }
    const inputs = Array.from({ length: 500 }, (_, i) => scenario.make(i, 'STAGE'));
    const parser = formatParser(plugin.manifest.format);
    options.onStage?.(`${scenario.name}: parse`);
    results.push({ scenario: scenario.name, stage: 'parse', unit: 'msg', ...(await measure(inputs, options.runs, options.seconds, (raw) => parser.parse(raw, plugin.manifest))) });

    const parsed = inputs.map((raw) => parser.parse(raw, plugin.manifest));
    const route = findRoute(plugin, parsed[0]!.routeKey);
    if (!route) {
      results.push({ scenario: scenario.name, stage: 'map', perSec: NaN, unit: '-', cpuMsPerItem: NaN, note: `no route for ${parsed[0]!.routeKey}` });
      continue;
    }
    const bindings = (routeKey: string) => ({
      ...plugin.bindings, ente: plugin.manifest.ente, pluginId: plugin.id, messageId: FIXED_MESSAGE_ID, receivedAt: FIXED_RECEIVED_AT.toISOString(), routeKey,
    });
    const limits = { timeoutMs: 60_000, maxDepth: 500 };
    for (const engine of ['interpreter', 'compiled'] as const) {
      options.onStage?.(`${scenario.name}: map (${engine})`);
      const mapping = compileMappingSource(route.mapping.source, route.mapping.name, { engine, limits });
      results.push({
        scenario: scenario.name, stage: `map (${engine})`, unit: 'msg',
        ...(await measure(parsed, options.runs, options.seconds, (p) => mapping.evaluate(p.tree, bindings(p.routeKey)))),
      });
    }

    const processed = [];
    for (const raw of inputs.slice(0, 200)) {
      const r = await session.processor.process({ messageId: FIXED_MESSAGE_ID, ente: plugin.manifest.ente, pluginId: plugin.id, raw, receivedAt: FIXED_RECEIVED_AT }, { enforceValidation: false });
      if (r.ok) processed.push(r.resources);
    }
    options.onStage?.(`${scenario.name}: validate`);
    const perMessage = await measure(processed, options.runs, options.seconds, (resources) => {
      for (const resource of resources) session.validator.validate(resource as Record<string, unknown>);
    });
    const resourcesPerMessage = processed.reduce((s, r) => s + r.length, 0) / processed.length;
    results.push({ scenario: scenario.name, stage: 'validate', unit: 'msg', ...perMessage, note: `${resourcesPerMessage.toFixed(1)} resources/msg` });

    options.onStage?.(`${scenario.name}: store batch`);
    results.push({ scenario: scenario.name, ...(await benchStoreBatch(processed, plugin.manifest.ente, options.runs, settings.config.enti)) });
  }
  return results;
}

/** The resources of one message under new ids, references between them rewritten (the store checks them). */
function withFreshIds(resources: Array<{ resourceType: string; id?: string }>, suffix: number): Array<{ resourceType: string; id?: string }> {
  let text = JSON.stringify(resources);
  for (const r of resources) {
    if (r.id) text = text.replaceAll(`"${r.resourceType}/${r.id}"`, `"${r.resourceType}/${r.id}-${suffix}"`);
  }
  return (JSON.parse(text) as Array<{ resourceType: string; id?: string }>).map((r) => ({ ...r, id: `${r.id}-${suffix}` }));
}

/** Group-committed stores as the worker does them: batches of 50 messages in one transaction, new keys. */
async function benchStoreBatch(
  messages: Array<Array<{ resourceType: string; id?: string }>>,
  ente: string,
  runs: number,
  enti: Parameters<typeof registerEnti>[1],
): Promise<Omit<StageResult, 'scenario'>> {
  await recreateBenchDatabase();
  const db = new PostgresDb({ connectionString: benchDatabaseUrl() });
  try {
    await migrate(db);
    await registerEnti(db, enti);
    const store = new ResourceStore(db);
    const inbox = new InboxRepository(db);
    const rates: number[] = [];
    const cpus: number[] = [];
    const serverCpus: number[] = [];
    let rows = 0;
    let suffix = 0;
    for (let r = 0; r < runs; r++) {
      const batches = 20;
      const requests = [];
      for (let b = 0; b < batches; b++) {
        const batch = [];
        for (let m = 0; m < 50; m++) {
          const messageId = newMessageId();
          await inbox.acceptBatch([{ ente, messageId, pluginId: 'bench', channel: 'http', raw: Buffer.from(`bench ${messageId}`), dedupKey: messageId }]);
          const resources = withFreshIds(messages[(b * 50 + m) % messages.length]!, suffix);
          suffix++;
          batch.push({ ente, messageId, producerHash: 'bench', sourceTime: null, resources, trail: [], attempts: 1 });
        }
        requests.push(batch);
      }
      // PostgreSQL's side too (a local server only: its processes are read from /proc), so that a change to
      // the statements or the schema can be judged here, in one process, rather than end to end.
      const postgres = pidsOf('postgres');
      const s0 = groupCpuSeconds(postgres);
      const t0 = performance.now();
      const c0 = cpuMs();
      let count = 0;
      for (const batch of requests) {
        await store.storeBatch(batch);
        count += batch.length;
        rows += batch.reduce((s, x) => s + x.resources.length, 0);
      }
      rates.push(count / ((performance.now() - t0) / 1000));
      cpus.push((cpuMs() - c0) / count);
      if (postgres.length > 0) serverCpus.push(((groupCpuSeconds(postgres) - s0) * 1000) / count);
    }
    const perMessageRows = rows / (runs * 1000);
    const serverCpuMsPerItem = serverCpus.length > 0 ? median(serverCpus) : NaN;
    return {
      stage: 'store batch (50 msg/tx)', unit: 'msg', perSec: median(rates), cpuMsPerItem: median(cpus), serverCpuMsPerItem,
      note: `${perMessageRows.toFixed(1)} rows/msg; CPU is the client's; PostgreSQL ${Number.isFinite(serverCpuMsPerItem) ? `${serverCpuMsPerItem.toFixed(3)} ms/msg` : 'not local'}`,
    };
  } finally {
    await db.close();
  }
}
