import { errorMessage } from '../common/errors.ts';
import type { Logger } from '../common/logger.ts';
import type { InboxRepository } from '../storage/inbox-repository.ts';
import type { ProcessQueue } from './process-queue.ts';

export interface ReconcilerOptions {
  inbox: InboxRepository;
  queue: ProcessQueue;
  logger: Logger;
  /** A message older than this, neither stored nor dead-lettered, is checked for a live job. */
  olderThanMs: number;
  intervalMs: number;
  batchSize?: number;
}

/**
 * The inbox is the source of truth; Redis is not. Periodically, every accepted message that is
 * neither stored nor dead-lettered must have a live job, and gets one if it has not (a Redis that
 * lost its data, an enqueue that failed after the inbox commit).
 */
export class Reconciler {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<number> | undefined;

  constructor(private readonly options: ReconcilerOptions) {}

  start(): void {
    this.timer = setInterval(() => void this.runOnce().catch(() => undefined), this.options.intervalMs);
    this.timer.unref();
  }

  /** One pass; returns how many messages were re-enqueued. */
  async runOnce(): Promise<number> {
    if (this.running) return this.running;
    this.running = this.pass().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async pass(): Promise<number> {
    let requeued = 0;
    try {
      const pending = await this.options.inbox.listUnfinished(this.options.olderThanMs, this.options.batchSize ?? 1000);
      // Messages waiting in a backed-up queue are in batch jobs: read those once, not per message.
      const live = pending.length > 0 ? await this.options.queue.liveMessageIds() : new Set<string>();
      for (const message of pending) {
        if (await this.options.queue.ensureEnqueued(message, live)) requeued++;
      }
      if (requeued > 0) this.options.logger.warn({ requeued }, 'reconciler re-enqueued messages that had no live job');
    } catch (error) {
      this.options.logger.warn({ err: errorMessage(error) }, 'reconciler pass failed; will try again');
    }
    return requeued;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
