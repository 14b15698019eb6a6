import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { LoadedPlugin } from '../plugins/registry.ts';
import { aggregateCoverage, type CoverageTable, type MessageCoverage } from './coverage.ts';
import type { WorkbenchEvaluator } from './evaluate.ts';

export interface FolderCoverage extends CoverageTable {
  /** Inputs the mapping could not run on (parse or route failure): not counted in the table. */
  skipped: Array<{ name: string; reason: string }>;
}

/** The regular files of a folder (not recursive, hidden files and *.expected.json excluded), sorted. */
export function sampleFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => !f.startsWith('.') && !f.endsWith('.expected.json') && f !== 'golden.json' && statSync(path.join(dir, f)).isFile())
    .sort()
    .map((f) => path.join(dir, f));
}

/**
 * Coverage over many messages: each runs through the plugin (with the edited mapping text, when given)
 * and the per-field counts are aggregated. A message whose mapping fails after reading still counts:
 * what it read is known; one that cannot be parsed or routed is listed as skipped.
 */
export async function coverageOfInputs(
  evaluator: WorkbenchEvaluator,
  plugin: LoadedPlugin,
  inputs: Array<{ name: string; raw: Buffer }>,
  mapping?: { source: string; name: string },
): Promise<FolderCoverage> {
  const messages: MessageCoverage[] = [];
  const skipped: FolderCoverage['skipped'] = [];
  for (const input of inputs) {
    const result = await evaluator.evaluate({
      plugin, raw: input.raw, coverage: true, ...(mapping ? { mappingSource: mapping.source, mappingName: mapping.name } : {}),
    });
    if (result.coverage) messages.push(result.coverage);
    else skipped.push({ name: input.name, reason: result.errors.map((e) => `${e.code}: ${e.message}`).join('; ') || 'the mapping did not run' });
  }
  return { ...aggregateCoverage(messages), skipped };
}

export function readInputs(files: string[]): Array<{ name: string; raw: Buffer }> {
  return files.map((file) => ({ name: path.basename(file), raw: readFileSync(file) }));
}
