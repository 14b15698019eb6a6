/**
 * Access to the parts of jsonata 2.2.2 the compiled engine reuses: its parser (through `jsonata(expr).ast()`),
 * its built-in function definitions (implementation + parsed signature) and signature validators.
 *
 * The built-ins live in jsonata's static frame, which the package does not export. The evaluator calls the
 * `__evaluate_entry` hook synchronously (before its first `await`) with the environment, so one throwaway
 * evaluation hands us that environment without awaiting anything.
 */
import jsonata from 'jsonata';

/** A parsed jsonata signature (`<s-n?:s>`): validates and fixes up an argument list, or throws T0410/T0411/T0412. */
export interface JsonataSignature {
  definition: string;
  validate(args: unknown[], context: unknown): unknown[];
}

/** jsonata's representation of a built-in (or registered) function. */
export interface JsonataFunctionDef {
  _jsonata_function: true;
  implementation: (...args: never[]) => unknown;
  signature?: JsonataSignature;
}

/** The AST node shape produced by jsonata's parser after its post-processing stage (fields vary by type). */
export interface AstNode {
  type: string;
  value?: unknown;
  position?: number;
  [field: string]: unknown;
}

interface Environment {
  lookup(name: string | symbol): unknown;
}

const ENTRY = Symbol.for('jsonata.__evaluate_entry');

function captureEnvironment(): Environment {
  const probe = jsonata('0');
  let captured: Environment | undefined;
  // assign() is typed for string names; jsonata looks its hooks up by symbol.
  (probe.assign as (name: string | symbol, value: unknown) => void)(ENTRY, (_expr: unknown, _input: unknown, env: Environment) => {
    captured = env;
    throw new Error('captured');
  });
  probe.evaluate(undefined).catch(() => undefined);
  if (captured === undefined) throw new Error('jsonata internals: could not capture the evaluation environment');
  return captured;
}

const environment = captureEnvironment();

export const BUILTIN_NAMES = [
  'sum', 'count', 'max', 'min', 'average', 'string', 'substring', 'substringBefore', 'substringAfter', 'lowercase',
  'uppercase', 'length', 'trim', 'pad', 'match', 'contains', 'replace', 'split', 'join', 'formatNumber', 'formatBase',
  'formatInteger', 'parseInteger', 'number', 'floor', 'ceil', 'round', 'abs', 'sqrt', 'power', 'random', 'boolean', 'not',
  'map', 'zip', 'filter', 'single', 'reduce', 'sift', 'keys', 'lookup', 'append', 'exists', 'spread', 'merge', 'reverse',
  'each', 'error', 'assert', 'type', 'sort', 'shuffle', 'distinct', 'base64encode', 'base64decode', 'encodeUrlComponent',
  'encodeUrl', 'decodeUrlComponent', 'decodeUrl', 'eval', 'toMillis', 'fromMillis', 'clone',
] as const;
export type BuiltinName = (typeof BUILTIN_NAMES)[number];

function isDef(x: unknown): x is JsonataFunctionDef {
  return typeof x === 'object' && x !== null && (x as { _jsonata_function?: unknown })._jsonata_function === true;
}

/** jsonata's own definitions, by name (without the `$`). */
export const jsonataBuiltins: Readonly<Record<BuiltinName, JsonataFunctionDef>> = (() => {
  const out = {} as Record<BuiltinName, JsonataFunctionDef>;
  for (const name of BUILTIN_NAMES) {
    const def = environment.lookup(name);
    if (!isDef(def)) throw new Error(`jsonata internals: built-in $${name} not found`);
    out[name] = def;
  }
  return out;
})();

/** Parses an expression with jsonata's parser; throws jsonata's syntax error object on invalid text. */
export function parseExpression(expression: string): AstNode {
  return jsonata(expression).ast() as unknown as AstNode;
}

/** jsonata's raw parser (exported as `jsonata.parser`), used to reproduce its partial-application quirks. */
export const rawParser = (jsonata as unknown as { parser: (src: string, recover?: boolean) => AstNode }).parser;
