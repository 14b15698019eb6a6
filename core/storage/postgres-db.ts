import pg from 'pg';
import { classifyDbError, type Db, type PreparedSql, type QueryResult, type Row, type SqlExecutor, type SqlParam } from './db.ts';

/** node-postgres' query config: a prepared statement is sent by name after its first use on a connection. */
const queryConfig = (sql: string | PreparedSql, params: SqlParam[]) =>
  typeof sql === 'string' ? { text: sql, values: params } : { name: sql.name, text: sql.text, values: params };

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
      // Prepared statements save parsing, not planning: a generic plan cannot see how many keys a
      // batch brings (an array parameter) and picked sequential scans; custom plans see the values.
      options: [...(options.schema ? [`-c search_path=${options.schema}`] : []), '-c plan_cache_mode=force_custom_plan'].join(' '),
    });
    // A client losing its connection (idle in the pool or checked out in a transaction) must not crash
    // the process with an unhandled 'error' event; the query in flight, or the next one, reports it.
    this.pool.on('error', () => undefined);
    this.pool.on('connect', (client) => client.on('error', () => undefined));
  }

  async query<R extends Row = Row>(sql: string | PreparedSql, params: SqlParam[] = []): Promise<QueryResult<R>> {
    try {
      const result = await this.pool.query<R>(queryConfig(sql, params));
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
      query: async <R extends Row = Row>(sql: string | PreparedSql, params: SqlParam[] = []) => {
        try {
          const result = await client.query<R>(queryConfig(sql, params));
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
