import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { IngestResult } from '../ingest/ingest-service.ts';
import type { ProcessQueue } from '../queue/process-queue.ts';
import type { OutcomeEvent } from '../queue/worker.ts';
import type { Db } from '../storage/db.ts';
import type { AlertEvaluator } from './alerts.ts';

/** Trail stages the pipeline times (TrailEntry.ms), named as in the trail. */
const TIMED_STAGES = new Set(['parsed', 'mapped', 'validated']);

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

export interface MetricsSources {
  queue?: ProcessQueue | undefined;
  db?: Db | undefined;
  alerts?: AlertEvaluator | undefined;
}

interface GaugeSnapshot {
  queue: { waiting: number; active: number; delayed: number; failed: number; paused: number; oldestWaitingSeconds: number } | undefined;
  deadLetters: Array<{ ente: string; plugin: string; open: number }> | undefined;
}

/** Age in seconds of the oldest job waiting in the queue (0 when none waits). */
export async function oldestWaitingSeconds(queue: ProcessQueue, now = Date.now()): Promise<number> {
  const [oldest] = await queue.queue.getJobs(['wait'], 0, 0, true);
  return oldest?.timestamp ? Math.max(0, (now - oldest.timestamp) / 1000) : 0;
}

/**
 * The Prometheus metrics of one engine process (GET /metrics). Counters and histograms are fed by
 * ingest (onAccepted) and the worker (onOutcome) of this process; gauges (queue depth, oldest
 * waiting job, open dead letters, alerts) are read from Redis/PostgreSQL at scrape time, so they are
 * the same whichever API process answers.
 */
export class EngineMetrics {
  readonly registry = new Registry();
  readonly received: Counter<'plugin' | 'ente'>;
  readonly duplicates: Counter<'plugin' | 'ente'>;
  readonly receivedBytes: Counter<'plugin' | 'ente'>;
  readonly stored: Counter<'plugin' | 'ente'>;
  readonly deadLettered: Counter<'plugin' | 'ente' | 'stage' | 'code'>;
  readonly stageSeconds: Histogram<'plugin' | 'stage'>;
  readonly processingSeconds: Histogram<'plugin' | 'outcome'>;
  readonly endToEndSeconds: Histogram<'plugin' | 'ente'>;
  private sources: MetricsSources = {};
  private snapshot: { at: number; value: Promise<GaugeSnapshot> } | undefined;

  constructor(options: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    if (options.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry });
    this.received = new Counter({ name: 'cdr_messages_received_total', help: 'Messages accepted into the inbox (duplicates excluded)', labelNames: ['plugin', 'ente'], registers });
    this.duplicates = new Counter({ name: 'cdr_messages_duplicate_total', help: 'Redeliveries answered with the original message id', labelNames: ['plugin', 'ente'], registers });
    this.receivedBytes = new Counter({ name: 'cdr_messages_received_bytes_total', help: 'Raw bytes accepted', labelNames: ['plugin', 'ente'], registers });
    this.stored = new Counter({ name: 'cdr_messages_stored_total', help: 'Messages whose resources were stored', labelNames: ['plugin', 'ente'], registers });
    this.deadLettered = new Counter({
      name: 'cdr_messages_dead_lettered_total', help: 'Messages sent to the dead-letter queue, by failing stage and error code',
      labelNames: ['plugin', 'ente', 'stage', 'code'], registers,
    });
    this.stageSeconds = new Histogram({
      name: 'cdr_stage_duration_seconds', help: 'Time spent in each pipeline stage (from the trail entries)',
      labelNames: ['plugin', 'stage'], buckets: LATENCY_BUCKETS, registers,
    });
    this.processingSeconds = new Histogram({
      name: 'cdr_job_duration_seconds', help: 'Worker time per message, load to store or dead letter',
      labelNames: ['plugin', 'outcome'], buckets: LATENCY_BUCKETS, registers,
    });
    this.endToEndSeconds = new Histogram({
      name: 'cdr_end_to_end_seconds', help: 'From inbox commit (ACK) to stored, first runs only (replays excluded)',
      labelNames: ['plugin', 'ente'], buckets: LATENCY_BUCKETS, registers,
    });

