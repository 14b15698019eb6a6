import express, { type Router } from 'express';
import { z } from 'zod';
import { InvalidCursorError, type DeadLetterFilter } from '../storage/dead-letter-repository.ts';
import type { DeadLetter } from '../storage/types.ts';
import { HttpError } from '../server/http-errors.ts';
import { canSeeEnte, principalOf, requireAuth, type Authenticator, type Principal } from './auth.ts';
import { DeadLetterNotFoundError, DeadLetterStateError, type DeadLetterService, type ReplayResult } from './dead-letter-service.ts';
import type { DeadLetterDryRun } from './dry-run.ts';

const isoDate = z.string().refine((v) => !Number.isNaN(Date.parse(v)), 'an ISO date-time');
const filterSchema = z
  .object({
    plugin: z.string().min(1).optional(),
    stage: z.enum(['receive', 'parse', 'route', 'hook', 'map', 'validate', 'store']).optional(),
    code: z.string().min(1).optional(),
    ente: z.string().min(1).optional(),
    since: isoDate.optional(),
    until: isoDate.optional(),
  })
  .strict();
const listSchema = filterSchema.extend({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.string().min(1).optional(),
  status: z.enum(['open', 'replayed', 'discarded']).optional(),
});
const uuid = z.string().uuid();

function badRequest(error: z.ZodError): HttpError {
  return new HttpError(400, 'BAD_REQUEST', error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '));
}

/** The Enti a request may touch: the token's, narrowed by an explicit ?ente=. */
function scopeEnti(principal: Principal, ente: string | undefined): string[] | undefined {
  if (ente) {
    if (!canSeeEnte(principal, ente)) throw new HttpError(403, 'FORBIDDEN_ENTE', `the token cannot see Ente ${ente}`);
    return [ente];
  }
  return principal.enti === '*' ? undefined : principal.enti;
}

function toFilter(query: z.infer<typeof filterSchema>, enti: string[] | undefined): DeadLetterFilter {
  return {
    ente: enti,
    pluginId: query.plugin,
    stage: query.stage,
    errorCode: query.code,
    since: query.since ? new Date(query.since) : undefined,
    until: query.until ? new Date(query.until) : undefined,
  };
}

function view(d: DeadLetter) {
  return {
    id: d.id, messageId: d.messageId, ente: d.ente, pluginId: d.pluginId, stage: d.stage, code: d.errorCode, reason: d.reason,
    attempts: d.attempts, mappingVersion: d.producerHash, createdAt: d.createdAt.toISOString(), status: d.status,
    resolvedAt: d.resolvedAt?.toISOString() ?? null, resolvedBy: d.resolvedBy,
  };
}

/** /admin/dead-letters routes (ARCHITECTURE §5); reads need any role, changes need operator (or admin). */
export function createDeadLettersRouter(service: DeadLetterService, auth: Authenticator, dryRun?: DeadLetterDryRun): Router {
  const router = express.Router();
  const operator = requireAuth(auth, ['operator']);
  const dryRunSchema = filterSchema.extend({ max: z.number().int().min(1).max(10_000).default(1000) });

  const loadVisible = async (id: string, principal: Principal) => {
    if (!uuid.safeParse(id).success) throw new HttpError(400, 'BAD_DEAD_LETTER_ID', `"${id}" is not a dead-letter id`);
    try {
      const deadLetter = await service.get(id);
      if (!canSeeEnte(principal, deadLetter.ente)) throw new HttpError(403, 'FORBIDDEN_ENTE', `the token cannot see Ente ${deadLetter.ente}`);
      return deadLetter;
    } catch (error) {
      if (error instanceof DeadLetterNotFoundError) throw new HttpError(404, 'DEAD_LETTER_NOT_FOUND', error.message);
      throw error;
    }
  };

  router.get('/admin/dead-letters', async (req, res) => {
    const parsed = listSchema.safeParse(req.query);
    if (!parsed.success) throw badRequest(parsed.error);
    const principal = principalOf(res);
    const filter = { ...toFilter(parsed.data, scopeEnti(principal, parsed.data.ente)), status: parsed.data.status };
    try {
      const page = await service.list(filter, parsed.data.limit, parsed.data.cursor);
      res.json({ items: page.items.map(view), next: page.next });
    } catch (error) {
      if (error instanceof InvalidCursorError) throw new HttpError(400, 'BAD_CURSOR', 'the cursor is not valid');
      throw error;
    }
  });

  router.get('/admin/dead-letters/:id', async (req, res) => {
    await loadVisible(String(req.params.id), principalOf(res));
    const detail = await service.detail(String(req.params.id));
    res.json({
      ...view(detail),
      details: detail.details,
      receivedAt: detail.receivedAt.toISOString(),
      messageType: detail.messageType,
      controlId: detail.controlId,
      raw: detail.raw,
      stages: detail.trail,
    });
  });

  // Fix with confidence: the current plugin over the matching dead letters, nothing written (authors may run it too).
  router.post('/admin/dead-letters/dry-run', requireAuth(auth, ['operator', 'author']), express.json({ limit: '64kb' }), async (req, res) => {
    if (!dryRun) throw new HttpError(503, 'DRY_RUN_UNAVAILABLE', 'this process cannot run the pipeline');
    const parsed = dryRunSchema.safeParse(req.body ?? {});
    if (!parsed.success) throw badRequest(parsed.error);
    const principal = principalOf(res);
    res.json(await dryRun.run(toFilter(parsed.data, scopeEnti(principal, parsed.data.ente)), parsed.data.max));
  });

  router.post('/admin/dead-letters/replay', operator, express.json({ limit: '64kb' }), async (req, res) => {
    const parsed = filterSchema
      .extend({ max: z.number().int().min(1).max(100_000).optional(), onlyPassing: z.boolean().optional() })
      .safeParse(req.body ?? {});
    if (!parsed.success) throw badRequest(parsed.error);
    const principal = principalOf(res);
    const filter = toFilter(parsed.data, scopeEnti(principal, parsed.data.ente));
    if (!parsed.data.onlyPassing) {
      const results = await service.replayMatching(filter, principal.id, parsed.data.max);
      return res.status(202).json({ replayed: results.length, items: results });
    }
    // Replay only what a dry run says would now be stored; the others stay open with their reason.
    if (!dryRun) throw new HttpError(503, 'DRY_RUN_UNAVAILABLE', 'this process cannot run the pipeline');
    const report = await dryRun.run(filter, Math.min(parsed.data.max ?? 1000, 10_000));
    const results: ReplayResult[] = [];
    for (const item of report.items) {
      if (item.outcome !== 'would-store') continue;
      try {
        results.push(await service.replay(item.deadLetterId, principal.id));
      } catch (error) {
        if (!(error instanceof DeadLetterStateError)) throw error;
      }
    }
    res.status(202).json({ replayed: results.length, items: results, stillFail: report.stillFail, failures: report.failures });
  });

  router.post('/admin/dead-letters/:id/replay', operator, async (req, res) => {
    const principal = principalOf(res);
    await loadVisible(String(req.params.id), principal);
    try {
      res.status(202).json(await service.replay(String(req.params.id), principal.id));
    } catch (error) {
      if (error instanceof DeadLetterStateError) throw new HttpError(409, error.code, error.message);
      throw error;
    }
  });

  router.delete('/admin/dead-letters/:id', operator, async (req, res) => {
    const principal = principalOf(res);
    await loadVisible(String(req.params.id), principal);
    const reason = typeof req.query.reason === 'string' ? req.query.reason.slice(0, 500) : undefined;
    try {
      res.json(view(await service.discard(String(req.params.id), principal.id, reason)));
    } catch (error) {
      if (error instanceof DeadLetterStateError) throw new HttpError(409, error.code, error.message);
      throw error;
    }
  });
  return router;
}
