import { CdrError, errorMessage, type Stage } from '../../common/errors.ts';
import { formatParser } from '../../parse/index.ts';
import type { MessageProcessor, ResourceIssue } from '../../pipeline/index.ts';
import type { FhirResource } from '../../storage/types.ts';
import type { LoadedPlugin } from '../registry.ts';

/** Fixed context so authoring runs are reproducible (same ids as golden tests). */
export const TOOLING_MESSAGE_ID = '00000000-0000-7000-8000-000000000000';
export const TOOLING_RECEIVED_AT = new Date('2024-01-01T00:00:00.000Z');

/** What happened to one record (a message, a document, or one record of a batch file). */
export interface RecordOutcome {
  /** 0-based position in the file (batch files have several records). */
  index: number;
  routeKey?: string | undefined;
  mapping?: string | undefined;
  /** Set when a stage failed before validation (parse, route, hook, map). */
  failure?: { stage: Stage; code: string; message: string };
  resources: FhirResource[];
  /** Every validation finding (any severity); errors make the record invalid. */
  issues: ResourceIssue[];
  /** Warnings of hooks and mapping functions (the message trail's), validation findings excluded. */
  warnings: string[];
}

export const isError = (issue: ResourceIssue) => issue.severity === 'error' || issue.severity === 'fatal';

/** Splits a file into records with the format's splitter (batch files), or keeps it whole. */
export function splitRecords(plugin: LoadedPlugin, raw: Buffer): Buffer[] {
  const parser = formatParser(plugin.manifest.format);
  return parser.split ? parser.split(raw, plugin.manifest) : [raw];
}

/**
 * One input file through split + parse + route + hooks + map + validate, with nothing stored: the
 * authoring view of what the pipeline would do. Never throws for a bad input; the outcome says why.
 */
export async function runInput(processor: MessageProcessor, plugin: LoadedPlugin, raw: Buffer, options: { split?: boolean } = {}): Promise<RecordOutcome[]> {
  let records: Buffer[];
  try {
    records = options.split === false ? [raw] : splitRecords(plugin, raw);
  } catch (error) {
    const e = error instanceof CdrError ? error : undefined;
    return [{ index: 0, resources: [], issues: [], warnings: [], failure: { stage: 'parse', code: e?.code ?? 'PARSE_SPLIT_FAILED', message: errorMessage(error) } }];
  }
  const outcomes: RecordOutcome[] = [];
  for (const [index, record] of records.entries()) {
    const result = await processor.process(
      { messageId: TOOLING_MESSAGE_ID, ente: plugin.manifest.ente, pluginId: plugin.id, raw: record, receivedAt: TOOLING_RECEIVED_AT },
      { enforceValidation: false },
    ).catch((error: unknown) => ({ ok: false as const, error: error instanceof CdrError ? error : new CdrError(errorMessage(error), { stage: 'map', kind: 'permanent', code: 'UNEXPECTED' }) }));
    if (!result.ok) {
      const routeKey = typeof result.error.details?.routeKey === 'string' ? result.error.details.routeKey : undefined;
      outcomes.push({ index, routeKey, resources: [], issues: [], warnings: [], failure: { stage: result.error.stage, code: result.error.code, message: result.error.message } });
      continue;
    }
    const fromValidation = new Set(result.validationIssues.map((i) => `${i.resource} ${i.path}: ${i.message}`));
    const warnings = result.warnings.filter((w) => ![...fromValidation].some((v) => w.startsWith(v)));
    outcomes.push({ index, routeKey: result.parsed.routeKey, mapping: result.route.mapping.name, resources: result.resources, issues: result.validationIssues, warnings });
  }
  return outcomes;
}
