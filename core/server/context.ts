import type { Redis } from 'ioredis';
import type { Authenticator } from '../admin/auth.ts';
import type { Operations } from '../admin/operations.ts';
import type { Logger } from '../common/logger.ts';
import type { Settings } from '../config/load.ts';
import type { IngestService } from '../ingest/ingest-service.ts';
import type { ResourceValidator } from '../pipeline/processor.ts';
import type { PluginRegistry } from '../plugins/registry.ts';
import type { ProcessQueue } from '../queue/process-queue.ts';
import type { Db } from '../storage/db.ts';
import type { DeadLetterRepository } from '../storage/dead-letter-repository.ts';
import type { InboxRepository } from '../storage/inbox-repository.ts';

/** The services one engine process shares between its HTTP routes, listeners and workers. */
export interface EngineContext {
  settings: Settings;
  logger: Logger;
  db: Db;
  plugins: PluginRegistry;
  queue: ProcessQueue;
  /** The producer-side Redis connection (health checks, admin reads). */
  redis: Redis;
  inbox: InboxRepository;
  deadLetters: DeadLetterRepository;
  ingest: IngestService;
  validator: ResourceValidator | undefined;
  auth: Authenticator;
  /** Operator console: metrics, alerts, plugin reloads, console sessions, a pipeline for dry runs. */
  operations: Operations;
}
