import express, { type Router } from 'express';
import { PROCESS_QUEUE, type ProcessQueue } from '../queue/process-queue.ts';
import { writeAudit } from '../storage/audit.ts';
import type { Db } from '../storage/db.ts';
import { HttpError } from '../server/http-errors.ts';
import { principalOf, requireAuth, seesAllEnti, type Authenticator } from './auth.ts';

export interface QueuesRouterDeps {
  /** Needed for pause/resume (audit); without it only GET /admin/queues is mounted. */
  db?: Db;
  auth?: Authenticator;
}

/** GET /admin/queues; POST /admin/queues/:name/pause|resume (operator of every Ente, audited). */
export function createQueuesRouter(queue: ProcessQueue | undefined, deps: QueuesRouterDeps = {}): Router {
  const router = express.Router();
  router.get('/admin/queues', async (_req, res) => {
    if (!queue) throw new HttpError(503, 'QUEUE_UNAVAILABLE', 'this process has no queue connection');
    res.json({ items: [await queue.counts()], next: null });
  });
  const { db, auth } = deps;
  if (!db || !auth) return router;

  for (const action of ['pause', 'resume'] as const) {
    router.post(`/admin/queues/:name/${action}`, requireAuth(auth, ['operator']), async (req, res) => {
      const name = String(req.params.name);
      if (name !== PROCESS_QUEUE) throw new HttpError(404, 'QUEUE_NOT_FOUND', `no queue "${name}" (queues: ${PROCESS_QUEUE})`);
      const principal = principalOf(res);
      // The queue carries every Ente's messages: pausing it is for someone who answers for all of them.
      if (!seesAllEnti(principal)) throw new HttpError(403, 'FORBIDDEN_ENTE', 'pausing or resuming the shared queue needs a token for every Ente');
      if (!queue) throw new HttpError(503, 'QUEUE_UNAVAILABLE', 'this process has no queue connection');
      if (action === 'pause') await queue.queue.pause();
      else await queue.queue.resume();
      await writeAudit(db, { actor: principal.id, action: `queue.${action}`, target: name });
      res.json(await queue.counts());
    });
  }
  return router;
}
