import type { Express } from 'express';
import { createDeadLettersRouter, createMessagesRouter, createPluginsRouter, createQueuesRouter, DeadLetterService, requireAuth } from '../admin/index.ts';
import { createIngestRouter } from '../ingest/index.ts';
import type { EngineContext } from './context.ts';
import { createHealthRouter } from './health.ts';

/** Every HTTP route of ARCHITECTURE §5, mounted per concern. */
export function mountRoutes(app: Express, ctx: EngineContext): void {
  app.use(createHealthRouter(ctx.db, ctx.redis));
  app.use(createIngestRouter(ctx.ingest, ctx.settings.config.ingest.maxBodyBytes));
  app.use(['/messages', '/admin'], requireAuth(ctx.auth));
  app.use(createMessagesRouter({ inbox: ctx.inbox, deadLetters: ctx.deadLetters, queue: ctx.queue }));
  app.use(createQueuesRouter(ctx.queue));
  app.use(createDeadLettersRouter(new DeadLetterService(ctx.db, ctx.deadLetters, ctx.inbox, ctx.queue, ctx.plugins), ctx.auth));
  app.use(createPluginsRouter(ctx.plugins));
}
