import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { classifyDbError, sqlText, type Db, type PreparedSql, type QueryResult, type Row, type SqlExecutor, type SqlParam } from './db.ts';

/**
 * Embedded PostgreSQL (WASM) for `npm start` without a server. It runs the same SQL as the
 * server path; it is single-connection, so transactions are serialised by PGlite itself.
 */
export class PgliteDb implements Db {
  readonly kind = 'pglite' as const;
  private closed = false;

  private constructor(private readonly pg: PGlite) {}

  /** dataDir undefined → in-memory (tests). */
  static async open(dataDir?: string): Promise<PgliteDb> {
    if (dataDir) mkdirSync(dataDir, { recursive: true });
    const pg = dataDir ? new PGlite(dataDir) : new PGlite();
    await pg.waitReady;
    return new PgliteDb(pg);
  }

  async query<R extends Row = Row>(sql: string | PreparedSql, params: SqlParam[] = []): Promise<QueryResult<R>> {
    if (this.closed) throw classifyDbError(new Error('PGlite is closed'));
    try {
      const result = await this.pg.query<R>(sqlText(sql), params);
      return { rows: result.rows, rowCount: Math.max(result.rows.length, result.affectedRows ?? 0) };
    } catch (error) {
      throw classifyDbError(error);
    }
  }

  async exec(sql: string): Promise<void> {
    if (this.closed) throw classifyDbError(new Error('PGlite is closed'));
    try {
      await this.pg.exec(sql);
    } catch (error) {
      throw classifyDbError(error);
    }
  }

  async transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    if (this.closed) throw classifyDbError(new Error('PGlite is closed'));
    try {
      return await this.pg.transaction(async (inner) => {
        const tx: SqlExecutor = {
          query: async <R extends Row = Row>(sql: string | PreparedSql, params: SqlParam[] = []) => {
            try {
              const result = await inner.query<R>(sqlText(sql), params);
              return { rows: result.rows, rowCount: Math.max(result.rows.length, result.affectedRows ?? 0) };
            } catch (error) {
              throw classifyDbError(error);
            }
          },
        };
        return work(tx);
      });
    } catch (error) {
      throw classifyDbError(error);
    }
  }

  async ping(): Promise<boolean> {
    if (this.closed) return false;
    try {
      await this.pg.query('SELECT 1');
      return true;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pg.close();
  }
}
