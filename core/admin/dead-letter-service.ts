import { CdrError } from '../common/errors.ts';
import { UNROUTED_PLUGIN } from '../ingest/ingest-service.ts';
import { formatParser } from '../parse/index.ts';
import type { PluginRegistry } from '../plugins/registry.ts';
import type { ProcessQueue } from '../queue/process-queue.ts';
import { writeAudit } from '../storage/audit.ts';
import type { Db } from '../storage/db.ts';
import type { DeadLetterFilter, DeadLetterRepository, Page } from '../storage/dead-letter-repository.ts';
import type { InboxRepository } from '../storage/inbox-repository.ts';
import type { DeadLetter, TrailEntry } from '../storage/types.ts';

export class DeadLetterNotFoundError extends CdrError {
  constructor(id: string) {
    super(`no dead letter ${id}`, { stage: 'receive', kind: 'permanent', code: 'DEAD_LETTER_NOT_FOUND' });
  }
}

export class DeadLetterStateError extends CdrError {
  constructor(message: string) {
    super(message, { stage: 'receive', kind: 'permanent', code: 'DEAD_LETTER_NOT_OPEN' });
  }
}

export interface DeadLetterDetail extends DeadLetter {
  /** The raw message as received, base64 (exact bytes) and as text for reading. */
  raw: { base64: string; text: string; bytes: number; contentType: string | null };
  receivedAt: Date;
  messageType: string | null;
  controlId: string | null;
  trail: TrailEntry[];
}

export interface ReplayResult {
  deadLetterId: string;
  messageId: string;
  enqueued: boolean;
}

/**
 * Operating the dead-letter queue: browse, inspect, replay (from the raw bytes, with the current
 * plugin and mappings), discard. Every change is audited.
 */
export class DeadLetterService {
  constructor(
    private readonly db: Db,
    private readonly deadLetters: DeadLetterRepository,
    private readonly inbox: InboxRepository,
    private readonly queue: ProcessQueue | undefined,
    private readonly plugins?: PluginRegistry,
  ) {}

  /** An unroutable message (no plugin claimed its sender) is given to the plugin that claims it now, if any. */
  private async reroute(deadLetter: DeadLetter): Promise<{ ente: string; pluginId: string }> {
    if (deadLetter.pluginId !== UNROUTED_PLUGIN) return { ente: deadLetter.ente, pluginId: deadLetter.pluginId };
    const message = await this.inbox.get(deadLetter.messageId);
    const envelope = message ? formatParser('hl7v2').envelope(message.raw) : undefined;
    const plugin = envelope ? this.plugins?.findBySource(envelope.sendingApplication, envelope.sendingFacility) : undefined;
    if (!plugin) {
      throw new DeadLetterStateError(
        `no plugin claims this message yet (MSH-3 "${envelope?.sendingApplication ?? ''}", MSH-4 "${envelope?.sendingFacility ?? ''}"): add or fix a plugin's "source" first`,
      );
    }
    return { ente: plugin.manifest.ente, pluginId: plugin.id };
  }

  list(filter: DeadLetterFilter, limit: number, cursor?: string): Promise<Page<DeadLetter>> {
    return this.deadLetters.list(filter, limit, cursor);
  }

  async get(id: string): Promise<DeadLetter> {
    const deadLetter = await this.deadLetters.get(id);
    if (!deadLetter) throw new DeadLetterNotFoundError(id);
    return deadLetter;
  }

  async detail(id: string): Promise<DeadLetterDetail> {
    const deadLetter = await this.get(id);
    const message = await this.inbox.get(deadLetter.messageId);
    if (!message) throw new DeadLetterNotFoundError(id);
    return {
      ...deadLetter,
      raw: { base64: message.raw.toString('base64'), text: message.raw.toString('utf8'), bytes: message.raw.length, contentType: message.contentType },
      receivedAt: message.receivedAt,
      messageType: message.messageType,
      controlId: message.controlId,
      trail: message.trail,
    };
  }

  /** Puts the message back to 'received' and enqueues it; the dead letter becomes 'replayed'. */
  async replay(id: string, actor: string): Promise<ReplayResult> {
    const deadLetter = await this.get(id);
    if (deadLetter.status !== 'open') throw new DeadLetterStateError(`dead letter ${id} is ${deadLetter.status}, not open`);
    const target = await this.reroute(deadLetter);
    await this.db.transaction(async (tx) => {
      const changed = await this.deadLetters.markResolved(tx, id, 'replayed', actor);
      if (!changed) throw new DeadLetterStateError(`dead letter ${id} was resolved by someone else meanwhile`);
      if (target.pluginId !== deadLetter.pluginId) await this.inbox.reassign(tx, deadLetter.messageId, target.ente, target.pluginId);
      await this.inbox.resetForReplay(tx, target.ente, deadLetter.messageId, {
        stage: 'replay-requested', at: new Date().toISOString(), ok: true, info: { by: actor, deadLetterId: id },
      });
      await writeAudit(tx, { actor, action: 'dead-letter.replay', target: id, ente: deadLetter.ente, details: { messageId: deadLetter.messageId } });
    });
    let enqueued = false;
    if (this.queue) {
      // If Redis does not answer, the reconciler enqueues it later: the inbox row is 'received' again.
      enqueued = await this.queue
        .ensureEnqueued({ ente: target.ente, messageId: deadLetter.messageId, pluginId: target.pluginId })
        .catch(() => false);
    }
    return { deadLetterId: id, messageId: deadLetter.messageId, enqueued };
  }

  /** Replays every open dead letter matching the filter (oldest first, at most `max`). */
  async replayMatching(filter: DeadLetterFilter, actor: string, max = 10_000): Promise<ReplayResult[]> {
    const matches = await this.deadLetters.listIds({ ...filter, status: 'open' }, max);
    const results: ReplayResult[] = [];
    for (const deadLetter of matches) {
      try {
        results.push(await this.replay(deadLetter.id, actor));
      } catch (error) {
        if (!(error instanceof DeadLetterStateError)) throw error;
      }
    }
    return results;
  }

  /** Discards a dead letter: it leaves the open list; the raw message stays in the inbox; audited. */
  async discard(id: string, actor: string, reason?: string): Promise<DeadLetter> {
    const deadLetter = await this.get(id);
    if (deadLetter.status !== 'open') throw new DeadLetterStateError(`dead letter ${id} is ${deadLetter.status}, not open`);
    await this.db.transaction(async (tx) => {
      const changed = await this.deadLetters.markResolved(tx, id, 'discarded', actor);
      if (!changed) throw new DeadLetterStateError(`dead letter ${id} was resolved by someone else meanwhile`);
      await writeAudit(tx, { actor, action: 'dead-letter.discard', target: id, ente: deadLetter.ente, details: { messageId: deadLetter.messageId, reason: reason ?? null } });
    });
    return this.get(id);
  }
}
