import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createTwoFilesPatch } from 'diff';
import { z } from 'zod';
import type { ResourceIssue } from '../pipeline/index.ts';
import type { FhirResource } from '../storage/types.ts';
import { FIXED_MESSAGE_ID, FIXED_RECEIVED_AT, type AuthoringSession } from './session.ts';

/**
 * Golden tests (ARCHITECTURE §7): beside each mapping, a tests/ folder with
 *   golden.json              { "plugin": "<plugin id>", "mapping": "<file>.jsonata" (when the folder has several) }
 *   <case>.<hl7|xml|txt>      an input message
 *   <case>.expected.json      the expected output: a collection Bundle of the resources the mapping produces
 * A case passes when the message, run through the plugin (parse, hooks, route, mapping), gives exactly
 * the expected Bundle, was routed to this folder's mapping, and every resource is valid against its profile.
 */
export const GOLDEN_MANIFEST = 'golden.json';
const EXPECTED_SUFFIX = '.expected.json';

const goldenManifestSchema = z.object({ plugin: z.string().min(1), mapping: z.string().optional() }).strict();

export interface GoldenCase {
  name: string;
  suite: string;
  plugin: string;
  mappingFile: string;
  inputFile: string;
  expectedFile: string;
}

export interface GoldenSuite {
  dir: string;
  plugin: string;
  mappingFile: string;
  cases: GoldenCase[];
}

export interface GoldenResult {
  case: GoldenCase;
  status: 'pass' | 'fail' | 'missing-expected' | 'error';
  /** Readable reasons, one per problem. */
  problems: string[];
  diff?: string;
  actual?: Record<string, unknown>;
  validationIssues: ResourceIssue[];
}

function walk(dir: string, found: string[]): void {
  if (!existsSync(dir)) return;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) walk(full, found);
    else if (entry.name === GOLDEN_MANIFEST && path.basename(dir) === 'tests') found.push(full);
  }
}

export class GoldenSuiteError extends Error {}

/** Finds every tests/golden.json under the given roots (mappings/ and plugins/). */
export function discoverGoldenSuites(roots: string[], pluginFilter?: string): GoldenSuite[] {
  const manifests: string[] = [];
  for (const root of roots) walk(root, manifests);
  const suites: GoldenSuite[] = [];
  for (const manifestFile of manifests.sort()) {
    const dir = path.dirname(manifestFile);
    let manifest: z.infer<typeof goldenManifestSchema>;
    try {
      manifest = goldenManifestSchema.parse(JSON.parse(readFileSync(manifestFile, 'utf8')));
    } catch (error) {
      throw new GoldenSuiteError(`${manifestFile}: ${(error as Error).message}`);
    }
    if (pluginFilter && manifest.plugin !== pluginFilter) continue;
    const mappingDir = path.dirname(dir);
    const mappings = readdirSync(mappingDir).filter((f) => f.endsWith('.jsonata'));
    const mappingName = manifest.mapping ?? (mappings.length === 1 ? mappings[0] : undefined);
    if (!mappingName) throw new GoldenSuiteError(`${manifestFile}: the folder has ${mappings.length} mappings; name one in "mapping"`);
    const mappingFile = path.join(mappingDir, mappingName);
    const cases = readdirSync(dir)
      .filter((f) => f !== GOLDEN_MANIFEST && !f.endsWith(EXPECTED_SUFFIX) && !f.endsWith('.md') && statSync(path.join(dir, f)).isFile())
      .sort()
      .map((file) => {
        const name = file.replace(/\.[^.]+$/, '');
        return { name, suite: dir, plugin: manifest.plugin, mappingFile, inputFile: path.join(dir, file), expectedFile: path.join(dir, `${name}${EXPECTED_SUFFIX}`) };
      });
    suites.push({ dir, plugin: manifest.plugin, mappingFile, cases });
  }
  return suites;
}

export function toCollectionBundle(resources: FhirResource[]): Record<string, unknown> {
  return { resourceType: 'Bundle', type: 'collection', entry: resources.map((resource) => ({ resource })) };
}

export function prettyJson(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/** Runs one case; never throws for a failing case (the result says why). */
export async function runGoldenCase(session: Pick<AuthoringSession, 'plugins' | 'processor'>, goldenCase: GoldenCase): Promise<GoldenResult> {
  const plugin = session.plugins.get(goldenCase.plugin);
  const base = { case: goldenCase, validationIssues: [] as ResourceIssue[] };
  if (!plugin) {
    const summary = session.plugins.summary(goldenCase.plugin);
    const why = summary ? summary.errors.map((e) => `${e.file} ${e.field ?? ''}: ${e.message}`).join('; ') : 'not installed';
    return { ...base, status: 'error', problems: [`plugin ${goldenCase.plugin} is not active: ${why}`] };
  }
  const result = await session.processor.process(
    { messageId: FIXED_MESSAGE_ID, ente: plugin.manifest.ente, pluginId: plugin.id, raw: readFileSync(goldenCase.inputFile), receivedAt: FIXED_RECEIVED_AT },
    { enforceValidation: false },
  );
  if (!result.ok) {
    return { ...base, status: 'error', problems: [`${result.error.stage} failed (${result.error.code}): ${result.error.message}`] };
  }
  const problems: string[] = [];
  if (path.resolve(result.route.mapping.file) !== path.resolve(goldenCase.mappingFile)) {
    problems.push(`the message was routed to ${result.route.mapping.name}, not to ${path.relative(process.cwd(), goldenCase.mappingFile)}`);
  }
  const errors = result.validationIssues.filter((i) => i.severity === 'error' || i.severity === 'fatal');
  for (const issue of errors) problems.push(`invalid: ${issue.resource} ${issue.path}: ${issue.message}`);
  const actual = toCollectionBundle(result.resources);
  if (!existsSync(goldenCase.expectedFile)) {
    return { ...base, status: 'missing-expected', problems: [...problems, `no ${path.basename(goldenCase.expectedFile)}`], actual, validationIssues: result.validationIssues };
  }
  const expectedText = readFileSync(goldenCase.expectedFile, 'utf8');
  let expected: unknown;
  try {
    expected = JSON.parse(expectedText);
  } catch (error) {
    return { ...base, status: 'error', problems: [`${goldenCase.expectedFile} is not JSON: ${(error as Error).message}`], actual, validationIssues: result.validationIssues };
  }
  const actualText = prettyJson(actual);
  const expectedNormal = prettyJson(expected);
  let diff: string | undefined;
  if (actualText !== expectedNormal) {
    diff = createTwoFilesPatch(path.basename(goldenCase.expectedFile), 'actual output', expectedNormal, actualText, undefined, undefined, { context: 3 });
    problems.push('the output differs from the expected file');
  }
  return { ...base, status: problems.length === 0 ? 'pass' : 'fail', problems, ...(diff ? { diff } : {}), actual, validationIssues: result.validationIssues };
}

/** --update: writes the actual output as the expected file (only when asked; review it against the IG). */
export function writeExpected(result: GoldenResult): boolean {
  if (!result.actual) return false;
  writeFileSync(result.case.expectedFile, prettyJson(result.actual));
  return true;
}
