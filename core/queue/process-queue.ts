import { randomUUID } from 'node:crypto';
import { Queue, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { QueueUnavailableError, errorMessage } from '../common/errors.ts';
import { bullPrefix } from './connection.ts';

export const PROCESS_QUEUE = 'process';

/** A message's key: the raw message lives in the inbox. */
export interface MessageKey {
  ente: string;
  messageId: string;
  pluginId: string;
}

/**
 * A job carries the keys of the messages it processes: the messages one ingest flush accepted
 * together, or a single message (re-enqueued by the reconciler, replayed, re-processed). One job per
 * flush rather than per message: Redis and BullMQ's per-job work (three scripts, lock renewals,
 * events) was about 14 % of the CPU of an ADT message (docs/performance.md).
 * A single-message job's id is the message id, so enqueuing a message that already has one is a no-op.
 */
export interface ProcessJobData {
  messages: MessageKey[];
}

/** Jobs enqueued before batch jobs carried one key inline; they are still processed after an upgrade. */
type StoredJobData = ProcessJobData | MessageKey;

/** The message keys of a job, whatever the shape it was enqueued with. */
export function jobMessages(data: StoredJobData): MessageKey[] {
  return 'messages' in data && Array.isArray(data.messages) ? data.messages : [data as MessageKey];
}

/** Job states in which a job will still run (or is running). */
const LIVE_STATES = ['waiting', 'active', 'delayed', 'prioritized', 'waiting-children'] as const;
const isLive = (state: string) => (LIVE_STATES as readonly string[]).includes(state);

/** Most messages per job; a larger ingest flush becomes several jobs, so both workers share it. */
export const MAX_MESSAGES_PER_JOB = 32;

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

  private jobOptions(messages: MessageKey[]): JobsOptions {
    // A lone message's id is its job id: enqueuing the same message twice while it waits is a no-op.
    return { jobId: messages.length === 1 ? messages[0]!.messageId : `batch-${randomUUID()}` };
  }

  /**
   * Adds jobs for the messages, up to MAX_MESSAGES_PER_JOB per job, in one round trip; throws
   * QueueUnavailableError when Redis does not answer (the inbox still has the messages).
   */
  async enqueue(messages: MessageKey[]): Promise<void> {
    if (messages.length === 0) return;
    const jobs = [];
    for (let i = 0; i < messages.length; i += MAX_MESSAGES_PER_JOB) {
      const chunk = messages.slice(i, i + MAX_MESSAGES_PER_JOB);
      jobs.push({ name: chunk.length === 1 ? 'message' : 'messages', data: { messages: chunk }, opts: this.jobOptions(chunk) });
    }
    try {
      await this.queue.addBulk(jobs);
    } catch (error) {
      throw new QueueUnavailableError(`cannot enqueue: ${errorMessage(error)}`, error);
    }
  }

  /**
   * The ids of the messages that have a live job (waiting, active, delayed...): one read of the
   * queue for a reconciler pass, instead of a lookup per message.
   */
  async liveMessageIds(): Promise<Set<string>> {
    const jobs = await this.queue.getJobs([...LIVE_STATES]);
    const ids = new Set<string>();
    for (const job of jobs) if (job?.data) for (const m of jobMessages(job.data)) ids.add(m.messageId);
    return ids;
  }

  /**
   * Makes sure the message has a live job: nothing is done when one is waiting, active or delayed
   * (its own, or a batch job in `live`, from liveMessageIds); a finished job of an earlier run is
   * removed and the message enqueued again. Returns whether a job was added.
   */
  async ensureEnqueued(message: MessageKey, live?: Set<string>): Promise<boolean> {
    if (live?.has(message.messageId)) return false;
    const existing = await this.queue.getJob(message.messageId);
    if (existing) {
      if (isLive(await existing.getState())) return false;
      await existing.remove().catch(() => undefined);
    }
    await this.enqueue([message]);
    return true;
  }

  /** The state of the job that will process (or processed) the message, if one is known. */
  async jobState(messageId: string): Promise<string | undefined> {
    const own = await this.queue.getJob(messageId);
    if (own) return own.getState();
    // A batch job: looked for among the jobs that say something about the message (active, or
    // delayed for a retry); waiting ones say nothing the inbox state does not.
    for (const state of ['active', 'delayed'] as const) {
      const jobs = await this.queue.getJobs([state]);
      if (jobs.some((job) => job?.data && jobMessages(job.data).some((m) => m.messageId === messageId))) return state;
    }
    return undefined;
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
