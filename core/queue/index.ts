export { ProcessQueue, PROCESS_QUEUE, MAX_MESSAGES_PER_JOB, backoffDelay, jobMessages, type MessageKey, type ProcessJobData, type QueueCounts, type QueueRetryPolicy } from './process-queue.ts';
export { ProcessingWorker, type ProcessingWorkerOptions, type JobOutcome, type JobSummary, type OutcomeEvent } from './worker.ts';
export { Reconciler, type ReconcilerOptions } from './reconciler.ts';
export { bullPrefix, producerConnection, workerConnection } from './connection.ts';
export { ensureRedis, pingRedis, RedisNotAvailableError, DEFAULT_REDIS_URL, type EnsuredRedis } from './redis-server.ts';
