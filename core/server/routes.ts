import type { Express } from 'express';
import { createEntiRouter, createMessagesRouter, createOperatorRouter, createPublicConsoleRouter, createQueuesRouter, requireAuth, sessionCookieAuth } from '../admin/index.ts';
import { createFhirRouter } from '../fhir-api/index.ts';
import { createIngestRouter } from '../ingest/index.ts';
import { createWorkbenchRouter, WorkbenchService } from '../workbench/index.ts';
import type { EngineContext } from './context.ts';
import { createHealthRouter } from './health.ts';

/** Every HTTP route of ARCHITECTURE §5, mounted per concern. */
export function mountRoutes(app: Express, ctx: EngineContext): void {
  app.use(createHealthRouter(ctx.db, ctx.redis));
  app.use(createIngestRouter(ctx.ingest, ctx.settings.config.ingest.maxBodyBytes));
  app.use(createPublicConsoleRouter(ctx));
  app.use(['/messages', '/admin'], sessionCookieAuth(ctx.auth, ctx.operations.sessions), requireAuth(ctx.auth));
  app.use(createMessagesRouter({ inbox: ctx.inbox, deadLetters: ctx.deadLetters, queue: ctx.queue }));
  app.use(createQueuesRouter(ctx.queue, { db: ctx.db, auth: ctx.auth }));
  app.use(createOperatorRouter(ctx));
  app.use(createEntiRouter({ db: ctx.db, retention: ctx.settings.config.retention, logger: ctx.logger }));
  app.use(createFhirRouter({ db: ctx.db, auth: ctx.auth, logger: ctx.logger }));
  app.use(createWorkbenchRouter({ service: workbenchServiceFor(ctx), auth: ctx.auth, sessions: ctx.operations.sessions }));
}

/** The mapping workbench (issue 7) works on the engine's plugins/ and mappings/ folders with its own registry. */
function workbenchServiceFor(ctx: EngineContext): WorkbenchService {
  const { settings } = ctx;
  return new WorkbenchService({
    pluginsDir: settings.pluginsDir, mappingsDir: settings.mappingsDir, enti: new Set(settings.config.enti.map((e) => e.code)),
    limits: { timeoutMs: settings.config.processing.mappingTimeoutMs, maxDepth: settings.config.processing.mappingMaxDepth },
    validator: ctx.validator, logger: ctx.logger.child({ component: 'workbench' }),
  });
}
