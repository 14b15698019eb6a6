import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { loadSettings, type Settings } from '../../core/config/index.ts';
import { startEngine, type Engine, type EngineOptions } from '../../core/server/index.ts';
import { testDatabaseUrl, uniqueSchema, type StorageKind } from './storage.ts';

export const TEST_ADMIN_TOKEN = 'test-admin-token';

export function testRedisUrl(): string {
  const url = process.env.CDR_TEST_REDIS_URL;
  if (!url) throw new Error('CDR_TEST_REDIS_URL is not set: run the tests through jest (global setup checks Redis)');
  return url;
}

export interface TestEngine {
  engine: Engine;
  url: string;
  settings: Settings;
  cleanup: () => Promise<void>;
}

/** Deletes every Redis key under a test's queue prefix. */
export async function deleteRedisPrefix(url: string, prefix: string): Promise<void> {
  const redis = new Redis(url);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `{${prefix}}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

/**
 * A whole engine in this process on a free port, with its own schema (PostgreSQL) or data folder
 * (PGlite) and its own Redis key prefix; cleanup removes all three.
 */
export async function startTestEngine(
  kind: StorageKind,
  overrides: Partial<Settings> = {},
  options: EngineOptions = {},
): Promise<TestEngine> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'cdr-test-'));
  const schema = kind === 'postgres' ? uniqueSchema() : undefined;
  const prefix = `cdrtest-${randomBytes(4).toString('hex')}`;
  const settings = loadSettings(process.env, {
    port: 0,
    mllpPort: 0,
    redisUrl: testRedisUrl(),
    queuePrefix: prefix,
    databaseUrl: kind === 'postgres' ? testDatabaseUrl() : undefined,
    databaseSchema: schema,
    dataDir,
    adminToken: TEST_ADMIN_TOKEN,
    workerConcurrency: 8,
    ...overrides,
  });
  const engine = await startEngine(settings, { reconcileIntervalMs: 3_600_000, ...options });
  return {
    engine,
    url: engine.url!,
    settings,
    cleanup: async () => {
      await engine.stop();
      if (schema) {
        const { PostgresDb } = await import('../../core/storage/index.ts');
        const db = new PostgresDb({ connectionString: settings.databaseUrl ?? testDatabaseUrl() });
        await db.exec(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => undefined);
        await db.close();
      }
      await deleteRedisPrefix(testRedisUrl(), prefix);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface MessageView {
  messageId: string;
  state: string;
  stages: Array<{ stage: string; ok: boolean; error?: { stage: string; code: string; message: string }; warnings?: string[] }>;
  resources: Array<{ resourceType: string; id: string; versionId: string; outcome?: string }>;
  deadLetter?: { id: string; stage: string; code: string; reason: string };
}

/** Polls GET /messages/:id until the message is stored or dead-lettered. */
export async function waitForFinal(baseUrl: string, messageId: string, timeoutMs = 20_000): Promise<MessageView> {
  const deadline = Date.now() + timeoutMs;
  let last: MessageView | undefined;
  while (Date.now() < deadline) {
    const response = await fetch(`${baseUrl}/messages/${messageId}`, { headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` } });
    if (response.ok) {
      last = (await response.json()) as MessageView;
      if (last.state === 'stored' || last.state === 'dead-lettered') return last;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`message ${messageId} did not finish in ${timeoutMs} ms (last state: ${last?.state ?? 'unknown'})`);
}

export async function postMessage(baseUrl: string, pluginId: string, body: Buffer | string, headers: Record<string, string> = {}) {
  const payload = typeof body === 'string' ? body : new Uint8Array(body);
  const response = await fetch(`${baseUrl}/ingest/${pluginId}`, { method: 'POST', body: payload, headers: { 'content-type': 'application/hl7-v2', ...headers } });
  const text = await response.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    json = { raw: text };
  }
  return { status: response.status, body: json };
}
