import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { errorMessage } from '../common/errors.ts';
import type { Logger } from '../common/logger.ts';
import type { PluginRegistry, PluginSummary } from '../plugins/registry.ts';

export interface PluginReloadBusOptions {
  plugins: PluginRegistry;
  /** Redis for pub/sub; undefined: reloads stay local to this process. */
  redisUrl: string | undefined;
  /** BullMQ key prefix (hash-tagged), so engines on other prefixes never reload each other. */
  keyPrefix: string;
  logger: Logger;
}

export interface ReloadResult {
  plugins: PluginSummary[];
  /** Other engine processes that received the broadcast and reload on their own. */
  notifiedProcesses: number;
}

/**
 * Reloads the plugin registry in this process and tells every other engine process on the same Redis
 * and prefix to do the same (pub/sub channel `<prefix>:plugins:reload`). A process that is down when
 * the broadcast goes out loads the current files when it starts.
 */
export class PluginReloadBus {
  private readonly instanceId = randomUUID();
  private readonly channel: string;
  private subscriber: Redis | undefined;
  private publisher: Redis | undefined;

  constructor(private readonly options: PluginReloadBusOptions) {
    this.channel = `${options.keyPrefix}:plugins:reload`;
  }

  async start(): Promise<void> {
    if (!this.options.redisUrl) return;
    this.subscriber = new Redis(this.options.redisUrl, { maxRetriesPerRequest: null, lazyConnect: true });
    this.subscriber.on('error', () => undefined);
    this.publisher = new Redis(this.options.redisUrl, { maxRetriesPerRequest: 1, lazyConnect: true });
    this.publisher.on('error', () => undefined);
    await Promise.all([this.subscriber.connect(), this.publisher.connect()]);
    this.subscriber.on('message', (channel, text) => {
      if (channel !== this.channel) return;
      let from = '';
      try {
        from = String((JSON.parse(text) as { from?: string }).from ?? '');
      } catch {
        return;
      }
      if (from === this.instanceId) return;
      this.options.plugins
        .reload()
        .then((plugins) => this.options.logger.info({ active: plugins.filter((p) => p.status === 'active').length }, 'plugins reloaded on request of another engine process'))
        .catch((error) => this.options.logger.error({ err: errorMessage(error) }, 'plugin reload failed'));
    });
    await this.subscriber.subscribe(this.channel);
  }

  async reloadEverywhere(actor: string): Promise<ReloadResult> {
    const plugins = await this.options.plugins.reload();
    let notifiedProcesses = 0;
    if (this.publisher) {
      const receivers = await this.publisher
        .publish(this.channel, JSON.stringify({ from: this.instanceId, actor, at: new Date().toISOString() }))
        .catch((error) => {
          this.options.logger.warn({ err: errorMessage(error) }, 'could not broadcast the plugin reload; other processes keep their plugins until reloaded');
          return 0;
        });
      notifiedProcesses = Math.max(0, receivers - 1);
    }
    return { plugins, notifiedProcesses };
  }

  async stop(): Promise<void> {
    this.subscriber?.disconnect();
    this.publisher?.disconnect();
  }
}