    const read = () => this.read();
    new Gauge({
      name: 'cdr_queue_jobs', help: 'Jobs in the processing queue by state', labelNames: ['queue', 'state'], registers,
      async collect() {
        this.reset();
        const queue = (await read()).queue;
        if (!queue) return;
        for (const state of ['waiting', 'active', 'delayed', 'failed', 'paused'] as const) this.set({ queue: 'process', state }, queue[state]);
      },
    });
    new Gauge({
      name: 'cdr_queue_oldest_waiting_seconds', help: 'Age of the oldest job waiting to be processed', labelNames: ['queue'], registers,
      async collect() {
        this.reset();
        const queue = (await read()).queue;
        if (queue) this.set({ queue: 'process' }, queue.oldestWaitingSeconds);
      },
    });
    new Gauge({
      name: 'cdr_dead_letters_open', help: 'Open dead letters by Ente and plugin', labelNames: ['ente', 'plugin'], registers,
      async collect() {
        this.reset();
        for (const row of (await read()).deadLetters ?? []) this.set({ ente: row.ente, plugin: row.plugin }, row.open);
      },
    });
    const alerts = () => this.sources.alerts;
    new Gauge({
      name: 'cdr_alert_firing', help: 'Operator alerts (1 = firing), thresholds in config "alerts"', labelNames: ['alert', 'ente', 'plugin'], registers,
      collect() {
        this.reset();
        for (const alert of alerts()?.current() ?? []) {
          this.set({ alert: alert.name, ente: alert.labels.ente ?? '', plugin: alert.labels.plugin ?? '' }, alert.firing ? 1 : 0);
        }
      },
    });
  }

  /** Where the gauges read from (set once the engine's queue, storage and alerts exist). */
  bind(sources: MetricsSources): void {
    this.sources = { ...this.sources, ...sources };
  }

  /** One read of Redis and PostgreSQL per scrape, shared by the gauges of that scrape. */
  private read(): Promise<GaugeSnapshot> {
    const now = Date.now();
    if (this.snapshot && now - this.snapshot.at < 1000) return this.snapshot.value;
    const { queue, db } = this.sources;
    const value = (async (): Promise<GaugeSnapshot> => {
      const [counts, oldest, dead] = await Promise.all([
        queue?.counts().catch(() => undefined),
        queue ? oldestWaitingSeconds(queue).catch(() => undefined) : undefined,
        db
          ?.query<{ ente: string; plugin_id: string; n: string }>(`SELECT ente, plugin_id, count(*) AS n FROM dead_letter WHERE status = 'open' GROUP BY ente, plugin_id`)
          .then((r) => r.rows.map((row) => ({ ente: row.ente, plugin: row.plugin_id, open: Number(row.n) })))
          .catch(() => undefined),
      ]);
      return {
        queue: counts ? { ...counts, oldestWaitingSeconds: oldest ?? 0 } : undefined,
        deadLetters: dead,
      };
    })();
    this.snapshot = { at: now, value };
    return value;
  }

  /** IngestService onAccepted hook. */
  readonly onAccepted = (result: IngestResult, bytes: number): void => {
    const labels = { plugin: result.pluginId, ente: result.ente };
    if (result.duplicate) {
      this.duplicates.inc(labels);
      return;
    }
    this.received.inc(labels);
    this.receivedBytes.inc(labels, bytes);
  };

  /** ProcessingWorker onOutcome hook. */
  readonly onOutcome = (event: OutcomeEvent): void => {
    const { job, outcome } = event;
    if (outcome.kind === 'skipped') return;
    const labels = { plugin: job.pluginId, ente: job.ente };
    for (const entry of event.trail ?? []) {
      if (TIMED_STAGES.has(entry.stage) && typeof entry.ms === 'number') this.stageSeconds.observe({ plugin: job.pluginId, stage: entry.stage }, entry.ms / 1000);
    }
    this.processingSeconds.observe({ plugin: job.pluginId, outcome: outcome.kind }, outcome.ms / 1000);
    if (outcome.kind === 'stored') {
      this.stored.inc(labels);
      if (event.receivedAt && !event.rerun) this.endToEndSeconds.observe(labels, Math.max(0, Date.now() - event.receivedAt.getTime()) / 1000);
    } else {
      this.deadLettered.inc({ ...labels, stage: outcome.stage, code: outcome.code });
    }
  };

  metrics(): Promise<string> {
    // Each scrape reads fresh: the snapshot only lets the gauges of this one scrape share a read.
    this.snapshot = undefined;
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
