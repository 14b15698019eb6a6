import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Settings } from '../../core/config/load.ts';
import { formatParser } from '../../core/parse/index.ts';
import { pluginManifestSchema, type LoadedPlugin, type PluginManifest } from '../../core/plugins/index.ts';
import { isError, runInput } from '../../core/plugins/tooling/run-input.ts';
import type { FhirResource } from '../../core/storage/types.ts';
import { openAuthoringSession, type AuthoringSession } from '../../core/workbench/index.ts';
import { CoverageCollector, type ProfileCoverage } from './coverage.ts';
import { detectFormat, NOT_MESSAGES, type DetectedFormat } from './detect.ts';

/**
 * The corpus run: every message-like file of a folder through split + parse + route + map + validate with the
 * authoring processor (no queue, no storage), counted by stage, failures grouped by reason, plus the IG coverage
 * of everything mapped.
 */

export interface CorpusOptions {
  dir: string;
  /** Force every file through this plugin instead of choosing one per file. */
  plugin?: string;
  igDir: string;
  onProgress?: (done: number, total: number, file: string) => void;
  /** Called with each mapped message (e.g. to compare with the national gateway's output). */
  onMapped?: (file: string, resources: FhirResource[]) => Promise<void> | void;
}

export interface ReasonCount {
  reason: string;
  count: number;
  /** One file showing it (relative to the folder). */
  example: string;
}

export interface CorpusReport {
  dir: string;
  files: number;
  skipped: { notMessages: number; unrecognised: number };
  byFormat: Record<DetectedFormat, number>;
  messages: number;
  parsed: number;
  routed: number;
  mapped: number;
  valid: number;
  resources: number;
  /** failures per stage (parse, route, hook, map, validate), grouped by reason, most frequent first */
  failures: Record<string, ReasonCount[]>;
  /** messages no plugin route takes, by format and message type */
  noRoute: ReasonCount[];
  plugins: Record<string, number>;
  coverage: ProfileCoverage[];
  unprofiled: Record<string, number>;
  seconds: number;
}

function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (current: string) => {
    for (const entry of readdirSync(current, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      if (entry.name.startsWith('.') || entry.name === 'node_modules') continue;
      const full = path.join(current, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile()) out.push(full);
    }
  };
  if (statSync(dir).isDirectory()) walk(dir);
  else out.push(dir);
  return out;
}

/** Variable parts of a message (quoted values, numbers, ids, positions) removed, so equal causes group together. */
export function normaliseReason(message: string): string {
  return message
    .replace(/(\.jsonata):\d+:\d+/g, '$1:L:C')
    .replace(/"[^"]{0,200}"/g, '"…"')
    .replace(/\b[0-9a-f]{32}\b/g, '<id>')
    // standalone values only: MSH-9, UTF-8, D3137, OIDs and cardinalities (1..*) stay as they are
    .replace(/(?<![\w.-])\d+(?:\.\d+)*(?![\w-])/g, (value: string, offset: number, whole: string) =>
      (value.split('.').length > 2 || whole.startsWith('..', offset + value.length) || whole[offset - 1] === '.' ? value : 'N'))
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, 220);
}

class ReasonCounter {
  private readonly counts = new Map<string, ReasonCount>();
  add(reason: string, example: string): void {
    const entry = this.counts.get(reason);
    if (entry) entry.count++;
    else this.counts.set(reason, { reason, count: 1, example });
  }
  sorted(): ReasonCount[] {
    return [...this.counts.values()].sort((a, b) => b.count - a.count || a.reason.localeCompare(b.reason));
  }
}

/** Does this plugin take the file? A route matches its type, or (XML batch) the file's root is the plugin's batch root. */
function routeMatch(plugin: LoadedPlugin, routeKey: string | null): 'specific' | 'wildcard' | undefined {
  const recordRoot = plugin.manifest.parser.xml?.recordPath?.split('.')[0];
  if (recordRoot && routeKey === recordRoot) return 'specific';
  if (routeKey === null) return undefined;
  const route = plugin.routes.find((r) => r.pattern.test(routeKey));
  if (!route) return undefined;
  return route.match.includes('*') ? 'wildcard' : 'specific';
}

/** A manifest with the format's default parser options, for reading files no plugin takes. */
function probeManifest(format: DetectedFormat, settings: Settings): PluginManifest {
  return pluginManifestSchema.parse({
    id: 'corpus-probe', version: '0', ente: settings.config.enti[0]!.code, format, routes: [{ match: '*', mapping: 'none.jsonata' }],
  });
}

