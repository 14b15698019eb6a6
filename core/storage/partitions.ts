import type { EnteConfig } from '../config/schema.ts';
import { quoteIdent, type Db, type SqlExecutor } from './db.ts';
import { enteOrganization, upsertDirectoryResource } from './directory.ts';
import { rebuildSearchIndex, SEARCH_INDEX_VERSION } from './search-index.ts';

/** Tables partitioned BY LIST (ente); each registered Ente gets one partition of each. */
const PARTITION_LOCK_KEY = 720_302;
const REINDEX_LOCK_KEY = 720_303;

export const PARTITIONED_TABLES = ['inbox', 'resource', 'resource_history', 'search_token', 'search_reference', 'search_date'] as const;
export type PartitionedTable = (typeof PARTITIONED_TABLES)[number];

/**
 * The tables that hold an Ente's clinical data and may live on another server (postgres_fdw). The
 * inbox is the engine's operational buffer: it stays on the engine's database, where its dedup key
 * (ON CONFLICT with a target) needs a parent-level unique index.
 */
export const CLINICAL_TABLES = ['resource', 'resource_history', 'search_token', 'search_reference', 'search_date'] as const satisfies readonly PartitionedTable[];

/** Primary keys live on each partition (migration 010), not on the parent. */
const PARTITION_PRIMARY_KEYS: Partial<Record<PartitionedTable, string>> = {
  resource: 'ente, resource_type, id',
  resource_history: 'ente, resource_type, id, version_id',
};

const ENTE_CODE = /^[A-Za-z0-9_]{1,40}$/;

export function partitionName(table: PartitionedTable, enteCode: string): string {
  return `${table}_e${enteCode.toLowerCase()}`;
}

export interface RemotePartitionOptions {
  /** A postgres_fdw foreign server already created by the DBA (CREATE SERVER + USER MAPPING). */
  server: string;
  /** Schema of the remote tables (default public); create them with remotePartitionDdl(). */
  schema?: string;
}

export interface RegisterEnteOptions {
  /** Host this Ente's clinical partitions on another PostgreSQL server (postgres_fdw foreign tables). */
  remote?: RemotePartitionOptions;
}

async function relationExists(tx: SqlExecutor, name: string): Promise<boolean> {
  const exists = await tx.query('SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relname = $1 AND n.nspname = current_schema()', [name]);
  return exists.rows.length > 0;
}

/**
 * Registers an Ente, creates its partitions if missing and its L1 Organization in the regional
 * directory. Idempotent; a message already sitting in the default inbox partition for this Ente
 * would block the DDL, so those rows are moved first.
 */
export async function registerEnte(db: Db, ente: EnteConfig, options: RegisterEnteOptions = {}): Promise<void> {
  // The code becomes a partition-name suffix and an SQL literal below: refuse anything else than [A-Za-z0-9_].
  if (!ENTE_CODE.test(ente.code)) throw new Error(`invalid Ente code "${ente.code}"`);
  const remote = options.remote;
  if (remote && db.kind !== 'postgres') throw new Error('remote (postgres_fdw) partitions need PostgreSQL');
  await db.transaction(async (tx) => {
    if (db.kind === 'postgres') await tx.query('SELECT pg_advisory_xact_lock($1)', [PARTITION_LOCK_KEY]);
    const known = await tx.query('SELECT 1 FROM ente WHERE code = $1', [ente.code]);
    await tx.query(
      `INSERT INTO ente (code, name, type, search_index_version) VALUES ($1, $2, $3, $4)
       ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, type = EXCLUDED.type`,
      // A new Ente has nothing to index: its (empty) index is current.
      [ente.code, ente.name, ente.type ?? null, known.rows.length > 0 ? 0 : SEARCH_INDEX_VERSION],
    );
    for (const table of PARTITIONED_TABLES) {
      const name = partitionName(table, ente.code);
      if (await relationExists(tx, name)) continue;
      if (table === 'inbox') {
        const stranded = await tx.query('SELECT 1 FROM inbox_unassigned WHERE ente = $1 LIMIT 1', [ente.code]);
        if (stranded.rows.length > 0) {
          await tx.query(`CREATE TEMP TABLE moving_inbox ON COMMIT DROP AS SELECT * FROM inbox_unassigned WHERE ente = '${ente.code}'`);
          await tx.query('DELETE FROM inbox_unassigned WHERE ente = $1', [ente.code]);
          await tx.query(`CREATE TABLE ${quoteIdent(name)} PARTITION OF inbox FOR VALUES IN ('${ente.code}')`);
          await tx.query('INSERT INTO inbox SELECT * FROM moving_inbox');
          continue;
        }
      }
      if (remote && (CLINICAL_TABLES as readonly string[]).includes(table)) {
        await tx.query(
          `CREATE FOREIGN TABLE ${quoteIdent(name)} PARTITION OF ${table} FOR VALUES IN ('${ente.code}')
           SERVER ${quoteIdent(remote.server)} OPTIONS (schema_name '${remote.schema ?? 'public'}', table_name '${name}')`,
        );
        continue;
      }
      const key = PARTITION_PRIMARY_KEYS[table];
      await tx.query(`CREATE TABLE ${quoteIdent(name)} PARTITION OF ${table} ${key ? `(PRIMARY KEY (${key})) ` : ''}FOR VALUES IN ('${ente.code}')`);
    }
    await upsertDirectoryResource(tx, enteOrganization(ente));
  });
}

