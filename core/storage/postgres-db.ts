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

function newPool(options: PostgresDbOptions, serverOptions: string[]): pg.Pool {
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: options.poolSize ?? 10,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 3000,
    idleTimeoutMillis: 30000,
    options: [...(options.schema ? [`-c search_path=${options.schema}`] : []), ...serverOptions].join(' ') || undefined,
  });
  // A client losing its connection (idle in the pool or checked out in a transaction) must not crash
  // the process with an unhandled 'error' event; the query in flight, or the next one, reports it.
  pool.on('error', () => undefined);
  pool.on('connect', (client) => client.on('error', () => undefined));
  return pool;
}

export class PostgresDb implements Db {
  readonly kind = 'postgres' as const;
  /** One-shot statements (FHIR searches, admin queries) and transactions: planned for their values. */
  private readonly pool: pg.Pool;
  /**
   * The named hot-path statements (store, inbox): planned once per connection, the generic plan reused.
   * Planning the store's write statement per call took as long as running it (pg_stat_statements), and
   * PostgreSQL's "auto" mode never switched to the generic plan (as many plans as calls). A cached plan
   * is replanned when ANALYZE changes the statistics of a table it reads (statistics.ts keeps growing
   * tables analysed); test/storage-search/prepared-plans.test.ts keeps the generic plans on indexes.
   */
  private readonly preparedPool: pg.Pool;

  constructor(options: PostgresDbOptions) {
    this.pool = newPool(options, []);
    this.preparedPool = newPool(options, ['-c plan_cache_mode=force_generic_plan']);
  }

  async query<R extends Row = Row>(sql: string | PreparedSql, params: SqlParam[] = []): Promise<QueryResult<R>> {
    try {
      const result = await (typeof sql === 'string' ? this.pool : this.preparedPool).query<R>(queryConfig(sql, params));
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
    await Promise.all([this.pool.end(), this.preparedPool.end()]);
  }
}
