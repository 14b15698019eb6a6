/**
 * JSONata engines for mappings: a compiler from JSONata to synchronous JavaScript (jsonata 2.2.2 semantics),
 * with jsonata's interpreter as the fallback for constructs the compiler does not handle.
 *
 *   const expr = compileJsonata('{"id": PID.F3.C1}');
 *   expr.engine;                 // 'compiled' (or 'interpreter' after a fallback, see expr.fallback)
 *   await expr.evaluate(msg, { hl7Date });
 *   expr.evaluateSync?.(msg);    // compiled engine only
 *
 * Both engines enforce a time limit and a depth (recursion) limit and throw JsonataEvaluationError subclasses
 * carrying jsonata's error codes.
 */
import jsonata from 'jsonata';
import { builtins, setEvalImplementation } from './builtins.ts';
import { CodeGenerator, UnsupportedConstruct } from './codegen.ts';
import {
  JsonataEvaluationError,
  JsonataLimitError,
  JsonataSyntaxError,
  toJsonataError,
} from './errors.ts';
import type { AstNode } from './jsonata-internals.ts';
import { parseExpression } from './jsonata-internals.ts';
import * as runtime from './runtime.ts';
import type { Ctx, Focus } from './runtime.ts';

export { JsonataEvaluationError, JsonataLimitError, JsonataSyntaxError } from './errors.ts';

export type JsonataEngineKind = 'compiled' | 'interpreter';

export interface CompileJsonataOptions {
  /** Engine to use; default 'compiled' (which falls back to the interpreter for unsupported constructs). */
  engine?: JsonataEngineKind;
  /** Evaluation time limit in ms; default 1000. 0 or a non-finite value disables it. */
  timeoutMs?: number;
  /** Maximum evaluation depth (jsonata evaluation frames, i.e. nesting plus recursion); default 500. 0 disables it. */
  maxDepth?: number;
}

export interface FallbackReport {
  construct: string;
  position?: number;
  message: string;
}

export interface CompiledExpression {
  readonly engine: JsonataEngineKind;
  readonly fallback?: FallbackReport;
  evaluate(input: unknown, bindings?: Record<string, unknown>): Promise<unknown>;
  evaluateSync?(input: unknown, bindings?: Record<string, unknown>): unknown;
  readonly source?: string;
}

export const DEFAULT_TIMEOUT_MS = 1000;
export const DEFAULT_MAX_DEPTH = 500;

// ---------------------------------------------------------------------------------------------------------------
// compilation and its cache

type Main = (input: unknown, C: Ctx, lookup: ((name: string) => unknown) | undefined) => unknown;

type Artifact =
  | { kind: 'compiled'; main: Main; source: string }
  | { kind: 'fallback'; report: FallbackReport };

const CACHE_LIMIT = 2000;
const cache = new Map<string, Artifact>();

function describe(node: AstNode | undefined): string {
  if (node === undefined) return '';
  const value = typeof node.value === 'string' || typeof node.value === 'number' ? `, value '${String(node.value)}'` : '';
  const at = typeof node.position === 'number' ? ` at position ${node.position}` : '';
  return ` (AST node type '${node.type}'${value}${at})`;
}

function buildArtifact(expression: string): Artifact {
  let ast: AstNode;
  try {
    ast = parseExpression(expression);
  } catch (err) {
    throw toJsonataError(err, JsonataSyntaxError);
  }
  try {
    const { source, constants } = new CodeGenerator().generate(ast);
    const factory = new Function('R', 'K', source) as (R: unknown, K: unknown[]) => Main;
    return { kind: 'compiled', main: factory(R, constants), source };
  } catch (err) {
    if (!(err instanceof UnsupportedConstruct)) throw err;
    const report: FallbackReport = {
      construct: err.construct,
      message: `Not supported by the compiled JSONata engine: ${err.construct}${describe(err.node)}; evaluating with the interpreter`,
    };
    if (typeof err.node?.position === 'number') report.position = err.node.position;
    return { kind: 'fallback', report };
  }
}

function artifactFor(expression: string): Artifact {
  let art = cache.get(expression);
  if (art === undefined) {
    art = buildArtifact(expression);
    if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value as string);
    cache.set(expression, art);
  }
  return art;
}

// ---------------------------------------------------------------------------------------------------------------
// fallback reporting (once per expression text)

