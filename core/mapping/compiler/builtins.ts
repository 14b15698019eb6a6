/**
 * The built-in function library seen by compiled expressions.
 *
 * Synchronous jsonata built-ins are used as they are (same implementation and signature objects). The ones
 * jsonata implements as async functions — the higher-order functions and the regex-aware string functions —
 * are re-implemented here synchronously, line by line after functions.js, calling back into function values
 * through the runtime's `applyFull`. $now/$millis read the per-evaluation timestamp.
 */
import type { JsonataFunctionDef } from './jsonata-internals.ts';
import { BUILTIN_NAMES, jsonataBuiltins } from './jsonata-internals.ts';
import type { Ctx, Focus, JErr } from './runtime.ts';
import { compileSignature } from './signature.ts';
import {
  applyFull,
  getFunctionArity,
  isArrayOfNumbers,
  isArrayOfStrings,
  isFunction,
  keysOf,
  mergeSort,
  registerOriginalImplementation,
  string as fastString,
  tick,
  toBoolean,
} from './runtime.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;
type Impl = (this: Focus, ...args: Any[]) => Any;

function hofFuncArgs(func: Any, arg1: Any, arg2: Any, arg3: Any): Any[] {
  const funcArgs = [arg1];
  const length = getFunctionArity(func);
  if (length >= 2) funcArgs.push(arg2);
  if (length >= 3) funcArgs.push(arg3);
  return funcArgs;
}

function callback(C: Ctx, func: Any, args: Any[]): Any {
  const depth = C.d;
  const result = applyFull(C, func, args, null);
  C.d = depth; // the callee may leave a deeper base behind
  return result;
}

function map(this: Focus, arr: Any, func: Any): Any {
  if (arr === undefined) return undefined;
  const result = this.createSequence();
  for (let i = 0; i < arr.length; i++) {
    const res = callback(this.C, func, hofFuncArgs(func, arr[i], i, arr));
    if (res !== undefined) result.push(res);
  }
  return result;
}

function filter(this: Focus, arr: Any, func: Any): Any {
  if (arr === undefined) return undefined;
  const result = this.createSequence();
  for (let i = 0; i < arr.length; i++) {
    const entry = arr[i];
    const res = callback(this.C, func, hofFuncArgs(func, entry, i, arr));
    if (toBoolean(res)) result.push(entry);
  }
  return result;
}

function single(this: Focus, arr: Any, func: Any): Any {
  if (arr === undefined) return undefined;
  let hasFoundMatch = false;
  let result: Any;
  for (let i = 0; i < arr.length; i++) {
    const entry = arr[i];
    let positiveResult = true;
    if (func !== undefined) {
      const res = callback(this.C, func, hofFuncArgs(func, entry, i, arr));
      positiveResult = toBoolean(res) as boolean;
    }
    if (positiveResult) {
      if (!hasFoundMatch) {
        result = entry;
        hasFoundMatch = true;
      } else {
        throw { code: 'D3138', index: i } satisfies JErr;
      }
    }
  }
  if (!hasFoundMatch) throw { code: 'D3139' } satisfies JErr;
  return result;
}

function foldLeft(this: Focus, sequence: Any, func: Any, init: Any): Any {
  if (sequence === undefined) return undefined;
  let result: Any;
  const arity = getFunctionArity(func);
  if (arity < 2) throw { code: 'D3050', index: 1 } satisfies JErr;
  let index: number;
  if (init === undefined && sequence.length > 0) {
    result = sequence[0];
    index = 1;
  } else {
    result = init;
    index = 0;
  }
  while (index < sequence.length) {
    const args = [result, sequence[index]];
    if (arity >= 3) args.push(index);
    if (arity >= 4) args.push(sequence);
    result = callback(this.C, func, args);
    index++;
  }
  return result;
}

function each(this: Focus, obj: Any, func: Any): Any {
  const result = this.createSequence();
  for (const key of keysOf(obj)) {
    const val = callback(this.C, func, hofFuncArgs(func, obj[key], key, obj));
    if (val !== undefined) result.push(val);
  }
  return result;
}

function sift(this: Focus, arg: Any, func: Any): Any {
  let result: Any = Object.create(null);
  for (const item of keysOf(arg)) {
    const entry = arg[item];
    const res = callback(this.C, func, hofFuncArgs(func, entry, item, arg));
    if (toBoolean(res)) result[item] = entry;
  }
  if (keysOf(result).length === 0) result = undefined;
  return result;
}

