import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import express, { type Router } from 'express';
import type { ProcessQueue } from '../queue/process-queue.ts';
import { HttpError } from '../server/http-errors.ts';
import { principalOf, requireAuth, seesAllEnti, type Authenticator } from './auth.ts';

export const BOARD_PATH = '/admin/board';
const BOARD_CSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; font-src 'self' data:; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'";

let offlineViews: string | undefined;

/** bull-board's page template without its web-font link (a CDN): the board then loads only from this server. */
function offlineViewsDir(): string {
  if (offlineViews) return offlineViews;
  const uiDir = path.join(path.dirname(createRequire(import.meta.url).resolve('@bull-board/ui/package.json')), 'dist');
  const template = readFileSync(path.join(uiDir, 'index.ejs'), 'utf8').replace(/<link[^>]*fonts\.googleapis\.com[^>]*>\s*/g, '');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cdr-board-views-'));
  writeFileSync(path.join(dir, 'index.ejs'), template);
  offlineViews = dir;
  return dir;
}

/**
 * bull-board at /admin/board, read-only: jobs are only looked at here; replays, pauses and discards go
 * through the audited admin routes (the overview page has the buttons). Job data carries message ids of
 * every Ente, so the board is for operators whose token covers every Ente.
 */
export function createBoardRouter(queue: ProcessQueue, auth: Authenticator): Router {
  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath(BOARD_PATH);
  createBullBoard({
    queues: [new BullMQAdapter(queue.queue, { readOnlyMode: true, description: 'messages to parse, map, validate and store' })],
    serverAdapter,
    options: { uiConfig: { boardTitle: 'cdr-engine queues', miscLinks: [{ text: 'Operator console', url: '/admin/ui' }] } },
  });
  serverAdapter.setViewsPath(offlineViewsDir());
  const router = express.Router();
  router.use(BOARD_PATH, requireAuth(auth, ['operator']), (_req, res, next) => {
    if (!seesAllEnti(principalOf(res))) throw new HttpError(403, 'FORBIDDEN_ENTE', 'the queue board shows every Ente: it needs a token for every Ente');
    // bull-board's page links a web font from a CDN: the policy keeps the browser on this server.
    res.set('content-security-policy', BOARD_CSP);
    next();
  }, serverAdapter.getRouter() as express.Router);
  return router;
}
