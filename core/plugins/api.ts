import type { Logger } from '../common/logger.ts';
import type { FhirResource } from '../storage/types.ts';

/**
 * The public plugin API. A plugin is a folder under plugins/ with a plugin.json manifest, its
 * sample inputs, optionally its own mappings and ConceptMaps, and optionally a hooks module for
 * what a mapping cannot express. Plugins import from core/plugins/index.ts only.
 */

export interface HookContext {
  readonly pluginId: string;
  readonly pluginVersion: string;
  readonly ente: string;
  readonly messageId: string;
  readonly receivedAt: Date;
  /** Route key of the message (e.g. "ADT^A01"); undefined before parsing. */
  readonly routeKey: string | undefined;
  readonly logger: Logger;
  /** Adds a warning to the message's trail. */
  warn(message: string): void;
}

export interface PluginHooks {
  /** Runs on the raw bytes before parsing (fix a sender's framing or encoding quirks). Return the bytes to parse, or nothing to keep them. */
  preParse?(raw: Buffer, context: HookContext): Buffer | string | void | Promise<Buffer | string | void>;
  /** Runs on the parsed tree before routing and mapping. Return a replacement tree, or nothing to keep the (possibly mutated) one. */
  postParse?(tree: unknown, context: HookContext): unknown | Promise<unknown>;
  /** Runs on the mapping's resources before validation. Return the resources to keep, or nothing. */
  postMap?(resources: FhirResource[], context: HookContext): FhirResource[] | void | Promise<FhirResource[] | void>;
}

/** Identity helper that gives hook modules their types: `export default definePluginHooks({ ... })`. */
export function definePluginHooks(hooks: PluginHooks): PluginHooks {
  return hooks;
}