function choosePlugin(session: AuthoringSession, format: DetectedFormat, routeKey: string | null): LoadedPlugin | undefined {
  const candidates = session.plugins.active().filter((p) => p.manifest.format === format).sort((a, b) => a.id.localeCompare(b.id));
  let wildcard: LoadedPlugin | undefined;
  for (const plugin of candidates) {
    const match = routeMatch(plugin, routeKey);
    if (match === 'specific') return plugin;
    if (match === 'wildcard') wildcard ??= plugin;
  }
  return wildcard;
}

export async function runCorpus(settings: Settings, options: CorpusOptions): Promise<CorpusReport> {
  const started = performance.now();
  const session = await openAuthoringSession(settings);
  const forced = options.plugin ? session.plugins.get(options.plugin) : undefined;
  if (options.plugin && !forced) {
    const summary = session.plugins.summary(options.plugin);
    throw new Error(`plugin ${options.plugin} is ${summary ? `${summary.status}: ${summary.errors.map((e) => e.message).join('; ')}` : 'not installed'}`);
  }
  const files = listFiles(options.dir);
  const shown = (file: string) => path.relative(options.dir, file) || path.basename(file);
  const coverage = new CoverageCollector(options.igDir);
  const failures = new Map<string, ReasonCounter>();
  const failure = (stage: string) => failures.get(stage) ?? failures.set(stage, new ReasonCounter()).get(stage)!;
  const noRoute = new ReasonCounter();
  const report: CorpusReport = {
    dir: options.dir, files: files.length, skipped: { notMessages: 0, unrecognised: 0 }, byFormat: { hl7v2: 0, cda: 0, xml: 0 },
    messages: 0, parsed: 0, routed: 0, mapped: 0, valid: 0, resources: 0, failures: {}, noRoute: [], plugins: {},
    coverage: [], unprofiled: {}, seconds: 0,
  };

  for (const [index, file] of files.entries()) {
    options.onProgress?.(index, files.length, shown(file));
    if (NOT_MESSAGES.test(file)) {
      report.skipped.notMessages++;
      continue;
    }
    const raw = readFileSync(file);
    const format = detectFormat(raw);
    if (!format) {
      report.skipped.unrecognised++;
      continue;
    }
    report.byFormat[format]++;
    let routeKey: string | null = null;
    try {
      routeKey = formatParser(format).envelope(raw).routeKey;
    } catch {
      routeKey = null; // the parser has no envelope for it: the parse stage will say why
    }
    const plugin = forced ?? choosePlugin(session, format, routeKey);
    if (!plugin) {
      // No plugin takes it: parse it with the format's defaults (no plugin's options) to tell an unmapped
      // message type from an unreadable file.
      report.messages++;
      try {
        const parsed = formatParser(format).parse(raw, probeManifest(format, settings));
        report.parsed++;
        noRoute.add(`${format} ${parsed.routeKey}`, shown(file));
      } catch (error) {
        const e = error as { code?: string; message?: string };
        failure('parse').add(`${e.code ?? 'PARSE_FAILED'}: ${normaliseReason(e.message ?? String(error))}`, shown(file));
      }
      continue;
    }
    report.plugins[plugin.id] = (report.plugins[plugin.id] ?? 0) + 1;
    const outcomes = await runInput(session.processor, plugin, raw);
    for (const outcome of outcomes) {
      report.messages++;
      if (outcome.failure) {
        const { stage, code, message } = outcome.failure;
        if (stage !== 'parse') report.parsed++;
        if (stage === 'route' && code === 'ROUTE_NO_MAPPING') {
          noRoute.add(`${format} ${outcome.routeKey ?? routeKey ?? '(no message type)'}`, shown(file));
          continue;
        }
        if (stage !== 'parse' && stage !== 'route') report.routed++;
        failure(stage).add(`${code}: ${normaliseReason(message)}`, shown(file));
        continue;
      }
      report.parsed++;
      report.routed++;
      report.mapped++;
      report.resources += outcome.resources.length;
      for (const resource of outcome.resources) coverage.add(resource as Record<string, unknown>);
      const errors = outcome.issues.filter(isError);
      if (errors.length === 0) report.valid++;
      else {
        const reasons = new Set(errors.map((e) => `${e.resource.split('/')[0]} ${e.path.replace(/\[\d+\]/g, '')}: ${normaliseReason(e.message)}`));
        for (const reason of reasons) failure('validate').add(reason, shown(file));
      }
      await options.onMapped?.(file, outcome.resources);
    }
  }
  options.onProgress?.(files.length, files.length, '');
  report.failures = Object.fromEntries([...failures].map(([stage, counter]) => [stage, counter.sorted()]));
  report.noRoute = noRoute.sorted();
  report.coverage = coverage.results();
  report.unprofiled = Object.fromEntries(coverage.unprofiled);
  report.seconds = Math.round((performance.now() - started) / 100) / 10;
  return report;
}
