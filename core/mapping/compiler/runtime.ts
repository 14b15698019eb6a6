/**
 * Synchronous runtime for compiled JSONata: a faithful port of jsonata 2.2.2's evaluator helpers
 * (jsonata.js: evaluatePath/Step/TupleStep/Filter/GroupExpression/Sort/Transform/apply, utils.js, parts of
 * functions.js). Generated code calls these with closures in place of `evaluate(expr, input, environment)`.
 *
 * The values handled here are dynamically typed JSONata values (JSON plus sequences, which are arrays carrying
 * jsonata's flags), so this module works with a local `Any` alias; the typed boundary is index.ts.
 */
import { JsonataLimitError, populateMessage } from './errors.ts';
import type { JsonataFunctionDef, JsonataSignature } from './jsonata-internals.ts';
import { jsonataBuiltins, parseExpression, rawParser } from './jsonata-internals.ts';
import { compileSignature } from './signature.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;

/** Thrown objects mirror jsonata's (`{code, position, token, value}`); index.ts turns them into typed errors. */
export interface JErr {
  code: string;
  position?: number;
  token?: string;
  value?: unknown;
  [k: string]: unknown;
}

/** Per-evaluation state shared by generated code and helpers. */
export interface Ctx {
  /** Caller's bindings. */
  b: Record<string, unknown>;
  /** The input document (`$$`). */
  root: unknown;
  /** Depth (in jsonata evaluation frames) of the node that invoked the running lambda body. */
  d: number;
  /** Maximum depth. */
  M: number;
  /** Ticks since the last clock read. */
  tk: number;
  /** Deadline (epoch ms). */
  dl: number;
  timeout: number;
  /** Timestamp for $now()/$millis(), fixed per evaluation like jsonata's. */
  ts: Date;
  /** `this` for built-in implementations. */
  focus: Focus;
}

export interface Focus {
  createSequence: (...args: unknown[]) => Any[];
  input: unknown;
  environment: unknown;
  C: Ctx;
}

// ---------------------------------------------------------------------------------------------------------------
// utils.js

const hasOwn = Object.prototype.hasOwnProperty;
export function own(obj: Any, key: string): boolean {
  return hasOwn.call(obj, key);
}

export function isNumeric(n: unknown): n is number {
  if (typeof n === 'number') {
    if (Number.isNaN(n)) return false;
    if (!Number.isFinite(n)) throw { code: 'D1001', value: n } satisfies JErr;
    return true;
  }
  return false;
}

export function isArrayOfStrings(arg: unknown): boolean {
  if (!Array.isArray(arg)) return false;
  for (const item of arg) if (typeof item !== 'string') return false;
  return true;
}

export function isArrayOfNumbers(arg: unknown): boolean {
  if (!Array.isArray(arg)) return false;
  // jsonata filters the whole array, so every item is checked (isNumeric can throw D1001).
  let ok = true;
  for (const item of arg) if (!isNumeric(item)) ok = false;
  return ok;
}

export function isSequence(value: Any): boolean {
  return value !== undefined && value !== null && value.sequence === true && Array.isArray(value);
}

export function isFunction(arg: Any): boolean {
  return (!!arg && (arg._jsonata_function === true || arg._jsonata_lambda === true)) || typeof arg === 'function';
}

export function isLambda(arg: Any): boolean {
  return !!arg && arg._jsonata_lambda === true;
}

export function getFunctionArity(func: Any): number {
  return typeof func.arity === 'number'
    ? func.arity
    : typeof func.implementation === 'function'
      ? func.implementation.length
      : typeof func.length === 'number'
        ? func.length
        : func.arguments.length;
}

export function isDeepEqual(lhs: Any, rhs: Any): boolean {
  if (lhs === rhs) return true;
  if (typeof lhs === 'object' && typeof rhs === 'object' && lhs !== null && rhs !== null) {
    if (Array.isArray(lhs) && Array.isArray(rhs)) {
      if (lhs.length !== rhs.length) return false;
      for (let ii = 0; ii < lhs.length; ii++) if (!isDeepEqual(lhs[ii], rhs[ii])) return false;
      return true;
    }
    let lkeys = Object.getOwnPropertyNames(lhs);
    let rkeys = Object.getOwnPropertyNames(rhs);
    if (lkeys.length !== rkeys.length) return false;
    lkeys = lkeys.sort();
    rkeys = rkeys.sort();
    for (let ii = 0; ii < lkeys.length; ii++) if (lkeys[ii] !== rkeys[ii]) return false;
    for (let ii = 0; ii < lkeys.length; ii++) {
      const key = lkeys[ii]!;
      if (!isDeepEqual(lhs[key], rhs[key])) return false;
    }
    return true;
  }
  return false;
}

function isPromise(arg: Any): boolean {
  return typeof arg === 'object' && arg !== null && 'then' in arg && typeof arg.then === 'function';
}

function isIterable(arg: Any): boolean {
  return typeof arg === 'object' && arg !== null && Symbol.iterator in arg && 'next' in arg && typeof arg.next === 'function';
}

export function keysOf(arg: Any): string[] {
  return typeof arg === 'object' && arg !== null ? Object.keys(arg) : [];
}

// ---------------------------------------------------------------------------------------------------------------
// sequences

export function seq(): Any[] {
  const s: Any = [];
  s.sequence = true;
  return s;
}

export function seq1(x: unknown): Any[] {
  const s: Any = [x];
  s.sequence = true;
  return s;
}

/** jsonata's createSequence (push one argument when exactly one is given). */
export function createSequence(...args: unknown[]): Any[] {
  const s = seq();
  if (args.length === 1) s.push(args[0]);
  return s;
}

/** The tail of jsonata's `evaluate()`: unwrap empty and singleton sequences. */
export function norm(r: Any): Any {
  if (r && r.sequence === true && Array.isArray(r) && !(r as Any).tupleStream) {
    if (r.length === 0) return undefined;
    if (r.length === 1) return (r as Any).keepSingleton ? r : r[0];
  }
  return r;
}

