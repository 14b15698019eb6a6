import { z } from 'zod';

/** Ente codes become partition-table suffixes, so they are restricted to safe identifier characters. */
export const enteCodeSchema = z
  .string()
  .regex(/^[A-Za-z0-9_]{1,40}$/, 'an Ente code is 1-40 letters, digits or underscores');

export const enteSchema = z.object({
  code: enteCodeSchema,
  name: z.string().min(1),
  type: z.string().optional(),
});

export const engineConfigSchema = z.object({
  $comment: z.string().optional(),
  enti: z.array(enteSchema).min(1),
  ingest: z
    .object({
      maxBodyBytes: z.number().int().positive().default(32 * 1024 * 1024),
    })
    .prefault({}),
  queue: z
    .object({
      attempts: z.number().int().min(1).default(8),
      backoffDelayMs: z.number().int().min(0).default(1000),
      backoffMaxDelayMs: z.number().int().min(0).default(60000),
      jobTimeoutMs: z.number().int().positive().default(30000),
      /** A job whose worker stops renewing its lock for this long (process killed) is handed to another worker. */
      lockDurationMs: z.number().int().positive().default(30000),
      stalledIntervalMs: z.number().int().positive().default(15000),
      /** Reconciler: how often it runs, and how old an unfinished message must be before it is checked. */
      reconcileIntervalMs: z.number().int().positive().default(30000),
      reconcileOlderThanMs: z.number().int().positive().default(60000),
    })
    .prefault({}),
  processing: z
    .object({
      defaultTimeZone: z.string().default('Europe/Rome'),
      mappingTimeoutMs: z.number().int().positive().default(2000),
      mappingMaxDepth: z.number().int().positive().default(500),
    })
    .prefault({}),
  storage: z
    .object({
      batchMaxItems: z.number().int().positive().default(200),
    })
    .prefault({}),
  /** Operator alerts (core/metrics/alerts.ts): shown at /admin/alerts and exported as cdr_alert_firing. */
  alerts: z
    .object({
      evaluateIntervalMs: z.number().int().min(1000).default(15000),
      /** Open dead letters (all Enti) above which "dead-letter-backlog" fires. */
      deadLetterOpenMax: z.number().int().min(0).default(100),
      /** Age of the oldest waiting job above which "queue-stalled" fires. */
      queueOldestWaitingSecondsMax: z.number().int().min(1).default(300),
      errorRate: z
        .object({
          /** Messages received in this window, per Ente and plugin... */
          windowMinutes: z.number().int().min(1).max(1440).default(15),
          /** ...dead-lettered in at least this share fire "error-rate"... */
          maxPercent: z.number().min(0).max(100).default(5),
          /** ...once at least this many have finished (no alert on 1 failure out of 2). */
          minMessages: z.number().int().min(1).default(20),
        })
        .prefault({}),
    })
    .prefault({}),
  /**
   * What the periodic retention job deletes (core/storage/retention.ts). null keeps forever. Never
   * deleted: inbox rows still received/processing, dead-lettered rows whose dead letter is open, and
   * current resource versions (they live in `resource`, which retention does not touch).
   */
  retention: z
    .object({
      intervalMinutes: z.number().positive().default(60),
      batchSize: z.number().int().positive().default(5000),
      inbox: z
        .object({
          storedDays: z.number().positive().nullable().default(30),
          deadLetteredDays: z.number().positive().nullable().default(180),
        })
        .prefault({}),
      history: z
        .object({
          maxAgeDays: z.number().positive().nullable().default(null),
        })
        .prefault({}),
    })
    .prefault({}),
});

export type EngineConfig = z.infer<typeof engineConfigSchema>;
export type EnteConfig = z.infer<typeof enteSchema>;
export type RetentionConfig = EngineConfig['retention'];
