/**
 * Function signature validation (`<s-n?:s>`), ported from jsonata 2.2.2's signature.js with one change: the
 * regex match of the argument-type string is cached per distinct type string, since a call site almost always
 * sees the same argument types. Validation results and errors (T0410, T0411, T0412) are jsonata's.
 */
import type { JsonataSignature } from './jsonata-internals.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;

interface Param {
  regex: string;
  type: string;
  array?: boolean;
  context?: boolean;
  contextRegex?: RegExp;
  subtype?: string;
}

const arraySignatureMapping: Record<string, string> = {
  a: 'arrays',
  b: 'booleans',
  f: 'functions',
  n: 'numbers',
  o: 'objects',
  s: 'strings',
};

function isFunctionValue(arg: Any): boolean {
  return (!!arg && (arg._jsonata_function === true || arg._jsonata_lambda === true)) || typeof arg === 'function';
}

function getSymbol(value: Any): string {
  if (isFunctionValue(value)) return 'f';
  switch (typeof value) {
    case 'string':
      return 's';
    case 'number':
      return 'n';
    case 'boolean':
      return 'b';
    case 'object':
      if (value === null) return 'l';
      return Array.isArray(value) ? 'a' : 'o';
    default:
      return 'm';
  }
}

const cache = new Map<string, JsonataSignature>();

/** A validator equivalent to jsonata's for the signature text (memoised). */
export function compileSignature(signature: string): JsonataSignature {
  let sig = cache.get(signature);
  if (sig === undefined) {
    sig = parse(signature);
    cache.set(signature, sig);
  }
  return sig;
}

function parse(signature: string): JsonataSignature {
  let position = 1;
  const params: Param[] = [];
  let param = Object.create(null) as Param;
  let prevParam = param;
  let symbol: string;
  const next = (): void => {
    params.push(param);
    prevParam = param;
    param = Object.create(null) as Param;
  };
  const findClosingBracket = (str: string, start: number, openSymbol: string, closeSymbol: string): number => {
    let depth = 1;
    let pos = start;
    while (pos < str.length) {
      pos++;
      symbol = str.charAt(pos);
      if (symbol === closeSymbol) {
        depth--;
        if (depth === 0) break;
      } else if (symbol === openSymbol) {
        depth++;
      }
    }
    return pos;
  };
  while (position < signature.length) {
    symbol = signature.charAt(position);
    if (symbol === ':') break;
    switch (symbol) {
      case 's':
      case 'n':
      case 'b':
      case 'l':
      case 'o':
        param.regex = '[' + symbol + 'm]';
        param.type = symbol;
        next();
        break;
      case 'a':
        param.regex = '[asnblfom]';
        param.type = symbol;
        param.array = true;
        next();
        break;
      case 'f':
        param.regex = 'f';
        param.type = symbol;
        next();
        break;
      case 'j':
        param.regex = '[asnblom]';
        param.type = symbol;
        next();
        break;
      case 'x':
        param.regex = '[asnblfom]';
        param.type = symbol;
        next();
        break;
      case '-':
        prevParam.context = true;
        prevParam.contextRegex = new RegExp(prevParam.regex);
        prevParam.regex += '?';
        break;
      case '?':
      case '+':
        prevParam.regex += symbol;
        break;
      case '(': {
        const endParen = findClosingBracket(signature, position, '(', ')');
        const choice = signature.substring(position + 1, endParen);
        if (choice.indexOf('<') === -1) {
          param.regex = '[' + choice + 'm]';
        } else {
          throw { code: 'S0402', value: choice, offset: position };
        }
        param.type = '(' + choice + ')';
        position = endParen;
        next();
        break;
      }
      case '<':
        if (prevParam.type === 'a' || prevParam.type === 'f') {
          const endPos = findClosingBracket(signature, position, '<', '>');
          prevParam.subtype = signature.substring(position + 1, endPos);
          position = endPos;
        } else {
          throw { code: 'S0401', value: prevParam.type, offset: position };
        }
        break;
      default:
        break;
    }
    position++;
  }
  const regex = new RegExp('^' + params.map((p) => '(' + p.regex + ')').join('') + '$');
  const matches = new Map<string, RegExpExecArray | null>();

  const throwValidationError = (badArgs: Any[], badSig: string): never => {
    let partialPattern = '^';
    let goodTo = 0;
    for (let index = 0; index < params.length; index++) {
      partialPattern += params[index]!.regex;
      const match = badSig.match(partialPattern);
      if (match === null) throw { code: 'T0410', value: badArgs[goodTo], index: goodTo + 1 };
      goodTo = match[0].length;
    }
    throw { code: 'T0410', value: badArgs[goodTo], index: goodTo + 1 };
  };

  return {
    definition: signature,
    validate(args: Any[], context: Any): Any[] {
      let suppliedSig = '';
      for (let i = 0; i < args.length; i++) suppliedSig += getSymbol(args[i]);
      let isValid = matches.get(suppliedSig);
      if (isValid === undefined) {
        isValid = regex.exec(suppliedSig);
        if (matches.size < 256) matches.set(suppliedSig, isValid);
      }
      if (!isValid) return throwValidationError(args, suppliedSig);
      const validatedArgs: Any[] = [];
      let argIndex = 0;
      for (let index = 0; index < params.length; index++) {
        const p = params[index]!;
        let arg = args[argIndex];
        const match = isValid[index + 1]!;
        if (match === '') {
          if (p.context && p.contextRegex) {
            const contextType = getSymbol(context);
            if (p.contextRegex.test(contextType)) {
              validatedArgs.push(context);
            } else {
              throw { code: 'T0411', value: context, index: argIndex + 1 };
            }
          } else {
            validatedArgs.push(arg);
            argIndex++;
          }
          continue;
        }
        for (let k = 0; k < match.length; k++) {
          const single = match[k]!;
          arg = args[argIndex];
          if (p.type === 'a') {
            if (single === 'm') {
              arg = undefined;
            } else {
              let arrayOK = true;
              if (p.subtype !== undefined) {
                if (single !== 'a' && match !== p.subtype) {
                  arrayOK = false;
                } else if (single === 'a') {
                  if (arg.length > 0) {
                    const itemType = getSymbol(arg[0]);
                    if (itemType !== p.subtype.charAt(0)) {
                      arrayOK = false;
                    } else {
                      arrayOK = !(arg as Any[]).some((val) => getSymbol(val) !== itemType);
                    }
                  }
                }
              }
              if (!arrayOK) {
                throw { code: 'T0412', value: arg, index: argIndex + 1, type: arraySignatureMapping[p.subtype as string] };
              }
              if (single !== 'a') arg = [arg];
            }
            validatedArgs.push(arg);
            argIndex++;
          } else {
            validatedArgs.push(arg);
            argIndex++;
          }
        }
      }
      return validatedArgs;
    },
  };
}
