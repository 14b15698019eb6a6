import { watch } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { loadSettings } from '../../config/index.ts';
import { discoverGoldenSuites, openAuthoringSession, runGoldenCase, writeExpected, type GoldenResult } from '../../workbench/index.ts';

interface TestMappingsOptions {
  plugin?: string;
  update?: boolean;
  watch?: boolean;
}

async function runAll(options: TestMappingsOptions): Promise<{ passed: number; failed: number }> {
  const settings = loadSettings();
  const suites = discoverGoldenSuites([settings.mappingsDir, settings.pluginsDir], options.plugin);
  const plugins = [...new Set(suites.map((s) => s.plugin))];
  const session = await openAuthoringSession(settings, { only: plugins });
  let passed = 0;
  let failed = 0;
  for (const suite of suites) {
    process.stdout.write(`\n${path.relative(process.cwd(), suite.mappingFile)}  (plugin ${suite.plugin})\n`);
    for (const goldenCase of suite.cases) {
      const result: GoldenResult = await runGoldenCase(session, goldenCase);
      if (result.status === 'pass') {
        passed++;
        process.stdout.write(`  PASS  ${goldenCase.name}\n`);
        continue;
      }
      if (options.update && (result.status === 'fail' || result.status === 'missing-expected') && writeExpected(result)) {
        process.stdout.write(`  WROTE ${goldenCase.name}.expected.json — review it against the IG before committing\n`);
        for (const problem of result.problems.filter((p) => p.startsWith('invalid:'))) process.stdout.write(`        ${problem}\n`);
        passed++;
        continue;
      }
      failed++;
      process.stdout.write(`  FAIL  ${goldenCase.name}\n`);
      for (const problem of result.problems) process.stdout.write(`        ${problem}\n`);
      if (result.diff) process.stdout.write(`${result.diff.split('\n').map((l) => `        ${l}`).join('\n')}\n`);
    }
  }
  process.stdout.write(`\n${passed} passed, ${failed} failed, ${suites.length} mapping${suites.length === 1 ? '' : 's'}\n`);
  return { passed, failed };
}

export function registerTestMappingsCommand(program: Command): void {
  program
    .command('test-mappings')
    .description("run every mapping's golden tests (input beside expected output), with a diff on failure")
    .option('--plugin <id>', 'only the golden tests that run through this plugin')
    .option('--update', 'rewrite the expected files of failing cases with the actual output (review before committing)')
    .option('--watch', 're-run when a mapping, plugin or test file changes')
    .action(async (options: TestMappingsOptions) => {
      const { failed } = await runAll(options);
      process.exitCode = failed > 0 ? 1 : 0;
      if (!options.watch) return;
      const settings = loadSettings();
      let timer: NodeJS.Timeout | undefined;
      const rerun = () => {
        clearTimeout(timer);
        timer = setTimeout(() => {
          process.stdout.write('\n--- change detected, re-running ---\n');
          void runAll({ ...options, update: false }).catch((error: unknown) => process.stderr.write(`${String(error)}\n`));
        }, 200);
      };
      for (const dir of [settings.mappingsDir, settings.pluginsDir]) watch(dir, { recursive: true }, rerun);
      process.stdout.write('watching mappings/ and plugins/ (Ctrl-C to stop)\n');
      await new Promise(() => undefined);
    });
}
