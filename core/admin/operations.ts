import type { Redis } from 'ioredis';
import type { Logger } from '../common/logger.ts';
import type { Settings } from '../config/load.ts';
import { AlertEvaluator } from '../metrics/alerts.ts';
import type { EngineMetrics } from '../metrics/engine-metrics.ts';
import { MessageProcessor, type ResourceValidator } from '../pipeline/processor.ts';
import type { PluginRegistry } from '../plugins/registry.ts';
import { bullPrefix } from '../queue/connection.ts';
import type { ProcessQueue } from '../queue/process-queue.ts';
import type { Db } from '../storage/db.ts';
import { PluginReloadBus } from './plugin-reload.ts';
import { SessionStore } from './sessions.ts';

/** What the operator console needs beyond the core engine context: metrics, alerts, reloads, sessions. */
export interface Operations {
  metrics: EngineMetrics;
  alerts: AlertEvaluator;
  reloads: PluginReloadBus;
  sessions: SessionStore;
  /** Runs the pipeline without writing (dry runs, re-process previews). */
  processor: MessageProcessor;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface OperationsOptions {
  settings: Settings;
  logger: Logger;
  db: Db;
  plugins: PluginRegistry;
  queue: ProcessQueue;
  /** The producer connection (sessions). */
  redis: Redis;
  /** Where the reload broadcast subscribes (a dedicated connection is opened). */
  redisUrl: string;
  metrics: EngineMetrics;
  validator: ResourceValidator | undefined;
  /** Alerts are evaluated by processes that serve HTTP. */
  evaluateAlerts: boolean;
}

export function createOperations(options: OperationsOptions): Operations {
  const keyPrefix = bullPrefix(options.settings.queuePrefix);
  const alerts = new AlertEvaluator({ config: options.settings.config.alerts, db: options.db, queue: options.queue, logger: options.logger });
  const reloads = new PluginReloadBus({ plugins: options.plugins, redisUrl: options.redisUrl, keyPrefix, logger: options.logger });
  options.metrics.bind({ queue: options.queue, db: options.db, alerts });
  return {
    metrics: options.metrics,
    alerts,
    reloads,
    sessions: new SessionStore(options.redis, keyPrefix),
    processor: new MessageProcessor({ plugins: options.plugins, validator: options.validator, logger: options.logger }),
    async start() {
      await reloads.start();
      if (options.evaluateAlerts) alerts.start();
    },
    async stop() {
      alerts.stop();
      await reloads.stop();
    },
  };
}
