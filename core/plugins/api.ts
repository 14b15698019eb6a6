import type { Logger } from '../common/logger.ts';
import type { Hl7Message } from '../parse/hl7v2/types.ts';
import type { FhirResource } from '../storage/types.ts';
import type { PluginFormat } from './manifest.ts';

/**
 * The public plugin API. A plugin is a folder under plugins/ with a plugin.json manifest, its
 * sample inputs, optionally its own mappings and ConceptMaps, and optionally a hooks module for
 * what a mapping cannot express. Plugins import from core/plugins/index.ts only.
 */

/** The HL7 v2 tree a postParse hook receives (docs/parsed-trees.md). */
export type Hl7v2Tree = Hl7Message;

/** An XML element as the CDA and XML parsers give it: text, attributes as keys, children (arrays when repeatable). */
export type XmlNode = string | { [nameOrAttribute: string]: XmlNode | XmlNode[] | undefined };

/** The CDA / proprietary XML tree: `{ "<RootElement>": {...} }` (docs/parsed-trees.md). */
export type XmlTree = { [rootElement: string]: XmlNode };

/** The tree each format's parser produces. */
export interface TreeByFormat {
  hl7v2: Hl7v2Tree;
  cda: XmlTree;
  xml: XmlTree;
}

export interface HookContext {
  readonly pluginId: string;
  readonly pluginVersion: string;
  readonly ente: string;
  readonly format: PluginFormat;
  /** IANA zone the plugin reads local timestamps in (manifest `timeZone`). */
  readonly timeZone: string;
  readonly messageId: string;
  readonly receivedAt: Date;
  /** Route key of the message (e.g. "ADT^A01", a CDA LOINC code, an XML element name); undefined before parsing. */
  readonly routeKey: string | undefined;
  /** A child logger bound to the plugin and message. Never log patient data or raw messages. */
  readonly logger: Logger;
  /** Adds a warning to the message's trail (visible in GET /messages/:id). */
  warn(message: string): void;
}

/**
 * Hooks are for what a mapping cannot express. Each may be async; each runs with a time limit
 * (manifest `hookTimeoutMs`). A hook that throws or returns something unusable sends the message
 * to the dead-letter queue at stage "hook" with the hook's message; other messages and plugins go on.
 * Throw `new HookError(message, { code })` to choose the error code operators see.
 */
export interface PluginHooks<Tree = unknown> {
  /** Runs on the raw bytes before parsing (fix a sender's framing or encoding quirks). Return the bytes to parse, or nothing to keep them. */
  preParse?(raw: Buffer, context: HookContext): Buffer | string | void | Promise<Buffer | string | void>;
  /** Runs on the parsed tree before routing and mapping. Return a replacement tree, or nothing to keep the (possibly mutated) one. */
  postParse?(tree: Tree, context: HookContext): Tree | void | Promise<Tree | void>;
  /** Runs on the mapping's resources before validation. Return the resources to keep, or nothing to keep the (possibly mutated) ones. */
  postMap?(resources: FhirResource[], context: HookContext): FhirResource[] | void | Promise<FhirResource[] | void>;
}

export const HOOK_NAMES = ['preParse', 'postParse', 'postMap'] as const;
export type HookName = (typeof HOOK_NAMES)[number];

/**
 * Gives hook modules their types: `export default definePluginHooks('hl7v2', { postParse(tree) { tree.PID ... } })`.
 * The format argument only selects the tree type; the one-argument form types the tree as unknown.
 */
export function definePluginHooks<F extends PluginFormat>(format: F, hooks: PluginHooks<TreeByFormat[F]>): PluginHooks<TreeByFormat[F]>;
export function definePluginHooks(hooks: PluginHooks): PluginHooks;
export function definePluginHooks(formatOrHooks: PluginFormat | PluginHooks, hooks?: PluginHooks): PluginHooks {
  return typeof formatOrHooks === 'string' ? (hooks ?? {}) : formatOrHooks;
}
