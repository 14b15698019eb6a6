import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { LoadedPlugin } from '../plugins/registry.ts';
import { aggregateCoverage, type CoverageTable, type MessageCoverage } from './coverage.ts';
import { splitRecords, type WorkbenchEvaluator } from './evaluate.ts';

/** `messages` counts messages as the engine stores them: each record of a batch file is one. */
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
    // A batch file counts as its records, as the engine stores them.
    const records = splitRecords(plugin, input.raw);
    for (const [index, raw] of records.entries()) {
      const name = records.length > 1 ? `${input.name} record ${index + 1}` : input.name;
      const result = await evaluator.evaluate({
        plugin, raw, coverage: true, ...(mapping ? { mappingSource: mapping.source, mappingName: mapping.name } : {}),
      });
      if (result.coverage) messages.push(result.coverage);
      else skipped.push({ name, reason: result.errors.map((e) => `${e.code}: ${e.message}`).join('; ') || 'the mapping did not run' });
    }
  }
  return { ...aggregateCoverage(messages), skipped };
}

export function readInputs(files: string[]): Array<{ name: string; raw: Buffer }> {
  return files.map((file) => ({ name: path.basename(file), raw: readFileSync(file) }));
}