/** Same, for a node carrying `keepArray` (`[]`): singleton sequences stay arrays. */
export function normK(r: Any): Any {
  if (r && r.sequence === true && Array.isArray(r) && !(r as Any).tupleStream) {
    (r as Any).keepSingleton = true;
    if (r.length === 0) return undefined;
  }
  return r;
}

/** `$` — the context value; a top-level array input is wrapped and unwrapped here. */
export function ctxv(input: Any): Any {
  return input && input.outerWrapper ? input[0] : input;
}

// ---------------------------------------------------------------------------------------------------------------
// functions.js helpers used by the evaluator

export function lookup(input: Any, key: string): Any {
  if (Array.isArray(input)) {
    const result = seq();
    for (let ii = 0; ii < input.length; ii++) {
      const res = lookup(input[ii], key);
      if (res !== undefined) {
        if (Array.isArray(res)) {
          for (let jj = 0; jj < res.length; jj++) if (jj in res) result.push(res[jj]);
        } else {
          result.push(res);
        }
      }
    }
    return result;
  }
  if (input !== null && typeof input === 'object' && hasOwn.call(input, key) && !isFunction(input)) return input[key];
  return undefined;
}

export function append(arg1: Any, arg2: Any): Any {
  if (arg1 === undefined) return arg2;
  if (arg2 === undefined) return arg1;
  if (!Array.isArray(arg1)) arg1 = seq1(arg1);
  if (!Array.isArray(arg2)) arg2 = [arg2];
  return arg1.concat(arg2);
}

export function toBoolean(arg: Any): boolean | undefined {
  if (arg === undefined) return undefined;
  let result = false;
  if (Array.isArray(arg)) {
    if (arg.length === 1) {
      result = toBoolean(arg[0]) as boolean;
    } else if (arg.length > 1) {
      let trues = 0;
      for (const val of arg) if (toBoolean(val)) trues++;
      result = trues > 0;
    }
  } else if (typeof arg === 'string') {
    if (arg.length > 0) result = true;
  } else if (isNumeric(arg)) {
    if (arg !== 0) result = true;
  } else if (arg !== null && typeof arg === 'object' && !isFunction(arg)) {
    if (Object.keys(arg).length > 0) result = true;
  } else if (typeof arg === 'boolean' && arg === true) {
    result = true;
  }
  return result;
}

/** `and`/`or` operands: boolean value, undefined counting as false. */
export function boolize(value: Any): boolean {
  const b = toBoolean(value);
  return b === undefined ? false : b;
}

const fnString = jsonataBuiltins.string.implementation as (arg: unknown, prettify?: boolean) => string | undefined;
/** fn.string, with the common scalar cases inlined (same output: JSON of the value, 15 significant digits). */
export function string(arg: Any): string | undefined {
  if (typeof arg === 'string') return arg;
  if (typeof arg === 'number' && Number.isFinite(arg)) {
    return Number.isInteger(arg) ? String(arg) : String(Number(arg.toPrecision(15)));
  }
  if (typeof arg === 'boolean' || arg === null) return String(arg);
  return fnString(arg);
}

// ---------------------------------------------------------------------------------------------------------------
// operators

function opError(err: JErr, position: number, token: string): JErr {
  err.position = position;
  err.token = token;
  return err;
}

export function arith(lhs: Any, rhs: Any, op: string, position: number): Any {
  try {
    if (lhs !== undefined && !isNumeric(lhs)) throw { code: 'T2001', value: lhs } satisfies JErr;
    if (rhs !== undefined && !isNumeric(rhs)) throw { code: 'T2002', value: rhs } satisfies JErr;
  } catch (err) {
    throw opError(err as JErr, position, op);
  }
  if (lhs === undefined || rhs === undefined) return undefined;
  switch (op) {
    case '+':
      return lhs + rhs;
    case '-':
      return lhs - rhs;
    case '*':
      return lhs * rhs;
    case '/':
      return lhs / rhs;
    default:
      return lhs % rhs;
  }
}

export function eq(lhs: Any, rhs: Any): boolean {
  if (lhs === undefined || rhs === undefined) return false;
  return isDeepEqual(lhs, rhs);
}

export function ne(lhs: Any, rhs: Any): boolean {
  if (lhs === undefined || rhs === undefined) return false;
  return !isDeepEqual(lhs, rhs);
}

export function compare(lhs: Any, rhs: Any, op: string, position: number): boolean | undefined {
  const ltype = typeof lhs;
  const rtype = typeof rhs;
  const lcomparable = ltype === 'undefined' || ltype === 'string' || ltype === 'number';
  const rcomparable = rtype === 'undefined' || rtype === 'string' || rtype === 'number';
  if (!lcomparable || !rcomparable) {
    throw opError({ code: 'T2010', value: !(ltype === 'string' || ltype === 'number') ? lhs : rhs }, position, op);
  }
  if (ltype === 'undefined' || rtype === 'undefined') return undefined;
  if (ltype !== rtype) throw opError({ code: 'T2009', value: lhs, value2: rhs }, position, op);
  switch (op) {
    case '<':
      return lhs < rhs;
    case '<=':
      return lhs <= rhs;
    case '>':
      return lhs > rhs;
    default:
      return lhs >= rhs;
  }
}

export function includes(lhs: Any, rhs: Any): boolean {
  if (lhs === undefined || rhs === undefined) return false;
  if (!Array.isArray(rhs)) rhs = [rhs];
  for (let i = 0; i < rhs.length; i++) if (rhs[i] === lhs) return true;
  return false;
}

export function concat(lhs: Any, rhs: Any, position: number): string {
  try {
    const lstr = lhs === undefined ? '' : typeof lhs === 'string' ? lhs : (string(lhs) as string);
    const rstr = rhs === undefined ? '' : typeof rhs === 'string' ? rhs : (string(rhs) as string);
    return lstr.concat(rstr);
  } catch (err) {
    throw opError(err as JErr, position, '&');
  }
}

