import type { Logger } from '../common/logger.ts';
import { CdrError, MappingError } from '../common/errors.ts';
import { compileMappingSource, MappingSyntaxError, type LoadedMapping, type MappingEngineKind, type MappingLimits } from '../mapping/mapping-file.ts';
import { formatParser } from '../parse/index.ts';
import { MessageProcessor, type ResourceIssue, type ResourceValidator } from '../pipeline/processor.ts';
import type { LoadedPlugin, PluginRegistry } from '../plugins/registry.ts';
import { messageCoverage, trackReads, type MessageCoverage } from './coverage.ts';
import { toCollectionBundle } from './golden.ts';
import { fhirPathToKeys, jsonPointer, type PathKey } from './paths.ts';
import { FIXED_MESSAGE_ID, FIXED_RECEIVED_AT } from './session.ts';

/** A problem shown to the author: the stage, a stable code, and where in the mapping when known. */
export interface EvaluationError {
  stage: string;
  code: string;
  message: string;
  line?: number;
  column?: number;
}

/** A validation issue tied to the output element it is about. */
export interface LinkedIssue extends ResourceIssue {
  /** Index of the resource in the output Bundle's entry list. */
  entry: number;
  /** Keys of the element in the output Bundle (the deepest existing element on the issue's path). */
  keys: PathKey[];
  /** JSON pointer of that element in the output Bundle: what the page highlights. */
  pointer: string;
}

export interface EvaluationResult {
  ok: boolean;
  routeKey?: string;
  /** The route the message took and the mapping file of that route (the edited text ran in its place when one was sent). */
  route?: { match: string; mapping: string };
  /** Things the author should know about this run: a batch file (only its first record ran), another mapping's route. */
  notices: string[];
  engine?: string;
  tree?: unknown;
  bundle?: Record<string, unknown>;
  errors: EvaluationError[];
  issues: LinkedIssue[];
  warnings: string[];
  coverage?: MessageCoverage;
  ms: number;
}

export interface EvaluateInput {
  plugin: LoadedPlugin;
  raw: Buffer;
  /** Mapping text to run in place of the routed mapping (what the editor holds). */
  mappingSource?: string;
  /** The name errors use for that text (its file, e.g. mappings/hl7v2/adt/x.jsonata). */
  mappingName?: string;
  coverage?: boolean;
}

/** The one-plugin registry the processor sees during an evaluation: the plugin with the edited mapping in its routes. */
export function singlePluginRegistry(plugin: LoadedPlugin): PluginRegistry {
  const view: Pick<PluginRegistry, 'get' | 'summary'> = {
    get: (id) => (id === plugin.id ? plugin : undefined),
    summary: () => undefined,
  };
  // The processor only calls get() and summary() (core/pipeline/processor.ts).
  return view as PluginRegistry;
}

/** The plugin with its route mappings compiled for another engine (`cdr map --engine interpreter`). */
export function withMappingEngine(plugin: LoadedPlugin, engine: MappingEngineKind, limits: MappingLimits): LoadedPlugin {
  const compiled = new Map<string, LoadedMapping>();
  const routes = plugin.routes.map((route) => {
    let mapping = compiled.get(route.mapping.file);
    if (!mapping) {
      mapping = compileMappingSource(route.mapping.source, route.mapping.name, { engine, limits, file: route.mapping.file });
      compiled.set(route.mapping.file, mapping);
    }
    return { ...route, mapping };
  });
  return { ...plugin, routes };
}

/**
 * Runs a message through a plugin exactly as the pipeline does (hooks, parse, route, map, validate),
 * optionally with edited mapping text, and collects what the page shows. Never throws for a defect
 * of the message or the mapping: those come back as errors with line and column.
 */
export class WorkbenchEvaluator {
  constructor(private readonly options: { validator: ResourceValidator | undefined; limits: MappingLimits; logger: Logger }) {}

