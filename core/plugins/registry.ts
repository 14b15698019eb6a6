import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ZodError } from 'zod';
import { versionHash } from '../common/hash.ts';
import type { Logger } from '../common/logger.ts';
import { isValidTimeZone } from '../common/time.ts';
import { functionBindings } from '../mapping/functions/index.ts';
import { loadMappingFile, MappingSyntaxError, type LoadedMapping, type MappingLimits } from '../mapping/mapping-file.ts';
import { HOOK_NAMES, type PluginHooks } from './api.ts';
import { ConceptMapIndex, conceptMapKeys, conceptMapSchema, type ConceptMapResource } from './concept-maps.ts';
import { guardHooks } from './hook-guard.ts';
import { PLUGIN_MANIFEST_FILE, pluginManifestSchema, type PluginManifest } from './manifest.ts';
import { translateFunction } from './translate.ts';

export type PluginStatus = 'active' | 'disabled' | 'error';

/** A problem that keeps a plugin from loading, pointing at the file and field to fix (and line:column in a mapping). */
export interface PluginLoadError {
  file: string;
  field?: string;
  line?: number;
  column?: number;
  message: string;
}

export interface LoadedRoute {
  match: string;
  pattern: RegExp;
  mapping: LoadedMapping;
}

export interface LoadedPlugin {
  readonly id: string;
  readonly dir: string;
  readonly manifest: PluginManifest;
  readonly routes: LoadedRoute[];
  /** The plugin's hooks, guarded: errors, bad results and time-outs become HookError (stage "hook"). */
  readonly hooks: PluginHooks;
  /** The plugin's local ConceptMaps (manifest `conceptMaps`), for $translate. */
  readonly conceptMaps: ConceptMapIndex;
  /** Content hash of manifest + mappings + hooks + ConceptMaps: the version recorded with what it writes. */
  readonly producerHash: string;
  /** JSONata bindings fixed for this plugin (function library built for its Ente and zone). */
  readonly bindings: Record<string, unknown>;
}

export interface PluginSummary {
  id: string;
  dir: string;
  status: PluginStatus;
  name?: string | undefined;
  ente?: string | undefined;
  format?: string | undefined;
  version?: string | undefined;
  producerHash?: string | undefined;
  routes?: Array<{ match: string; mapping: string; engine: string; mappingHash: string; fallback?: string }>;
  hooks?: string[];
  conceptMaps?: string[];
  errors: PluginLoadError[];
}

export interface LoadPluginsOptions {
  pluginsDir: string;
  mappingsDir: string;
  /** Ente codes in the registry; a plugin feeding another Ente is refused. */
  enti: ReadonlySet<string>;
  limits: MappingLimits;
  logger?: Logger;
  /** Load only these plugin ids (e.g. `cdr plugin check ID`). */
  only?: string[];
}

export function routePattern(match: string): RegExp {
  const escaped = match.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*');
  return new RegExp(`^${escaped}$`);
}

/** A path as shown to people: relative to the working directory when inside it, else absolute. */
export function displayPath(file: string): string {
  const relative = path.relative(process.cwd(), file);
  return relative && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : file;
}

const fieldPath = (segments: readonly PropertyKey[]) =>
  segments.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, '');

/** zod issues as errors naming the manifest field, in words an integration team can act on. */
export function manifestErrors(file: string, error: ZodError): PluginLoadError[] {
  return error.issues.flatMap((issue): PluginLoadError[] => {
    const base = fieldPath(issue.path);
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({ file, field: base ? `${base}.${key}` : key, message: 'unknown field (check its spelling against docs/plugins.md)' }));
    }
    const missing = issue.code === 'invalid_type' && /received undefined$/.test(issue.message);
    return [{ file, field: base || '(root)', message: missing ? `required field is missing (expected ${issue.expected})` : issue.message }];
  });
}

/** Resolves a route's mapping path: "./x" is inside the plugin folder, anything else under mappings/. */
export function resolveMappingPath(mapping: string, pluginDir: string, mappingsDir: string): string {
  return mapping.startsWith('./') || mapping.startsWith('../') ? path.resolve(pluginDir, mapping) : path.resolve(mappingsDir, mapping);
}

function isFile(file: string): boolean {
  return existsSync(file) && statSync(file).isFile();
}