export function range(lhs: Any, rhs: Any, position: number): Any {
  if (lhs !== undefined && !Number.isInteger(lhs)) throw opError({ code: 'T2003', value: lhs }, position, '..');
  if (rhs !== undefined && !Number.isInteger(rhs)) throw opError({ code: 'T2004', value: rhs }, position, '..');
  if (lhs === undefined || rhs === undefined) return undefined;
  if (lhs > rhs) return undefined;
  const size = rhs - lhs + 1;
  if (size > 1e7) throw opError({ code: 'D2014', value: size }, position, '..');
  const result: Any = new Array(size);
  for (let item = lhs, index = 0; item <= rhs; item++, index++) result[index] = item;
  result.sequence = true;
  return result;
}

export function negate(value: Any, position: number): Any {
  if (value === undefined) return undefined;
  if (isNumeric(value)) return -value;
  throw { code: 'D1002', position, token: '-', value } satisfies JErr;
}

/** Array constructor `[a, b]`: nested constructors are kept, other values spliced in (fn.append). */
export function arrAdd(result: Any[], value: Any, nested: boolean): Any[] {
  if (value === undefined) return result;
  // `result` is the constructor's own fresh array, so append's concat can be done in place
  if (nested || !Array.isArray(value)) result.push(value);
  else for (let j = 0; j < value.length; j++) result.push(value[j]);
  return result;
}

export function markCons(result: Any[]): Any[] {
  Object.defineProperty(result, 'cons', { enumerable: false, configurable: false, value: true });
  return result;
}

function flatten(arg: Any, flattened: Any[] = []): Any[] {
  if (Array.isArray(arg)) {
    for (let i = 0; i < arg.length; i++) if (i in arg) flatten(arg[i], flattened);
  } else {
    flattened.push(arg);
  }
  return flattened;
}

export function wildcard(input: Any): Any {
  let results: Any = seq();
  if (Array.isArray(input) && (input as Any).outerWrapper && input.length > 0) input = input[0];
  if (input !== null && typeof input === 'object' && !isFunction(input)) {
    for (const key of Object.keys(input)) {
      let value = input[key];
      if (Array.isArray(value)) {
        value = flatten(value);
        results = append(results, value);
      } else {
        results.push(value);
      }
    }
  }
  return results;
}

function recurseDescendants(input: Any, results: Any[]): void {
  if (!Array.isArray(input)) results.push(input);
  if (Array.isArray(input)) {
    for (let i = 0; i < input.length; i++) if (i in input) recurseDescendants(input[i], results);
  } else if (input !== null && typeof input === 'object' && !isFunction(input)) {
    for (const key of Object.keys(input)) recurseDescendants(input[key], results);
  }
}

export function descendants(input: Any): Any {
  const resultSequence = seq();
  if (input === undefined) return undefined;
  recurseDescendants(input, resultSequence);
  return resultSequence.length === 1 ? resultSequence[0] : resultSequence;
}

// ---------------------------------------------------------------------------------------------------------------
// limits

export function depthError(C: Ctx): never {
  throw new JsonataLimitError('depth', C.M);
}

/** Called every few hundred loop iterations / lambda entries: reads the clock only then. */
export function tick(C: Ctx): void {
  C.tk = 0;
  if (Date.now() > C.dl) throw new JsonataLimitError('time', C.timeout);
}

// ---------------------------------------------------------------------------------------------------------------
// paths (evaluatePath / evaluateStep / evaluateTupleStep / evaluateFilter / evaluateStages)

export type Fn1 = (input: Any, tuple?: Any) => Any;

/** A filter stage (`[expr]`), a literal numeric index (`[2]`) or an index binding (`#$i`). */
export interface Stage {
  p?: Fn1;
  n?: number;
  idx?: string;
}

export interface SortTerm {
  f: Fn1;
  desc: boolean;
}

export interface StepDesc {
  /** Full evaluation of the step node (its predicates, group and sequence handling included). */
  f?: Fn1;
  /** A field-name step: evaluated as a lookup, without a closure. */
  name?: string;
  st?: Stage[];
  sort?: SortTerm[];
  sortPos?: number;
  focus?: string;
  index?: string;
  anc?: string;
  tuple?: boolean;
  cons?: boolean;
  variable?: boolean;
}

/** A step is a descriptor, or just a field name when it has nothing else attached. */
export type StepSpec = StepDesc | string;

export interface GroupDesc {
  k: Fn1[];
  v: Fn1[];
  pos: number;
}

export interface PathDesc {
  steps: StepSpec[];
  ksa?: boolean;
  tuple?: boolean;
  grp?: GroupDesc;
}

export function filter(stage: Stage, input: Any, C: Ctx): Any {
  let results: Any = seq();
  if (input && input.tupleStream) results.tupleStream = true;
  if (!Array.isArray(input)) input = seq1(input);
  if (stage.n !== undefined) {
    let index = Math.floor(stage.n);
    if (index < 0) index = input.length + index;
    const item = input[index];
    if (item !== undefined) {
      if (Array.isArray(item)) results = item;
      else results.push(item);
    }
    return results;
  }
  const pred = stage.p!;
  const tupled = !!input.tupleStream;
  for (let index = 0; index < input.length; index++) {
    if (++C.tk > 1023) tick(C);
    const item = input[index];
    let res = tupled ? pred(item['@'], item) : pred(item);
    if (isNumeric(res)) res = [res];
    if (isArrayOfNumbers(res)) {
      for (let k = 0; k < res.length; k++) {
        if (!(k in res)) continue;
        let ii = Math.floor(res[k]);
        if (ii < 0) ii = input.length + ii;
        if (ii === index) results.push(item);
      }
    } else if (toBoolean(res)) {
      results.push(item);
    }
  }
  return results;
}

/** Predicates attached to a node (`expr.predicate`), applied in order. */
export function filters(stages: Stage[], input: Any, C: Ctx): Any {
  let result = input;
  for (let i = 0; i < stages.length; i++) result = filter(stages[i]!, result, C);
  return result;
}

function evalStages(stages: Stage[], input: Any, C: Ctx): Any {
  let result = input;
  for (let ss = 0; ss < stages.length; ss++) {
    const stage = stages[ss]!;
    if (stage.idx !== undefined) {
      for (let ee = 0; ee < result.length; ee++) result[ee][stage.idx] = ee;
    } else {
      result = filter(stage, result, C);
    }
  }
  return result;
}