function sort(this: Focus, arr: Any, comparator: Any): Any {
  if (arr === undefined) return undefined;
  if (arr.length <= 1) return arr;
  const C = this.C;
  let comp: (a: Any, b: Any) => Any;
  if (comparator === undefined) {
    if (!isArrayOfNumbers(arr) && !isArrayOfStrings(arr)) throw { code: 'D3070', index: 1 } satisfies JErr;
    comp = (a, b) => a > b;
  } else {
    comp = (a, b) => {
      if (++C.tk > 1023) tick(C);
      return callback(C, comparator, [a, b]);
    };
  }
  return mergeSort(arr, comp);
}

function evaluateMatcher(C: Ctx, matcher: Any, str: Any): Any {
  const result = callback(C, matcher, [str]);
  if (
    result &&
    !(typeof result.start === 'number' || result.end === 'number' || Array.isArray(result.groups) || isFunction(result.next))
  ) {
    throw { code: 'T1010' } satisfies JErr;
  }
  return result;
}

function contains(this: Focus, str: Any, token: Any): Any {
  if (str === undefined || token === undefined) return undefined;
  if (typeof token === 'string') return str.indexOf(token) !== -1;
  return evaluateMatcher(this.C, token, str) !== undefined;
}

function match(this: Focus, str: Any, regex: Any, limit: Any): Any {
  if (str === undefined) return undefined;
  if (limit < 0) throw { code: 'D3040', value: limit, index: 3 } satisfies JErr;
  const result = this.createSequence();
  if (limit === undefined || limit > 0) {
    let count = 0;
    let matches = evaluateMatcher(this.C, regex, str);
    if (matches !== undefined) {
      while (matches !== undefined && (limit === undefined || count < limit)) {
        result.push({ match: matches.match, index: matches.start, groups: matches.groups });
        matches = evaluateMatcher(this.C, matches.next, undefined);
        count++;
      }
    }
  }
  return result;
}

function replace(this: Focus, str: Any, pattern: Any, replacement: Any, limit: Any): Any {
  if (str === undefined) return undefined;
  const C = this.C;
  if (pattern === '') throw { code: 'D3010', value: pattern, index: 2 } satisfies JErr;
  if (limit < 0) throw { code: 'D3011', value: limit, index: 4 } satisfies JErr;
  let replacer: (m: Any) => Any;
  if (typeof replacement === 'string') {
    replacer = (regexMatch: Any): string => {
      let substitute = '';
      let position = 0;
      let index = replacement.indexOf('$', position);
      while (index !== -1 && position < replacement.length) {
        substitute += replacement.substring(position, index);
        position = index + 1;
        const dollarVal = replacement.charAt(position);
        if (dollarVal === '$') {
          substitute += '$';
          position++;
        } else if (dollarVal === '0') {
          substitute += regexMatch.match;
          position++;
        } else {
          let maxDigits: number;
          if (regexMatch.groups.length === 0) {
            maxDigits = 1;
          } else {
            maxDigits = Math.floor(Math.log(regexMatch.groups.length) * Math.LOG10E) + 1;
          }
          index = parseInt(replacement.substring(position, position + maxDigits), 10);
          if (maxDigits > 1 && index > regexMatch.groups.length) {
            index = parseInt(replacement.substring(position, position + maxDigits - 1), 10);
          }
          if (!Number.isNaN(index)) {
            if (regexMatch.groups.length > 0) {
              const submatch = regexMatch.groups[index - 1];
              if (submatch !== undefined) substitute += submatch;
            }
            position += index.toString().length;
          } else {
            substitute += '$';
          }
        }
        index = replacement.indexOf('$', position);
      }
      substitute += replacement.substring(position);
      return substitute;
    };
  } else {
    replacer = (m: Any) => callback(C, replacement, [m]);
  }
  let result = '';
  let position = 0;
  if (limit === undefined || limit > 0) {
    let count = 0;
    if (typeof pattern === 'string') {
      let index = str.indexOf(pattern, position);
      while (index !== -1 && (limit === undefined || count < limit)) {
        result += str.substring(position, index);
        result += replacement;
        position = index + pattern.length;
        count++;
        index = str.indexOf(pattern, position);
      }
      result += str.substring(position);
    } else {
      let matches = evaluateMatcher(C, pattern, str);
      if (matches !== undefined) {
        while (matches !== undefined && (limit === undefined || count < limit)) {
          result += str.substring(position, matches.start);
          const replacedWith = replacer(matches);
          if (typeof replacedWith === 'string') {
            result += replacedWith;
          } else {
            throw { code: 'D3012', value: replacedWith } satisfies JErr;
          }
          position = matches.start + matches.match.length;
          count++;
          matches = evaluateMatcher(C, matches.next, undefined);
        }
        result += str.substring(position);
      } else {
        result = str;
      }
    }
  } else {
    result = str;
  }
  return result;
}

