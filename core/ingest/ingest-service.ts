import { CdrError, ReceiveError, errorMessage } from '../common/errors.ts';
import { GroupCommitter } from '../common/group-committer.ts';
import { sha256Hex } from '../common/hash.ts';
import { newMessageId } from '../common/ids.ts';
import type { Logger } from '../common/logger.ts';
import { parseHl7Timestamp } from '../common/time.ts';
import { formatParser } from '../parse/index.ts';
import type { PluginRegistry } from '../plugins/registry.ts';
import type { MessageKey, ProcessQueue } from '../queue/process-queue.ts';
import type { Db } from '../storage/db.ts';
import { DeadLetterRepository } from '../storage/dead-letter-repository.ts';
import type { InboxRepository } from '../storage/inbox-repository.ts';
import type { Channel, InboxAcceptResult, NewInboxMessage } from '../storage/types.ts';

export interface IngestRequest {
  pluginId: string;
  raw: Buffer;
  channel: Channel;
  contentType?: string | undefined;
}

export interface IngestResult {
  messageId: string;
  ente: string;
  pluginId: string;
  /** An identical message (same source id and bytes) was already accepted: this is its id. */
  duplicate: boolean;
  /** false when the queue did not answer; the reconciler will enqueue it from the inbox. */
  enqueued: boolean;
}

/** Ente and plugin ids of messages no plugin claims (kept in the default inbox partition). */
export const UNASSIGNED_ENTE = '_unassigned';
export const UNROUTED_PLUGIN = '_unrouted';

export interface IngestServiceOptions {
  db: Db;
  plugins: PluginRegistry;
  inbox: InboxRepository;
  queue: ProcessQueue | undefined;
  logger: Logger;
  maxBodyBytes: number;
  batchMaxItems?: number;
  onAccepted?: (result: IngestResult, bytes: number) => void;
}

/**
 * Accepting a message = committing its raw bytes to the inbox. Only after that commit does the
 * sender get its acknowledgement; the job is enqueued next, and a failed enqueue is repaired by the
 * reconciler, so an accepted message is never lost.
 */
export class IngestService {
  private readonly inboxWriter: GroupCommitter<NewInboxMessage, InboxAcceptResult>;
  private readonly enqueuer: GroupCommitter<MessageKey, boolean>;

  constructor(private readonly options: IngestServiceOptions) {
    this.inboxWriter = new GroupCommitter({
      maxItems: options.batchMaxItems ?? 200,
      maxConcurrentFlushes: 2,
      flush: (messages) => options.inbox.acceptBatch(messages),
    });
    this.enqueuer = new GroupCommitter({
      maxItems: options.batchMaxItems ?? 200,
      maxConcurrentFlushes: 2,
      // The messages of one flush become one job (or a few): see ProcessQueue.enqueue.
      flush: async (messages) => {
        if (!options.queue) return messages.map(() => false);
        try {
          await options.queue.enqueue(messages);
          return messages.map(() => true);
        } catch (error) {
          options.logger.warn({ err: errorMessage(error), count: messages.length }, 'enqueue failed; the reconciler will enqueue these messages');
          return messages.map(() => false);
        }
      },
    });
  }

  /** Checks a request before anything is written; throws ReceiveError (nothing accepted). */
  private precheck(request: IngestRequest) {
    const summary = this.options.plugins.summary(request.pluginId);
    if (!summary) {
      throw new ReceiveError(`unknown plugin "${request.pluginId}"`, { code: 'RECEIVE_UNKNOWN_PLUGIN' });
    }
    const plugin = this.options.plugins.get(request.pluginId);
    if (!plugin) {
      throw new ReceiveError(
        `plugin "${request.pluginId}" is ${summary.status}${summary.errors.length ? `: ${summary.errors.map((e) => `${e.file}${e.field ? ` ${e.field}` : ''}: ${e.message}`).join('; ')}` : ''}`,
        { code: 'RECEIVE_PLUGIN_UNAVAILABLE', kind: 'transient' },
      );
    }
    if (request.raw.length === 0 || request.raw.every((b) => b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09 || b === 0x0b || b === 0x1c)) {
      throw new ReceiveError('the message body is empty', { code: 'RECEIVE_EMPTY' });
    }
    if (request.raw.length > this.options.maxBodyBytes) {
      throw new ReceiveError(`the message is ${request.raw.length} bytes, over the limit of ${this.options.maxBodyBytes}`, { code: 'RECEIVE_TOO_LARGE' });
    }
    return plugin;
  }