export type FallbackListener = (report: FallbackReport, expression: string) => void;

/** The default fallback listener: a process warning with code CDR_JSONATA_FALLBACK. */
export const emitFallbackWarning: FallbackListener = (report) => {
  process.emitWarning(report.message, { code: 'CDR_JSONATA_FALLBACK' });
};
let fallbackListener: FallbackListener | undefined = emitFallbackWarning;
const reported = new Set<string>();

/** Where fallbacks are reported (default: emitFallbackWarning); `undefined` silences them. */
export function setJsonataFallbackListener(listener: FallbackListener | undefined): void {
  fallbackListener = listener;
}

function reportFallback(expression: string, report: FallbackReport): void {
  if (reported.has(expression)) return;
  reported.add(expression);
  if (reported.size > CACHE_LIMIT) reported.delete(reported.values().next().value as string);
  fallbackListener?.(report, expression);
}

// ---------------------------------------------------------------------------------------------------------------
// runtime wiring

interface Limits {
  timeoutMs: number;
  maxDepth: number;
}

function limitsOf(options: CompileJsonataOptions): Limits {
  const t = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const d = options.maxDepth ?? DEFAULT_MAX_DEPTH;
  return {
    timeoutMs: Number.isFinite(t) && t > 0 ? t : Infinity,
    maxDepth: Number.isFinite(d) && d > 0 ? d : Infinity,
  };
}

const BI: Record<string, unknown> = Object.assign(Object.create(null) as Record<string, unknown>, builtins);
runtime.setBuiltinLookup((name) => BI[name]);

/** $eval: compiles the text (cached) and runs it synchronously in the caller's evaluation. */
function makeEval(lookup: ((name: string) => unknown) | undefined) {
  return function functionEval(this: Focus, expr: unknown, focus: unknown): unknown {
    if (expr === undefined) return undefined;
    let input: unknown = this.input;
    if (focus !== undefined) {
      input = focus;
      if (Array.isArray(input) && !runtime.isSequence(input)) {
        const wrapped = runtime.seq1(input) as unknown[] & { outerWrapper?: boolean };
        wrapped.outerWrapper = true;
        input = wrapped;
      }
    }
    let art: Artifact;
    try {
      art = artifactFor(String(expr));
    } catch (err) {
      const inner = err instanceof JsonataEvaluationError ? { ...err.details, code: err.code, position: err.position, token: err.token, value: err.value, message: err.message } : err;
      throw runtime.evalErrors('parse', inner);
    }
    if (art.kind === 'fallback') {
      throw { code: 'D3121', value: art.report.message } satisfies runtime.JErr;
    }
    const C = this.C;
    try {
      return art.main(input, C, lookup ?? ((name) => runtime.globalLookup(C, name)));
    } catch (err) {
      if (err instanceof RangeError) throw err;
      throw runtime.evalErrors('evaluate', err);
    }
  };
}

const indirectEval = makeEval(undefined);
setEvalImplementation(indirectEval);
BI.eval = builtins.eval;

const R = {
  ...runtime,
  U: Object.freeze({ unbound: true }),
  BI,
  CL: runtime.CompiledLambda,
  TH: runtime.Thunk,
  PH: runtime.PLACEHOLDER,
  /** $eval called directly: sees the caller's variables through `lookup`. */
  evalProc(lookup: (name: string) => unknown): unknown {
    return { _jsonata_function: true, implementation: makeEval(lookup), signature: builtins.eval!.signature };
  },
};

function normalizeError(err: unknown, limits: Limits): unknown {
  if (err instanceof JsonataEvaluationError) return err;
  if (err instanceof RangeError && /call stack/i.test(err.message)) return new JsonataLimitError('depth', limits.maxDepth);
  return toJsonataError(err);
}

const EMPTY: Record<string, unknown> = Object.freeze({}) as Record<string, unknown>;

class CompiledJsonataExpression implements CompiledExpression {
  readonly engine = 'compiled' as const;
  readonly source: string;
  private readonly main: Main;
  private readonly limits: Limits;

  constructor(art: { main: Main; source: string }, limits: Limits) {
    this.main = art.main;
    this.source = art.source;
    this.limits = limits;
  }

