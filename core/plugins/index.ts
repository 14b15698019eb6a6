/**
 * Plugin API (ARCHITECTURE §6). A hospital adds a source by adding a folder plugins/<id>/ with:
 *   plugin.json   the manifest (validated by pluginManifestSchema; see docs/plugins.md)
 *   samples/      sample inputs, used by `cdr plugin check` and the plugin's tests
 *   hooks.ts      optional: `export default definePluginHooks({ preParse, postParse, postMap })`
 *   mappings/     optional plugin-local JSONata mappings ("./mappings/x.jsonata" in routes)
 * Plugins import from this module only; nothing in core/ knows a specific hospital.
 */
export { definePluginHooks, type HookContext, type PluginHooks } from './api.ts';
export { pluginManifestSchema, PLUGIN_MANIFEST_FILE, type PluginManifest, type PluginRoute, type PluginFormat } from './manifest.ts';
export {
  PluginRegistry, findRoute, routePattern, resolveMappingPath,
  type LoadedPlugin, type LoadedRoute, type PluginSummary, type PluginStatus, type PluginLoadError, type LoadPluginsOptions,
} from './registry.ts';
export type { FhirResource } from '../storage/types.ts';
