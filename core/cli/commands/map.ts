import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { loadSettings } from '../../config/index.ts';
import { MessageProcessor } from '../../pipeline/index.ts';
import { FIXED_MESSAGE_ID, openAuthoringSession, prettyJson, singlePluginRegistry, toCollectionBundle, withMappingEngine } from '../../workbench/index.ts';

/** `cdr map`: one file through parse + mapping + validation; Bundle on stdout, issues on stderr; exit 0 valid, 1 invalid, 2 error. */
export function registerMapCommand(program: Command): void {
  program
    .command('map')
    .description('run one source file through parse + mapping + validation; FHIR Bundle on stdout, validation issues on stderr')
    .requiredOption('--plugin <id>', 'the source plugin')
    .requiredOption('--input <file>', 'the message or document')
    .option('--engine <engine>', 'compiled | interpreter (default: the plugin setting)')
    .action(async (options: { plugin: string; input: string; engine?: string }) => {
      if (options.engine !== undefined && options.engine !== 'compiled' && options.engine !== 'interpreter') {
        process.stderr.write(`cdr map: --engine is "compiled" or "interpreter", not "${options.engine}"\n`);
        process.exitCode = 2;
        return;
      }
      const settings = loadSettings();
      let raw: Buffer;
      try {
        raw = readFileSync(options.input);
      } catch (error) {
        process.stderr.write(`cdr map: cannot read ${options.input}: ${(error as Error).message}\n`);
        process.exitCode = 2;
        return;
      }
      const session = await openAuthoringSession(settings, { only: [options.plugin] });
      const plugin = session.plugins.get(options.plugin);
      if (!plugin) {
        const summary = session.plugins.summary(options.plugin);
        const why = summary ? summary.errors.map((e) => `${e.file}${e.field ? ` (${e.field})` : ''}: ${e.message}`).join('\n  ') : 'no such plugin';
        process.stderr.write(`cdr map: plugin ${options.plugin} is not usable:\n  ${why}\n`);
        process.exitCode = 2;
        return;
      }
      const limits = { timeoutMs: settings.config.processing.mappingTimeoutMs, maxDepth: settings.config.processing.mappingMaxDepth };
      const processor = options.engine
        ? new MessageProcessor({ plugins: singlePluginRegistry(withMappingEngine(plugin, options.engine, limits)), validator: session.validator, logger: session.logger })
        : session.processor;
      const result = await processor.process(
        { messageId: FIXED_MESSAGE_ID, ente: plugin.manifest.ente, pluginId: plugin.id, raw, receivedAt: new Date() },
        { enforceValidation: false },
      );
      if (!result.ok) {
        process.stderr.write(`cdr map: ${result.error.stage} failed (${result.error.code}): ${result.error.message}\n`);
        process.exitCode = 2;
        return;
      }
      process.stdout.write(prettyJson(toCollectionBundle(result.resources)));
      const errors = result.validationIssues.filter((i) => i.severity === 'error' || i.severity === 'fatal');
      for (const issue of result.validationIssues) {
        process.stderr.write(`${issue.severity.padEnd(7)} ${issue.resource} ${issue.path}: ${issue.message}\n`);
      }
      // Trail warnings of the mapping itself (unmapped codes, invalid identifiers...), beside the validation issues.
      const fromValidation = result.validationIssues.map((i) => `${i.resource} ${i.path}: ${i.message}`);
      for (const warning of result.warnings) {
        if (!fromValidation.some((v) => warning.startsWith(v))) process.stderr.write(`trail   ${warning}\n`);
      }
      process.stderr.write(`${result.resources.length} resources via ${result.route.mapping.name} (${result.route.mapping.engine}); ${errors.length} error(s), ${result.validationIssues.length - errors.length} other issue(s)\n`);
      process.exitCode = errors.length > 0 ? 1 : 0;
    });
}
