/**
 * CDA parsing throughput: documents per second (median of 5 runs) for a ~50 KB CDA — the plugin's LAB
 * sample grown to 50 KB by repeating its sections — through
 *   - the engine's CDA parser (core/parse/cda: tokenizer + tree, safety checks included),
 *   - its envelope (what ingest reads before acknowledging),
 *   - fast-xml-parser 5 with the best options found (shared/notes/perf-baseline.md §2: CDA arrays, stop
 *     node for the narrative, jPath:false; no well-formedness check, which it does not do), for comparison,
 *   - the engine's parser + the LAB JSONata mapping (on the plugin's mapping engine) + validation: one document end to end, minus storage.
 * With the shared folder present, also the MIT-licensed Microsoft C-CDA 170.314B2_Amb_CCD (75 KB), parsed only.
 * Run: `npx tsx bench/cda-parse.ts [--seconds N]` (prints a table, writes bench/results/cda-parse.json).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { XMLParser } from 'fast-xml-parser';
import { loadSettings } from '../core/config/index.ts';
import { CDA_ARRAY_ELEMENTS, cdaFormat } from '../core/parse/cda/index.ts';
import { pluginManifestSchema } from '../core/plugins/index.ts';
import { FIXED_RECEIVED_AT, openAuthoringSession } from '../core/workbench/index.ts';

const RUNS = 5;
const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '..');
const SHARED = process.env.CDR_SHARED_DIR ? path.resolve(process.env.CDR_SHARED_DIR) : path.resolve(REPO, '..', 'shared');
const PLUGIN = 'irccs-demo-documenti-cda';

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** The LAB sample with its structured body repeated until the document is about `bytes` long. */
export function grownLabSample(bytes = 52 * 1024): Buffer {
  const text = readFileSync(path.join(REPO, 'plugins', PLUGIN, 'samples', 'lab-referto.xml'), 'utf8');
  const start = text.indexOf('<structuredBody>') + '<structuredBody>'.length;
  const end = text.indexOf('</structuredBody>');
  const body = text.slice(start, end);
  let grown = body;
  while (Buffer.byteLength(text) + Buffer.byteLength(grown) < bytes) grown += body;
  return Buffer.from(text.slice(0, start) + grown + text.slice(end));
}

async function rate(run: () => unknown | Promise<unknown>, seconds: number): Promise<number> {
  for (let i = 0; i < 30; i++) await run();
  const rates: number[] = [];
  const budget = (seconds * 1000) / RUNS;
  for (let r = 0; r < RUNS; r++) {
    let n = 0;
    const start = performance.now();
    let now = start;
    while (now - start < budget) {
      await run();
      n++;
      now = performance.now();
    }
    rates.push((n * 1000) / (now - start));
  }
  return median(rates);
}

export async function benchCdaParse(opts?: { seconds?: number }): Promise<Array<{ case: string; kb: number; perSec: number }>> {
  const seconds = opts?.seconds ?? 1;
  const manifest = pluginManifestSchema.parse(JSON.parse(readFileSync(path.join(REPO, 'plugins', PLUGIN, 'plugin.json'), 'utf8')));
  const fxp = new XMLParser({
    ignoreAttributes: false, attributeNamePrefix: '', textNodeName: '_', removeNSPrefix: true, parseTagValue: false, parseAttributeValue: false,
    jPath: false, htmlEntities: {} as never, ignoreDeclaration: true, ignorePiTags: true, stopNodes: ['..section.text'], maxNestedTags: 128,
    processEntities: { maxEntityCount: 1, maxEntitySize: 1, maxTotalExpansions: 1, maxExpandedLength: 1 },
    isArray: (name: string, _m: unknown, _leaf: boolean, attribute: boolean) => !attribute && CDA_ARRAY_ELEMENTS.has(name),
  });
  const lab = grownLabSample();
  const documents: Array<[string, Buffer]> = [[`LAB sample grown`, lab]];
  const ccd = path.join(SHARED, 'corpus', 'cda', 'microsoft-fhir-converter', '170.314B2_Amb_CCD.ccda');
  if (existsSync(ccd)) documents.push(['C-CDA 170.314B2_Amb_CCD', readFileSync(ccd)]);

  const out: Array<{ case: string; kb: number; perSec: number }> = [];
  for (const [name, raw] of documents) {
    const kb = Math.round(raw.length / 1024);
    cdaFormat.parse(raw, manifest);
    out.push({ case: `${name}: engine CDA parser`, kb, perSec: await rate(() => cdaFormat.parse(raw, manifest), seconds) });
    out.push({ case: `${name}: envelope only`, kb, perSec: await rate(() => cdaFormat.envelope(raw), seconds) });
    const text = raw.toString('utf8');
    out.push({ case: `${name}: fast-xml-parser 5, best options`, kb, perSec: await rate(() => fxp.parse(text), seconds) });
  }
  const session = await openAuthoringSession(loadSettings(), { only: [PLUGIN] });
  const input = { messageId: 'bench', ente: manifest.ente, pluginId: PLUGIN, raw: lab, receivedAt: FIXED_RECEIVED_AT };
  const check = await session.processor.process(input);
  if (!check.ok) throw new Error(`the grown LAB sample does not map: ${check.error.message}`);
  out.push({
    case: `LAB sample grown: parse + mapping (${check.route.mapping.engine}) + validation (${check.resources.length} resources)`,
    kb: Math.round(lab.length / 1024),
    perSec: await rate(() => session.processor.process(input), seconds),
  });
  return out;
}

async function main(): Promise<void> {
  const i = process.argv.indexOf('--seconds');
  const seconds = i > 0 ? Number(process.argv[i + 1]) : 2;
  const results = await benchCdaParse({ seconds });
  const width = Math.max(...results.map((r) => r.case.length));
  process.stdout.write(`${'case'.padEnd(width)}   KB     docs/s   ms/doc\n`);
  for (const r of results) {
    process.stdout.write(`${r.case.padEnd(width)}  ${String(r.kb).padStart(3)}  ${r.perSec.toFixed(0).padStart(9)}  ${(1000 / r.perSec).toFixed(2).padStart(7)}\n`);
  }
  const dir = path.join(HERE, 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'cda-parse.json'), `${JSON.stringify({ node: process.version, seconds, results }, null, 2)}\n`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((e: unknown) => {
    process.stderr.write(`bench failed: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  });
}
