import { randomBytes } from 'node:crypto';
import type { EnteConfig } from '../../core/config/schema.ts';
import { migrate, PgliteDb, PostgresDb, registerEnti, type Db } from '../../core/storage/index.ts';

export type StorageKind = 'postgres' | 'pglite';
export const STORAGE_KINDS: StorageKind[] = ['postgres', 'pglite'];

export const TEST_ENTI: EnteConfig[] = [
  { code: '030901', name: 'ASST Demo Milano Nord', type: 'ASST' },
  { code: '030902', name: 'ASST Demo Brianza', type: 'ASST' },
];

export function testDatabaseUrl(): string {
  const url = process.env.CDR_TEST_DB_URL;
  if (!url) throw new Error('CDR_TEST_DB_URL is not set: run the tests through jest (global setup creates the database)');
  return url;
}

export function uniqueSchema(): string {
  return `t_${randomBytes(5).toString('hex')}`;
}

export interface TestDb {
  db: Db;
  schema: string | undefined;
  cleanup: () => Promise<void>;
}

/** A migrated database of the requested kind in its own schema (PostgreSQL) or its own memory (PGlite). */
export async function openTestDb(kind: StorageKind, enti: EnteConfig[] = TEST_ENTI): Promise<TestDb> {
  if (kind === 'pglite') {
    const db = await PgliteDb.open();
    await migrate(db);
    await registerEnti(db, enti);
    return { db, schema: undefined, cleanup: () => db.close() };
  }
  const schema = uniqueSchema();
  const db = new PostgresDb({ connectionString: testDatabaseUrl(), schema, poolSize: 4 });
  await migrate(db, schema);
  await registerEnti(db, enti);
  return {
    db,
    schema,
    cleanup: async () => {
      await db.exec(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => undefined);
      await db.close();
    },
  };
}