  async evaluate(input: EvaluateInput): Promise<EvaluationResult> {
    const started = performance.now();
    const { plugin } = input;
    const records = splitRecords(plugin, input.raw);
    const raw = records[0] ?? input.raw;
    const result: EvaluationResult = { ok: false, errors: [], issues: [], warnings: [], notices: [], ms: 0 };
    const done = () => ({ ...result, ms: Math.round((performance.now() - started) * 10) / 10 });
    if (records.length > 1) result.notices.push(`a batch of ${records.length} records (the engine stores each as its own message): this is record 1`);

    let edited: LoadedMapping | undefined;
    if (input.mappingSource !== undefined) {
      try {
        edited = compileMappingSource(input.mappingSource, input.mappingName ?? 'edited mapping', { engine: plugin.manifest.mappingEngine, limits: this.options.limits });
      } catch (error) {
        if (!(error instanceof MappingSyntaxError)) throw error;
        result.errors.push({ stage: 'map', code: `JSONata ${error.code}`, message: error.detail, ...(error.position ?? {}) });
        result.tree = this.parseForDisplay(plugin, raw, result);
        return done();
      }
    }

    let seen: { tree: unknown; coverage?: MessageCoverage } | undefined;
    const instrument = (mapping: LoadedMapping): LoadedMapping => ({
      ...mapping,
      evaluate: async (tree, bindings) => {
        const tracker = input.coverage ? trackReads(tree) : undefined;
        seen = { tree };
        try {
          return await mapping.evaluate(tracker ? tracker.proxy : tree, bindings);
        } finally {
          tracker?.stop();
          if (tracker) seen.coverage = messageCoverage(tree, tracker, plugin.manifest.format);
        }
      },
    });
    const routes = plugin.routes.map((route) => ({ ...route, mapping: instrument(edited ?? route.mapping) }));
    const instrumented: LoadedPlugin = { ...plugin, routes };
    const processor = new MessageProcessor({ plugins: singlePluginRegistry(instrumented), validator: this.options.validator, logger: this.options.logger });

    let processed;
    try {
      processed = await processor.process(
        { messageId: FIXED_MESSAGE_ID, ente: plugin.manifest.ente, pluginId: plugin.id, raw, receivedAt: FIXED_RECEIVED_AT },
        { enforceValidation: false },
      );
    } catch (error) {
      // Transient errors (none expected without storage) are still shown, not thrown at the page.
      if (!(error instanceof CdrError)) throw error;
      result.errors.push({ stage: error.stage, code: error.code, message: error.message });
      return done();
    }
    const currentSeen = seen as { tree: unknown; coverage?: MessageCoverage } | undefined;
    result.tree = currentSeen?.tree ?? this.parseForDisplay(plugin, raw, result);
    if (currentSeen?.coverage) result.coverage = currentSeen.coverage;
    if (!processed.ok) {
      result.errors.push(toEvaluationError(processed.error));
      return done();
    }
    const routedMapping = plugin.routes.find((r) => r.match === processed.route.match)?.mapping;
    result.ok = true;
    result.routeKey = processed.parsed.routeKey;
    result.route = { match: processed.route.match, mapping: routedMapping?.name ?? processed.route.mapping.name };
    result.engine = processed.route.mapping.engine;
    result.bundle = toCollectionBundle(processed.resources);
    result.warnings = processed.warnings;
    result.issues = linkIssues(processed.validationIssues, processed.resources);
    return done();
  }

  /** The tree for the page when the mapping did not run (syntax error, no route): parsed without hooks. */
  private parseForDisplay(plugin: LoadedPlugin, raw: Buffer, result: EvaluationResult): unknown {
    try {
      const parsed = formatParser(plugin.manifest.format).parse(raw, plugin.manifest);
      result.routeKey = parsed.routeKey;
      return parsed.tree;
    } catch (error) {
      if (error instanceof CdrError && !result.errors.some((e) => e.stage === 'parse')) result.errors.push(toEvaluationError(error));
      return undefined;
    }
  }
}

/** The records of a batch file as the ingest splits them (FHS/BHS batches, XML exports); [raw] for one message. */
export function splitRecords(plugin: LoadedPlugin, raw: Buffer): Buffer[] {
  try {
    return formatParser(plugin.manifest.format).split?.(raw, plugin.manifest) ?? [raw];
  } catch {
    return [raw]; // the parse step reports what is wrong with it
  }
}

function toEvaluationError(error: CdrError): EvaluationError {
  const details = error.details ?? {};
  const line = typeof details.line === 'number' ? details.line : undefined;
  const column = typeof details.column === 'number' ? details.column : undefined;
  return {
    stage: error.stage,
    code: error instanceof MappingError && typeof details.jsonataCode === 'string' ? `${error.code} (JSONata ${details.jsonataCode})` : error.code,
    message: error.message,
    ...(line !== undefined ? { line } : {}),
    ...(column !== undefined ? { column } : {}),
  };
}

/** Each issue with the element of the output Bundle it is about. */
export function linkIssues(issues: ResourceIssue[], resources: Array<{ resourceType: string; id?: string }>): LinkedIssue[] {
  return issues.map((issue) => {
    const entry = resources.findIndex((r) => `${r.resourceType}/${r.id}` === issue.resource);
    const keys: PathKey[] = entry < 0 ? [] : ['entry', entry, 'resource', ...fhirPathToKeys(issue.path, resources[entry])];
    return { ...issue, entry, keys, pointer: jsonPointer(keys) };
  });
}
