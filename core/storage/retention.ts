import { errorMessage } from '../common/errors.ts';
import type { Logger } from '../common/logger.ts';
import type { RetentionConfig } from '../config/schema.ts';
import type { Db } from './db.ts';

export type RetentionPolicy = RetentionConfig;

export interface RetentionReport {
  startedAt: Date;
  /** Deleted rows per table and Ente. */
  deleted: Array<{ table: 'inbox' | 'resource_history'; ente: string; rows: number }>;
}

const DAY_MS = 86_400_000;

/**
 * One retention pass. Deletes in chunks of `batchSize` (short transactions, no long locks):
 * - inbox rows `stored` for longer than inbox.storedDays;
 * - inbox rows `dead-lettered` for longer than inbox.deadLetteredDays whose dead letter is no longer
 *   open (an open dead letter still needs its raw bytes for a replay);
 * - resource_history versions superseded more than history.maxAgeDays ago.
 * Rows `received`/`processing` and current resources (table `resource`) are never touched.
 */
export async function applyRetention(db: Db, policy: RetentionPolicy, now = new Date()): Promise<RetentionReport> {
  const report: RetentionReport = { startedAt: now, deleted: [] };
  const run = async (table: 'inbox' | 'resource_history', cutoffDays: number | null, chunk: (cutoff: Date) => Promise<string[]>) => {
    if (cutoffDays === null) return;
    const cutoff = new Date(now.getTime() - cutoffDays * DAY_MS);
    const perEnte = new Map<string, number>();
    for (;;) {
      const deleted = await chunk(cutoff);
      for (const ente of deleted) perEnte.set(ente, (perEnte.get(ente) ?? 0) + 1);
      if (deleted.length < policy.batchSize) break;
    }
    for (const [ente, rows] of perEnte) {
      report.deleted.push({ table, ente, rows });
      await db.query('INSERT INTO retention_run (started_at, ente, table_name, deleted, cutoff) VALUES ($1, $2, $3, $4, $5)', [now, ente, table, rows, cutoff]);
    }
  };

  await run('inbox', policy.inbox.storedDays, async (cutoff) => {
    const result = await db.query<{ ente: string }>(
      `DELETE FROM inbox WHERE (ente, message_id) IN (
         SELECT ente, message_id FROM inbox WHERE state = 'stored' AND updated_at < $1 LIMIT $2)
       RETURNING ente`,
      [cutoff, policy.batchSize],
    );
    return result.rows.map((r) => r.ente);
  });
  await run('inbox', policy.inbox.deadLetteredDays, async (cutoff) => {
    const result = await db.query<{ ente: string }>(
      `DELETE FROM inbox WHERE (ente, message_id) IN (
         SELECT i.ente, i.message_id FROM inbox i
         WHERE i.state = 'dead-lettered' AND i.updated_at < $1
           AND NOT EXISTS (SELECT 1 FROM dead_letter d WHERE d.message_id = i.message_id AND d.status = 'open')
         LIMIT $2)
       RETURNING ente`,
      [cutoff, policy.batchSize],
    );
    return result.rows.map((r) => r.ente);
  });
  await run('resource_history', policy.history.maxAgeDays, async (cutoff) => {
    const result = await db.query<{ ente: string }>(
      `DELETE FROM resource_history WHERE (ente, resource_type, id, version_id) IN (
         SELECT ente, resource_type, id, version_id FROM resource_history WHERE superseded_at < $1 LIMIT $2)
       RETURNING ente`,
      [cutoff, policy.batchSize],
    );
    return result.rows.map((r) => r.ente);
  });
  return report;
}

export interface RetentionJobOptions {
  db: Db;
  policy: RetentionPolicy;
  logger: Logger;
  /** Delay before the first pass (default: one interval). */
  initialDelayMs?: number;
}

/**
 * Runs applyRetention every policy.intervalMinutes in an API (or all-in-one) process. Several API
 * processes running it at once only repeat work: every delete is keyed and idempotent.
 */
export class RetentionJob {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(private readonly options: RetentionJobOptions) {}

  start(): void {
    const intervalMs = this.options.policy.intervalMinutes * 60_000;
    const schedule = (delay: number) => {
      this.timer = setTimeout(() => {
        this.running = this.runOnce().then(() => {
          this.running = undefined;
          if (this.timer) schedule(intervalMs);
        });
      }, delay);
      this.timer.unref();
    };
    schedule(this.options.initialDelayMs ?? intervalMs);
  }

  async runOnce(): Promise<RetentionReport | undefined> {
    try {
      const report = await applyRetention(this.options.db, this.options.policy);
      if (report.deleted.length > 0) this.options.logger.info({ deleted: report.deleted }, 'retention pass');
      return report;
    } catch (error) {
      this.options.logger.warn({ err: errorMessage(error) }, 'retention pass failed; the next one retries');
      return undefined;
    }
  }

  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
