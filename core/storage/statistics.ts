import { errorMessage } from '../common/errors.ts';
import type { Logger } from '../common/logger.ts';
import { quoteIdent, type Db } from './db.ts';

/** Beyond this analysed size a table's statistics are autovacuum's business (see analyzeGrownTables). */
export const DEFAULT_MAX_ANALYSED_ROWS = 10_000;

/**
 * Planner statistics for tables that grow faster than autovacuum looks at them. Until a partition has been
 * analysed, PostgreSQL guesses every equality as selective, and the key lookups of a store batch were seen
 * taking the (ente, resource_type, first_stored_at) index (a BRIN since migration 023) and filtering every
 * row of the type — 50 ms per batch after a few thousand messages. And the hot statements reuse a generic
 * plan (see postgres-db.ts), made for the table as its statistics describe it: a plan made when a
 * partition had 500 rows (where a hash join over a scan of the whole partition is right) would stay in use
 * until the next ANALYZE, and autovacuum comes round at most once a minute, when a fresh Ente's partition
 * may have grown a hundredfold. So a table is analysed here once it has changed by half of its analysed
 * size (and at least `minChangedRows`): geometric steps, a handful of ANALYZEs while a fresh Ente fills.
 * Only while it is small (analysed at fewer than `maxAnalysedRows`): by then every key lookup plans as
 * one, and growth does not change that. Larger tables are left to autovacuum, because each ANALYZE of a
 * large table costs a third of a second of PostgreSQL's CPU: while a bench filled a fresh Ente, these
 * analyses were 15 % of PostgreSQL's time. Each ANALYZE replans the statements that read it.
 */
export async function analyzeGrownTables(db: Db, minChangedRows: number, maxAnalysedRows = DEFAULT_MAX_ANALYSED_ROWS): Promise<string[]> {
  if (db.kind !== 'postgres') return [];
  const tables = await db.query<{ relname: string }>(
    `SELECT s.relname FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
     WHERE s.schemaname = current_schema() AND s.n_mod_since_analyze >= $1
       AND s.n_mod_since_analyze >= 0.5 * greatest(c.reltuples, 0)
       AND c.reltuples < $2
     ORDER BY s.relname`,
    [minChangedRows, maxAnalysedRows],
  );
  for (const { relname } of tables.rows) await db.query(`ANALYZE ${quoteIdent(relname)}`);
  return tables.rows.map((t) => t.relname);
}

export interface StatisticsJobOptions {
  db: Db;
  logger: Logger;
  intervalMs?: number;
  /** Rows written to a table (never analysed, or small) before it is analysed. */
  minChangedRows?: number;
}

/** Runs analyzeGrownTables every few seconds in the worker role (PostgreSQL only). */
export class StatisticsJob {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(private readonly options: StatisticsJobOptions) {}

  start(): void {
    if (this.options.db.kind !== 'postgres' || this.timer) return;
    this.timer = setInterval(() => {
      if (this.running) return;
      this.running = analyzeGrownTables(this.options.db, this.options.minChangedRows ?? 500)
        .then((tables) => {
          if (tables.length > 0) this.options.logger.info({ tables }, 'planner statistics refreshed');
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