  evaluateSync(input: unknown, bindings?: Record<string, unknown>): unknown {
    const now = Date.now();
    const C = {
      b: bindings ?? EMPTY,
      root: input,
      d: 0,
      M: this.limits.maxDepth,
      tk: 0,
      dl: now + this.limits.timeoutMs,
      timeout: this.limits.timeoutMs,
      ts: new Date(now),
      focus: undefined as unknown as Focus,
    } satisfies Ctx;
    // built-ins read the evaluation timestamp from their environment ($toMillis with a picture)
    const environment = { timestamp: C.ts, async: false, lookup: (name: string) => runtime.globalLookup(C, name) };
    C.focus = { createSequence: runtime.createSequence, input: undefined, environment, C };
    let I: unknown = input;
    if (Array.isArray(input) && !runtime.isSequence(input)) {
      const wrapped = runtime.seq1(input) as unknown[] & { outerWrapper?: boolean };
      wrapped.outerWrapper = true;
      I = wrapped;
    }
    try {
      return this.main(I, C, undefined);
    } catch (err) {
      throw normalizeError(err, this.limits);
    }
  }

  evaluate(input: unknown, bindings?: Record<string, unknown>): Promise<unknown> {
    try {
      return Promise.resolve(this.evaluateSync(input, bindings));
    } catch (err) {
      return Promise.reject(err);
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// interpreter engine with the same limits, timeboxed the way jsonata's test runner does it

const ENTRY = Symbol.for('jsonata.__evaluate_entry');
const EXIT = Symbol.for('jsonata.__evaluate_exit');

interface HookEnvironment {
  base?: object;
}

class InterpretedExpression implements CompiledExpression {
  readonly engine = 'interpreter' as const;
  declare readonly fallback?: FallbackReport;
  private readonly expr: jsonata.Expression;
  private readonly limits: Limits;

  constructor(expression: string, limits: Limits, fallback?: FallbackReport) {
    try {
      this.expr = jsonata(expression);
    } catch (err) {
      throw toJsonataError(err, JsonataSyntaxError);
    }
    this.limits = limits;
    if (fallback !== undefined) this.fallback = fallback;
    if (limits.timeoutMs !== Infinity || limits.maxDepth !== Infinity) this.installLimits();
  }

  private installLimits(): void {
    // One state per evaluation (jsonata's per-evaluation base frame), so concurrent evaluations do not interfere.
    const states = new WeakMap<object, { depth: number; start: number }>();
    const { timeoutMs, maxDepth } = this.limits;
    const stateOf = (env: HookEnvironment): { depth: number; start: number } => {
      const key = env.base ?? env;
      let state = states.get(key);
      if (state === undefined) {
        state = { depth: 0, start: Date.now() };
        states.set(key, state);
      }
      return state;
    };
    const check = (state: { depth: number; start: number }): void => {
      if (state.depth > maxDepth) throw new JsonataLimitError('depth', maxDepth);
      if (Date.now() - state.start > timeoutMs) throw new JsonataLimitError('time', timeoutMs);
    };
    const assign = this.expr.assign as (name: string | symbol, value: unknown) => void;
    assign(ENTRY, (_expr: unknown, _input: unknown, env: HookEnvironment) => {
      const state = stateOf(env);
      state.depth++;
      check(state);
    });
    assign(EXIT, (_expr: unknown, _input: unknown, env: HookEnvironment) => {
      const state = stateOf(env);
      state.depth--;
      check(state);
    });
  }

  async evaluate(input: unknown, bindings?: Record<string, unknown>): Promise<unknown> {
    try {
      return await this.expr.evaluate(input, bindings);
    } catch (err) {
      throw normalizeError(err, this.limits);
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------

/**
 * Compiles a JSONata expression. Throws JsonataSyntaxError (jsonata's code/position) for invalid syntax.
 * With the default 'compiled' engine, an expression using a construct the compiler does not support is
 * evaluated by the interpreter instead; `fallback` says why, and the fallback is reported once per expression.
 */
export function compileJsonata(expression: string, options: CompileJsonataOptions = {}): CompiledExpression {
  const limits = limitsOf(options);
  if ((options.engine ?? 'compiled') === 'interpreter') return new InterpretedExpression(expression, limits);
  const art = artifactFor(expression);
  if (art.kind === 'fallback') {
    reportFallback(expression, art.report);
    return new InterpretedExpression(expression, limits, art.report);
  }
  return new CompiledJsonataExpression(art, limits);
}
