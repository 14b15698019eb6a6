import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../common/logger.ts';
import { versionHash } from '../common/hash.ts';
import { compileMappingSource, MappingSyntaxError, type MappingLimits } from '../mapping/mapping-file.ts';
import { MessageProcessor, type ResourceValidator } from '../pipeline/processor.ts';
import { PluginRegistry, type LoadedPlugin } from '../plugins/registry.ts';
import { splitRecords, WorkbenchEvaluator, type EvaluationResult } from './evaluate.ts';
import { coverageOfInputs, readInputs, sampleFiles, type FolderCoverage } from './folder-coverage.ts';
import {
  authoringPathOf, readAuthoringFile, resolveAuthoringPath, UnsafePathError, writeAuthoringFile, type AuthoringRoots, type ResolvedPath,
} from './files.ts';
import { GOLDEN_MANIFEST, prettyJson, runGoldenCase, type GoldenResult } from './golden.ts';

export interface WorkbenchOptions {
  pluginsDir: string;
  mappingsDir: string;
  enti: ReadonlySet<string>;
  limits: MappingLimits;
  validator: ResourceValidator | undefined;
  logger: Logger;
}

/** A request the workbench refuses, with the HTTP status that says why. */
export class WorkbenchError extends Error {
  constructor(readonly status: 400 | 404 | 409 | 422, readonly code: string, message: string, readonly details?: Record<string, unknown>) {
    super(message);
    this.name = 'WorkbenchError';
  }
}

export const MAX_FILE_BYTES = 2 * 1024 * 1024;
const INPUT_EXTENSION: Record<string, string> = { hl7v2: 'hl7', cda: 'xml', xml: 'xml' };

export interface WorkbenchPlugin {
  id: string;
  name?: string | undefined;
  format?: string | undefined;
  status: string;
  errors: string[];
  routes: Array<{ match: string; mapping: string | undefined; mappingHash: string }>;
  samples: string[];
}

export interface GoldenSaveResult {
  files: string[];
  status: GoldenResult['status'];
  problems: string[];
}

/**
 * What the workbench page does, without HTTP: its own plugin registry (loaded from disk, reloaded after
 * each save, separate from the engine's: a saved mapping reaches production only with a plugin reload),
 * evaluations, and the only file reads and writes it allows (files.ts).
 */
export class WorkbenchService {
  private registry: PluginRegistry | undefined;
  private readonly evaluator: WorkbenchEvaluator;
  readonly roots: AuthoringRoots;

  constructor(private readonly options: WorkbenchOptions) {
    this.roots = { mappings: options.mappingsDir, plugins: options.pluginsDir };
    this.evaluator = new WorkbenchEvaluator({ validator: options.validator, limits: options.limits, logger: options.logger });
  }

  async plugins(): Promise<PluginRegistry> {
    this.registry ??= await PluginRegistry.load({
      pluginsDir: this.options.pluginsDir, mappingsDir: this.options.mappingsDir, enti: this.options.enti, limits: this.options.limits, logger: this.options.logger,
    });
    return this.registry;
  }

  /** Re-reads plugins and mappings from disk (after a save, or when the page asks for the list). */
  async reload(): Promise<PluginRegistry> {
    if (this.registry) await this.registry.reload();
    return this.plugins();
  }

  async listPlugins(): Promise<WorkbenchPlugin[]> {
    const registry = await this.reload();
    return registry.list().map((summary) => ({
      id: summary.id,
      name: summary.name,
      format: summary.format,
      status: summary.status,
      errors: summary.errors.map((e) => `${e.file}${e.line ? `:${e.line}:${e.column ?? 1}` : ''}${e.field ? ` (${e.field})` : ''}: ${e.message}`),
      routes: (registry.get(summary.id)?.routes ?? []).map((r) => ({ match: r.match, mapping: authoringPathOf(this.roots, r.mapping.file), mappingHash: r.mapping.hash })),
      samples: this.samplesOf(summary.dir),
    }));
  }

  private samplesOf(pluginDir: string): string[] {
    const dir = path.join(pluginDir, 'samples');
    if (!existsSync(dir)) return [];
    return readdirSync(dir)
      .filter((f) => !f.startsWith('.') && statSync(path.join(dir, f)).isFile())
      .sort()
      .map((f) => authoringPathOf(this.roots, path.join(dir, f)))
      .filter((p): p is string => p !== undefined);
  }

  resolve(requested: string): ResolvedPath {
    try {
      return resolveAuthoringPath(this.roots, requested);
    } catch (error) {
      if (error instanceof UnsafePathError) throw new WorkbenchError(400, 'WORKBENCH_PATH_REFUSED', error.message);
      throw error;
    }
  }

  readFile(requested: string): { path: string; content: string; hash: string } {
    const resolved = this.resolve(requested);
    try {
      const content = readAuthoringFile(resolved, MAX_FILE_BYTES);
      return { path: resolved.relative, content, hash: versionHash([content]) };
    } catch (error) {
      if (error instanceof UnsafePathError) throw new WorkbenchError(404, 'WORKBENCH_NOT_FOUND', error.message);
      throw error;
    }
  }

