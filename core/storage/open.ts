import path from 'node:path';
import type { Settings } from '../config/load.ts';
import type { Db } from './db.ts';
import { migrate } from './migrate.ts';
import { registerEnti } from './partitions.ts';
import { PgliteDb } from './pglite-db.ts';
import { PostgresDb } from './postgres-db.ts';

export interface OpenStorageOptions {
  /** Skip migrations and partition creation (a process that only reads). */
  skipMigrations?: boolean;
  poolSize?: number;
}

/** PostgreSQL when CDR_DATABASE_URL is set, otherwise embedded PGlite under CDR_DATA_DIR/pglite. */
export async function openStorage(settings: Settings, options: OpenStorageOptions = {}): Promise<Db> {
  const db: Db = settings.databaseUrl
    ? new PostgresDb({
        connectionString: settings.databaseUrl,
        ...(settings.databaseSchema ? { schema: settings.databaseSchema } : {}),
        ...(options.poolSize ? { poolSize: options.poolSize } : {}),
      })
    : await PgliteDb.open(path.join(settings.dataDir, 'pglite'));
  if (!options.skipMigrations) {
    await migrate(db, settings.databaseSchema);
    await registerEnti(db, settings.config.enti);
  }
  return db;
}
