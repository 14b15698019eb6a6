import express, { type Router } from 'express';
import { z } from 'zod';
import { isMessageId } from '../common/ids.ts';
import type { Db } from '../storage/db.ts';
import type { InboxMessage } from '../storage/types.ts';
import { HttpError } from '../server/http-errors.ts';
import { canSeeEnte, principalOf, requireAuth, type Authenticator, type Principal } from './auth.ts';
import { InvalidSearchCursorError, searchMessages } from './message-search.ts';
import { ReprocessError, type ReprocessService } from './reprocess.ts';

const isoDate = z.string().refine((v) => !Number.isNaN(Date.parse(v)), 'an ISO date-time');
const searchSchema = z
  .object({
    plugin: z.string().min(1).max(200).optional(),
    ente: z.string().min(1).max(40).optional(),
    state: z.enum(['received', 'processing', 'stored', 'dead-lettered']).optional(),
    since: isoDate.optional(),
    until: isoDate.optional(),
    controlId: z.string().min(1).max(200).optional(),
    documentId: z.string().min(1).max(300).optional(),
    patientIdentifier: z
      .string()
      .regex(/^[^|]+\|.+$/, 'system|value, e.g. http://hl7.org/fhir/sid/it-cf|RSSMRA80A01H501U')
      .max(400)
      .optional(),
    limit: z.coerce.number().int().min(1).max(500).default(50),
    cursor: z.string().min(1).max(200).optional(),
  })
  .strict();

function badRequest(error: z.ZodError): HttpError {
  return new HttpError(400, 'BAD_REQUEST', error.issues.map((i) => `${i.path.join('.') || 'query'}: ${i.message}`).join('; '));
}

export interface AdminMessagesDeps {
  db: Db;
  auth: Authenticator;
  reprocess: ReprocessService;
}

/** GET /admin/messages (search), GET/POST /admin/messages/:id/reprocess(-preview). */
export function createAdminMessagesRouter(deps: AdminMessagesDeps): Router {
  const router = express.Router();

  router.get('/admin/messages', async (req, res) => {
    const parsed = searchSchema.safeParse(req.query);
    if (!parsed.success) throw badRequest(parsed.error);
    const q = parsed.data;
    const principal = principalOf(res);
    if (q.ente && !canSeeEnte(principal, q.ente)) throw new HttpError(403, 'FORBIDDEN_ENTE', `the token cannot see Ente ${q.ente}`);
    const enti = q.ente ? [q.ente] : principal.enti === '*' ? undefined : principal.enti;
    const separator = q.patientIdentifier?.indexOf('|') ?? -1;
    try {
      const page = await searchMessages(
        deps.db,
        {
          enti, pluginId: q.plugin, state: q.state, controlId: q.controlId, documentId: q.documentId,
          since: q.since ? new Date(q.since) : undefined,
          until: q.until ? new Date(q.until) : undefined,
          patientIdentifier: q.patientIdentifier ? { system: q.patientIdentifier.slice(0, separator), value: q.patientIdentifier.slice(separator + 1) } : undefined,
        },
        q.limit,
        q.cursor,
      );
      res.json(page);
    } catch (error) {
      if (error instanceof InvalidSearchCursorError) throw new HttpError(400, 'BAD_CURSOR', 'the cursor is not valid');
      throw error;
    }
  });

  const loadVisible = async (id: string, principal: Principal): Promise<InboxMessage> => {
    if (!isMessageId(id)) throw new HttpError(400, 'BAD_MESSAGE_ID', `"${id}" is not a message id`);
    try {
      const message = await deps.reprocess.load(id);
      if (!canSeeEnte(principal, message.ente)) throw new HttpError(403, 'FORBIDDEN_ENTE', `the token cannot see messages of Ente ${message.ente}`);
      return message;
    } catch (error) {
      if (error instanceof ReprocessError) throw new HttpError(404, 'MESSAGE_NOT_FOUND', error.message);
      throw error;
    }
  };
  const conflict = (error: unknown): never => {
    if (error instanceof ReprocessError) throw new HttpError(409, error.code, error.message);
    throw error;
  };

  router.get('/admin/messages/:id/reprocess-preview', requireAuth(deps.auth, ['operator', 'author']), async (req, res) => {
    const message = await loadVisible(String(req.params.id), principalOf(res));
    res.json(await deps.reprocess.preview(message).catch(conflict));
  });

  router.post('/admin/messages/:id/reprocess', requireAuth(deps.auth, ['operator']), express.json({ limit: '8kb' }), async (req, res) => {
    const parsed = z.object({ producerHash: z.string().min(1).max(200).optional() }).strict().safeParse(req.body ?? {});
    if (!parsed.success) throw badRequest(parsed.error);
    const principal = principalOf(res);
    const message = await loadVisible(String(req.params.id), principal);
    res.status(202).json(await deps.reprocess.apply(message, principal.id, parsed.data.producerHash).catch(conflict));
  });
  return router;
}