/** Registers the configured Enti, then rebuilds the search index of any Ente indexed by older rules. */
export async function registerEnti(db: Db, enti: readonly EnteConfig[]): Promise<void> {
  for (const ente of enti) await registerEnte(db, ente);
  await ensureSearchIndexCurrent(db);
}

/** Rebuilds the search index of Enti whose index predates SEARCH_INDEX_VERSION; returns the Enti rebuilt. */
export async function ensureSearchIndexCurrent(db: Db): Promise<string[]> {
  const stale = await db.query<{ code: string }>('SELECT code FROM ente WHERE search_index_version < $1 ORDER BY code', [SEARCH_INDEX_VERSION]);
  for (const { code } of stale.rows) await reindexEnte(db, code);
  return stale.rows.map((r) => r.code);
}

/** Rebuilds one Ente's search index (also POST /admin/partitions/:ente/reindex). */
export async function reindexEnte(db: Db, code: string): Promise<number> {
  const lock = db.kind === 'postgres' ? REINDEX_LOCK_KEY : undefined;
  const indexed = await rebuildSearchIndex(db, code, 1000, lock);
  await db.query('UPDATE ente SET search_index_version = $2 WHERE code = $1', [code, SEARCH_INDEX_VERSION]);
  return indexed;
}

export interface EnteRow {
  code: string;
  name: string;
  type: string | null;
}

export async function listEnti(db: SqlExecutor): Promise<EnteRow[]> {
  const result = await db.query<{ code: string; name: string; type: string | null }>('SELECT code, name, type FROM ente ORDER BY code');
  return result.rows;
}

export async function enteExists(db: SqlExecutor, code: string): Promise<boolean> {
  return (await db.query('SELECT 1 FROM ente WHERE code = $1', [code])).rows.length > 0;
}

export interface PartitionInfo {
  table: PartitionedTable;
  name: string;
  /** local table, or foreign table on another server (postgres_fdw). */
  kind: 'local' | 'foreign';
  server: string | null;
  /** On-disk size including indexes and TOAST; null for foreign partitions (measured on their server). */
  bytes: number | null;
}

export interface EntePartitionStats extends EnteRow {
  registeredAt: Date;
  partitions: PartitionInfo[];
  resources: Record<string, number>;
  resourceCount: number;
  historyCount: number;
  /** Messages in the Ente's inbox partition (any state). */
  inboxCount: number;
  /** Sum of the local partitions' sizes. */
  bytes: number;
  /** The most recent write of a current resource. */
  lastWrite: Date | null;
}

