/**
 * Plugin API (ARCHITECTURE §6). A hospital adds a source by adding a folder plugins/<id>/ with:
 *   plugin.json   the manifest (validated by pluginManifestSchema; see docs/plugins.md)
 *   samples/      sample inputs, used by `cdr plugin check` and the plugin's tests
 *   hooks.ts      optional: `export default definePluginHooks('hl7v2', { preParse, postParse, postMap })`
 *   mappings/     optional plugin-local JSONata mappings ("./mappings/x.jsonata" in routes), with tests/ beside them
 *   conceptmaps/  optional ConceptMaps for local codes, listed in the manifest's `conceptMaps`, used by $translate
 * `npx cdr plugin new ID --format hl7v2|cda|xml --ente CODE` scaffolds one; `npx cdr plugin check ID` checks it.
 * Plugins import from this module only; nothing in core/ knows a specific hospital.
 */
export {
  definePluginHooks, HOOK_NAMES,
  type HookContext, type HookName, type PluginHooks, type Hl7v2Tree, type XmlTree, type XmlNode, type TreeByFormat,
} from './api.ts';
export {
  pluginManifestSchema, pluginIdSchema, PLUGIN_MANIFEST_FILE, PLUGIN_FORMATS,
  type PluginManifest, type PluginManifestInput, type PluginRoute, type PluginFormat,
} from './manifest.ts';
export {
  PluginRegistry, findRoute, routePattern, resolveMappingPath, displayPath, manifestErrors, formatLoadError,
  type LoadedPlugin, type LoadedRoute, type PluginSummary, type PluginStatus, type PluginLoadError, type LoadPluginsOptions,
} from './registry.ts';
export { ConceptMapIndex, conceptMapSchema, translateWith, type ConceptMapResource, type TranslatedCoding } from './concept-maps.ts';
export { HookError } from '../common/errors.ts';
export type { FhirResource } from '../storage/types.ts';