  async accept(request: IngestRequest): Promise<IngestResult> {
    const plugin = this.precheck(request);
    const envelope = formatParser(plugin.manifest.format).envelope(request.raw);
    const sourceTime = envelope.sourceTime ? (parseHl7Timestamp(envelope.sourceTime, plugin.manifest.timeZone)?.instant ?? null) : null;
    const messageId = newMessageId();
    const rawSha256 = sha256Hex(request.raw);
    const accepted = await this.inboxWriter.submit({
      ente: plugin.manifest.ente,
      messageId,
      pluginId: plugin.id,
      channel: request.channel,
      raw: request.raw,
      rawSha256,
      contentType: request.contentType,
      // The same source message id with the same bytes is a redelivery; a reused id with other content is not.
      dedupKey: `${envelope.sourceMessageId ?? ''}#${rawSha256}`,
      messageType: envelope.routeKey,
      controlId: envelope.sourceMessageId,
      sourceTime,
    });
    const result: IngestResult = { messageId: accepted.messageId, ente: plugin.manifest.ente, pluginId: plugin.id, duplicate: accepted.duplicate, enqueued: false };
    if (!accepted.duplicate) {
      result.enqueued = await this.enqueuer.submit({ ente: result.ente, messageId: result.messageId, pluginId: plugin.id });
    }
    this.options.onAccepted?.(result, request.raw.length);
    return result;
  }

  /**
   * A message that cannot be given to any plugin (unknown sender, unreadable header, empty MLLP
   * frame): its bytes are still kept — inbox row and dead letter in one transaction — so an operator
   * can see it, and replay it once a plugin claims that sender.
   */
  async acceptUnroutable(raw: Buffer, channel: Channel, error: CdrError): Promise<IngestResult> {
    const deadLetters = new DeadLetterRepository(this.options.db);
    const messageId = newMessageId();
    const accepted = await this.options.db.transaction(async (tx) => {
      const [result] = await this.options.inbox.acceptBatch(
        [{ ente: UNASSIGNED_ENTE, messageId, pluginId: UNROUTED_PLUGIN, channel, raw, dedupKey: `#${sha256Hex(raw)}` }],
        tx,
      );
      if (!result!.duplicate) {
        await deadLetters.recordIn(tx, {
          ente: UNASSIGNED_ENTE, messageId, pluginId: UNROUTED_PLUGIN, stage: error.stage, errorCode: error.code, reason: error.message,
          details: error.details, attempts: 0, trail: [],
        });
      }
      return result!;
    });
    return { messageId: accepted.messageId, ente: UNASSIGNED_ENTE, pluginId: UNROUTED_PLUGIN, duplicate: accepted.duplicate, enqueued: false };
  }

  /**
   * Accepts a body that may hold several messages (an HL7 batch, an XML export with a record path):
   * each becomes its own inbox message, so one bad record never blocks the others.
   */
  async acceptAll(request: IngestRequest): Promise<IngestResult[]> {
    const plugin = this.precheck(request);
    const parser = formatParser(plugin.manifest.format);
    const parts = parser.split ? parser.split(request.raw, plugin.manifest) : [request.raw];
    if (parts.length <= 1) return [await this.accept(request)];
    return Promise.all(parts.map((raw) => this.accept({ ...request, raw })));
  }

  async drain(): Promise<void> {
    await this.inboxWriter.drain();
    await this.enqueuer.drain();
  }
}