/** Per Ente: its partitions (local or foreign, size), current resources by type, history size, last write. */
export async function partitionStats(db: SqlExecutor, enti?: readonly string[]): Promise<EntePartitionStats[]> {
  const filter = enti ? [...enti] : null;
  const registered = await db.query<{ code: string; name: string; type: string | null; registered_at: Date }>(
    'SELECT code, name, type, registered_at FROM ente WHERE ($1::text[] IS NULL OR code = ANY($1::text[])) ORDER BY code',
    [filter],
  );
  const partitions = await db.query<{ parent: string; name: string; relkind: string; bound: string; server: string | null; bytes: string | null }>(
    `SELECT p.relname AS parent, c.relname AS name, c.relkind::text AS relkind, pg_get_expr(c.relpartbound, c.oid) AS bound, fs.srvname AS server,
            CASE WHEN c.relkind = 'r' THEN pg_total_relation_size(c.oid) END AS bytes
     FROM pg_inherits i
     JOIN pg_class c ON c.oid = i.inhrelid
     JOIN pg_class p ON p.oid = i.inhparent
     JOIN pg_namespace n ON n.oid = p.relnamespace
     LEFT JOIN pg_foreign_table ft ON ft.ftrelid = c.oid
     LEFT JOIN pg_foreign_server fs ON fs.oid = ft.ftserver
     WHERE n.nspname = current_schema() AND p.relname = ANY($1::text[])
     ORDER BY c.relname`,
    [[...PARTITIONED_TABLES]],
  );
  const counts = await db.query<{ ente: string; resource_type: string; n: number; last_write: Date | null }>(
    `SELECT ente, resource_type, count(*)::int AS n, max(last_updated) AS last_write FROM resource
     WHERE ($1::text[] IS NULL OR ente = ANY($1::text[])) GROUP BY ente, resource_type ORDER BY ente, resource_type`,
    [filter],
  );
  const history = await db.query<{ ente: string; n: number }>(
    'SELECT ente, count(*)::int AS n FROM resource_history WHERE ($1::text[] IS NULL OR ente = ANY($1::text[])) GROUP BY ente',
    [filter],
  );
  const inbox = await db.query<{ ente: string; n: number }>(
    'SELECT ente, count(*)::int AS n FROM inbox WHERE ($1::text[] IS NULL OR ente = ANY($1::text[])) GROUP BY ente',
    [filter],
  );
  return registered.rows.map((e) => {
    const own = partitions.rows
      .filter((p) => /IN \('(.*)'\)/.exec(p.bound)?.[1] === e.code)
      .map((p): PartitionInfo => ({
        table: p.parent as PartitionedTable,
        name: p.name,
        kind: p.relkind === 'f' ? 'foreign' : 'local',
        server: p.server,
        bytes: p.bytes === null ? null : Number(p.bytes),
      }));
    const typeCounts = counts.rows.filter((c) => c.ente === e.code);
    const lastWrites = typeCounts.map((c) => c.last_write).filter((d): d is Date => d !== null);
    return {
      code: e.code, name: e.name, type: e.type, registeredAt: e.registered_at,
      partitions: own,
      resources: Object.fromEntries(typeCounts.map((c) => [c.resource_type, Number(c.n)])),
      resourceCount: typeCounts.reduce((sum, c) => sum + Number(c.n), 0),
      historyCount: Number(history.rows.find((h) => h.ente === e.code)?.n ?? 0),
      inboxCount: Number(inbox.rows.find((h) => h.ente === e.code)?.n ?? 0),
      bytes: own.reduce((sum, p) => sum + (p.bytes ?? 0), 0),
      lastWrite: lastWrites.length > 0 ? new Date(Math.max(...lastWrites.map((d) => d.getTime()))) : null,
    };
  });
}

/**
 * The DDL to run on the remote server before registerEnte(..., { remote }): one table per clinical
 * partition, with the same columns as here, its primary key, a CHECK that it only holds this Ente,
 * and the parent's indexes. Read from this database's catalog, so it follows the migrations.
 */
export async function remotePartitionDdl(db: SqlExecutor, code: string): Promise<string[]> {
  if (!ENTE_CODE.test(code)) throw new Error(`invalid Ente code "${code}"`);
  const statements: string[] = [];
  for (const table of CLINICAL_TABLES) {
    const name = partitionName(table, code);
    const columns = await db.query<{ column_name: string; type: string; not_null: boolean; default_value: string | null }>(
      `SELECT a.attname AS column_name, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS not_null,
              pg_get_expr(d.adbin, d.adrelid) AS default_value
       FROM pg_attribute a
       JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
       LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
       WHERE c.relname = $1 AND n.nspname = current_schema() AND a.attnum > 0 AND NOT a.attisdropped
       ORDER BY a.attnum`,
      [table],
    );
    const defs = columns.rows.map((c) => `${quoteIdent(c.column_name)} ${c.type}${c.not_null ? ' NOT NULL' : ''}${c.default_value ? ` DEFAULT ${c.default_value}` : ''}`);
    const key = PARTITION_PRIMARY_KEYS[table];
    if (key) defs.push(`PRIMARY KEY (${key})`);
    defs.push(`CHECK (ente = '${code}')`);
    statements.push(`CREATE TABLE IF NOT EXISTS ${quoteIdent(name)} (\n  ${defs.join(',\n  ')}\n)`);
    const indexes = await db.query<{ indexdef: string; indexname: string }>(
      'SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename = $1',
      [table],
    );
    for (const index of indexes.rows) {
      const definition = index.indexdef.slice(index.indexdef.indexOf(' USING '));
      statements.push(`CREATE INDEX IF NOT EXISTS ${quoteIdent(`${name}_${index.indexname.replace(new RegExp(`^${table}_`), '')}`)} ON ${quoteIdent(name)}${definition}`);
    }
  }
  return statements;
}
