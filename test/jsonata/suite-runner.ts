/**
 * Runs jsonata-js's official test suite (a copy lives outside the repo, see locateSuite) through
 * compileJsonata and compares outcomes the way the upstream runner (test/run-test-suite.js) does:
 * deep equality of results (array contents only, like chai's deep-eql), `undefined` for undefinedResult,
 * the error code (and token) for `code`, and the listed properties for `error`.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CompiledExpression, FallbackReport } from '../../core/mapping/compiler/index.ts';
import { compileJsonata } from '../../core/mapping/compiler/index.ts';

export interface SuiteCase {
  group: string;
  file: string;
  /** index within the file (files may hold an array of cases) */
  index: number;
  expr: string;
  data?: unknown;
  dataset?: string | null;
  bindings?: Record<string, unknown>;
  result?: unknown;
  undefinedResult?: boolean;
  code?: string;
  token?: string;
  error?: Record<string, unknown>;
  timelimit?: number;
  depth?: number;
}

export type Outcome = 'pass' | 'fail';

export interface CaseResult {
  case: SuiteCase;
  /** 'compiled': ran on the compiled engine; 'syntax': rejected by the parser (same for both engines); 'fallback': interpreter */
  path: 'compiled' | 'syntax' | 'fallback';
  outcome: Outcome;
  detail?: string;
  fallback?: FallbackReport;
}

export interface GroupRow {
  group: string;
  cases: number;
  compiled: number;
  /** of the compiled, cases whose expression the parser rejects (expected error code checked) */
  syntax: number;
  fallback: number;
  passed: number;
  failed: number;
  fallbackPassed: number;
}

const here = dirname(fileURLToPath(import.meta.url));
export const repoRoot = resolve(here, '..', '..');

/** `JSONATA_TEST_SUITE_DIR`, else `../shared/jsonata-test-suite` beside the repository root. */
export function locateSuite(): string | undefined {
  const candidates = [
    process.env.JSONATA_TEST_SUITE_DIR,
    resolve(repoRoot, '..', 'shared', 'jsonata-test-suite'),
    // a git worktree lives one level deeper than the main checkout
    resolve(repoRoot, '..', '..', 'shared', 'jsonata-test-suite'),
  ].filter((d): d is string => typeof d === 'string' && d !== '');
  return candidates.find((d) => existsSync(join(d, 'groups')) && existsSync(join(d, 'datasets')));
}

export function loadSuite(dir: string): { cases: SuiteCase[]; datasets: Record<string, unknown> } {
  const datasets: Record<string, unknown> = {};
  for (const name of readdirSync(join(dir, 'datasets')).sort()) {
    if (name.endsWith('.json')) datasets[name.replace(/\.json$/, '')] = JSON.parse(readFileSync(join(dir, 'datasets', name), 'utf8'));
  }
  const cases: SuiteCase[] = [];
  for (const group of readdirSync(join(dir, 'groups')).sort()) {
    const gdir = join(dir, 'groups', group);
    for (const file of readdirSync(gdir).sort()) {
      if (!file.endsWith('.json')) continue;
      const spec: unknown = JSON.parse(readFileSync(join(gdir, file), 'utf8'));
      const list = (Array.isArray(spec) ? spec : [spec]) as Array<Record<string, unknown>>;
      list.forEach((raw, index) => {
        const expr = typeof raw['expr-file'] === 'string' ? readFileSync(join(gdir, raw['expr-file']), 'utf8') : String(raw.expr);
        cases.push({ ...(raw as object), group, file, index, expr } as SuiteCase);
      });
    }
  }
  return { cases, datasets };
}

function inputOf(c: SuiteCase, datasets: Record<string, unknown>): unknown {
  if ('data' in c) return c.data;
  if (c.dataset === null || c.dataset === undefined) return undefined;
  if (!(c.dataset in datasets)) throw new Error(`unknown dataset ${c.dataset}`);
  // each case gets its own copy: some expressions mutate their input (as jsonata's do)
  return structuredClone(datasets[c.dataset]);
}

