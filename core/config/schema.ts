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
});

export type EngineConfig = z.infer<typeof engineConfigSchema>;
export type EnteConfig = z.infer<typeof enteSchema>;
