import { readFileSync } from 'node:fs';
import jsonata from 'jsonata';
import { compileJsonata, JsonataLimitError, type FallbackReport } from './compiler/index.ts';
import { versionHash } from '../common/hash.ts';
import { MappingError } from '../common/errors.ts';
import type { FhirResource } from '../storage/types.ts';
import { MappingFunctionError } from './functions/types.ts';
import { pruneCopyOnWrite } from './functions/values.ts';

export type MappingEngineKind = 'compiled' | 'interpreter';

export interface MappingLimits {
  timeoutMs: number;
  maxDepth: number;
}

/** Position of a character offset in the mapping source, for errors authors can act on. */
export interface SourcePosition {
  line: number;
  column: number;
}

export function positionOf(source: string, offset: number | undefined): SourcePosition | undefined {
  if (offset === undefined || offset < 0) return undefined;
  let line = 1;
  let column = 1;
  for (let i = 0; i < Math.min(offset, source.length); i++) {
    if (source[i] === '\n') {
      line++;
      column = 1;
    } else column++;
  }
  return { line, column };
}

/** A mapping file that does not compile: names the file, line and column. */
export class MappingSyntaxError extends Error {
  constructor(readonly file: string, readonly code: string, readonly detail: string, readonly position: SourcePosition | undefined) {
    super(`${file}${position ? `:${position.line}:${position.column}` : ''}: JSONata ${code}: ${detail}`);
    this.name = 'MappingSyntaxError';
  }
}

interface JsonataErrorShape {
  code?: string;
  position?: number;
  token?: string;
  message?: string;
}

export interface CompiledMapping {
  readonly engine: MappingEngineKind;
  /** Set when the compiled engine was asked for but the expression needs the interpreter. */
  readonly fallback?: FallbackReport | undefined;
  evaluate(input: unknown, bindings: Record<string, unknown>): Promise<unknown>;
}

/** Compiles an expression; the compiled-JavaScript engine plugs in here (core/mapping/compiler). */
export type MappingCompiler = (source: string, engine: MappingEngineKind, limits: MappingLimits) => CompiledMapping;

export const interpreterCompiler: MappingCompiler = (source, _engine, limits) => {
  const expression = jsonata(source, { timeout: limits.timeoutMs, stack: limits.maxDepth } as never);
  return { engine: 'interpreter', evaluate: (input, bindings) => expression.evaluate(input, bindings) };
};

/** The default: JSONata compiled to synchronous JavaScript (core/mapping/compiler), the interpreter on request or fallback. */
export const javascriptCompiler: MappingCompiler = (source, engine, limits) => {
  const compiled = compileJsonata(source, { engine, timeoutMs: limits.timeoutMs, maxDepth: limits.maxDepth });
  return {
    engine: compiled.engine,
    fallback: compiled.fallback,
    evaluate: compiled.evaluateSync
      ? async (input, bindings) => compiled.evaluateSync!(input, bindings)
      : (input, bindings) => compiled.evaluate(input, bindings),
  };
};

let activeCompiler: MappingCompiler = javascriptCompiler;

export function setMappingCompiler(compiler: MappingCompiler): void {
  activeCompiler = compiler;
}

export interface LoadedMapping {
  /** Absolute path. */
  readonly file: string;
  /** Path shown to people (relative to the repository). */
  readonly name: string;
  readonly source: string;
  /** Content hash: the mapping version recorded with every resource it writes. */
  readonly hash: string;
  readonly engine: MappingEngineKind;
  readonly fallback?: FallbackReport | undefined;
  evaluate(input: unknown, bindings: Record<string, unknown>): Promise<unknown>;
}

export function compileMappingSource(
  source: string,
  name: string,
  options: { engine?: MappingEngineKind; limits: MappingLimits; file?: string },
): LoadedMapping {
  let compiled: CompiledMapping;
  try {
    compiled = activeCompiler(source, options.engine ?? 'compiled', options.limits);
  } catch (error) {
    const e = error as JsonataErrorShape;
    throw new MappingSyntaxError(name, e.code ?? 'S0000', e.message ?? String(error), positionOf(source, e.position));
  }
  return {
    file: options.file ?? name,
    name,
    source,
    hash: versionHash([source]),
    engine: compiled.engine,
    fallback: compiled.fallback,
    evaluate: async (input, bindings) => {
      try {
        return await compiled.evaluate(input, bindings);
      } catch (error) {
        throw mappingRuntimeError(name, source, error);
      }
    },
  };
}

export function loadMappingFile(file: string, name: string, options: { engine?: MappingEngineKind; limits: MappingLimits }): LoadedMapping {
  return compileMappingSource(readFileSync(file, 'utf8'), name, { ...options, file });
}

