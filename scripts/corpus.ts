/**
 * `npm run corpus -- DIR [--plugin ID] [--top N] [--json FILE] [--no-coverage]`
 *
 * Sends every message-like file of DIR (recursively) through parse + map + validate with the authoring
 * processor (no queue, no storage) and prints: the funnel (input, parsed, routed, mapped, valid), the
 * failures of each stage grouped by reason, the messages no route takes (by type), the IG coverage of the
 * outputs per profile, and — for national example CDAs that have the national gateway's FHIR beside them
 * (…/CDA/X.xml with …/FHIR/X.json) — the agreement with the gateway.
 * Files are only read: nothing from DIR is copied anywhere.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Command } from 'commander';
import cliProgress from 'cli-progress';
import { loadSettings, REPO_ROOT } from '../core/config/index.ts';
import type { FhirResource } from '../core/storage/types.ts';
import { toCollectionBundle } from '../core/workbench/index.ts';
import { formatCorpusReport } from './corpus/report.ts';
import { runCorpus } from './corpus/run.ts';

type CompareWithGateway = (ours: unknown, gateway: unknown) => unknown;

interface NationalAgreement {
  compare: CompareWithGateway;
  format?: (label: string, result: never) => string;
}

/** The CDA engineer's comparison (core/workbench/national-agreement.ts), when this build has it. */
async function loadComparison(): Promise<NationalAgreement | undefined> {
  const file = path.join(REPO_ROOT, 'core', 'workbench', 'national-agreement.ts');
  if (!existsSync(file)) return undefined;
  const module = (await import(pathToFileURL(file).href)) as { compareWithGateway?: CompareWithGateway; formatAgreement?: NationalAgreement['format'] };
  return module.compareWithGateway ? { compare: module.compareWithGateway, ...(module.formatAgreement ? { format: module.formatAgreement } : {}) } : undefined;
}

/** …/CDA/NAME.xml → …/FHIR/NAME.json (the layout of the national examples), if present. */
function gatewayBundleFor(file: string): string | undefined {
  const dir = path.dirname(file);
  if (path.basename(dir) !== 'CDA') return undefined;
  const candidate = path.join(path.dirname(dir), 'FHIR', `${path.basename(file, path.extname(file))}.json`);
  return existsSync(candidate) ? candidate : undefined;
}

/** One line per document: "LAB.xml 12/14 (85.7%)", then what differs. */
function describeAgreement(label: string, result: unknown, national: NationalAgreement): string[] {
  const r = (result ?? {}) as { checks?: number; agreed?: number; differences?: unknown[] };
  const head = national.format
    ? national.format(label, result as never)
    : typeof r.checks === 'number' ? `${label} ${r.agreed}/${r.checks}` : `${label} ${JSON.stringify(result).slice(0, 200)}`;
  const differences = Array.isArray(r.differences) ? r.differences.map(String) : [];
  return [`  ${head}`, ...differences.slice(0, 5).map((d) => `      ${d}`), ...(differences.length > 5 ? [`      ... and ${differences.length - 5} more`] : [])];
}

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
    const settings = loadSettings();
    const national = await loadComparison();
    const agreements: string[] = [];
    const totals = { checks: 0, agreed: 0 };
    let gatewayPairs = 0;
    const bar = options.progress && process.stderr.isTTY
      ? new cliProgress.SingleBar({ format: 'corpus |{bar}| {value}/{total} files  {file}', hideCursor: true, clearOnComplete: true, stream: process.stderr }, cliProgress.Presets.shades_classic)
      : undefined;
    let started = false;
    const report = await runCorpus(settings, {
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
      onMapped: async (file: string, resources: FhirResource[]) => {
        const gateway = gatewayBundleFor(file);
        if (!gateway) return;
        gatewayPairs++;
        if (!national) return;
        const gatewayBundle = JSON.parse(readFileSync(gateway, 'utf8')) as Record<string, unknown>;
        const result = await national.compare(toCollectionBundle(resources), gatewayBundle);
        totals.checks += Number((result as { checks?: number }).checks ?? 0);
        totals.agreed += Number((result as { agreed?: number }).agreed ?? 0);
        agreements.push(...describeAgreement(path.relative(root, file), result, national));
      },
    });
    bar?.stop();
    process.stdout.write(formatCorpusReport(report, { top: Number(options.top) || 10, coverage: options.coverage }));
    if (gatewayPairs > 0 || agreements.length > 0) {
      process.stdout.write('\nagreement with the national FSE gateway (its FHIR output for the same CDA)\n');
      if (!national) process.stdout.write(`  ${gatewayPairs} example(s) have the gateway's bundle, but compareWithGateway (core/workbench/national-agreement.ts) is not in this build\n`);
      else {
        process.stdout.write(`${agreements.join('\n')}\n`);
        const percent = totals.checks === 0 ? 100 : (100 * totals.agreed) / totals.checks;
        process.stdout.write(`  overall: ${totals.agreed}/${totals.checks} facts agree (${percent.toFixed(1)}%) over ${gatewayPairs} document(s) mapped; examples not mapped are counted above (no route / failures)\n`);
      }
    }
    if (options.json) {
      const json = { ...report, coverage: report.coverage.map((c) => ({ ...c, populated: Object.fromEntries(c.populated), elements: c.elements.map((e) => ({ id: e.id, min: e.min, slice: Boolean(e.match) })) })) };
      writeFileSync(options.json, `${JSON.stringify(json, null, 2)}\n`);
    }
  });

program.parseAsync(process.argv).catch((error: unknown) => {
  process.stderr.write(`corpus: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 2;
});
