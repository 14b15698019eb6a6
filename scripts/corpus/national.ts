import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { REPO_ROOT } from '../../core/config/index.ts';
import type { FhirResource } from '../../core/storage/types.ts';
import { toCollectionBundle } from '../../core/workbench/index.ts';

/**
 * Agreement with the national FSE gateway: for national example CDAs that have the gateway's FHIR output
 * beside them (…/CDA/X.xml with …/FHIR/X.json), our Bundle is compared with the gateway's through the CDA
 * engineer's compareWithGateway (core/workbench/national-agreement.ts), when this build has it.
 */
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


export interface AgreementCollector {
  /** The comparison is available in this build. */
  available: boolean;
  /** For runCorpus's onMapped. */
  onMapped(file: string, resources: FhirResource[]): Promise<void>;
  /** The report lines (empty when no file had a gateway bundle beside it). */
  lines(root: string): string[];
}

export async function nationalAgreement(): Promise<AgreementCollector> {
  const national = await loadComparison();
  const results: Array<{ file: string; result: unknown }> = [];
  let pairs = 0;
  return {
    available: national !== undefined,
    async onMapped(file, resources) {
      const gateway = gatewayBundleFor(file);
      if (!gateway) return;
      pairs++;
      if (!national) return;
      const gatewayBundle = JSON.parse(readFileSync(gateway, 'utf8')) as Record<string, unknown>;
      results.push({ file, result: await national.compare(toCollectionBundle(resources), gatewayBundle) });
    },
    lines(root) {
      if (pairs === 0) return [];
      const out = ['agreement with the national FSE gateway (its FHIR output for the same CDA)'];
      if (!national) return [...out, `  ${pairs} example(s) have the gateway's bundle, but compareWithGateway (core/workbench/national-agreement.ts) is not in this build`];
      const totals = { checks: 0, agreed: 0 };
      for (const { file, result } of results) {
        totals.checks += Number((result as { checks?: number }).checks ?? 0);
        totals.agreed += Number((result as { agreed?: number }).agreed ?? 0);
        out.push(...describeAgreement(path.relative(root, file), result, national));
      }
      const percent = totals.checks === 0 ? 100 : (100 * totals.agreed) / totals.checks;
      out.push(`  overall: ${totals.agreed}/${totals.checks} facts agree (${percent.toFixed(1)}%) over ${pairs} document(s) mapped; examples not mapped are counted above (no route / failures)`);
      return out;
    },
  };
}
