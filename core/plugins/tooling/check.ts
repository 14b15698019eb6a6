import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Settings } from '../../config/load.ts';
import { discoverGoldenSuites, GOLDEN_MANIFEST, openAuthoringSession, runGoldenCase, type GoldenSuite } from '../../workbench/index.ts';
import { displayPath, formatLoadError, resolveMappingPath, type LoadedPlugin } from '../registry.ts';
import type { ResourceIssue } from '../../pipeline/index.ts';
import { isError, runInput, type RecordOutcome } from './run-input.ts';

export type FindingLevel = 'ok' | 'warn' | 'fail';

export interface CheckFinding {
  level: FindingLevel;
  message: string;
  /** Further lines: validation issues, a golden diff... */
  details?: string[];
}

export interface CheckReport {
  pluginId: string;
  dir: string;
  findings: CheckFinding[];
  failures: number;
  warnings: number;
}

/** The plugin folder is missing: a usage error, not a check failure. */
export class PluginNotFoundError extends Error {}

const MAX_DETAILS = 15;

function truncated(lines: string[]): string[] {
  return lines.length <= MAX_DETAILS ? lines : [...lines.slice(0, MAX_DETAILS), `... and ${lines.length - MAX_DETAILS} more`];
}

/** Sample inputs: every file of samples/ (sub-folders included), except documentation. */
function sampleFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => !e.name.startsWith('.'))
    .flatMap((e) => (e.isDirectory() ? sampleFiles(path.join(dir, e.name)) : e.name.endsWith('.md') ? [] : [path.join(dir, e.name)]))
    .sort();
}

/** Golden suites that run through this plugin; a broken golden.json of another plugin does not concern this check. */
function suitesFor(pluginId: string, roots: string[]): { suites: GoldenSuite[]; problems: string[] } {
  const manifests: string[] = [];
  const walk = (dir: string) => {
    if (!existsSync(dir)) return;
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name === GOLDEN_MANIFEST && path.basename(dir) === 'tests') manifests.push(full);
    }
  };
  roots.forEach(walk);
  const suites: GoldenSuite[] = [];
  const problems: string[] = [];
  for (const file of [...new Set(manifests)].sort()) {
    let plugin: unknown;
    try {
      plugin = (JSON.parse(readFileSync(file, 'utf8')) as { plugin?: unknown }).plugin;
    } catch {
      continue;
    }
    if (plugin !== pluginId) continue;
    try {
      const found = discoverGoldenSuites([path.dirname(path.dirname(file))], pluginId).filter((s) => s.dir === path.dirname(file));
      suites.push(...found);
    } catch (error) {
      problems.push((error as Error).message);
    }
  }
  return { suites, problems };
}

/** "12 resources (Patient, Location, Encounter, 7 Observation, 2 Condition)" */
export function describeResources(resources: ReadonlyArray<{ resourceType: string }>): string {
  const counts = new Map<string, number>();
  for (const r of resources) counts.set(r.resourceType, (counts.get(r.resourceType) ?? 0) + 1);
  const parts = [...counts].map(([type, n]) => (n > 1 ? `${n} ${type}` : type));
  return `${resources.length} resource${resources.length === 1 ? '' : 's'} (${parts.join(', ')})`;
}

/** The same finding on several resources of a type is one line with a count (ids differ, the lesson does not). */
function groupIssues(issues: ResourceIssue[]): string[] {
  const groups = new Map<string, { line: string; count: number }>();
  for (const issue of issues) {
    const type = issue.resource.split('/')[0] ?? issue.resource;
    const key = `${issue.severity}|${type}|${issue.path}|${issue.message}`;
    const group = groups.get(key);
    if (group) group.count++;
    else groups.set(key, { line: `${issue.severity} ${issue.resource} ${issue.path}: ${issue.message}`, count: 1 });
  }
  return [...groups.values()].map((g) => (g.count > 1 ? `${g.line} (and ${g.count - 1} more ${g.line.split(' ')[1]!.split('/')[0]})` : g.line));
}

function describeOutcome(sample: string, outcome: RecordOutcome, records: number, policy: 'error' | 'warn'): CheckFinding {
  const where = records > 1 ? `${sample} record ${outcome.index + 1}/${records}` : sample;
  if (outcome.failure) {
    return { level: 'fail', message: `${where}: ${outcome.failure.stage} failed (${outcome.failure.code}): ${outcome.failure.message}` };
  }
  const errors = outcome.issues.filter(isError);
  const warnings = outcome.issues.filter((i) => i.severity === 'warning');
  const summary = `${where}: ${outcome.routeKey} → ${describeResources(outcome.resources)} via ${outcome.mapping}`;
  const details = truncated([...groupIssues([...errors, ...warnings]), ...outcome.warnings.map((w) => `trail warning: ${w}`)]);
  if (errors.length > 0) {
    return {
      level: policy === 'warn' ? 'warn' : 'fail',
      message: `${summary}: ${errors.length} profile error(s)${policy === 'warn' ? ' (validation policy "warn": they would be stored anyway)' : ''}`,
      details,
    };
  }
  const warningCount = warnings.length + outcome.warnings.length;
  return { level: warningCount ? 'warn' : 'ok', message: `${summary}, valid${warningCount ? ` with ${warningCount} warning(s)` : ''}`, ...(warningCount ? { details } : {}) };
}

/**
 * `cdr plugin check ID`: the manifest (with file and field for each problem), its mappings compiled
 * (file:line:column for JSONata errors), every sample through split + parse + map + validate, and the
 * golden tests of its mappings. Failures make the check fail; warnings point at gaps.
 */