/** `evaluate(name)` for a step: lookup, then unwrap the lookup's sequence. */
function nameValue(item: Any, key: string): Any {
  const res = lookup(item, key);
  if (res !== undefined && Array.isArray(res) && (res as Any).sequence === true) {
    if (res.length === 0) return undefined;
    if (res.length === 1) return res[0];
  }
  return res;
}

export function evalStep(step: StepSpec, input: Any, lastStep: boolean, C: Ctx): Any {
  let name: string | undefined;
  let f: Fn1 | undefined;
  let stages: Stage[] | undefined;
  if (typeof step === 'string') {
    name = step;
  } else {
    if (step.sort !== undefined) {
      let sorted = sortExpr(step, input, C);
      if (step.st !== undefined) sorted = evalStages(step.st, sorted, C);
      return sorted;
    }
    name = step.name;
    f = step.f;
    stages = step.st;
  }
  const n = input.length;
  if (n === 1 && name !== undefined && stages === undefined) {
    // one item, plain field: same outcome as the loop below without the intermediate array
    const res = nameValue(input[0], name);
    if (res === undefined) return seq();
    if (!Array.isArray(res) || (res as Any).cons) return seq1(res);
    if (lastStep && !isSequence(res)) return res;
    const out = seq();
    for (let j = 0; j < res.length; j++) if (j in res) out.push(res[j]);
    return out;
  }
  const result: Any[] = [];
  for (let ii = 0; ii < n; ii++) {
    if (++C.tk > 1023) tick(C);
    let res = name !== undefined ? nameValue(input[ii], name) : f!(input[ii]);
    if (stages !== undefined) for (let ss = 0; ss < stages.length; ss++) res = filter(stages[ss]!, res, C);
    if (res !== undefined) result.push(res);
  }
  if (lastStep && result.length === 1 && Array.isArray(result[0]) && !isSequence(result[0])) return result[0];
  const resultSequence = seq();
  for (let i = 0; i < result.length; i++) {
    const res = result[i];
    if (!Array.isArray(res) || (res as Any).cons) {
      resultSequence.push(res);
    } else {
      for (let j = 0; j < res.length; j++) if (j in res) resultSequence.push(res[j]);
    }
  }
  return resultSequence;
}

function evalTupleStep(step: StepDesc, input: Any, tupleBindings: Any, C: Ctx): Any {
  let result: Any;
  if (step.sort !== undefined) {
    if (tupleBindings) {
      result = sortExpr(step, tupleBindings, C);
    } else {
      const sorted = sortExpr(step, input, C);
      result = seq();
      result.tupleStream = true;
      for (let ss = 0; ss < sorted.length; ss++) {
        const tuple: Any = { '@': sorted[ss] };
        tuple[step.index as string] = ss;
        result.push(tuple);
      }
    }
    if (step.st !== undefined) result = evalStages(step.st, result, C);
    return result;
  }
  result = seq();
  result.tupleStream = true;
  if (tupleBindings === undefined) tupleBindings = input.map((item: Any) => ({ '@': item }));
  const f = step.f!;
  for (let ee = 0; ee < tupleBindings.length; ee++) {
    if (++C.tk > 1023) tick(C);
    const binding = tupleBindings[ee];
    let res = f(binding['@'], binding);
    if (res !== undefined) {
      if (!Array.isArray(res)) res = [res];
      for (let bb = 0; bb < res.length; bb++) {
        const tuple = Object.create(null);
        Object.assign(tuple, binding);
        if ((res as Any).tupleStream) {
          Object.assign(tuple, res[bb]);
        } else {
          if (step.focus) {
            tuple[step.focus] = res[bb];
            tuple['@'] = binding['@'];
          } else {
            tuple['@'] = res[bb];
          }
          if (step.index) tuple[step.index] = bb;
          if (step.anc) tuple[step.anc] = binding['@'];
        }
        result.push(tuple);
      }
    }
  }
  if (step.st !== undefined) result = evalStages(step.st, result, C);
  return result;
}

export function evalPath(input: Any, P: PathDesc, C: Ctx): Any {
  const first = P.steps[0]!;
  const inputSequence = Array.isArray(input) && !(typeof first === 'object' && first.variable) ? input : seq1(input);
  return pathSteps(inputSequence, P, C);
}

/**
 * A non-tuple path whose first step (a variable) was evaluated inline to `value`; `P.steps` are the remaining
 * steps. Equivalent to evalPath: the first step ran once, on the single-item input sequence.
 */
export function evalPathFrom(value: Any, P: PathDesc, C: Ctx): Any {
  let resultSequence: Any;
  if (value === undefined) {
    resultSequence = seq();
  } else if (!Array.isArray(value) || (value as Any).cons) {
    resultSequence = seq1(value);
  } else {
    resultSequence = seq();
    for (let j = 0; j < value.length; j++) if (j in value) resultSequence.push(value[j]);
  }
  if (resultSequence.length === 0) return finishPath(resultSequence, P, false, undefined, C);
  return pathSteps(resultSequence, P, C);
}

function pathSteps(inputSequence: Any, P: PathDesc, C: Ctx): Any {
  const steps = P.steps;
  let resultSequence: Any;
  let isTupleStream = false;
  let tupleBindings: Any;
  const last = steps.length - 1;
  for (let ii = 0; ii <= last; ii++) {
    const step = steps[ii]!;
    if (typeof step === 'string') {
      resultSequence = evalStep(step, inputSequence, ii === last, C);
      if (resultSequence === undefined || resultSequence.length === 0) break;
      inputSequence = resultSequence;
      continue;
    }
    if (step.tuple) isTupleStream = true;
    if (ii === 0 && step.cons) {
      resultSequence = step.f!(inputSequence);
    } else if (isTupleStream) {
      tupleBindings = evalTupleStep(step, inputSequence, tupleBindings, C);
    } else {
      resultSequence = evalStep(step, inputSequence, ii === last, C);
    }
    if (!isTupleStream && (resultSequence === undefined || resultSequence.length === 0)) break;
    if (step.focus === undefined) inputSequence = resultSequence;
  }
  return finishPath(resultSequence, P, isTupleStream, tupleBindings, C);
}

