import express, { type Router } from 'express';
import type { Redis } from 'ioredis';
import type { Db } from '../storage/db.ts';

async function redisAnswers(redis: Redis | undefined): Promise<boolean> {
  if (!redis) return false;
  try {
    return (await Promise.race([redis.ping(), new Promise<string>((r) => setTimeout(() => r('timeout'), 1000))])) === 'PONG';
  } catch {
    return false;
  }
}

/** /health/live: the process answers. /health/ready: Redis and storage answer too. */
export function createHealthRouter(db: Db, redis: Redis | undefined): Router {
  const router = express.Router();
  router.get('/health/live', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/health/ready', async (_req, res) => {
    const [storage, queue] = await Promise.all([db.ping(), redisAnswers(redis)]);
    const ready = storage && queue;
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not-ready', checks: { storage: storage ? 'ok' : 'down', redis: queue ? 'ok' : 'down' } });
  });
  return router;
}