  async activePlugin(id: string): Promise<LoadedPlugin> {
    const registry = await this.plugins();
    const plugin = registry.get(id);
    if (!plugin) {
      const summary = registry.summary(id);
      throw new WorkbenchError(summary ? 422 : 404, summary ? 'WORKBENCH_PLUGIN_UNUSABLE' : 'WORKBENCH_NOT_FOUND',
        summary ? `plugin ${id} is ${summary.status}: ${summary.errors.map((e) => e.message).join('; ')}` : `no plugin ${id}`);
    }
    return plugin;
  }

  async evaluate(request: { pluginId: string; message: string; mapping?: string; mappingPath?: string; coverage?: boolean }): Promise<EvaluationResult> {
    const plugin = await this.activePlugin(request.pluginId);
    const mappingName = request.mappingPath ? this.resolve(request.mappingPath).relative : undefined;
    let mappingSource = request.mapping;
    if (mappingSource === undefined && request.mappingPath) mappingSource = this.readFile(request.mappingPath).content;
    const result = await this.evaluator.evaluate({
      plugin, raw: Buffer.from(request.message, 'utf8'), coverage: request.coverage ?? true,
      ...(mappingSource !== undefined ? { mappingSource, mappingName: mappingName ?? 'edited mapping' } : {}),
    });
    // The routed mapping as the page names files (mappings/...), never a server path.
    const routed = result.route ? plugin.routes.find((r) => r.match === result.route!.match) : undefined;
    if (result.route && routed) {
      const routedPath = authoringPathOf(this.roots, routed.mapping.file) ?? path.basename(routed.mapping.file);
      result.route = { ...result.route, mapping: routedPath };
      if (request.mapping !== undefined && mappingName && routedPath !== mappingName) {
        result.notices.push(`the message is routed (${result.route.match}) to ${routedPath}; the text of ${mappingName} ran in its place`);
      }
    }
    return result;
  }

  /** Coverage over the plugin's samples/ folder, with the edited mapping text when sent. */
  async coverageOfSamples(request: { pluginId: string; mapping?: string; mappingPath?: string }): Promise<FolderCoverage> {
    const plugin = await this.activePlugin(request.pluginId);
    const dir = path.join(plugin.dir, 'samples');
    const inputs = existsSync(dir) ? readInputs(sampleFiles(dir)) : [];
    const name = request.mappingPath ? this.resolve(request.mappingPath).relative : 'edited mapping';
    return coverageOfInputs(this.evaluator, plugin, inputs, request.mapping !== undefined ? { source: request.mapping, name } : undefined);
  }

  /** Writes a mapping (a .jsonata file in a mappings/ folder) that compiles; returns its new version hash. */
  async saveMapping(request: { path: string; source: string; expectedHash?: string }): Promise<{ path: string; hash: string; previousHash?: string }> {
    const resolved = this.resolve(request.path);
    const segments = resolved.relative.split('/');
    const inMappingsFolder = resolved.area === 'mappings' || (segments.length >= 4 && segments[2] === 'mappings');
    if (!resolved.relative.endsWith('.jsonata') || !inMappingsFolder) {
      throw new WorkbenchError(400, 'WORKBENCH_PATH_REFUSED', 'a mapping is a .jsonata file under mappings/ or under plugins/<id>/mappings/');
    }
    if (segments.includes('tests')) throw new WorkbenchError(400, 'WORKBENCH_PATH_REFUSED', 'tests/ folders hold golden tests, not mappings');
    const previous = existsSync(resolved.absolute) ? versionHash([readFileSync(resolved.absolute, 'utf8')]) : undefined;
    if (request.expectedHash && previous !== request.expectedHash) {
      throw new WorkbenchError(409, 'WORKBENCH_CONFLICT', `${resolved.relative} changed on disk since it was loaded (now ${previous ?? 'deleted'}); reload it first`);
    }
    try {
      compileMappingSource(request.source, resolved.relative, { limits: this.options.limits });
    } catch (error) {
      if (!(error instanceof MappingSyntaxError)) throw error;
      throw new WorkbenchError(422, 'WORKBENCH_MAPPING_INVALID', `not saved: ${error.message}`, { ...(error.position ?? {}) });
    }
    writeAuthoringFile(resolved, request.source);
    await this.reload();
    return { path: resolved.relative, hash: versionHash([request.source]), ...(previous ? { previousHash: previous } : {}) };
  }

