import { errorMessage } from '../common/errors.ts';
import type { Logger } from '../common/logger.ts';
import { quoteIdent, type Db } from './db.ts';

/**
 * First planner statistics for new tables. Until a partition has been analysed, PostgreSQL guesses
 * every equality as selective, and the key lookups of a store batch were seen taking the
 * (ente, resource_type, first_stored_at) index and filtering every row of the type — 50 ms per batch
 * after a few thousand messages. Autovacuum analyses a table only after a minute or more; a fresh
 * Ente (or a bulk load into one) must not pay that. Once a table has statistics, autovacuum keeps
 * them current and this job leaves it alone.
 */
export async function analyzeUnanalyzedTables(db: Db, minChangedRows: number): Promise<string[]> {
  if (db.kind !== 'postgres') return [];
  const tables = await db.query<{ relname: string }>(
    `SELECT relname FROM pg_stat_user_tables
     WHERE schemaname = current_schema() AND last_analyze IS NULL AND last_autoanalyze IS NULL AND n_mod_since_analyze >= $1
     ORDER BY relname`,
    [minChangedRows],
  );
  for (const { relname } of tables.rows) await db.query(`ANALYZE ${quoteIdent(relname)}`);
  return tables.rows.map((t) => t.relname);
}

export interface StatisticsJobOptions {
  db: Db;
  logger: Logger;
  intervalMs?: number;
  /** Rows written to a never-analysed table before it is analysed. */
  minChangedRows?: number;
}

/** Runs analyzeUnanalyzedTables every few seconds in the worker role (PostgreSQL only). */
export class StatisticsJob {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(private readonly options: StatisticsJobOptions) {}

  start(): void {
    if (this.options.db.kind !== 'postgres' || this.timer) return;
    this.timer = setInterval(() => {
      if (this.running) return;
      this.running = analyzeUnanalyzedTables(this.options.db, this.options.minChangedRows ?? 500)
        .then((tables) => {
          if (tables.length > 0) this.options.logger.info({ tables }, 'first planner statistics taken');
        })
        .catch((error) => this.options.logger.warn({ err: errorMessage(error) }, 'planner statistics job failed'))
        .finally(() => (this.running = undefined));
    }, this.options.intervalMs ?? 5000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
