import path from 'node:path';
import type { Command } from 'commander';
import { loadSettings } from '../../config/index.ts';

/**
 * `cdr plugin new ID --format hl7v2|cda|xml --ente CODE` and `cdr plugin check ID`.
 * Heavy modules (validator, pipeline) are imported when a command runs, so `new` stays quick.
 */
export function registerPluginCommand(program: Command): void {
  const plugin = program.command('plugin').description('create and check source plugins (one folder per source system under plugins/)');

  plugin
    .command('new')
    .description('scaffold a new source plugin (manifest, sample, starter mapping and its golden test) that passes its own check')
    .argument('<id>', 'plugin id = folder name: lower-case letters, digits and dashes, e.g. asst-demo-nord-lab')
    .requiredOption('--format <format>', 'hl7v2 | cda | xml')
    .requiredOption('--ente <code>', 'the Ente whose partition the source feeds (a code of the configured registry)')
    .action(async (id: string, options: { format: string; ente: string }) => {
      const { scaffoldPlugin, ScaffoldError } = await import('../../plugins/scaffold/index.ts');
      const { displayPath } = await import('../../plugins/index.ts');
      const settings = loadSettings();
      const ente = settings.config.enti.find((e) => e.code === options.ente);
      if (!ente) {
        process.stderr.write(`cdr plugin new: unknown Ente "${options.ente}"; configured: ${settings.config.enti.map((e) => `${e.code} (${e.name})`).join(', ')}\n`);
        process.exitCode = 2;
        return;
      }
      try {
        const result = scaffoldPlugin({ id, format: options.format as never, ente: ente.code, enteName: ente.name, pluginsDir: settings.pluginsDir });
        const shown = displayPath(result.dir);
        process.stdout.write(
          `created ${shown}/ for Ente ${ente.code} (${ente.name}), format ${options.format}:\n` +
            result.files.map((f) => `  ${path.join(shown, f)}\n`).join('') +
            `next:\n  npx cdr plugin check ${id}          # manifest, mappings, samples, golden tests\n` +
            `  then replace samples/ and mappings/ with the real source's (guide: docs/plugins.md)\n`,
        );
      } catch (error) {
        if (!(error instanceof ScaffoldError)) throw error;
        process.stderr.write(`cdr plugin new: ${error.message}\n`);
        process.exitCode = 2;
      }
    });

  plugin
    .command('check')
    .description("validate a plugin's manifest, compile its mappings, run its samples (parse + map + validate) and its golden tests")
    .argument('<id>', 'plugin id (folder under plugins/)')
    .action(async (id: string) => {
      const { checkPlugin, formatCheckReport, PluginNotFoundError } = await import('../../plugins/tooling/check.ts');
      const settings = loadSettings();
      try {
        const report = await checkPlugin(settings, id);
        process.stdout.write(formatCheckReport(report));
        process.exitCode = report.failures > 0 ? 1 : 0;
      } catch (error) {
        if (!(error instanceof PluginNotFoundError)) throw error;
        process.stderr.write(`cdr plugin check: ${error.message}\n`);
        process.exitCode = 2;
      }
    });
}
