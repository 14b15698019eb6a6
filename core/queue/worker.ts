import { Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { CdrError, StoreError, errorMessage } from '../common/errors.ts';
import { GroupCommitter } from '../common/group-committer.ts';
import type { Logger } from '../common/logger.ts';
import { isCreateIfAbsent } from '../mapping/mapping-file.ts';
import type { MessageProcessor } from '../pipeline/processor.ts';
import type { Db } from '../storage/db.ts';
import { DeadLetterRepository } from '../storage/dead-letter-repository.ts';
import { InboxRepository } from '../storage/inbox-repository.ts';
import { ResourceStore } from '../storage/resource-store.ts';
import type { InboxMessage, StoreRequest, StoreResult, TrailEntry } from '../storage/types.ts';
import { bullPrefix } from './connection.ts';
import { PROCESS_QUEUE, backoffDelay, jobMessages, type MessageKey, type ProcessJobData, type QueueRetryPolicy } from './process-queue.ts';

export type JobOutcome =
  | { kind: 'stored'; resources: number; ms: number }
  | { kind: 'dead-lettered'; stage: string; code: string; ms: number }
  | { kind: 'skipped'; reason: string };

/** What a job did with its messages; a job that throws is retried (its finished messages are then skipped). */
export interface JobSummary {
  stored: number;
  deadLettered: number;
  skipped: number;
}

export interface OutcomeEvent {
  /** The message this outcome is about. */
  job: MessageKey;
  outcome: JobOutcome;
  receivedAt?: Date;
  /** This run's trail entries (per-stage `ms`), for metrics. */
  trail?: TrailEntry[];
  /** true when an operator asked for this run (replay, re-process): end-to-end latency does not apply. */
  rerun?: boolean;
}

export interface ProcessingWorkerOptions {
  connection: Redis;
  prefix: string;
  concurrency: number;
  policy: QueueRetryPolicy;
  db: Db;
  processor: MessageProcessor;
  logger: Logger;
  batchMaxItems: number;
  lockDurationMs?: number;
  stalledIntervalMs?: number;
  onOutcome?: (event: OutcomeEvent) => void;
}

/**
 * Consumes the "process" queue: loads each message of a job from the inbox, runs it through the
 * pipeline, and either stores its resources or dead-letters it. Loads and stores of a job's messages
 * and of concurrent jobs are grouped into shared round trips and transactions.
 */
export class ProcessingWorker {
  readonly worker: Worker<ProcessJobData, JobSummary>;
  private readonly loader: GroupCommitter<{ ente: string; messageId: string }, InboxMessage | undefined>;
  private readonly storer: GroupCommitter<StoreRequest, StoreResult>;
  private readonly deadLetters: DeadLetterRepository;

  constructor(private readonly options: ProcessingWorkerOptions) {
    const inbox = new InboxRepository(options.db);
    const store = new ResourceStore(options.db);
    this.deadLetters = new DeadLetterRepository(options.db);
    this.loader = new GroupCommitter({
      maxItems: options.batchMaxItems,
      maxConcurrentFlushes: 2,
      flush: async (keys) => {
        const rows = await inbox.getMany(keys);
        const byId = new Map(rows.map((r) => [r.messageId, r]));
        return keys.map((k) => byId.get(k.messageId));
      },
    });
    this.storer = new GroupCommitter({
      maxItems: options.batchMaxItems,
      maxConcurrentFlushes: 2,
      flush: (requests) => store.storeBatch(requests),
      // A data error in one message must not fail the batch it happened to share.
      isolateOnError: (error) => error instanceof CdrError && !error.transient,
    });
    this.worker = new Worker<ProcessJobData, JobSummary>(PROCESS_QUEUE, (job) => this.handle(job), {
      connection: options.connection,
      prefix: bullPrefix(options.prefix),
      concurrency: options.concurrency,
      autorun: false,
      ...(options.lockDurationMs ? { lockDuration: options.lockDurationMs } : {}),
      ...(options.stalledIntervalMs ? { stalledInterval: options.stalledIntervalMs } : {}),
      settings: { backoffStrategy: (attemptsMade: number) => backoffDelay(attemptsMade, options.policy) },
    });
    this.worker.on('error', (error) => options.logger.warn({ err: errorMessage(error) }, 'worker connection error'));
    this.worker.on('failed', (job, error) => {
      if (!job) return;
      const messageIds = job.data ? jobMessages(job.data).map((m) => m.messageId) : [];
      options.logger.warn({ messageIds, attempt: job.attemptsMade, err: errorMessage(error) }, 'job failed, will retry if attempts remain');
    });
  }

  start(): void {
    void this.worker.run().catch((error) => this.options.logger.error({ err: errorMessage(error) }, 'worker stopped'));
  }

  /**
   * Processes every message of the job. A transient failure of any of them (database or Redis away)
   * fails the job after the others are done, so BullMQ retries it with backoff; the messages already
   * stored or dead-lettered are then skipped. On the last attempt the failing messages are
   * dead-lettered instead.
   */
  async handle(job: Job<ProcessJobData, JobSummary>): Promise<JobSummary> {
    const attempt = job.attemptsMade + 1;
    const lastAttempt = attempt >= (job.opts.attempts ?? this.options.policy.attempts);
    const settled = await Promise.allSettled(jobMessages(job.data).map((key) => this.handleMessage(key, attempt, lastAttempt)));
    const summary: JobSummary = { stored: 0, deadLettered: 0, skipped: 0 };
    let failure: unknown;
    for (const result of settled) {
      if (result.status === 'rejected') failure ??= result.reason;
      else if (result.value.kind === 'stored') summary.stored++;
      else if (result.value.kind === 'dead-lettered') summary.deadLettered++;
      else summary.skipped++;
    }
    if (failure !== undefined) throw failure;
    return summary;
  }

  /** One message of a job: stored, dead-lettered, skipped (already finished), or a transient error thrown. */
  private async handleMessage(key: MessageKey, attempt: number, lastAttempt: boolean): Promise<JobOutcome> {
    const started = performance.now();
    const message = await this.loader.submit({ ente: key.ente, messageId: key.messageId });
    if (!message) return this.report(key, { kind: 'skipped', reason: 'not in the inbox' });
    if (message.state === 'stored' || message.state === 'dead-lettered') {
      // Redelivery after a crash between commit and job completion, a retried batch, or a reconciler race: already done.
      return this.report(key, { kind: 'skipped', reason: `already ${message.state}` }, message);
    }
    let trail: TrailEntry[] = [];
    let producerHash: string | undefined;
    try {
      const result = await this.options.processor.process({
        messageId: message.messageId, ente: message.ente, pluginId: message.pluginId, raw: message.raw, receivedAt: message.receivedAt,
      });
      trail = result.trail;
      producerHash = result.plugin?.producerHash;
      if (!result.ok) {
        await this.deadLetters.record({
          ente: message.ente, messageId: message.messageId, pluginId: message.pluginId, stage: result.error.stage, errorCode: result.error.code,
          reason: result.error.message, details: result.error.details, attempts: attempt, producerHash, trail,
        });
        return this.report(key, { kind: 'dead-lettered', stage: result.error.stage, code: result.error.code, ms: performance.now() - started }, message, trail);
      }
      const stored = await this.storer.submit({
        ente: message.ente, messageId: message.messageId, producerHash: result.plugin.producerHash, sourceTime: result.sourceTime,
        resources: result.resources, createIfAbsent: result.resources.map(isCreateIfAbsent), trail, attempts: attempt,
      });
      return this.report(key, { kind: 'stored', resources: stored.resources.length, ms: performance.now() - started }, message, trail);
    } catch (error) {
      const permanent = error instanceof CdrError && !error.transient;
      if (permanent || lastAttempt) {
        const cdr = error instanceof CdrError
          ? error
          : new StoreError(errorMessage(error), { code: 'UNEXPECTED', kind: 'transient', cause: error });
        const reason = permanent ? cdr.message : `gave up after ${attempt} attempts: ${cdr.message}`;
        // If even this write fails, the job fails and the reconciler brings the message back later.
        await this.deadLetters.record({
          ente: message.ente, messageId: message.messageId, pluginId: message.pluginId, stage: cdr.stage, errorCode: cdr.code,
          reason, details: cdr.details, attempts: attempt, producerHash, trail,
        });
        return this.report(key, { kind: 'dead-lettered', stage: cdr.stage, code: cdr.code, ms: performance.now() - started }, message, trail);
      }
      throw error;
    }
  }

  private report(key: MessageKey, outcome: JobOutcome, message?: InboxMessage, trail?: TrailEntry[]): JobOutcome {
    this.options.onOutcome?.({
      job: key, outcome,
      ...(message ? { receivedAt: message.receivedAt, rerun: message.trail.some((e) => e.stage.endsWith('-requested')) } : {}),
      ...(trail ? { trail } : {}),
    });
    return outcome;
  }

  /** Stops taking jobs and waits for the ones in flight (graceful shutdown). */
  async close(force = false): Promise<void> {
    await this.worker.close(force);
    await this.storer.drain();
  }
}