function finishPath(resultSequence: Any, P: PathDesc, isTupleStream: boolean, tupleBindings: Any, C: Ctx): Any {
  if (isTupleStream) {
    if (P.tuple) {
      resultSequence = tupleBindings;
    } else {
      resultSequence = seq();
      for (let ii = 0; ii < tupleBindings.length; ii++) resultSequence.push(tupleBindings[ii]['@']);
    }
  }
  if (P.ksa) {
    if (Array.isArray(resultSequence) && (resultSequence as Any).cons && !(resultSequence as Any).sequence) {
      resultSequence = seq1(resultSequence);
    }
    resultSequence.keepSingleton = true;
  }
  if (P.grp !== undefined) resultSequence = group(P.grp, isTupleStream ? tupleBindings : resultSequence, C);
  return resultSequence;
}

/** A variable followed by plain field names (`$o.F3.C1`): evalPathFrom's result, via namePath. */
export function namePathFrom(value: Any, names: string[]): Any {
  if (value === undefined) return seq();
  // a constructed array (cons) is a single item of the first step's result; other arrays are flattened
  return namePath(Array.isArray(value) && (value as Any).cons ? [value] : value, names);
}

/**
 * Fast path for a path made only of plain field names (`PID.F5.C1`): the same algorithm as evalPath/evalStep
 * for `name` steps, without closures. Returns the path's result before the final sequence normalisation.
 */
export function namePath(input: Any, names: string[]): Any {
  let inputSequence: Any = Array.isArray(input) ? input : null;
  const last = names.length - 1;
  let single: Any = input;
  let resultSequence: Any;
  for (let ii = 0; ii <= last; ii++) {
    const key = names[ii]!;
    if (inputSequence === null) {
      // one input item: the common case in mappings (a plain object is lookup()'s simplest branch)
      let res: Any;
      if (single !== null && typeof single === 'object' && !Array.isArray(single)) {
        res = hasOwn.call(single, key) && !isFunction(single) ? single[key] : undefined;
      } else {
        res = nameValue(single, key);
      }
      if (res === undefined) return seq();
      if (ii === last) {
        if (Array.isArray(res) && !isSequence(res)) return res;
        if (!Array.isArray(res) || (res as Any).cons) return seq1(res);
        const out = seq();
        for (let j = 0; j < res.length; j++) if (j in res) out.push(res[j]);
        return out;
      }
      if (!Array.isArray(res) || (res as Any).cons) {
        single = res;
      } else {
        const out = seq();
        for (let j = 0; j < res.length; j++) if (j in res) out.push(res[j]);
        if (out.length === 0) return out;
        inputSequence = out;
      }
      continue;
    }
    const result: Any[] = [];
    for (let i = 0; i < inputSequence.length; i++) {
      let res = lookup(inputSequence[i], key);
      if (res !== undefined && Array.isArray(res) && (res as Any).sequence === true) {
        if (res.length === 0) res = undefined;
        else if (res.length === 1) res = res[0];
      }
      if (res !== undefined) result.push(res);
    }
    if (ii === last && result.length === 1 && Array.isArray(result[0]) && !isSequence(result[0])) return result[0];
    resultSequence = seq();
    for (let i = 0; i < result.length; i++) {
      const res = result[i];
      if (!Array.isArray(res) || (res as Any).cons) resultSequence.push(res);
      else for (let j = 0; j < res.length; j++) if (j in res) resultSequence.push(res[j]);
    }
    if (resultSequence.length === 0) return resultSequence;
    inputSequence = resultSequence;
    single = undefined;
  }
  return resultSequence;
}

// ---------------------------------------------------------------------------------------------------------------
// object constructors and grouping (evaluateGroupExpression)

/**
 * Context for an object constructor whose keys are distinct string literals: every input item joins every
 * group, so each value expression sees the items appended together (evaluateGroupExpression, simplified).
 */
export function objectContext(input: Any): Any {
  if (!Array.isArray(input)) return input;
  if (input.length === 0) {
    input.push(undefined); // jsonata pads the (possibly caller-owned) empty array
    return undefined;
  }
  let data = input[0];
  for (let i = 1; i < input.length; i++) data = append(data, input[i]);
  return data;
}

/** Object property assignment that treats `__proto__` as data (jsonata builds objects with a null prototype). */
export function setProp(obj: Any, key: string, value: Any): void {
  if (key === '__proto__') Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  else obj[key] = value;
}

function reduceTupleStream(tupleStream: Any): Any {
  if (!Array.isArray(tupleStream)) return tupleStream;
  const result = Object.create(null);
  Object.assign(result, tupleStream[0]);
  for (let ii = 1; ii < tupleStream.length; ii++) {
    for (const prop of keysOf(tupleStream[ii])) result[prop] = append(result[prop], tupleStream[ii][prop]);
  }
  return result;
}

export function group(G: GroupDesc, input: Any, C: Ctx): Any {
  const result: Any = {};
  const groups = Object.create(null);
  const reduce = input && input.tupleStream ? true : false;
  if (!Array.isArray(input)) input = seq1(input);
  if (input.length === 0 && !reduce) input.push(undefined);
  const nPairs = G.k.length;
  for (let itemIndex = 0; itemIndex < input.length; itemIndex++) {
    const item = input[itemIndex];
    for (let pairIndex = 0; pairIndex < nPairs; pairIndex++) {
      const key = reduce ? G.k[pairIndex]!(item['@'], item) : G.k[pairIndex]!(item);
      if (typeof key !== 'string' && key !== undefined) throw { code: 'T1003', position: G.pos, value: key } satisfies JErr;
      if (key !== undefined) {
        if (key === '_jsonata_lambda' || key === '_jsonata_function') {
          throw { code: 'D1013', position: G.pos, value: key } satisfies JErr;
        }
        if (hasOwn.call(groups, key)) {
          if (groups[key].exprIndex !== pairIndex) throw { code: 'D1009', position: G.pos, value: key } satisfies JErr;
          groups[key].data = append(groups[key].data, item);
        } else {
          groups[key] = { data: item, exprIndex: pairIndex };
        }
      }
    }
  }
  for (const key of Object.keys(groups)) {
    const entry = groups[key];
    let value: Any;
    if (reduce) {
      const tuple = reduceTupleStream(entry.data);
      const context = tuple['@'];
      delete tuple['@'];
      value = G.v[entry.exprIndex]!(context, tuple);
    } else {
      value = G.v[entry.exprIndex]!(entry.data);
    }
    if (value !== undefined) setProp(result, key, value);
  }
  return result;
}