/** chai-style deep equality for JSON results: arrays by contents, objects by own enumerable keys, -0 ≠ 0. */
export function deepEqualJson(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) return false;
    return a.every((v, i) => deepEqualJson(v, b[i]));
  }
  const ka = Object.keys(a).sort();
  const kb = Object.keys(b).sort();
  if (ka.length !== kb.length || ka.some((k, i) => k !== kb[i])) return false;
  return ka.every((k) => deepEqualJson((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

function show(v: unknown): string {
  try {
    const s = JSON.stringify(v);
    return s === undefined ? 'undefined' : s.length > 300 ? s.slice(0, 300) + '…' : s;
  } catch {
    return String(v);
  }
}

async function judge(c: SuiteCase, run: () => Promise<unknown>): Promise<{ outcome: Outcome; detail?: string }> {
  let value: unknown;
  try {
    value = await run();
  } catch (err) {
    const e = err as Record<string, unknown>;
    if (c.code !== undefined) {
      if (e.code !== c.code) return { outcome: 'fail', detail: `expected code ${c.code}, got ${String(e.code)}: ${String(e.message)}` };
      if (c.token !== undefined && e.token !== c.token) return { outcome: 'fail', detail: `expected token ${c.token}, got ${String(e.token)}` };
      return { outcome: 'pass' };
    }
    if (c.error !== undefined) {
      for (const [k, v] of Object.entries(c.error)) {
        if (!deepEqualJson(e[k], v)) return { outcome: 'fail', detail: `error.${k}: expected ${show(v)}, got ${show(e[k])}` };
      }
      return { outcome: 'pass' };
    }
    return { outcome: 'fail', detail: `unexpected error ${String(e.code)}: ${String(e.message)}` };
  }
  if (c.code !== undefined || c.error !== undefined) {
    return { outcome: 'fail', detail: `expected error ${c.code ?? show(c.error)}, got ${show(value)}` };
  }
  if (c.undefinedResult === true) {
    return value === undefined ? { outcome: 'pass' } : { outcome: 'fail', detail: `expected undefined, got ${show(value)}` };
  }
  if ('result' in c) {
    return deepEqualJson(value, c.result) ? { outcome: 'pass' } : { outcome: 'fail', detail: `expected ${show(c.result)}, got ${show(value)}` };
  }
  return { outcome: 'fail', detail: 'nothing to check in this case' };
}

export async function runCase(c: SuiteCase, datasets: Record<string, unknown>): Promise<CaseResult> {
  // the upstream runner only timeboxes cases that ask for it
  const limited = c.timelimit !== undefined && c.depth !== undefined;
  const options = limited ? { timeoutMs: c.timelimit, maxDepth: c.depth } : { timeoutMs: 10_000, maxDepth: 0 };
  let expr: CompiledExpression;
  try {
    expr = compileJsonata(c.expr, options);
  } catch (err) {
    const { outcome, detail } = await judge(c, () => Promise.reject(err));
    return { case: c, path: 'syntax', outcome, ...(detail === undefined ? {} : { detail }) };
  }
  const path = expr.engine === 'compiled' ? 'compiled' : 'fallback';
  const { outcome, detail } = await judge(c, () => expr.evaluate(inputOf(c, datasets), c.bindings));
  return {
    case: c,
    path,
    outcome,
    ...(detail === undefined ? {} : { detail }),
    ...(expr.fallback === undefined ? {} : { fallback: expr.fallback }),
  };
}

export async function runSuite(dir: string): Promise<CaseResult[]> {
  const { cases, datasets } = loadSuite(dir);
  const results: CaseResult[] = [];
  for (const c of cases) results.push(await runCase(c, datasets));
  return results;
}

export function tabulate(results: CaseResult[]): { rows: GroupRow[]; total: GroupRow } {
  const byGroup = new Map<string, GroupRow>();
  const total: GroupRow = { group: 'TOTAL', cases: 0, compiled: 0, syntax: 0, fallback: 0, passed: 0, failed: 0, fallbackPassed: 0 };
  for (const r of results) {
    let row = byGroup.get(r.case.group);
    if (row === undefined) {
      row = { group: r.case.group, cases: 0, compiled: 0, syntax: 0, fallback: 0, passed: 0, failed: 0, fallbackPassed: 0 };
      byGroup.set(r.case.group, row);
    }
    for (const target of [row, total]) {
      target.cases++;
      if (r.path === 'fallback') {
        target.fallback++;
        if (r.outcome === 'pass') target.fallbackPassed++;
      } else {
        target.compiled++;
        if (r.path === 'syntax') target.syntax++;
        if (r.outcome === 'pass') target.passed++;
        else target.failed++;
      }
    }
  }
  return { rows: [...byGroup.values()], total };
}

export function markdownTable(results: CaseResult[]): string {
  const { rows, total } = tabulate(results);
  const line = (r: GroupRow): string =>
    `| ${r.group} | ${r.cases} | ${r.compiled} | ${r.syntax} | ${r.fallback} | ${r.passed} | ${r.failed} | ${r.fallbackPassed}/${r.fallback} |`;
  return [
    '| group | cases | compiled | of which syntax errors | fell back | passed (compiled) | failed (compiled) | fallbacks passed (interpreter) |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map(line),
    line({ ...total, group: '**total**' }),
  ].join('\n');
}