export function mappingRuntimeError(name: string, source: string, error: unknown): MappingError {
  if (error instanceof MappingError) return error;
  if (error instanceof MappingFunctionError) {
    return new MappingError(`${name}: ${error.message}`, { code: 'MAP_FUNCTION_ERROR', details: { mapping: name, function: error.functionName } });
  }
  const e = error as JsonataErrorShape;
  const where = positionOf(source, e.position);
  const code = e.code ?? 'MAP_EVALUATION';
  const overLimit = error instanceof JsonataLimitError ? error.limit : code === 'D1012' ? 'time' : code === 'D1011' ? 'depth' : undefined;
  const limit = overLimit === 'time' ? 'MAP_TIMEOUT' : overLimit === 'depth' ? 'MAP_TOO_DEEP' : 'MAP_EVALUATION';
  return new MappingError(`${name}${where ? `:${where.line}:${where.column}` : ''}: ${e.code ? `JSONata ${e.code}: ` : ''}${e.message ?? String(error)}`, {
    code: limit,
    details: { mapping: name, jsonataCode: e.code, ...(where ? where : {}) },
  });
}

/**
 * A plain JSON copy without what FHIR JSON forbids: null, empty strings, empty arrays and empty
 * objects (invariant ele-1), and without JSONata's internal markers on arrays. One pass, no re-parse.
 */
export function pruneForFhir(value: unknown): unknown {
  return pruneCopyOnWrite(value, fhirScalar);
}

const fhirScalar = (value: unknown): unknown => {
  if (typeof value === 'string') return value === '' ? undefined : value;
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  return typeof value === 'boolean' ? value : undefined;
};

/** Resources a mapping asked to create only when absent (Bundle entry with request.ifNoneExist or method POST). */
const createIfAbsent = new WeakSet<FhirResource>();

export function isCreateIfAbsent(resource: FhirResource): boolean {
  return createIfAbsent.has(resource);
}

/**
 * A mapping returns a Bundle, an array of resources or one resource. Anything else, or a resource
 * without resourceType or id, is a mapping error with a readable reason. In a Bundle, an entry with
 * `request.ifNoneExist` (or `request.method` POST) is written only if the resource does not exist yet:
 * a document feed must not overwrite the demographics an ADT feed keeps up to date.
 */
export function normalizeMappingOutput(output: unknown, mappingName: string): FhirResource[] {
  if (output === undefined || output === null) {
    throw new MappingError(`${mappingName} produced no output for this message`, { code: 'MAP_NO_OUTPUT' });
  }
  let candidates: Array<{ resource: unknown; ifAbsent: boolean }>;
  if (Array.isArray(output)) candidates = output.map((resource) => ({ resource, ifAbsent: false }));
  else if (typeof output === 'object' && (output as FhirResource).resourceType === 'Bundle' && (output as { entry?: unknown }).entry !== undefined) {
    // JSONata collapses a one-item array to the item itself: a single entry object is one entry.
    const entry = (output as { entry: unknown }).entry;
    const entries = (Array.isArray(entry) ? entry : [entry]) as Array<{ resource?: unknown; request?: { method?: string; ifNoneExist?: string } }>;
    candidates = entries.map((e) => ({
      resource: e?.resource,
      ifAbsent: Boolean(e?.request?.ifNoneExist) || e?.request?.method === 'POST',
    }));
  } else candidates = [{ resource: output, ifAbsent: false }];
  const resources: FhirResource[] = [];
  const seen = new Set<FhirResource>();
  candidates.forEach(({ resource: candidate, ifAbsent }, index) => {
    if (candidate === undefined || candidate === null) return;
    if (typeof candidate !== 'object' || Array.isArray(candidate) || typeof (candidate as FhirResource).resourceType !== 'string') {
      throw new MappingError(`${mappingName}: output item ${index} is not a FHIR resource (no resourceType)`, { code: 'MAP_OUTPUT_INVALID' });
    }
    let resource = pruneForFhir(candidate) as FhirResource;
    // Pruning returns clean objects as they are: one object named twice gets its own copy, so that
    // the create-if-absent mark of one entry is not the other's.
    if (seen.has(resource)) resource = { ...resource };
    seen.add(resource);
    if (typeof resource.id !== 'string' || !/^[A-Za-z0-9\-.]{1,64}$/.test(resource.id)) {
      throw new MappingError(`${mappingName}: the ${resource.resourceType} at output item ${index} has no valid id (1-64 of A-Z a-z 0-9 - .)`, {
        code: 'MAP_OUTPUT_INVALID',
      });
    }
    if (ifAbsent) createIfAbsent.add(resource);
    resources.push(resource);
  });
  if (resources.length === 0) throw new MappingError(`${mappingName} produced no resources for this message`, { code: 'MAP_NO_OUTPUT' });
  return resources;
}
