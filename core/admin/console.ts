import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { type Router } from 'express';
import { createMetricsRouter } from '../metrics/routes.ts';
import type { EngineContext } from '../server/context.ts';
import { HttpError } from '../server/http-errors.ts';
import { createBoardRouter } from './board.ts';
import { DeadLetterService } from './dead-letter-service.ts';
import { createDeadLettersRouter } from './dead-letters.ts';
import { DeadLetterDryRun } from './dry-run.ts';
import { createAdminMessagesRouter } from './message-routes.ts';
import { buildOpenApiDocument } from './openapi.ts';
import { createOverviewRouter } from './overview.ts';
import { createPluginsRouter } from './plugins.ts';
import { ReprocessService } from './reprocess.ts';
import { CONSOLE_CSP, createLoginRouter } from './sessions.ts';

const UI_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'ui');
const ASSETS: Record<string, string> = {
  'console.js': 'text/javascript; charset=utf-8',
  'console.css': 'text/css; charset=utf-8',
};

/** Routes that need no token: /metrics, /openapi.json, the console login and its static assets. */
export function createPublicConsoleRouter(ctx: EngineContext): Router {
  const router = express.Router();
  router.use(createMetricsRouter(ctx.operations.metrics));
  const openapi = JSON.stringify(buildOpenApiDocument());
  router.get('/openapi.json', (_req, res) => {
    res.type('application/json').send(openapi);
  });
  router.use(createLoginRouter(ctx.auth, ctx.operations.sessions, ctx.db));
  const assets = new Map(Object.keys(ASSETS).map((name) => [name, readFileSync(path.join(UI_DIR, name))]));
  router.get('/admin/ui-assets/:name', (req, res) => {
    const name = String(req.params.name);
    const body = assets.get(name);
    if (!body) throw new HttpError(404, 'NOT_FOUND', `no asset ${name}`);
    res.set({ 'content-type': ASSETS[name]!, 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff' }).send(body);
  });
  return router;
}

/** The operator routes behind the auth gate: dead letters, plugins, partitions, message search, overview, board, UI. */
export function createOperatorRouter(ctx: EngineContext): Router {
  const router = express.Router();
  const { operations } = ctx;
  const service = new DeadLetterService(ctx.db, ctx.deadLetters, ctx.inbox, ctx.queue, ctx.plugins);
  router.use(createDeadLettersRouter(service, ctx.auth, new DeadLetterDryRun(ctx.deadLetters, ctx.inbox, operations.processor)));
  router.use(createPluginsRouter({ plugins: ctx.plugins, reloads: operations.reloads, db: ctx.db, auth: ctx.auth }));
  router.use(createAdminMessagesRouter({
    db: ctx.db, auth: ctx.auth,
    reprocess: new ReprocessService({ db: ctx.db, inbox: ctx.inbox, queue: ctx.queue, processor: operations.processor, plugins: ctx.plugins }),
  }));
  router.use(createOverviewRouter({ db: ctx.db, queue: ctx.queue, plugins: ctx.plugins, alerts: operations.alerts }));
  router.use(createBoardRouter(ctx.queue, ctx.auth));
  const page = readFileSync(path.join(UI_DIR, 'index.html'));
  router.get('/admin/ui', (_req, res) => {
    res.set({ 'content-type': 'text/html; charset=utf-8', 'content-security-policy': CONSOLE_CSP, 'cache-control': 'no-store', 'x-frame-options': 'DENY' }).send(page);
  });
  return router;
}
