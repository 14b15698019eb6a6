import { randomBytes } from 'node:crypto';
import { ensureRedis } from '../../core/queue/redis-server.ts';
import { adminDatabaseUrl, adminQuery, canConnect, withDatabase } from './postgres.ts';

/**
 * One throw-away PostgreSQL database per test run (each suite then works in its own schema) and a
 * reachable Redis (started from PATH when nothing answers and REDIS_URL is unset).
 */
export default async function globalSetup(): Promise<void> {
  process.env.CDR_LOG_LEVEL ??= 'silent';
  const admin = adminDatabaseUrl();
  if (!(await canConnect(admin))) {
    throw new Error(`PostgreSQL is not reachable at ${admin}. Start it (see .ci/run) or set CDR_TEST_DATABASE_URL.`);
  }
  const database = `cdr_test_${Date.now()}_${randomBytes(3).toString('hex')}`;
  await adminQuery(admin, `CREATE DATABASE ${database}`);
  process.env.CDR_TEST_DB_NAME = database;
  process.env.CDR_TEST_DB_URL = withDatabase(admin, database);

  const redis = await ensureRedis({ redisUrl: process.env.REDIS_URL || undefined, dataDir: `/tmp/cdr-test-redis-${process.pid}` });
  process.env.CDR_TEST_REDIS_URL = redis.url;
  (globalThis as { __cdrRedisStop?: () => Promise<void> }).__cdrRedisStop = redis.stop;
}
