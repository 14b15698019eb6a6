import { createLogger, type Logger } from '../common/logger.ts';
import type { Settings } from '../config/load.ts';
import { MessageProcessor, type ResourceValidator } from '../pipeline/index.ts';
import { PluginRegistry } from '../plugins/index.ts';
import { loadValidator } from '../validation/index.ts';

/** What the authoring tools (CLI, workbench, golden tests) share: plugins, the validator and a processor, no storage. */
export interface AuthoringSession {
  plugins: PluginRegistry;
  validator: ResourceValidator;
  processor: MessageProcessor;
  logger: Logger;
}

export async function openAuthoringSession(settings: Settings, options: { only?: string[]; logger?: Logger } = {}): Promise<AuthoringSession> {
  const logger = options.logger ?? createLogger('cdr-tools', process.env.CDR_LOG_LEVEL || 'silent');
  const validator = await loadValidator();
  const plugins = await PluginRegistry.load({
    pluginsDir: settings.pluginsDir,
    mappingsDir: settings.mappingsDir,
    enti: new Set(settings.config.enti.map((e) => e.code)),
    limits: { timeoutMs: settings.config.processing.mappingTimeoutMs, maxDepth: settings.config.processing.mappingMaxDepth },
    ...(options.only ? { only: options.only } : {}),
    logger,
  });
  return { plugins, validator, processor: new MessageProcessor({ plugins, validator, logger }), logger };
}

/** Fixed message context for reproducible outputs (golden tests, previews). */
export const FIXED_MESSAGE_ID = '00000000-0000-7000-8000-000000000000';
export const FIXED_RECEIVED_AT = new Date('2024-01-01T00:00:00.000Z');
