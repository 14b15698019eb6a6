import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type Express } from 'express';
import type { Redis } from 'ioredis';
import { AdminTokenAuthenticator, createOperations, TokenStore, TokenStoreAuthenticator, type Authenticator } from '../admin/index.ts';
import { createLogger, type Logger } from '../common/logger.ts';
import type { Settings } from '../config/load.ts';
import { FileDropWatcher, IngestService, MllpListener } from '../ingest/index.ts';
import { MessageProcessor, type ResourceValidator } from '../pipeline/index.ts';
import { PluginRegistry } from '../plugins/index.ts';
import { ensureRedis, ProcessingWorker, ProcessQueue, producerConnection, Reconciler, workerConnection, type OutcomeEvent } from '../queue/index.ts';
import { EngineMetrics } from '../metrics/index.ts';
import { DeadLetterRepository, InboxRepository, openStorage, RetentionJob, StatisticsJob, type Db } from '../storage/index.ts';
import { loadValidator } from '../validation/index.ts';
import type { EngineContext } from './context.ts';
import { mountRoutes } from './routes.ts';
import { errorHandler } from './http-errors.ts';

export type EngineRole = 'all' | 'api' | 'worker';

export interface EngineOptions {
  role?: EngineRole;
  logger?: Logger;
  /** Defaults to the IG validator built from ig/ (npm run ig:build); null disables validation. */
  validator?: ResourceValidator | null;
  /** Listen on settings.port (0 = any free port). Default true for roles with an API. */
  listen?: boolean;
  reconcileIntervalMs?: number;
  reconcileOlderThanMs?: number;
  onOutcome?: (event: OutcomeEvent) => void;
  /** MLLP port: settings.mllpPort by default (0 = disabled); 'auto' = any free port (tests). */
  mllpPort?: number | 'auto';
  /** File-drop scan interval; 0 disables the watcher. */
  fileDropIntervalMs?: number;
}

export interface Engine {
  readonly context: EngineContext;
  readonly settings: Settings;
  readonly role: EngineRole;
  readonly logger: Logger;
  readonly db: Db;
  readonly plugins: PluginRegistry;
  readonly queue: ProcessQueue;
  readonly ingest: IngestService;
  readonly app: Express | undefined;
  readonly worker: ProcessingWorker | undefined;
  readonly reconciler: Reconciler;
  readonly adminToken: string;
  readonly url: string | undefined;
  readonly mllpPort: number | undefined;
  readonly fileDrop: FileDropWatcher | undefined;
  stop(): Promise<void>;
}

