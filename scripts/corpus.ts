/**
 * `npm run corpus -- DIR [--plugin ID] [--top N] [--json FILE] [--no-coverage] [--no-progress]`
 *
 * Sends every message-like file of DIR (recursively) through parse + map + validate with the authoring
 * processor (no queue, no storage) and prints: the funnel (input, parsed, routed, mapped, valid), the
 * failures of each stage grouped by reason, the messages no route takes (by type), the IG coverage of the
 * outputs per profile, and — for national example CDAs that have the national gateway's FHIR beside them
 * (…/CDA/X.xml with …/FHIR/X.json) — the agreement with the gateway.
 * Files are only read: nothing from DIR is copied anywhere.
 */
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import cliProgress from 'cli-progress';
import { loadSettings, REPO_ROOT } from '../core/config/index.ts';
import { nationalAgreement } from './corpus/national.ts';
import { formatCorpusReport } from './corpus/report.ts';
import { runCorpus } from './corpus/run.ts';

const program = new Command();
program
  .name('npm run corpus --')
  .description('parse + map + validate every supported file of a folder; summary table, failures by reason, IG coverage')
  .argument('<dir>', 'folder (or one file) of HL7 v2 / CDA / XML messages')
  .option('--plugin <id>', 'send every file through this plugin instead of choosing one per file (format + routes)')
  .option('--top <n>', 'reasons shown per stage', '10')
  .option('--json <file>', 'also write the report as JSON')
  .option('--no-coverage', 'do not print the IG coverage')
  .option('--no-progress', 'no progress bar')
  .action(async (dir: string, options: { plugin?: string; top: string; json?: string; coverage: boolean; progress: boolean }) => {
    const root = path.resolve(dir);
    if (!existsSync(root)) {
      process.stderr.write(`corpus: ${dir} does not exist (the shared corpus is optional: nothing to run)\n`);
      process.exitCode = 2;
      return;
    }
    const agreement = await nationalAgreement();
    const bar = options.progress && process.stderr.isTTY
      ? new cliProgress.SingleBar({ format: 'corpus |{bar}| {value}/{total} files  {file}', hideCursor: true, clearOnComplete: true, stream: process.stderr }, cliProgress.Presets.shades_classic)
      : undefined;
    let started = false;
    const report = await runCorpus(loadSettings(), {
      dir: root,
      igDir: path.join(REPO_ROOT, 'ig'),
      ...(options.plugin ? { plugin: options.plugin } : {}),
      onProgress: (done, total, file) => {
        if (!bar) return;
        if (!started) {
          bar.start(total, 0, { file: '' });
          started = true;
        }
        bar.update(done, { file: file.length > 50 ? `…${file.slice(-49)}` : file });
      },
      onMapped: (file, resources) => agreement.onMapped(file, resources),
    });
    bar?.stop();
    process.stdout.write(formatCorpusReport(report, { top: Number(options.top) || 10, coverage: options.coverage }));
    const national = agreement.lines(root);
    if (national.length) process.stdout.write(`\n${national.join('\n')}\n`);
    if (options.json) {
      const json = {
        ...report,
        coverage: report.coverage.map((c) => ({ ...c, populated: Object.fromEntries(c.populated), elements: c.elements.map((e) => ({ id: e.id, min: e.min, slice: Boolean(e.match) })) })),
      };
      writeFileSync(options.json, `${JSON.stringify(json, null, 2)}\n`);
    }
  });

program.parseAsync(process.argv).catch((error: unknown) => {
  process.stderr.write(`corpus: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 2;
});
