import type { EnteConfig } from '../config/schema.ts';
import { quoteIdent, type Db } from './db.ts';

/** Tables partitioned BY LIST (ente); each registered Ente gets one partition of each. */
const PARTITION_LOCK_KEY = 720_302;

export const PARTITIONED_TABLES = ['inbox', 'resource', 'resource_history'] as const;

export function partitionName(table: (typeof PARTITIONED_TABLES)[number], enteCode: string): string {
  return `${table}_e${enteCode.toLowerCase()}`;
}

/**
 * Registers an Ente and creates its partitions if missing. Idempotent; a message already sitting in
 * the default inbox partition for this Ente would block the DDL, so those rows are moved first.
 */
export async function registerEnte(db: Db, ente: EnteConfig): Promise<void> {
  await db.transaction(async (tx) => {
    if (db.kind === 'postgres') await tx.query('SELECT pg_advisory_xact_lock($1)', [PARTITION_LOCK_KEY]);
    await tx.query(
      `INSERT INTO ente (code, name, type) VALUES ($1, $2, $3)
       ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, type = EXCLUDED.type`,
      [ente.code, ente.name, ente.type ?? null],
    );
    for (const table of PARTITIONED_TABLES) {
      const name = partitionName(table, ente.code);
      const exists = await tx.query('SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relname = $1 AND n.nspname = current_schema()', [name]);
      if (exists.rowCount > 0) continue;
      if (table === 'inbox') {
        const stranded = await tx.query('SELECT 1 FROM inbox_unassigned WHERE ente = $1 LIMIT 1', [ente.code]);
        if (stranded.rowCount > 0) {
          await tx.query(`CREATE TEMP TABLE moving_inbox ON COMMIT DROP AS SELECT * FROM inbox_unassigned WHERE ente = '${ente.code}'`);
          await tx.query('DELETE FROM inbox_unassigned WHERE ente = $1', [ente.code]);
          await tx.query(`CREATE TABLE ${quoteIdent(name)} PARTITION OF inbox FOR VALUES IN ('${ente.code}')`);
          await tx.query('INSERT INTO inbox SELECT * FROM moving_inbox');
          continue;
        }
      }
      // The code is validated against [A-Za-z0-9_] (config schema), so it is safe as a literal.
      await tx.query(`CREATE TABLE ${quoteIdent(name)} PARTITION OF ${table} FOR VALUES IN ('${ente.code}')`);
    }
  });
}

export async function registerEnti(db: Db, enti: readonly EnteConfig[]): Promise<void> {
  for (const ente of enti) await registerEnte(db, ente);
}

export async function listEnti(db: Db): Promise<Array<{ code: string; name: string; type: string | null }>> {
  const result = await db.query<{ code: string; name: string; type: string | null }>('SELECT code, name, type FROM ente ORDER BY code');
  return result.rows;
}