/** Builds and starts the engine's parts for a role: the API (ingest, admin, FHIR), the workers, or both. */
export async function startEngine(settings: Settings, options: EngineOptions = {}): Promise<Engine> {
  const role = options.role ?? 'all';
  const logger = options.logger ?? createLogger('cdr');
  const redis = await ensureRedis({ redisUrl: settings.redisUrl, dataDir: settings.dataDir });
  if (redis.startedHere) logger.info({ url: redis.url }, 'started a local redis-server (append-only file under CDR_DATA_DIR/redis)');
  const db = await openStorage(settings);
  logger.info({ storage: db.kind }, db.kind === 'pglite' ? 'embedded PGlite storage' : 'PostgreSQL storage');

  const validator = options.validator === null ? undefined : (options.validator ?? (await loadValidator()));

  const plugins = await PluginRegistry.load({
    pluginsDir: settings.pluginsDir,
    mappingsDir: settings.mappingsDir,
    enti: new Set(settings.config.enti.map((e) => e.code)),
    limits: { timeoutMs: settings.config.processing.mappingTimeoutMs, maxDepth: settings.config.processing.mappingMaxDepth },
    logger,
  });

  const producer = producerConnection(redis.url);
  const connections: Redis[] = [producer];
  const policy = {
    attempts: settings.config.queue.attempts,
    backoffDelayMs: settings.config.queue.backoffDelayMs,
    backoffMaxDelayMs: settings.config.queue.backoffMaxDelayMs,
  };
  const queue = new ProcessQueue(producer, settings.queuePrefix, policy);
  const inbox = new InboxRepository(db);
  const deadLetters = new DeadLetterRepository(db);
  const metrics = new EngineMetrics();
  const ingest = new IngestService({
    db, plugins, inbox, queue, logger, maxBodyBytes: settings.config.ingest.maxBodyBytes, batchMaxItems: settings.config.storage.batchMaxItems,
    onAccepted: metrics.onAccepted,
  });

  let worker: ProcessingWorker | undefined;
  if (role === 'all' || role === 'worker') {
    const connection = workerConnection(redis.url);
    connections.push(connection);
    worker = new ProcessingWorker({
      connection,
      prefix: settings.queuePrefix,
      concurrency: settings.workerConcurrency,
      policy,
      db,
      processor: new MessageProcessor({ plugins, validator, logger }),
      logger,
      batchMaxItems: settings.config.storage.batchMaxItems,
      lockDurationMs: settings.config.queue.lockDurationMs,
      stalledIntervalMs: settings.config.queue.stalledIntervalMs,
      onOutcome: (event) => {
        metrics.onOutcome(event);
        // Ids, stage and code only: the reason may quote the message (it is in the dead-letter record).
        if (event.outcome.kind === 'dead-lettered') {
          logger.info({ messageId: event.job.messageId, plugin: event.job.pluginId, ente: event.job.ente, stage: event.outcome.stage, code: event.outcome.code }, 'message dead-lettered');
        }
        options.onOutcome?.(event);
      },
    });
    worker.start();
  }

  const reconciler = new Reconciler({
    inbox, queue, logger,
    intervalMs: options.reconcileIntervalMs ?? settings.config.queue.reconcileIntervalMs,
    olderThanMs: options.reconcileOlderThanMs ?? settings.config.queue.reconcileOlderThanMs,
  });
  if (role !== 'worker') reconciler.start();
  const retention = role === 'worker' ? undefined : new RetentionJob({ db, policy: settings.config.retention, logger });
  retention?.start();
  // Where messages are stored, new partitions get their first planner statistics without waiting for autovacuum.
  const statistics = worker ? new StatisticsJob({ db, logger }) : undefined;
  statistics?.start();

  const adminToken = settings.adminToken ?? randomBytes(24).toString('base64url');
  if (!settings.adminToken && role !== 'worker') {
    logger.info('CDR_ADMIN_TOKEN is not set: generated an admin token for this run (printed on stdout)');
    process.stdout.write(`cdr: admin token for this run: ${adminToken}\n`);
  }
  const auth: Authenticator = new AdminTokenAuthenticator(adminToken, new TokenStoreAuthenticator(new TokenStore(db)));
  const operations = createOperations({
    settings, logger, db, plugins, queue, redis: producer, redisUrl: redis.url, metrics, validator, evaluateAlerts: role !== 'worker',
  });
  await operations.start();
  const context: EngineContext = { settings, logger, db, plugins, queue, redis: producer, inbox, deadLetters, ingest, validator, auth, operations };

  let app: Express | undefined;
  let server: Server | undefined;
  let url: string | undefined;
  if (role === 'all' || role === 'api') {
    app = express();
    app.disable('x-powered-by');
    mountRoutes(app, context);
    app.use(errorHandler(logger));
    if (options.listen !== false) {
      server = await new Promise<Server>((resolve, reject) => {
        const s = app!.listen(settings.port, () => resolve(s));
        s.once('error', reject);
      });
      const address = server.address() as AddressInfo;
      url = `http://127.0.0.1:${address.port}`;
      logger.info({ url }, `HTTP listening on ${url}`);
    }
  }

  let mllp: MllpListener | undefined;
  let mllpPort: number | undefined;
  let fileDrop: FileDropWatcher | undefined;
  if (role === 'all' || role === 'api') {
    const port = options.mllpPort ?? settings.mllpPort;
    if (port === 'auto' || port > 0) {
      mllp = new MllpListener({ ingest, plugins, logger, port: port === 'auto' ? 0 : port, maxFrameBytes: settings.config.ingest.maxBodyBytes });
      mllpPort = await mllp.start();
    }
    if ((options.fileDropIntervalMs ?? 1000) > 0) {
      fileDrop = new FileDropWatcher({ dataDir: settings.dataDir, plugins, ingest, logger, intervalMs: options.fileDropIntervalMs ?? 1000 });
      fileDrop.start();
    }
  }

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    // Stop accepting first, then finish what is in flight, then close connections.
    if (server) {
      const closed = new Promise<void>((resolve) => server!.close(() => resolve()));
      server.closeIdleConnections();
      await closed;
    }
    fileDrop?.stop();
    await mllp?.stop();
    reconciler.stop();
    await operations.stop();
    await retention?.stop();
    await statistics?.stop();
    await ingest.drain();
    await worker?.close();
    await queue.close().catch(() => undefined);
    for (const connection of connections) connection.disconnect();
    await db.close();
    await redis.stop();
  };

  return { context, settings, role, logger, db, plugins, queue, ingest, app, worker, reconciler, adminToken, url, mllpPort, fileDrop, stop };
}
