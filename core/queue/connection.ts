import { Redis, type RedisOptions } from 'ioredis';

/** BullMQ keys are hash-tagged so every key of a queue lands in one Redis Cluster slot. */
export function bullPrefix(prefix: string): string {
  return /^\{.*\}$/.test(prefix) ? prefix : `{${prefix}}`;
}

/**
 * Producer connections fail fast (no offline queue, one retry): ingest must answer within a
 * request, and a lost enqueue is recovered by the reconciler from the inbox.
 */
export function producerConnection(url: string): Redis {
  const client = new Redis(url, { maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 2000 } satisfies RedisOptions);
  client.on('error', () => undefined);
  return client;
}

/** Worker connections block and must keep retrying forever (BullMQ requires maxRetriesPerRequest null). */
export function workerConnection(url: string): Redis {
  const client = new Redis(url, { maxRetriesPerRequest: null, enableReadyCheck: true } satisfies RedisOptions);
  client.on('error', () => undefined);
  return client;
}