function loadConceptMaps(dir: string, manifest: PluginManifest, shownManifest: string, errors: PluginLoadError[]): { maps: ConceptMapResource[]; contents: string[] } {
  const maps: ConceptMapResource[] = [];
  const contents: string[] = [];
  const keys = new Map<string, string>();
  manifest.conceptMaps.forEach((file, index) => {
    const full = path.resolve(dir, file);
    const field = `conceptMaps[${index}]`;
    if (!isFile(full)) {
      errors.push({ file: shownManifest, field, message: `ConceptMap file ${displayPath(full)} does not exist` });
      return;
    }
    const text = readFileSync(full, 'utf8');
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (error) {
      errors.push({ file: displayPath(full), field, message: `not valid JSON: ${(error as Error).message}` });
      return;
    }
    const parsed = conceptMapSchema.safeParse(json);
    if (!parsed.success) {
      for (const e of manifestErrors(displayPath(full), parsed.error)) errors.push({ ...e, message: `${e.field}: ${e.message}`, field });
      return;
    }
    if (conceptMapKeys(parsed.data).length === 0) {
      errors.push({ file: displayPath(full), field, message: 'the ConceptMap needs a url, id or name for $translate to refer to it' });
      return;
    }
    for (const key of conceptMapKeys(parsed.data)) {
      const other = keys.get(key);
      if (other && other !== file) errors.push({ file: displayPath(full), field, message: `"${key}" also names the ConceptMap in ${other}` });
      keys.set(key, file);
    }
    maps.push(parsed.data);
    contents.push(text);
  });
  return { maps, contents };
}

