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