  /**
   * "Save as golden test": runs the message through the plugin with the mapping as saved on disk; when
   * it is routed to that mapping and the output is valid, writes tests/<name>.<ext> (the input),
   * tests/<name>.expected.json (the output) and tests/golden.json beside the mapping, then runs the case.
   */
  async saveGolden(request: { pluginId: string; mappingPath: string; name: string; message: string; overwrite?: boolean }): Promise<GoldenSaveResult> {
    const plugin = await this.activePlugin(request.pluginId);
    const mapping = this.resolve(request.mappingPath);
    if (!mapping.relative.endsWith('.jsonata') || !existsSync(mapping.absolute)) {
      throw new WorkbenchError(404, 'WORKBENCH_NOT_FOUND', `no mapping ${mapping.relative} (save the mapping first)`);
    }
    const testsDir = `${path.posix.dirname(mapping.relative)}/tests`;
    const extension = INPUT_EXTENSION[plugin.manifest.format] ?? 'txt';
    const input = this.resolve(`${testsDir}/${request.name}.${extension}`);
    const expected = this.resolve(`${testsDir}/${request.name}.expected.json`);
    const manifestPath = this.resolve(`${testsDir}/${GOLDEN_MANIFEST}`);
    if (!request.overwrite && (existsSync(input.absolute) || existsSync(expected.absolute))) {
      throw new WorkbenchError(409, 'WORKBENCH_CONFLICT', `the golden test ${request.name} exists already beside ${mapping.relative}`);
    }
    const mappingsHere = readdirSync(path.dirname(mapping.absolute)).filter((f) => f.endsWith('.jsonata'));
    let manifest: { plugin: string; mapping?: string } = { plugin: plugin.id, ...(mappingsHere.length > 1 ? { mapping: path.basename(mapping.absolute) } : {}) };
    if (existsSync(manifestPath.absolute)) {
      let current: { plugin?: string; mapping?: string };
      try {
        current = JSON.parse(readAuthoringFile(manifestPath, MAX_FILE_BYTES)) as { plugin?: string; mapping?: string };
      } catch (error) {
        throw new WorkbenchError(409, 'WORKBENCH_CONFLICT', `${manifestPath.relative} cannot be read: ${(error as Error).message}`);
      }
      if (current.mapping && current.mapping !== path.basename(mapping.absolute)) {
        throw new WorkbenchError(409, 'WORKBENCH_CONFLICT', `the golden tests in ${testsDir} are for ${current.mapping}, not ${path.basename(mapping.absolute)}`);
      }
      if (current.plugin !== plugin.id) {
        throw new WorkbenchError(409, 'WORKBENCH_CONFLICT', `the golden tests beside ${mapping.relative} run through plugin ${current.plugin}, not ${plugin.id}`);
      }
      manifest = { plugin: plugin.id, ...(current.mapping ? { mapping: current.mapping } : manifest.mapping ? { mapping: manifest.mapping } : {}) };
    }

    const records = splitRecords(plugin, Buffer.from(request.message, 'utf8')).length;
    if (records > 1) throw new WorkbenchError(422, 'WORKBENCH_GOLDEN_REFUSED', `not saved: a batch of ${records} records; a golden test holds one message (paste one record)`);
    // The expected output comes from the saved mapping, not from the editor: the test must pass on disk.
    const registry = await this.reload();
    const fresh = registry.get(plugin.id) ?? plugin;
    const result = await this.evaluator.evaluate({ plugin: fresh, raw: Buffer.from(request.message, 'utf8') });
    if (!result.ok || !result.bundle) {
      throw new WorkbenchError(422, 'WORKBENCH_GOLDEN_REFUSED', `not saved: the message does not map: ${result.errors.map((e) => e.message).join('; ')}`);
    }
    const routed = fresh.routes.find((r) => r.match === result.route?.match)?.mapping.file;
    if (!routed || path.resolve(routed) !== path.resolve(mapping.absolute)) {
      throw new WorkbenchError(422, 'WORKBENCH_GOLDEN_REFUSED', `not saved: the message is routed (${result.route?.match}) to ${result.route?.mapping}, not to ${mapping.relative}`);
    }
    const errors = result.issues.filter((i) => i.severity === 'error' || i.severity === 'fatal');
    if (errors.length > 0) {
      throw new WorkbenchError(422, 'WORKBENCH_GOLDEN_REFUSED', `not saved: the output is not valid (${errors.length} error${errors.length > 1 ? 's' : ''}; first: ${errors[0]!.resource} ${errors[0]!.path}: ${errors[0]!.message})`);
    }
    writeAuthoringFile(input, request.message);
    writeAuthoringFile(expected, prettyJson(result.bundle));
    writeAuthoringFile(manifestPath, prettyJson(manifest));
    const session = { plugins: registry, validator: this.options.validator, logger: this.options.logger, processor: new MessageProcessor({ plugins: registry, validator: this.options.validator, logger: this.options.logger }) };
    const check = await runGoldenCase(session, {
      name: request.name, suite: path.dirname(input.absolute), plugin: plugin.id, mappingFile: mapping.absolute, inputFile: input.absolute, expectedFile: expected.absolute,
    });
    return { files: [input.relative, expected.relative, manifestPath.relative], status: check.status, problems: check.problems };
  }
}
