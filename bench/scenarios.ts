import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../core/config/index.ts';
import { syntheticCodiceFiscale } from '../test/support/synthetic.ts';
import { oruObxCount, rng, syntheticAdt, syntheticOru } from './generate.ts';

/** One kind of input the benchmark drives through the engine. */
export interface BenchScenario {
  name: string;
  pluginId: string;
  /** The i-th input of a run: every input is distinct (patient, control id, document id). */
  make: (i: number, run: string) => Buffer;
}

export const adtScenario: BenchScenario = {
  name: 'ADT^A01',
  pluginId: 'asst-demo-nord-adt',
  make: (i, run) => Buffer.from(syntheticAdt(i, { controlId: `${run}-ADT-${i}` })),
};

export const oruScenario: BenchScenario = {
  name: 'ORU^R01 (6-18 OBX, mean 12)',
  pluginId: 'asst-demo-nord-lab',
  make: (i, run) => {
    const random = rng(i + 1);
    return Buffer.from(syntheticOru(i, oruObxCount(random), random, `${run}-ORU-${i}`));
  },
};

/**
 * CDA2 Referto di Laboratorio of about 50 KB: the CDA plugin's laboratory sample, with the document id,
 * the patient's identifiers and names made distinct per input, and its result entries repeated to ~50 KB.
 */
export function cdaLabScenario(): BenchScenario | undefined {
  const pluginsDir = path.join(REPO_ROOT, 'plugins');
  for (const plugin of existsSync(pluginsDir) ? readdirSync(pluginsDir) : []) {
    const manifestFile = path.join(pluginsDir, plugin, 'plugin.json');
    if (!existsSync(manifestFile)) continue;
    const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as { format?: string; routes?: Array<{ match: string }> };
    if (manifest.format !== 'cda' || !manifest.routes?.some((r) => r.match === '11502-2')) continue;
    const samples = path.join(pluginsDir, plugin, 'samples');
    const lab = existsSync(samples) ? readdirSync(samples).find((f) => /lab/i.test(f) && f.endsWith('.xml')) : undefined;
    if (!lab) continue;
    const template = readFileSync(path.join(samples, lab), 'utf8');
    return { name: 'CDA2 LAB ~50 KB', pluginId: plugin, make: (i, run) => Buffer.from(scaleCda(template, i, run)) };
  }
  return undefined;
}

function scaleCda(template: string, i: number, run: string): string {
  let text = template;
  // Distinct document and patient for every input.
  text = text.replace(/(<id\b[^>]*\bextension=")([^"]*)(")/, `$1${run}-DOC-${i}$3`);
  text = text.replace(/(<setId\b[^>]*\bextension=")([^"]*)(")/, `$1${run}-SET-${i}$3`);
  text = text.replace(/(root="2\.16\.840\.1\.113883\.2\.9\.4\.3\.2"\s+extension=")([^"]*)(")/g, (_m, a: string, _cf: string, c: string) => `${a}${syntheticCodiceFiscale(i)}${c}`);
  text = text.replace(/(extension=")([^"]*)("\s+root="2\.16\.840\.1\.113883\.2\.9\.4\.3\.2")/g, (_m, a: string, _cf: string, c: string) => `${a}${syntheticCodiceFiscale(i)}${c}`);
  // Repeat the structured body's sections (its whole content: a sequence of top-level components,
  // so the copy stays well-formed) until the document is about 50 KB.
  const close = text.lastIndexOf('</structuredBody>');
  const openTag = text.search(/<structuredBody\b[^>]*>/);
  if (close > 0 && openTag > 0) {
    const open = text.indexOf('>', openTag) + 1;
    const block = text.slice(open, close);
    if (block) {
      const copies: string[] = [];
      while (text.length + copies.join('').length < 50_000) copies.push(block);
      text = text.slice(0, close) + copies.join('') + text.slice(close);
    }
  }
  return text;
}