async function loadHooks(dir: string, manifest: PluginManifest, shownManifest: string, errors: PluginLoadError[]): Promise<{ hooks: PluginHooks; source: string }> {
  if (!manifest.hooks) return { hooks: {}, source: '' };
  const file = path.resolve(dir, manifest.hooks);
  if (!isFile(file)) {
    errors.push({ file: shownManifest, field: 'hooks', message: `hooks module ${displayPath(file)} does not exist` });
    return { hooks: {}, source: '' };
  }
  const source = readFileSync(file, 'utf8');
  let module: Record<string, unknown>;
  try {
    module = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (error) {
    const message = (error as Error).message;
    // Outside a package with "type": "module" (e.g. a scratch CDR_PLUGINS_DIR) a .ts file is read as CommonJS.
    const hint = /require\(\)? ?ES ?Module|require\(esm\)|Cannot use import statement outside a module/i.test(message)
      ? ' (outside the repository a .ts hooks file is read as CommonJS: name it hooks.mts)'
      : '';
    errors.push({ file: displayPath(file), field: 'hooks', message: `cannot load the hooks module: ${message}${hint}` });
    return { hooks: {}, source };
  }
  const exported = (module.default ?? module) as Record<string, unknown>;
  if (typeof exported !== 'object' || exported === null) {
    errors.push({ file: displayPath(file), field: 'hooks', message: 'the module must export its hooks: `export default definePluginHooks({ ... })`' });
    return { hooks: {}, source };
  }
  const hooks: PluginHooks = {};
  const known = new Set<string>(HOOK_NAMES);
  for (const [name, value] of Object.entries(exported)) {
    if (!known.has(name)) {
      if (typeof value === 'function') errors.push({ file: displayPath(file), field: name, message: `unknown hook "${name}" (hooks are ${HOOK_NAMES.join(', ')})` });
      continue;
    }
    if (value === undefined) continue;
    if (typeof value !== 'function') {
      errors.push({ file: displayPath(file), field: name, message: `hook ${name} must be a function` });
      continue;
    }
    (hooks as Record<string, unknown>)[name] = value;
  }
  return { hooks, source };
}

async function loadOne(dir: string, options: LoadPluginsOptions): Promise<{ plugin?: LoadedPlugin; summary: PluginSummary }> {
  const manifestFile = path.join(dir, PLUGIN_MANIFEST_FILE);
  const shownManifest = displayPath(manifestFile);
  const fail = (errors: PluginLoadError[], partial: Partial<PluginSummary> = {}) => ({
    summary: { id: path.basename(dir), dir, status: 'error' as const, errors, ...partial },
  });
  if (!isFile(manifestFile)) return fail([{ file: shownManifest, message: `missing manifest: every plugin folder needs a ${PLUGIN_MANIFEST_FILE}` }]);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(manifestFile, 'utf8'));
  } catch (error) {
    return fail([{ file: shownManifest, message: `not valid JSON: ${(error as Error).message}` }]);
  }
  const parsed = pluginManifestSchema.safeParse(raw);
  if (!parsed.success) return fail(manifestErrors(shownManifest, parsed.error));
  const manifest = parsed.data;
  const base = { id: manifest.id, name: manifest.name, ente: manifest.ente, format: manifest.format, version: manifest.version };
  const errors: PluginLoadError[] = [];
  if (manifest.id !== path.basename(dir)) {
    errors.push({ file: shownManifest, field: 'id', message: `the id "${manifest.id}" must equal the folder name "${path.basename(dir)}"` });
  }
  if (!options.enti.has(manifest.ente)) {
    errors.push({ file: shownManifest, field: 'ente', message: `Ente ${manifest.ente} is not in the configured registry (${[...options.enti].join(', ')})` });
  }
  if (!isValidTimeZone(manifest.timeZone)) {
    errors.push({ file: shownManifest, field: 'timeZone', message: `unknown time zone "${manifest.timeZone}" (an IANA zone such as Europe/Rome)` });
  }
  if (!manifest.enabled) return { summary: { ...base, dir, status: 'disabled', errors } };

  const mappingCache = new Map<string, LoadedMapping>();
  const routes: LoadedRoute[] = [];
  manifest.routes.forEach((route, index) => {
    const file = resolveMappingPath(route.mapping, dir, options.mappingsDir);
    const field = `routes[${index}].mapping`;
    if (!isFile(file)) {
      errors.push({ file: shownManifest, field, message: `mapping file ${displayPath(file)} does not exist` });
      return;
    }
    try {
      let mapping = mappingCache.get(file);
      if (!mapping) {
        mapping = loadMappingFile(file, displayPath(file), { engine: manifest.mappingEngine, limits: options.limits });
        mappingCache.set(file, mapping);
        if (mapping.fallback) {
          options.logger?.warn(
            { plugin: manifest.id, mapping: mapping.name, construct: mapping.fallback.construct, position: mapping.fallback.position },
            `${mapping.name} runs on the JSONata interpreter: ${mapping.fallback.message}`,
          );
        }
      }
      routes.push({ match: route.match, pattern: routePattern(route.match), mapping });
    } catch (error) {
      if (error instanceof MappingSyntaxError) {
        errors.push({ file: displayPath(file), field, ...(error.position ?? {}), message: error.message });
      } else errors.push({ file: displayPath(file), field, message: `cannot load mapping: ${(error as Error).message}` });
    }
  });

  const conceptMaps = loadConceptMaps(dir, manifest, shownManifest, errors);
  const hooks = await loadHooks(dir, manifest, shownManifest, errors);

  if (errors.length > 0) return fail(errors, base);
  const producerHash = versionHash([
    JSON.stringify(manifest),
    ...[...mappingCache.values()].map((m) => m.hash),
    hooks.source,
    ...conceptMaps.contents,
  ]);
  const index = new ConceptMapIndex(conceptMaps.maps);
  // The ConceptMap files travel in the function context so the library's $translate reads them; while the
  // library has none, the plugin's own translate (same signature and results) is bound.
  const functionContext = {
    ente: manifest.ente, timeZone: manifest.timeZone, pluginId: manifest.id,
    conceptMapFiles: manifest.conceptMaps.map((f) => path.resolve(dir, f)),
  };
  const library = functionBindings(functionContext);
  const plugin: LoadedPlugin = {
    id: manifest.id,
    dir,
    manifest,
    routes,
    hooks: guardHooks(hooks.hooks, {
      pluginId: manifest.id,
      timeoutMs: manifest.hookTimeoutMs,
      extraContext: { format: manifest.format, timeZone: manifest.timeZone },
    }),
    conceptMaps: index,
    producerHash,
    // The library's own object when it has $translate: it is keyed by identity for per-message scoping.
    bindings: 'translate' in library ? library : { ...library, translate: translateFunction(index) },
  };
  return {
    plugin,
    summary: {
      ...base, dir, status: 'active', producerHash, errors: [],
      routes: routes.map((r) => ({
        match: r.match, mapping: r.mapping.name, engine: r.mapping.engine, mappingHash: r.mapping.hash,
        ...(r.mapping.fallback ? { fallback: r.mapping.fallback.message } : {}),
      })),
      hooks: Object.keys(hooks.hooks),
      conceptMaps: index.maps.map((m) => m.url ?? m.id ?? m.name ?? ''),
    },
  };
}

