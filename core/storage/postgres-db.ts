import pg from 'pg';
import { classifyDbError, type Db, type QueryResult, type Row, type SqlExecutor, type SqlParam } from './db.ts';

export interface PostgresDbOptions {
  connectionString: string;
  schema?: string;
  poolSize?: number;
  connectTimeoutMs?: number;
}

export class PostgresDb implements Db {
  readonly kind = 'postgres' as const;
  private readonly pool: pg.Pool;

  constructor(options: PostgresDbOptions) {
    this.pool = new pg.Pool({
      connectionString: options.connectionString,
      max: options.poolSize ?? 10,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 3000,
      idleTimeoutMillis: 30000,
      ...(options.schema ? { options: `-c search_path=${options.schema}` } : {}),
    });
    // A client losing its connection (idle in the pool or checked out in a transaction) must not crash
    // the process with an unhandled 'error' event; the query in flight, or the next one, reports it.
    this.pool.on('error', () => undefined);
    this.pool.on('connect', (client) => client.on('error', () => undefined));
  }

  async query<R extends Row = Row>(sql: string, params: SqlParam[] = []): Promise<QueryResult<R>> {
    try {
      const result = await this.pool.query<R>(sql, params);
      return { rows: result.rows, rowCount: result.rowCount ?? 0 };
    } catch (error) {
      throw classifyDbError(error);
    }
  }

  async exec(sql: string): Promise<void> {
    try {
      await this.pool.query(sql);
    } catch (error) {
      throw classifyDbError(error);
    }
  }

  async transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (error) {
      throw classifyDbError(error);
    }
    let broken = false;
    const tx: SqlExecutor = {
      query: async <R extends Row = Row>(sql: string, params: SqlParam[] = []) => {
        try {
          const result = await client.query<R>(sql, params);
          return { rows: result.rows, rowCount: result.rowCount ?? 0 };
        } catch (error) {
          throw classifyDbError(error);
        }
      },
    };
    try {
      await tx.query('BEGIN');
      const result = await work(tx);
      await tx.query('COMMIT');
      return result;
    } catch (error) {
      try {
        await client.query('ROLLBACK');
      } catch {
        broken = true;
      }
      throw classifyDbError(error);
    } finally {
      client.release(broken);
    }
  }

  async ping(): Promise<boolean> {
    try {
      await this.pool.query('SELECT 1');
      return true;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