// ---------------------------------------------------------------------------------------------------------------
// sorting (evaluateSortExpression and functions.js sort)

/** jsonata's stable merge sort; `swap(a, b)` true means b goes first. Iterative merge, same comparisons. */
export function mergeSort(arr: Any[], swap: (a: Any, b: Any) => unknown): Any[] {
  const merge = (l: Any[], r: Any[]): Any[] => {
    const merged: Any[] = [];
    let i = 0;
    let j = 0;
    while (i < l.length && j < r.length) {
      if (swap(l[i], r[j])) merged.push(r[j++]);
      else merged.push(l[i++]);
    }
    while (i < l.length) merged.push(l[i++]);
    while (j < r.length) merged.push(r[j++]);
    return merged;
  };
  const msort = (array: Any[]): Any[] => {
    if (!Array.isArray(array) || array.length <= 1) return array;
    const middle = Math.floor(array.length / 2);
    const left = msort(array.slice(0, middle));
    const right = msort(array.slice(middle));
    return merge(left, right);
  };
  return msort(arr);
}

function sortExpr(step: StepDesc, input: Any, C: Ctx): Any {
  const terms = step.sort!;
  const isTupleSort = input.tupleStream ? true : false;
  const comparator = (a: Any, b: Any): boolean => {
    let comp = 0;
    for (let index = 0; comp === 0 && index < terms.length; index++) {
      const term = terms[index]!;
      const aa = isTupleSort ? term.f(a['@'], a) : term.f(a);
      const bb = isTupleSort ? term.f(b['@'], b) : term.f(b);
      const atype = typeof aa;
      const btype = typeof bb;
      if (atype === 'undefined') {
        comp = btype === 'undefined' ? 0 : 1;
        continue;
      }
      if (btype === 'undefined') {
        comp = -1;
        continue;
      }
      if (!(atype === 'string' || atype === 'number') || !(btype === 'string' || btype === 'number')) {
        throw {
          code: 'T2008',
          position: step.sortPos,
          value: !(atype === 'string' || atype === 'number') ? aa : bb,
        } satisfies JErr;
      }
      if (atype !== btype) throw { code: 'T2007', position: step.sortPos, value: aa, value2: bb } satisfies JErr;
      if (aa === bb) continue;
      comp = aa < bb ? -1 : 1;
      if (term.desc === true) comp = -comp;
    }
    return comp === 1;
  };
  if (input === undefined) return undefined;
  if (input.length <= 1) return input;
  return mergeSort(input, (a, b) => {
    if (++C.tk > 1023) tick(C);
    return comparator(a, b);
  });
}

// ---------------------------------------------------------------------------------------------------------------
// functions: lambdas, application, partial application

/** A compiled lambda. `run` binds the arguments and evaluates the body; it may return a Thunk (tail call). */
export class CompiledLambda {
  declare readonly _jsonata_lambda: true;
  /** Set at each call site, as jsonata does on its function objects (used to annotate errors). */
  token: string | undefined = undefined;
  position: number | undefined = undefined;
  constructor(
    readonly run: (args: Any[]) => Any,
    readonly arity: number,
    readonly signature: JsonataSignature | undefined,
  ) {}
}
Object.defineProperty(CompiledLambda.prototype, '_jsonata_lambda', { value: true });

/** A pending tail call, resolved by the trampoline in `applyFull` (jsonata's thunk lambdas). */
export class Thunk {
  declare readonly _jsonata_lambda: true;
  constructor(
    readonly proc: Any,
    readonly args: Any[],
    readonly name: string | undefined,
    readonly pos: number | undefined,
  ) {}
}
Object.defineProperty(Thunk.prototype, '_jsonata_lambda', { value: true });

function asyncNotSupported(name: unknown): JErr {
  return {
    code: 'U2001',
    token: typeof name === 'string' ? name : undefined,
    message:
      'A bound function returned a Promise: asynchronous functions are not supported by the compiled JSONata engine (use the interpreter)',
  };
}

/** Function values handed to plain JS functions are wrapped so they can be called directly (as jsonata does). */
function wrapForNative(C: Ctx, args: Any[]): Any[] {
  let out: Any[] | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg instanceof CompiledLambda || (arg && typeof arg === 'object' && arg._jsonata_function === true)) {
      out ??= args.slice();
      const closure: Any = (...params: Any[]) => applyFull(C, arg, params, null);
      closure.arity = getFunctionArity(arg);
      out[i] = closure;
    }
  }
  return out ?? args;
}

/** Marks an error raised while evaluating a tail call (jsonata evaluates those outside the callee's applyInner). */
const IN_TAIL_CALL = Symbol('jsonata.tailcall');

/** Evaluates a tail call's procedure and arguments (see IN_TAIL_CALL). */
export function tailCall(make: () => Thunk): Thunk {
  try {
    return make();
  } catch (err) {
    if (err && typeof err === 'object') (err as Record<symbol, unknown>)[IN_TAIL_CALL] = true;
    throw err;
  }
}

/** The trampoline records the tail call's name and position on the procedure before evaluating its arguments. */
export function tailProc(proc: Any, name: string | undefined, position: number | undefined): Any {
  if (proc !== null && typeof proc === 'object') {
    if (name !== undefined) proc.token = name;
    proc.position = position;
  }
  return proc;
}

