import { adminDatabaseUrl, adminQuery } from './postgres.ts';

export default async function globalTeardown(): Promise<void> {
  const database = process.env.CDR_TEST_DB_NAME;
  if (database && !process.env.CDR_TEST_KEEP_DB) {
    await adminQuery(adminDatabaseUrl(), `DROP DATABASE IF EXISTS ${database} WITH (FORCE)`).catch(() => undefined);
  }
  await (globalThis as { __cdrRedisStop?: () => Promise<void> }).__cdrRedisStop?.();
}
