import path from 'node:path';
import type { Command } from 'commander';
import { loadSettings, type Settings } from '../../config/index.ts';

/** Where a command writes; tests pass their own to run the command in-process. */
export interface PluginCommandIo {
  out(text: string): void;
  err(text: string): void;
}

const stdio: PluginCommandIo = {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
};

/** `cdr plugin new`: returns the exit code (0 created, 2 refused: nothing written). */
export async function runPluginNew(
  id: string, options: { format: string; ente: string }, settings: Settings = loadSettings(), io: PluginCommandIo = stdio,
): Promise<number> {
  const { scaffoldPlugin, ScaffoldError } = await import('../../plugins/scaffold/index.ts');
  const { displayPath } = await import('../../plugins/index.ts');
  const ente = settings.config.enti.find((e) => e.code === options.ente);
  if (!ente) {
    io.err(`cdr plugin new: unknown Ente "${options.ente}"; configured: ${settings.config.enti.map((e) => `${e.code} (${e.name})`).join(', ')}\n`);
    return 2;
  }
  try {
    const result = scaffoldPlugin({ id, format: options.format as never, ente: ente.code, enteName: ente.name, pluginsDir: settings.pluginsDir });
    const shown = displayPath(result.dir);
    io.out(
      `created ${shown}/ for Ente ${ente.code} (${ente.name}), format ${options.format}:\n` +
        result.files.map((f) => `  ${path.join(shown, f)}\n`).join('') +
        `next:\n  npx cdr plugin check ${id}          # manifest, mappings, samples, golden tests\n` +
        `  then replace samples/ and mappings/ with the real source's (guide: docs/plugins.md)\n`,
    );
    return 0;
  } catch (error) {
    if (!(error instanceof ScaffoldError)) throw error;
    io.err(`cdr plugin new: ${error.message}\n`);
    return 2;
  }
}

/** `cdr plugin check`: returns the exit code (0 passes, 1 problems, 2 no such plugin folder). */
export async function runPluginCheck(id: string, settings: Settings = loadSettings(), io: PluginCommandIo = stdio): Promise<number> {
  // Imported here so `plugin new` does not pay for the validator and the pipeline.
  const { checkPlugin, formatCheckReport, PluginNotFoundError } = await import('../../plugins/tooling/check.ts');
  try {
    const report = await checkPlugin(settings, id);
    io.out(formatCheckReport(report));
    return report.failures > 0 ? 1 : 0;
  } catch (error) {
    if (!(error instanceof PluginNotFoundError)) throw error;
    io.err(`cdr plugin check: ${error.message}\n`);
    return 2;
  }
}

/** `cdr plugin new ID --format hl7v2|cda|xml --ente CODE` and `cdr plugin check ID`. */
export function registerPluginCommand(program: Command): void {
  const plugin = program.command('plugin').description('create and check source plugins (one folder per source system under plugins/)');

  plugin
    .command('new')
    .description('scaffold a new source plugin (manifest, sample, starter mapping and its golden test) that passes its own check')
    .argument('<id>', 'plugin id = folder name: lower-case letters, digits and dashes, e.g. asst-demo-nord-lab')
    .requiredOption('--format <format>', 'hl7v2 | cda | xml')
    .requiredOption('--ente <code>', 'the Ente whose partition the source feeds (a code of the configured registry)')
    .action(async (id: string, options: { format: string; ente: string }) => {
      process.exitCode = await runPluginNew(id, options);
    });

  plugin
    .command('check')
    .description("validate a plugin's manifest, compile its mappings, run its samples (parse + map + validate) and its golden tests")
    .argument('<id>', 'plugin id (folder under plugins/)')
    .action(async (id: string) => {
      process.exitCode = await runPluginCheck(id);
    });
}