export function applyInner(C: Ctx, proc: Any, args: Any[], input: Any): Any {
  try {
    return applyProc(C, proc, args, input);
  } catch (err) {
    if (err && typeof err === 'object' && (err as Record<symbol, unknown>)[IN_TAIL_CALL] === true) {
      delete (err as Record<symbol, unknown>)[IN_TAIL_CALL];
      throw err;
    }
    // jsonata: the function object's last call token/position (a shared, mutable record) annotates the error
    if (proc && err && typeof err === 'object' && !(err instanceof JsonataLimitError)) {
      const e = err as JErr;
      if (e.token === undefined && proc.token !== undefined) e.token = proc.token;
      e.position = proc.position || e.position;
    }
    throw err;
  }
}

function applyProc(C: Ctx, proc: Any, args: Any[], input: Any): Any {
  let validatedArgs = args;
  if (proc) {
    const sig = proc.signature;
    if (sig !== undefined && sig !== null && typeof sig.validate === 'function') validatedArgs = sig.validate(args, input);
  }
  if (proc instanceof CompiledLambda) return proc.run(validatedArgs);
  if (proc && proc._jsonata_function === true) {
    const focus = C.focus;
    focus.input = input;
    let result = proc.implementation.apply(focus, validatedArgs);
    if (isIterable(result)) result = result.next().value;
    if (isPromise(result)) throw asyncNotSupported(proc.token);
    return result;
  }
  if (typeof proc === 'function') {
    const result = proc.apply(input, wrapForNative(C, validatedArgs));
    if (isPromise(result)) {
      (result as Promise<unknown>).catch(() => undefined);
      throw asyncNotSupported(proc.name);
    }
    return result;
  }
  if (proc && proc._jsonata_lambda === true) {
    // A lambda object from the interpreter (e.g. passed in bindings) can only run asynchronously.
    throw asyncNotSupported(undefined);
  }
  throw { code: 'T1006' } satisfies JErr;
}

/** jsonata's `apply`: application plus the tail-call trampoline. */
export function applyFull(C: Ctx, proc: Any, args: Any[], input: Any): Any {
  let result = applyInner(C, proc, args, input);
  while (result instanceof Thunk) {
    if (++C.tk > 1023) tick(C);
    // the procedure's token/position were recorded by tailProc, before its arguments were evaluated
    result = applyInner(C, result.proc, result.args, input);
  }
  return result;
}

/** A function call site (evaluateFunction): apply, then attach the call's position and name to errors. */
export function call(C: Ctx, proc: Any, args: Any[], input: Any, position: number, name: string | undefined, depth: number): Any {
  C.d = depth;
  if (proc !== null && typeof proc === 'object') {
    proc.token = name;
    proc.position = position;
  }
  try {
    return applyFull(C, proc, args, input);
  } catch (err) {
    if (err && typeof err === 'object' && !(err instanceof JsonataLimitError)) {
      const e = err as JErr;
      if (!e.position) e.position = position;
      if (!e.token) e.token = name;
    }
    throw err;
  }
}

/** `and` / `or`: errors while evaluating the operands' truth or the right side are reported at the operator. */
export function logic(lhs: Any, rhs: () => Any, isAnd: boolean, position: number): boolean {
  try {
    const l = boolize(lhs);
    if (isAnd ? !l : l) return l;
    return boolize(rhs());
  } catch (err) {
    if (err && typeof err === 'object' && !(err instanceof JsonataLimitError)) {
      (err as JErr).position = position;
      (err as JErr).token = isAnd ? 'and' : 'or';
    }
    throw err;
  }
}

/** T1005 / T1007: the procedure was a field name that is also a bound function (missing `$`). */
export function missingDollar(code: 'T1005' | 'T1007', position: number, token: string): never {
  throw { code, position, token } satisfies JErr;
}

/** The `?` placeholder in partial application. */
export const PLACEHOLDER: unique symbol = Symbol('jsonata.placeholder');

const nativeParamsCache = new WeakMap<object, string[]>();
/** jsonata reads a native function's parameter names from its source (getNativeFunctionArguments). */
function nativeParams(fn: Any): string[] {
  let params = nativeParamsCache.get(fn);
  if (params === undefined) {
    const signature = fn.toString();
    const sigParens = (/\(([^)]*)\)/.exec(signature) as RegExpExecArray)[1]!;
    const sigArgs = sigParens.split(',').map((s: string) => '$' + s.trim());
    // jsonata re-parses them as a lambda header; odd parameter lists fail there with a syntax error.
    rawParser('function(' + sigArgs.join(', ') + '){ _ }');
    params = sigArgs;
    nativeParamsCache.set(fn, params);
  }
  return params;
}

/** Implementations jsonata would read parameter names from, for built-ins the compiled engine reimplements. */
const originalImplementations = new WeakMap<object, Any>();
export function registerOriginalImplementation(impl: Any, original: Any): void {
  originalImplementations.set(impl, original);
}

function partialProcedure(nParams: number, args: Any[], run: (full: Any[]) => Any): CompiledLambda {
  const bound: Any[] = new Array(nParams);
  const unbound: number[] = [];
  for (let index = 0; index < nParams; index++) {
    const arg = args[index];
    if (arg === PLACEHOLDER) unbound.push(index);
    else bound[index] = arg;
  }
  return new CompiledLambda(
    (rest: Any[]) => {
      const full = bound.slice();
      for (let i = 0; i < unbound.length; i++) full[unbound[i]!] = rest[i];
      return run(full);
    },
    unbound.length,
    undefined,
  );
}

export function partial(C: Ctx, proc: Any, args: Any[], position: number, name: string | undefined): CompiledLambda {
  if (proc instanceof CompiledLambda) {
    // bound arguments skip signature validation, as in jsonata
    return partialProcedure(Math.max(proc.arity, 0), args, (full) => proc.run(full));
  }
  if (proc && proc._jsonata_function === true) {
    const impl = proc.implementation;
    const params = nativeParams(originalImplementations.get(impl) ?? impl);
    return partialProcedure(params.length, args, (full) => {
      const result = impl.apply(C.focus, full);
      if (isPromise(result)) throw asyncNotSupported(name);
      return result;
    });
  }
  if (typeof proc === 'function') {
    const params = nativeParams(proc);
    return partialProcedure(params.length, args, (full) => {
      const result = proc.apply(C.focus, full);
      if (isPromise(result)) throw asyncNotSupported(name);
      return result;
    });
  }
  throw { code: 'T1008', position, token: name } satisfies JErr;
}