function split(this: Focus, str: Any, separator: Any, limit: Any): Any {
  if (str === undefined) return undefined;
  if (limit < 0) throw { code: 'D3020', value: limit, index: 3 } satisfies JErr;
  let result: Any[] = [];
  if (limit === undefined || limit > 0) {
    if (typeof separator === 'string') {
      result = str.split(separator, limit);
    } else {
      let count = 0;
      let matches = evaluateMatcher(this.C, separator, str);
      if (matches !== undefined) {
        let start = 0;
        while (matches !== undefined && (limit === undefined || count < limit)) {
          result.push(str.substring(start, matches.start));
          start = matches.end;
          matches = evaluateMatcher(this.C, matches.next, undefined);
          count++;
        }
        if (limit === undefined || count < limit) result.push(str.substring(start));
      } else {
        result.push(str);
      }
    }
  }
  return result;
}

const fromMillisImpl = jsonataBuiltins.fromMillis.implementation as (millis: number, picture?: string, tz?: string) => string;

function now(this: Focus, picture: Any, timezone: Any): Any {
  return fromMillisImpl(this.C.ts.getTime(), picture, timezone);
}

function millis(this: Focus): Any {
  return this.C.ts.getTime();
}

/**
 * $eval as a value (not called directly at a call site, where the compiler passes the caller's scope): the
 * expression sees the global bindings only. Installed by index.ts, which owns compilation.
 */
let evalImpl: Impl = function functionEval(this: Focus, expr: Any, focus: Any) {
  void expr;
  void focus;
  throw { code: 'D3121', value: '$eval is not available' } satisfies JErr;
};
export function setEvalImplementation(impl: Impl): void {
  evalImpl = impl;
  builtins.eval = def(impl, jsonataBuiltins.eval.signature?.definition);
  registerOriginalImplementation(impl, jsonataBuiltins.eval.implementation);
}

const jsonataString = jsonataBuiltins.string.implementation as (arg: unknown, prettify?: boolean) => unknown;
/** $string: scalars take the runtime's fast path (same output); `prettify` goes to jsonata's implementation. */
function string(this: Focus, arg: Any, prettify = false): Any {
  return prettify ? jsonataString(arg, prettify) : fastString(arg);
}

const replacements: Partial<Record<string, Impl>> = {
  string,
  map,
  filter,
  single,
  reduce: foldLeft,
  each,
  sift,
  sort,
  contains,
  match,
  replace,
  split,
};

/** A definition object of our own (jsonata's are shared with its interpreter and must not be mutated). */
function def(impl: Impl, signature: string | undefined, original?: Any): JsonataFunctionDef {
  if (original !== undefined && original !== impl) registerOriginalImplementation(impl, original);
  const d: Any = { _jsonata_function: true, implementation: impl };
  if (signature !== undefined) d.signature = compileSignature(signature);
  return d as JsonataFunctionDef;
}

/** Built-ins by name, plus $now and $millis (which jsonata binds per expression instance). */
export const builtins: Record<string, JsonataFunctionDef> = (() => {
  const out: Record<string, JsonataFunctionDef> = {};
  for (const name of BUILTIN_NAMES) {
    const original = jsonataBuiltins[name];
    const replacement = replacements[name];
    out[name] = def(replacement ?? (original.implementation as Impl), original.signature?.definition, original.implementation);
  }
  out.now = def(now, '<s?s?:s>');
  out.millis = def(millis, '<:n>');
  out.eval = def(evalImpl, jsonataBuiltins.eval.signature?.definition, jsonataBuiltins.eval.implementation);
  return out;
})();


