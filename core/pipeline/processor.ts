import { CdrError, HookError, MappingError, ParseError, RouteError, ValidationFailedError, errorMessage } from '../common/errors.ts';
import type { Logger } from '../common/logger.ts';
import { parseHl7Timestamp } from '../common/time.ts';
import { newMappingScope, runInMappingScope } from '../mapping/functions/scope.ts';
import { normalizeMappingOutput } from '../mapping/mapping-file.ts';
import { formatParser, type ParsedDocument } from '../parse/index.ts';
import type { HookContext } from '../plugins/api.ts';
import { findRoute, type LoadedPlugin, type LoadedRoute, type PluginRegistry } from '../plugins/registry.ts';
import type { FhirResource, TrailEntry } from '../storage/types.ts';

/** What the pipeline needs from a FHIR validator (core/validation implements it). */
export interface ResourceValidator {
  validate(resource: Record<string, unknown>, options?: { profile?: string }): {
    valid: boolean;
    issues: Array<{ severity: string; code: string; path: string; message: string }>;
  };
}

export interface ProcessInput {
  messageId: string;
  ente: string;
  pluginId: string;
  raw: Buffer;
  receivedAt: Date;
}

/** One validation finding, attributed to the resource it is about. */
export interface ResourceIssue {
  resource: string;
  severity: string;
  code: string;
  path: string;
  message: string;
}

export interface ProcessOptions {
  /**
   * true (the pipeline): profile errors fail the message unless the plugin's policy is "warn".
   * false (authoring tools): the resources come back with every issue, whatever their severity.
   */
  enforceValidation?: boolean;
}

export interface ProcessSuccess {
  ok: true;
  validationIssues: ResourceIssue[];
  plugin: LoadedPlugin;
  route: LoadedRoute;
  parsed: ParsedDocument;
  resources: FhirResource[];
  sourceTime: Date | null;
  trail: TrailEntry[];
  warnings: string[];
}

export interface ProcessFailure {
  ok: false;
  error: CdrError;
  plugin: LoadedPlugin | undefined;
  trail: TrailEntry[];
}

export type ProcessResult = ProcessSuccess | ProcessFailure;

export interface ProcessorOptions {
  plugins: PluginRegistry;
  validator?: ResourceValidator | undefined;
  logger: Logger;
}

/**
 * One message through parse → route → map → validate (Mirth's source → filter → transformer).
 * Permanent failures come back as a result naming the stage; transient ones are thrown so the
 * queue retries them. Nothing here writes: the worker stores or dead-letters the result.
 */
export class MessageProcessor {
  constructor(private readonly options: ProcessorOptions) {}

