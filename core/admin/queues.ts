import express, { type Router } from 'express';
import type { ProcessQueue } from '../queue/process-queue.ts';
import { HttpError } from '../server/http-errors.ts';

export function createQueuesRouter(queue: ProcessQueue | undefined): Router {
  const router = express.Router();
  router.get('/admin/queues', async (_req, res) => {
    if (!queue) throw new HttpError(503, 'QUEUE_UNAVAILABLE', 'this process has no queue connection');
    res.json({ items: [await queue.counts()], next: null });
  });
  return router;
}