/** Never lets one plugin's defect escape the loader: anything unexpected becomes an error of that plugin. */
async function loadIsolated(dir: string, options: LoadPluginsOptions): Promise<{ plugin?: LoadedPlugin; summary: PluginSummary }> {
  try {
    return await loadOne(dir, options);
  } catch (error) {
    return {
      summary: {
        id: path.basename(dir), dir, status: 'error',
        errors: [{ file: displayPath(dir), message: `unexpected error while loading: ${(error as Error).message ?? String(error)}` }],
      },
    };
  }
}

/**
 * Every plugin folder under plugins/, loaded in isolation: a broken plugin is reported with the
 * file and field to fix and stays disabled; the others load normally.
 */
export class PluginRegistry {
  private constructor(
    private plugins: Map<string, LoadedPlugin>,
    private summaries: PluginSummary[],
    private readonly options?: LoadPluginsOptions,
  ) {}

  /**
   * Loads every plugin again from disk and swaps them in at once (POST /admin/plugins/reload): messages
   * already in a stage finish with the plugin they started with. Hook modules are cached by Node's ESM
   * loader, so a changed hook file needs a restart; manifests, mappings and ConceptMaps are re-read.
   */
  async reload(): Promise<PluginSummary[]> {
    if (!this.options) throw new Error('this registry was not loaded from disk');
    const fresh = await PluginRegistry.load(this.options);
    this.plugins = fresh.plugins;
    this.summaries = fresh.summaries;
    return this.summaries;
  }

  static async load(options: LoadPluginsOptions): Promise<PluginRegistry> {
    const plugins = new Map<string, LoadedPlugin>();
    const summaries: PluginSummary[] = [];
    const dirs = existsSync(options.pluginsDir)
      ? readdirSync(options.pluginsDir, { withFileTypes: true })
          .filter((d) => d.isDirectory() && !d.name.startsWith('.') && !d.name.startsWith('_'))
          .map((d) => path.join(options.pluginsDir, d.name))
          .filter((dir) => !options.only || options.only.includes(path.basename(dir)))
          .sort()
      : [];
    for (const dir of dirs) {
      const { plugin, summary } = await loadIsolated(dir, options);
      if (plugin && plugins.has(plugin.id)) {
        summary.status = 'error';
        summary.errors.push({ file: displayPath(path.join(dir, PLUGIN_MANIFEST_FILE)), field: 'id', message: `duplicate plugin id ${plugin.id}` });
      } else if (plugin) {
        plugins.set(plugin.id, plugin);
      }
      summaries.push(summary);
      if (summary.status === 'error') {
        options.logger?.error({ plugin: summary.id, errors: summary.errors }, `plugin ${summary.id} disabled: ${summary.errors.map(formatLoadError).join('; ')}`);
      } else {
        options.logger?.info({ plugin: summary.id, status: summary.status, producerHash: summary.producerHash }, `plugin ${summary.id} ${summary.status}`);
      }
    }
    return new PluginRegistry(plugins, summaries, options);
  }

  /** The active plugin with this id, if any. */
  get(id: string): LoadedPlugin | undefined {
    return this.plugins.get(id);
  }

  summary(id: string): PluginSummary | undefined {
    return this.summaries.find((s) => s.id === id);
  }

  list(): PluginSummary[] {
    return this.summaries;
  }

  active(): LoadedPlugin[] {
    return [...this.plugins.values()];
  }

  /** MLLP / file routing: the plugin declaring this MSH-3 (and MSH-4 when it declares one). */
  findBySource(sendingApplication: string | null, sendingFacility: string | null): LoadedPlugin | undefined {
    const firstComponent = (v: string | null) => (v ?? '').split('^')[0] ?? '';
    const app = firstComponent(sendingApplication);
    const facility = firstComponent(sendingFacility);
    return this.active().find((p) => {
      const source = p.manifest.source;
      if (!source?.sendingApplication) return false;
      if (source.sendingApplication !== app) return false;
      return !source.sendingFacility || source.sendingFacility === facility;
    });
  }
}

export function findRoute(plugin: LoadedPlugin, routeKey: string): LoadedRoute | undefined {
  return plugin.routes.find((r) => r.pattern.test(routeKey));
}

/** One load error on one line: `file:line:column (field): message`. */
export function formatLoadError(error: PluginLoadError): string {
  const where = error.line !== undefined && !error.message.startsWith(`${error.file}:`) ? `:${error.line}:${error.column ?? 1}` : '';
  const prefix = error.message.startsWith(error.file) ? '' : `${error.file}${where}${error.field ? ` (${error.field})` : ''}: `;
  return `${prefix}${error.message}${prefix === '' && error.field ? ` [${error.field}]` : ''}`;
}
