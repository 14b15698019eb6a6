import { StorageUnavailableError, StoreError } from '../common/errors.ts';

export type SqlParam = string | number | boolean | null | Date | Uint8Array | string[] | number[];
export type Row = Record<string, unknown>;

export interface QueryResult<R extends Row = Row> {
  rows: R[];
  rowCount: number;
}

/**
 * A hot-path statement the server keeps parsed and planned per connection (a named prepared
 * statement): the store and ingest run the same few statements thousands of times a second, and
 * parsing and planning them again each time was a large share of PostgreSQL's CPU. Only for
 * statements whose best plan does not depend on the parameter values (a generic plan is fine).
 */
export interface PreparedSql {
  readonly name: string;
  readonly text: string;
}

const preparedNames = new Map<string, string>();

/** Declares a prepared statement; a name can be declared once, for one text. */
export function prepared(name: string, text: string): PreparedSql {
  const known = preparedNames.get(name);
  if (known !== undefined && known !== text) throw new Error(`prepared statement "${name}" is declared twice with different SQL`);
  preparedNames.set(name, text);
  return { name, text };
}

export const sqlText = (sql: string | PreparedSql): string => (typeof sql === 'string' ? sql : sql.text);

/** What repositories need from a connection; implemented over node-postgres and over PGlite. */
export interface SqlExecutor {
  query<R extends Row = Row>(sql: string | PreparedSql, params?: SqlParam[]): Promise<QueryResult<R>>;
}

export interface Db extends SqlExecutor {
  readonly kind: 'postgres' | 'pglite';
  /** Runs several statements separated by semicolons, without parameters (migrations). */
  exec(sql: string): Promise<void>;
  transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  /** true when a trivial query succeeds (readiness). */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

const CONNECTION_ERROR_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'EAI_AGAIN',
  '57P01', '57P02', '57P03', '53300', '08000', '08001', '08003', '08004', '08006', '08007',
]);
/** Serialisation failures and deadlocks: retrying the transaction is the documented remedy. */
const RETRYABLE_SQLSTATES = new Set(['40001', '40P01', '55P03']);

/** Turns driver errors into the engine's taxonomy: unreachable → transient, everything else → permanent store error. */
export function classifyDbError(error: unknown): Error {
  if (error instanceof StorageUnavailableError || error instanceof StoreError) return error;
  const err = error as { code?: string; message?: string };
  const message = err?.message ?? String(error);
  if (
    (err?.code && CONNECTION_ERROR_CODES.has(err.code)) ||
    /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error|PGlite is closed|not connected/i.test(message)
  ) {
    return new StorageUnavailableError(`storage unavailable: ${message}`, error);
  }
  if (err?.code && RETRYABLE_SQLSTATES.has(err.code)) {
    return new StoreError(`transaction conflict (${err.code}): ${message}`, { code: 'STORE_CONFLICT', kind: 'transient', cause: error });
  }
  return new StoreError(`database error${err?.code ? ` ${err.code}` : ''}: ${message}`, {
    code: 'STORE_DATABASE_ERROR',
    kind: 'permanent',
    cause: error,
  });
}

/** Quote an SQL identifier we built ourselves (partition names); input is already restricted to [A-Za-z0-9_]. */
export function quoteIdent(name: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`unsafe SQL identifier: ${name}`);
  return `"${name}"`;
}

export function toBuffer(value: unknown): Buffer {
  if (Buffer.isBuffer(value)) return value;
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  throw new TypeError('expected binary data');
}
