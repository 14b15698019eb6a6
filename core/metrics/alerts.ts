import { errorMessage } from '../common/errors.ts';
import type { Logger } from '../common/logger.ts';
import type { EngineConfig } from '../config/schema.ts';
import type { ProcessQueue } from '../queue/process-queue.ts';
import type { Db } from '../storage/db.ts';
import { oldestWaitingSeconds } from './engine-metrics.ts';

export type AlertConfig = EngineConfig['alerts'];

export interface AlertState {
  /** dead-letter-backlog | queue-stalled | error-rate | alert-evaluation */
  name: string;
  severity: 'warning' | 'critical';
  /** Which Ente/plugin it is about (error-rate); empty for engine-wide alerts. */
  labels: { ente?: string; plugin?: string };
  firing: boolean;
  value: number;
  threshold: number;
  /** When it started firing (null when not firing). */
  since: string | null;
  message: string;
  checkedAt: string;
}

export interface AlertEvaluatorOptions {
  config: AlertConfig;
  db: Db;
  queue: ProcessQueue | undefined;
  logger: Logger;
}

const keyOf = (a: Pick<AlertState, 'name' | 'labels'>) => `${a.name}|${a.labels.ente ?? ''}|${a.labels.plugin ?? ''}`;

/**
 * Evaluates the configured thresholds periodically against PostgreSQL and Redis (so every API process
 * agrees), keeps when each alert started firing, and logs transitions. Read by /admin/alerts,
 * /admin/overview and the cdr_alert_firing gauge.
 */
export class AlertEvaluator {
  private states: AlertState[] = [];
  private readonly firingSince = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<AlertState[]> | undefined;

  constructor(private readonly options: AlertEvaluatorOptions) {}

  start(): void {
    if (this.timer) return;
    void this.evaluate();
    this.timer = setInterval(() => void this.evaluate(), this.options.config.evaluateIntervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** The last evaluation (empty before the first one finishes). */
  current(): AlertState[] {
    return this.states;
  }

  /** Evaluates now (concurrent callers share one run). */
  evaluate(): Promise<AlertState[]> {
    this.running ??= this.compute()
      .then((states) => (this.states = states))
      .finally(() => (this.running = undefined));
    return this.running;
  }

  private async compute(): Promise<AlertState[]> {
    const { config, db, queue } = this.options;
    const checkedAt = new Date().toISOString();
    const raw: Array<Omit<AlertState, 'since' | 'checkedAt'>> = [];
    try {
      const open = await db.query<{ n: string }>(`SELECT count(*) AS n FROM dead_letter WHERE status = 'open'`);
      const openCount = Number(open.rows[0]?.n ?? 0);
      raw.push({
        name: 'dead-letter-backlog', severity: 'warning', labels: {}, firing: openCount > config.deadLetterOpenMax, value: openCount, threshold: config.deadLetterOpenMax,
        message: `${openCount} open dead letters (threshold ${config.deadLetterOpenMax})`,
      });
      if (queue) {
        const age = Math.round(await oldestWaitingSeconds(queue));
        raw.push({
          name: 'queue-stalled', severity: 'critical', labels: {}, firing: age > config.queueOldestWaitingSecondsMax, value: age, threshold: config.queueOldestWaitingSecondsMax,
          message: `the oldest waiting job is ${age} s old (threshold ${config.queueOldestWaitingSecondsMax} s)`,
        });
      }
      const { windowMinutes, maxPercent, minMessages } = config.errorRate;
      const rates = await db.query<{ ente: string; plugin_id: string; failed: string; finished: string }>(
        `SELECT ente, plugin_id, count(*) FILTER (WHERE state = 'dead-lettered') AS failed, count(*) AS finished
         FROM inbox WHERE state IN ('stored', 'dead-lettered') AND received_at >= now() - ($1::int * interval '1 minute')
         GROUP BY ente, plugin_id`,
        [windowMinutes],
      );
      for (const row of rates.rows) {
        const failed = Number(row.failed);
        const finished = Number(row.finished);
        const percent = finished > 0 ? Math.round((failed / finished) * 1000) / 10 : 0;
        raw.push({
          name: 'error-rate', severity: 'critical', labels: { ente: row.ente, plugin: row.plugin_id },
          firing: finished >= minMessages && percent >= maxPercent, value: percent, threshold: maxPercent,
          message: `${failed} of ${finished} messages received in the last ${windowMinutes} min were dead-lettered (${percent}%, threshold ${maxPercent}% over at least ${minMessages})`,
        });
      }
    } catch (error) {
      raw.push({
        name: 'alert-evaluation', severity: 'critical', labels: {}, firing: true, value: 1, threshold: 0,
        message: `alerts could not be evaluated: ${errorMessage(error)}`,
      });
    }
    const states = raw.map((alert) => {
      const key = keyOf(alert);
      if (!alert.firing) {
        if (this.firingSince.delete(key)) this.options.logger.info({ alert: alert.name, ...alert.labels }, `alert resolved: ${alert.name}`);
        return { ...alert, since: null, checkedAt };
      }
      let since = this.firingSince.get(key);
      if (!since) {
        since = checkedAt;
        this.firingSince.set(key, since);
        this.options.logger.warn({ alert: alert.name, ...alert.labels, value: alert.value, threshold: alert.threshold }, `alert firing: ${alert.message}`);
      }
      return { ...alert, since, checkedAt };
    });
    // Alerts whose subject disappeared (no messages in the window any more) stop firing.
    const present = new Set(states.map(keyOf));
    for (const key of [...this.firingSince.keys()]) if (!present.has(key)) this.firingSince.delete(key);
    return states;
  }
}
