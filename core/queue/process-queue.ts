import { Queue, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { QueueUnavailableError, errorMessage } from '../common/errors.ts';
import { bullPrefix } from './connection.ts';

export const PROCESS_QUEUE = 'process';

/** The job carries only the message's key: the raw message lives in the inbox. */
export interface ProcessJobData {
  ente: string;
  messageId: string;
  pluginId: string;
}

export interface QueueRetryPolicy {
  attempts: number;
  backoffDelayMs: number;
  backoffMaxDelayMs: number;
}

export interface QueueCounts {
  name: string;
  waiting: number;
  active: number;
  delayed: number;
  completed: number;
  failed: number;
  paused: number;
  isPaused: boolean;
}

/** Exponential backoff with full jitter, capped: retries of many messages do not come back in lockstep. */
export function backoffDelay(attemptsMade: number, policy: QueueRetryPolicy, random = Math.random): number {
  const exponential = Math.min(policy.backoffMaxDelayMs, policy.backoffDelayMs * 2 ** Math.max(0, attemptsMade - 1));
  return Math.round(exponential / 2 + random() * (exponential / 2));
}

export class ProcessQueue {
  readonly queue: Queue<ProcessJobData>;

  constructor(connection: Redis, prefix: string, private readonly policy: QueueRetryPolicy) {
    this.queue = new Queue<ProcessJobData>(PROCESS_QUEUE, {
      connection,
      prefix: bullPrefix(prefix),
      defaultJobOptions: {
        attempts: policy.attempts,
        backoff: { type: 'cdr' },
        removeOnComplete: { count: 1000 },
        removeOnFail: { count: 5000 },
      },
    });
    this.queue.on('error', () => undefined);
  }

  private jobOptions(data: ProcessJobData): JobsOptions {
    // The message id is the job id: enqueuing the same message twice while it waits is a no-op.
    return { jobId: data.messageId };
  }

  /** Adds jobs; throws QueueUnavailableError when Redis does not answer (the inbox still has the messages). */
  async enqueue(jobs: ProcessJobData[]): Promise<void> {
    if (jobs.length === 0) return;
    try {
      await this.queue.addBulk(jobs.map((data) => ({ name: 'message', data, opts: this.jobOptions(data) })));
    } catch (error) {
      throw new QueueUnavailableError(`cannot enqueue: ${errorMessage(error)}`, error);
    }
  }

  /**
   * Makes sure the message has a live job: nothing is done when one is waiting, active or delayed;
   * a finished job of an earlier run is removed and the message enqueued again. Returns whether a job was added.
   */
  async ensureEnqueued(data: ProcessJobData): Promise<boolean> {
    const existing = await this.queue.getJob(data.messageId);
    if (existing) {
      const state = await existing.getState();
      if (state === 'waiting' || state === 'active' || state === 'delayed' || state === 'prioritized' || state === 'waiting-children') return false;
      await existing.remove().catch(() => undefined);
    }
    await this.enqueue([data]);
    return true;
  }

  async jobState(messageId: string): Promise<string | undefined> {
    const job = await this.queue.getJob(messageId);
    return job ? job.getState() : undefined;
  }

  async counts(): Promise<QueueCounts> {
    const [counts, isPaused] = await Promise.all([
      this.queue.getJobCounts('waiting', 'active', 'delayed', 'completed', 'failed', 'prioritized'),
      this.queue.isPaused(),
    ]);
    const waiting = (counts.waiting ?? 0) + (counts.prioritized ?? 0);
    return {
      name: PROCESS_QUEUE,
      waiting,
      active: counts.active ?? 0,
      delayed: counts.delayed ?? 0,
      completed: counts.completed ?? 0,
      failed: counts.failed ?? 0,
      // BullMQ keeps paused jobs in the wait list: they are the waiting ones while the queue is paused.
      paused: isPaused ? waiting : 0,
      isPaused,
    };
  }

  get retryPolicy(): QueueRetryPolicy {
    return this.policy;
  }

  async close(): Promise<void> {
    await this.queue.close();
  }
}
