import express, { type Router } from 'express';
import { isMessageId } from '../common/ids.ts';
import type { ProcessQueue } from '../queue/process-queue.ts';
import type { DeadLetterRepository } from '../storage/dead-letter-repository.ts';
import type { InboxRepository } from '../storage/inbox-repository.ts';
import type { MessageState } from '../storage/types.ts';
import { HttpError } from '../server/http-errors.ts';
import { canSeeEnte, principalOf } from './auth.ts';

export interface MessagesRouterDeps {
  inbox: InboxRepository;
  deadLetters: DeadLetterRepository;
  queue: ProcessQueue | undefined;
}

/** GET /messages/:messageId — the message's trail (ARCHITECTURE §5). */
export function createMessagesRouter(deps: MessagesRouterDeps): Router {
  const router = express.Router();
  router.get('/messages/:messageId', async (req, res) => {
    const messageId = String(req.params.messageId);
    if (!isMessageId(messageId)) throw new HttpError(400, 'BAD_MESSAGE_ID', `"${messageId}" is not a message id`);
    const message = await deps.inbox.get(messageId);
    if (!message) throw new HttpError(404, 'MESSAGE_NOT_FOUND', `no message ${messageId}`);
    if (!canSeeEnte(principalOf(res), message.ente)) throw new HttpError(403, 'FORBIDDEN_ENTE', `the token cannot see messages of Ente ${message.ente}`);
    let state: MessageState = message.state;
    if (state === 'received' && deps.queue) {
      const jobState = await deps.queue.jobState(messageId).catch(() => undefined);
      if (jobState === 'active' || (jobState === 'delayed' && message.attempts > 0)) state = 'processing';
    }
    const deadLetter = state === 'dead-lettered' ? await deps.deadLetters.latestForMessage(messageId) : undefined;
    res.json({
      messageId: message.messageId,
      state,
      ente: message.ente,
      pluginId: message.pluginId,
      channel: message.channel,
      receivedAt: message.receivedAt.toISOString(),
      messageType: message.messageType,
      controlId: message.controlId,
      attempts: message.attempts,
      stages: message.trail,
      resources: (message.resources ?? []).map((r) => ({ resourceType: r.resourceType, id: r.id, versionId: r.versionId, outcome: r.outcome })),
      ...(deadLetter
        ? { deadLetter: { id: deadLetter.id, stage: deadLetter.stage, code: deadLetter.errorCode, reason: deadLetter.reason, status: deadLetter.status } }
        : {}),
    });
  });
  return router;
}