  async process(input: ProcessInput, options: ProcessOptions = {}): Promise<ProcessResult> {
    const enforce = options.enforceValidation ?? true;
    const trail: TrailEntry[] = [];
    const warnings: string[] = [];
    const plugin = this.options.plugins.get(input.pluginId);
    const fail = (error: CdrError): ProcessFailure => ({ ok: false, error, plugin, trail });
    if (!plugin) {
      const summary = this.options.plugins.summary(input.pluginId);
      const why = summary ? `it is ${summary.status}${summary.errors.length ? `: ${summary.errors.map((e) => e.message).join('; ')}` : ''}` : 'it is not installed';
      return fail(new RouteError(`plugin ${input.pluginId} cannot process messages: ${why}`, { code: 'ROUTE_PLUGIN_UNAVAILABLE' }));
    }
    const baseLogger = this.options.logger;
    let childLogger: Logger | undefined;
    const context: HookContext & { routeKey: string | undefined } = {
      pluginId: plugin.id,
      pluginVersion: plugin.manifest.version,
      ente: input.ente,
      format: plugin.manifest.format, timeZone: plugin.manifest.timeZone,
      messageId: input.messageId,
      receivedAt: input.receivedAt,
      routeKey: undefined,
      // Made on first use: most messages never log, and a pino child per message is not free.
      get logger() {
        return (childLogger ??= baseLogger.child({ plugin: plugin.id, messageId: input.messageId }));
      },
      warn: (message: string) => warnings.push(message),
    };
    try {
      let raw = input.raw;
      if (plugin.hooks.preParse) {
        const replaced = await this.runHook('preParse', () => plugin.hooks.preParse!(raw, context));
        if (replaced !== undefined) raw = typeof replaced === 'string' ? Buffer.from(replaced, 'utf8') : replaced;
      }

      let started = performance.now();
      let parsed: ParsedDocument;
      try {
        parsed = formatParser(plugin.manifest.format).parse(raw, plugin.manifest);
      } catch (error) {
        if (error instanceof CdrError) throw error;
        throw new ParseError(`cannot parse the ${plugin.manifest.format} message: ${errorMessage(error)}`, { code: 'PARSE_FAILED', cause: error });
      }
      context.routeKey = parsed.routeKey;
      trail.push({
        stage: 'parsed', at: new Date().toISOString(), ok: true, ms: elapsed(started),
        info: { routeKey: parsed.routeKey, sourceMessageId: parsed.sourceMessageId },
      });

      let tree = parsed.tree;
      if (plugin.hooks.postParse) {
        const replaced = await this.runHook('postParse', () => plugin.hooks.postParse!(tree, context));
        if (replaced !== undefined) tree = replaced;
      }

      const route = findRoute(plugin, parsed.routeKey);
      if (!route) {
        throw new RouteError(
          `plugin ${plugin.id} has no route for ${parsed.routeKey} (routes: ${plugin.routes.map((r) => r.match).join(', ')})`,
          { code: 'ROUTE_NO_MAPPING', details: { routeKey: parsed.routeKey } },
        );
      }

      started = performance.now();
      // Library functions record data warnings (unmapped local codes, invalid identifiers) in this scope.
      const mappingScope = newMappingScope();
      const output = await runInMappingScope(mappingScope, () => route.mapping.evaluate(tree, {
        ...plugin.bindings,
        ente: input.ente,
        pluginId: plugin.id,
        messageId: input.messageId,
        receivedAt: input.receivedAt.toISOString(),
        routeKey: parsed.routeKey,
      }));
      warnings.push(...mappingScope.warnings);
      let resources = normalizeMappingOutput(output, route.mapping.name);
      trail.push({
        stage: 'mapped', at: new Date().toISOString(), ok: true, ms: elapsed(started),
        info: {
          mapping: route.mapping.name, mappingHash: route.mapping.hash, engine: route.mapping.engine, resources: resources.length,
          // the warnings themselves are listed with the others in the "validated" entry
          ...(mappingScope.unmappedCodes > 0 ? { unmappedCodes: mappingScope.unmappedCodes } : {}),
          ...(mappingScope.warnings.length > 0 ? { mappingWarnings: mappingScope.warnings.length } : {}),
        },
      });

      if (plugin.hooks.postMap) {
        const replaced = await this.runHook('postMap', () => plugin.hooks.postMap!(resources, context));
        if (replaced !== undefined) resources = normalizeMappingOutput(replaced, `${plugin.id} postMap hook`);
      }

      started = performance.now();
      const validationIssues = this.validate(plugin, resources, warnings, enforce);
      trail.push({
        stage: 'validated', at: new Date().toISOString(), ok: true, ms: elapsed(started),
        ...(warnings.length > 0 ? { warnings: [...warnings] } : {}),
        ...(this.options.validator ? {} : { info: { skipped: 'no validator configured' } }),
      });

      return {
        ok: true, plugin, route, parsed: { ...parsed, tree }, resources, trail, warnings, validationIssues,
        sourceTime: parsed.sourceTime ? (parseHl7Timestamp(parsed.sourceTime, plugin.manifest.timeZone)?.instant ?? null) : null,
      };
    } catch (error) {
      if (error instanceof CdrError && !error.transient) return fail(error);
      if (error instanceof CdrError) throw error;
      // Anything unexpected inside a stage is a defect of that input or mapping, not a reason to retry forever.
      return fail(new MappingError(`unexpected error: ${errorMessage(error)}`, { code: 'MAP_UNEXPECTED', cause: error }));
    }
  }

  private async runHook<T>(name: string, run: () => T | Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      if (error instanceof CdrError) throw error;
      throw new HookError(`the plugin's ${name} hook failed: ${errorMessage(error)}`, { code: 'HOOK_FAILED', details: { hook: name }, cause: error });
    }
  }

  private validate(plugin: LoadedPlugin, resources: FhirResource[], warnings: string[], enforce: boolean): ResourceIssue[] {
    const validator = this.options.validator;
    if (!validator) return [];
    const issues: ResourceIssue[] = [];
    for (const resource of resources) {
      const result = validator.validate(resource as Record<string, unknown>);
      for (const issue of result.issues) {
        issues.push({ resource: `${resource.resourceType}/${resource.id}`, severity: issue.severity, code: issue.code, path: issue.path, message: issue.message });
      }
    }
    const errors = issues.filter((i) => i.severity === 'error' || i.severity === 'fatal');
    for (const issue of issues) {
      if (issue.severity === 'warning') warnings.push(`${issue.resource} ${issue.path}: ${issue.message}`);
    }
    if (errors.length === 0 || !enforce) return issues;
    if (plugin.manifest.validation.policy === 'warn') {
      for (const e of errors) warnings.push(`${e.resource} ${e.path}: ${e.message} (stored anyway: validation policy "warn")`);
      return issues;
    }
    const first = errors[0]!;
    throw new ValidationFailedError(
      `${errors.length} profile violation${errors.length > 1 ? 's' : ''}; first: ${first.resource} ${first.path}: ${first.message}`,
      { code: 'VALIDATE_PROFILE', details: { issues: errors.slice(0, 50).map(({ resource, path, message }) => ({ resource, path, message })) } },
    );
  }
}

function elapsed(started: number): number {
  return Math.round((performance.now() - started) * 100) / 100;
}