/**
 * jsonata composes `f ~> g` (both functions) by evaluating `function($f, $g) { function($x){ $g($f($x)) } }`;
 * its call sites give errors their tokens (`f`, `g`) and positions, so they are read from that very source.
 */
const chainSites = (() => {
  const ast = parseExpression('function($f, $g) { function($x){ $g($f($x)) } }') as Any;
  const tail = ast.body.body.body; // the inner lambda's body: the thunk's call $g($f($x))
  return { g: tail.procedure.position as number, f: tail.arguments[0].position as number };
})();

/** `f ~> g` for two functions: a unary function applying f then g, as jsonata's composed lambda does. */
export function chain(C: Ctx, f: Any, g: Any): CompiledLambda {
  return new CompiledLambda(
    (args: Any[]) => {
      const B = C.d;
      if (++C.tk > 1023) tick(C);
      // `$g($f($x))` is a tail call: $g is recorded first, then $f($x) runs at the next depth
      const thunk = tailCall(() => {
        tailProc(g, 'g', chainSites.g);
        const fx = norm(call(C, f, [norm(args[0])], null, chainSites.f, 'f', B + 1));
        return new Thunk(g, [fx], 'g', chainSites.g);
      });
      C.d = B;
      return thunk;
    },
    1,
    undefined,
  );
}

/** `lhs ~> rhs` where rhs is not a call: evaluateApplyExpression. */
export function applyTo(C: Ctx, lhs: Any, func: Any, position: number, depth: number): Any {
  if (!isFunction(func)) throw { code: 'T2006', position, value: func } satisfies JErr;
  C.d = depth;
  if (isFunction(lhs)) return chain(C, lhs, func);
  return applyFull(C, func, [lhs], null);
}

// ---------------------------------------------------------------------------------------------------------------
// regex literals (evaluateRegex)

export function regex(pattern: RegExp, position: number): Any {
  const re = new RegExp(pattern);
  const closure = function (str: Any, fromIndex: Any): Any {
    let result: Any;
    re.lastIndex = fromIndex || 0;
    const match = re.exec(str);
    if (match !== null) {
      result = { match: match[0], start: match.index, end: match.index + match[0].length, groups: [] as Any[] };
      if (match.length > 1) for (let i = 1; i < match.length; i++) result.groups.push(match[i]);
      result.next = function () {
        if (re.lastIndex >= str.length) return undefined;
        const next = closure(str, re.lastIndex);
        if (next && next.match === '') throw { code: 'D1004', position, value: pattern.source } satisfies JErr;
        return next;
      };
    }
    return result;
  };
  return closure;
}

// ---------------------------------------------------------------------------------------------------------------
// transform (evaluateTransformExpression)

/** The function a transform expression evaluates to has jsonata's signature `<(oa):o>`. */
const transformSignature = compileSignature('<(oa):o>');

export interface TransformDesc {
  pos: number;
  updatePos: number;
  deletePos: number | undefined;
}

/**
 * Builds the function a transform expression evaluates to. `body(obj)` receives the depth base at call time
 * and returns [pattern matches evaluator, update evaluator, delete evaluator] closures bound to that base.
 */
export function transform(
  C: Ctx,
  T: TransformDesc,
  cloneLookup: () => Any,
  pattern: (input: Any) => Any,
  update: (input: Any) => Any,
  del: ((input: Any) => Any) | undefined,
): JsonataFunctionDef {
  const transformer = function (obj: Any): Any {
    if (obj === undefined) return undefined;
    const cloneFunction = cloneLookup();
    if (!isFunction(cloneFunction)) throw { code: 'T2013', position: T.pos } satisfies JErr;
    const base = C.d;
    const result = applyFull(C, cloneFunction, [obj], null);
    C.d = base;
    let matches = pattern(result);
    if (matches !== undefined) {
      if (!Array.isArray(matches)) matches = [matches];
      for (let ii = 0; ii < matches.length; ii++) {
        const match = matches[ii];
        C.d = base;
        const updateValue = update(match);
        const updateType = typeof updateValue;
        if (updateType !== 'undefined') {
          if (updateType !== 'object' || updateValue === null || Array.isArray(updateValue)) {
            throw { code: 'T2011', position: T.updatePos, value: updateValue } satisfies JErr;
          }
          for (const prop of Object.keys(updateValue)) setProp(match, prop, updateValue[prop]);
        }
        if (del !== undefined) {
          C.d = base;
          let deletions = del(match);
          if (deletions !== undefined) {
            const val = deletions;
            if (!Array.isArray(deletions)) deletions = [deletions];
            if (!isArrayOfStrings(deletions)) throw { code: 'T2012', position: T.deletePos, value: val } satisfies JErr;
            for (let jj = 0; jj < deletions.length; jj++) {
              if (typeof match === 'object' && match !== null) delete match[deletions[jj]];
            }
          }
        }
      }
    }
    C.d = base;
    return result;
  };
  return { _jsonata_function: true, implementation: transformer, signature: transformSignature };
}

/** Global lookup as seen from the top of an evaluation: `$` is the input, then bindings, then built-ins. */
export function globalLookup(C: Ctx, name: string): Any {
  if (name === '$') return C.root;
  if (hasOwn.call(C.b, name)) return C.b[name];
  return builtinLookup(name);
}
let builtinLookup: (name: string) => Any = () => undefined;
export function setBuiltinLookup(fn: (name: string) => Any): void {
  builtinLookup = fn;
}

// ---------------------------------------------------------------------------------------------------------------
// $eval support: errors from the nested expression are wrapped like functionEval does

export function evalErrors(phase: 'parse' | 'evaluate', err: Any): JErr {
  if (err instanceof JsonataLimitError) throw err;
  if (err && typeof err === 'object') populateMessage(err);
  return { code: phase === 'parse' ? 'D3120' : 'D3121', value: err?.message, error: err };
}