export async function checkPlugin(settings: Settings, pluginId: string): Promise<CheckReport> {
  const dir = path.join(settings.pluginsDir, pluginId);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new PluginNotFoundError(`no plugin folder ${displayPath(dir)} (plugins are read from ${displayPath(settings.pluginsDir)})`);
  }
  const findings: CheckFinding[] = [];
  const report = (): CheckReport => ({
    pluginId, dir, findings,
    failures: findings.filter((f) => f.level === 'fail').length,
    warnings: findings.filter((f) => f.level === 'warn').length,
  });

  const session = await openAuthoringSession(settings, { only: [pluginId] });
  const summary = session.plugins.summary(pluginId)!;
  if (summary.status === 'error') {
    for (const error of summary.errors) findings.push({ level: 'fail', message: formatLoadError(error) });
    return report();
  }
  if (summary.status === 'disabled') {
    findings.push({ level: 'warn', message: `the plugin is disabled ("enabled": false in ${displayPath(path.join(dir, 'plugin.json'))}): nothing else was checked` });
    return report();
  }
  const plugin = session.plugins.get(pluginId) as LoadedPlugin;
  const manifest = plugin.manifest;
  const ente = settings.config.enti.find((e) => e.code === manifest.ente);
  findings.push({
    level: 'ok',
    message: `manifest ${displayPath(path.join(dir, 'plugin.json'))}: ${manifest.format}, Ente ${manifest.ente} (${ente?.name ?? '?'}), ${manifest.routes.length} route(s), validation policy "${manifest.validation.policy}"`,
  });
  const byMapping = new Map<string, { mapping: LoadedPlugin['routes'][number]['mapping']; matches: string[] }>();
  for (const route of plugin.routes) {
    const entry = byMapping.get(route.mapping.name) ?? { mapping: route.mapping, matches: [] };
    entry.matches.push(route.match);
    byMapping.set(route.mapping.name, entry);
  }
  for (const [name, { mapping, matches }] of byMapping) {
    findings.push({ level: 'ok', message: `mapping ${name} compiled, engine ${mapping.engine} (routes: ${matches.join(', ')})` });
    // The compiled engine hands constructs it does not support to the interpreter: correct, but slower.
    if (mapping.fallback) findings.push({ level: 'warn', message: `${name} runs on the JSONata interpreter: ${mapping.fallback.message}` });
  }
  for (const map of plugin.conceptMaps.maps) {
    const codes = map.group.reduce((n, g) => n + g.element.length, 0);
    findings.push({ level: 'ok', message: `ConceptMap ${map.url ?? map.id ?? map.name}: ${codes} source code(s) in ${map.group.length} group(s)` });
  }
  if (summary.hooks?.length) findings.push({ level: 'ok', message: `hooks ${manifest.hooks}: ${summary.hooks.join(', ')}` });

  // Samples: what the pipeline would do with each, nothing stored.
  const samples = sampleFiles(path.join(dir, 'samples'));
  if (samples.length === 0) findings.push({ level: 'warn', message: `no sample inputs in ${displayPath(path.join(dir, 'samples'))}: add a few (synthetic) messages of the source` });
  const usedRoutes = new Set<string>();
  for (const file of samples) {
    const outcomes = await runInput(session.processor, plugin, readFileSync(file));
    for (const outcome of outcomes) {
      findings.push(describeOutcome(displayPath(file), outcome, outcomes.length, manifest.validation.policy));
      const route = outcome.routeKey ? plugin.routes.find((r) => r.pattern.test(outcome.routeKey!)) : undefined;
      if (route) usedRoutes.add(route.match);
    }
  }
  if (samples.length > 0) {
    for (const route of plugin.routes) {
      if (!usedRoutes.has(route.match)) findings.push({ level: 'warn', message: `no sample exercises route "${route.match}" (${route.mapping.name})` });
    }
  }

  // Golden tests of the mappings this plugin uses.
  const { suites, problems } = suitesFor(pluginId, [dir, settings.mappingsDir]);
  for (const problem of problems) findings.push({ level: 'fail', message: `golden tests: ${problem}` });
  for (const suite of suites) {
    for (const goldenCase of suite.cases) {
      const result = await runGoldenCase(session, goldenCase);
      const name = `golden ${displayPath(goldenCase.inputFile)}`;
      if (result.status === 'pass') findings.push({ level: 'ok', message: `${name}: pass` });
      else {
        const diff = result.diff ? result.diff.split('\n').slice(0, 60) : [];
        findings.push({ level: 'fail', message: `${name}: ${result.status}`, details: [...result.problems, ...diff] });
      }
    }
  }
  const tested = new Set(suites.map((s) => path.resolve(s.mappingFile)));
  for (const route of manifest.routes) {
    const file = resolveMappingPath(route.mapping, dir, settings.mappingsDir);
    if (!tested.has(file)) {
      findings.push({ level: 'warn', message: `no golden test for ${displayPath(file)} (route "${route.match}"): add tests/ beside it (docs/mappings.md)` });
      tested.add(file);
    }
  }
  return report();
}

/** The report as text: one line per finding, details indented, a last line with the verdict. */
export function formatCheckReport(report: CheckReport): string {
  const mark: Record<FindingLevel, string> = { ok: '  ok   ', warn: '  warn ', fail: '  FAIL ' };
  const lines = [`plugin ${report.pluginId} (${displayPath(report.dir)})`];
  for (const finding of report.findings) {
    lines.push(`${mark[finding.level]}${finding.message}`);
    for (const detail of finding.details ?? []) lines.push(`         ${detail}`);
  }
  lines.push(
    report.failures === 0
      ? `plugin ${report.pluginId}: OK${report.warnings ? ` (${report.warnings} warning(s))` : ''}`
      : `plugin ${report.pluginId}: ${report.failures} problem(s)${report.warnings ? `, ${report.warnings} warning(s)` : ''}`,
  );
  return `${lines.join('\n')}\n`;
}
