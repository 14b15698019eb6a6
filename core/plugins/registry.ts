import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ZodError } from 'zod';
import { versionHash } from '../common/hash.ts';
import type { Logger } from '../common/logger.ts';
import { isValidTimeZone } from '../common/time.ts';
import { functionBindings } from '../mapping/functions/index.ts';
import { loadMappingFile, MappingSyntaxError, type LoadedMapping, type MappingLimits } from '../mapping/mapping-file.ts';
import type { PluginHooks } from './api.ts';
import { PLUGIN_MANIFEST_FILE, pluginManifestSchema, type PluginManifest } from './manifest.ts';

export type PluginStatus = 'active' | 'disabled' | 'error';

/** A problem that keeps a plugin from loading, pointing at the file and field to fix. */
export interface PluginLoadError {
  file: string;
  field?: string;
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
  readonly hooks: PluginHooks;
  /** Content hash of manifest + mappings + hooks + ConceptMaps: the version recorded with what it writes. */
  readonly producerHash: string;
  /** JSONata bindings fixed for this plugin (function library built for its Ente and zone). */
  readonly bindings: Record<string, unknown>;
}

export interface PluginSummary {
  id: string;
  dir: string;
  status: PluginStatus;
  ente?: string | undefined;
  format?: string | undefined;
  version?: string | undefined;
  producerHash?: string | undefined;
  routes?: Array<{ match: string; mapping: string; engine: string; mappingHash: string; fallback?: string }>;
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

const display = (file: string) => path.relative(process.cwd(), file) || file;

function zodErrors(file: string, error: ZodError): PluginLoadError[] {
  return error.issues.map((issue) => ({
    file,
    field: issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, '') || '(root)',
    message: issue.message,
  }));
}

/** Resolves a route's mapping path: "./x" is inside the plugin folder, anything else under mappings/. */
export function resolveMappingPath(mapping: string, pluginDir: string, mappingsDir: string): string {
  return mapping.startsWith('./') || mapping.startsWith('../') ? path.resolve(pluginDir, mapping) : path.resolve(mappingsDir, mapping);
}

async function loadOne(dir: string, options: LoadPluginsOptions): Promise<{ plugin?: LoadedPlugin; summary: PluginSummary }> {
  const manifestFile = path.join(dir, PLUGIN_MANIFEST_FILE);
  const shownManifest = display(manifestFile);
  const fail = (errors: PluginLoadError[], partial: Partial<PluginSummary> = {}) => ({
    summary: { id: path.basename(dir), dir, status: 'error' as const, errors, ...partial },
  });
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(manifestFile, 'utf8'));
  } catch (error) {
    return fail([{ file: shownManifest, message: existsSync(manifestFile) ? `not valid JSON: ${(error as Error).message}` : 'missing manifest' }]);
  }
  const parsed = pluginManifestSchema.safeParse(raw);
  if (!parsed.success) return fail(zodErrors(shownManifest, parsed.error));
  const manifest = parsed.data;
  const base = { id: manifest.id, ente: manifest.ente, format: manifest.format, version: manifest.version };
  const errors: PluginLoadError[] = [];
  if (manifest.id !== path.basename(dir)) {
    errors.push({ file: shownManifest, field: 'id', message: `the id "${manifest.id}" must equal the folder name "${path.basename(dir)}"` });
  }
  if (!options.enti.has(manifest.ente)) {
    errors.push({ file: shownManifest, field: 'ente', message: `Ente ${manifest.ente} is not in the configured registry (${[...options.enti].join(', ')})` });
  }
  if (!isValidTimeZone(manifest.timeZone)) {
    errors.push({ file: shownManifest, field: 'timeZone', message: `unknown time zone "${manifest.timeZone}"` });
  }
  if (!manifest.enabled) return { summary: { ...base, dir, status: 'disabled', errors } };

  const mappingCache = new Map<string, LoadedMapping>();
  const routes: LoadedRoute[] = [];
  manifest.routes.forEach((route, index) => {
    const file = resolveMappingPath(route.mapping, dir, options.mappingsDir);
    const field = `routes[${index}].mapping`;
    if (!existsSync(file) || !statSync(file).isFile()) {
      errors.push({ file: shownManifest, field, message: `mapping file ${display(file)} does not exist` });
      return;
    }
    try {
      let mapping = mappingCache.get(file);
      if (!mapping) {
        mapping = loadMappingFile(file, display(file), { engine: manifest.mappingEngine, limits: options.limits });
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
      const message = error instanceof MappingSyntaxError ? error.message : `cannot load mapping: ${(error as Error).message}`;
      errors.push({ file: display(file), field, message });
    }
  });

  const conceptMapContents: string[] = [];
  manifest.conceptMaps.forEach((file, index) => {
    const full = path.resolve(dir, file);
    try {
      const text = readFileSync(full, 'utf8');
      const json = JSON.parse(text) as { resourceType?: string };
      if (json.resourceType !== 'ConceptMap') throw new Error('not a ConceptMap resource');
      conceptMapContents.push(text);
    } catch (error) {
      errors.push({ file: shownManifest, field: `conceptMaps[${index}]`, message: `${display(full)}: ${(error as Error).message}` });
    }
  });

  let hooks: PluginHooks = {};
  let hooksSource = '';
  if (manifest.hooks) {
    const file = path.resolve(dir, manifest.hooks);
    try {
      hooksSource = readFileSync(file, 'utf8');
      const module = (await import(pathToFileURL(file).href)) as { default?: PluginHooks } & PluginHooks;
      hooks = module.default ?? module;
      for (const name of ['preParse', 'postParse', 'postMap'] as const) {
        if (hooks[name] !== undefined && typeof hooks[name] !== 'function') {
          errors.push({ file: display(file), field: name, message: `hook ${name} must be a function` });
        }
      }
    } catch (error) {
      errors.push({ file: shownManifest, field: 'hooks', message: `cannot load hooks ${display(file)}: ${(error as Error).message}` });
    }
  }

  if (errors.length > 0) return fail(errors, base);
  const producerHash = versionHash([
    JSON.stringify(manifest),
    ...[...mappingCache.values()].map((m) => m.hash),
    hooksSource,
    ...conceptMapContents,
  ]);
  const plugin: LoadedPlugin = {
    id: manifest.id,
    dir,
    manifest,
    routes,
    hooks,
    producerHash,
    bindings: functionBindings({ ente: manifest.ente, timeZone: manifest.timeZone }),
  };
  return {
    plugin,
    summary: {
      ...base, dir, status: 'active', producerHash, errors: [],
      routes: routes.map((r) => ({
        match: r.match, mapping: r.mapping.name, engine: r.mapping.engine, mappingHash: r.mapping.hash,
        ...(r.mapping.fallback ? { fallback: r.mapping.fallback.message } : {}),
      })),
    },
  };
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
      const { plugin, summary } = await loadOne(dir, options);
      if (plugin && plugins.has(plugin.id)) {
        summary.status = 'error';
        summary.errors.push({ file: display(path.join(dir, PLUGIN_MANIFEST_FILE)), field: 'id', message: `duplicate plugin id ${plugin.id}` });
      } else if (plugin) {
        plugins.set(plugin.id, plugin);
      }
      summaries.push(summary);
      if (summary.status === 'error') {
        options.logger?.error({ plugin: summary.id, errors: summary.errors }, `plugin ${summary.id} disabled: ${summary.errors.map((e) => `${e.file}${e.field ? ` (${e.field})` : ''}: ${e.message}`).join('; ')}`);
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
