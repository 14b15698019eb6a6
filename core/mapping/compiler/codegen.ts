/**
 * JSONata AST → JavaScript source.
 *
 * Each AST node becomes a JS expression with the semantics of jsonata's `evaluate(node, input, environment)`:
 * the node itself, then its predicates, its group-by, and the sequence normalisation. Sub-expressions that jsonata
 * evaluates once per item (path steps, predicates, sort terms, group keys/values) become closures handed to the
 * runtime's ports of evaluatePath/evaluateFilter/...; everything else is inlined.
 *
 * Variables are resolved statically: blocks, lambda invocations and the root are JS scopes; a name that a scope
 * may bind (`:=`) but has not bound yet falls through to the enclosing scope at run time (sentinel `U`), exactly
 * like jsonata's frame lookup. Tuple frames (focus `@`, index `#`, parent `%` bindings) are objects looked up by
 * own property. Unbound names resolve to the caller's bindings, then to the built-ins, once per evaluation.
 *
 * Depth: every node gets its jsonata evaluation depth relative to the current lambda's base (`B`); leaves check
 * `level > RM` (RM = maxDepth - B), which is where jsonata's per-node depth check can first fire.
 */
import type { AstNode } from './jsonata-internals.ts';
import { compileSignature } from './signature.ts';

/** Thrown by the generator for a construct it does not compile; index.ts falls back to the interpreter. */
export class UnsupportedConstruct extends Error {
  constructor(
    readonly construct: string,
    readonly node: AstNode | undefined,
  ) {
    super(construct);
  }
}

export interface GeneratedCode {
  /** Body of `new Function('R', 'K', source)`, which returns `main(input, C, lookup?)`. */
  source: string;
  constants: unknown[];
}

interface FnScope {
  decls: string[];
}

interface Scope {
  kind: 'root' | 'block' | 'lambda' | 'tuple';
  parent: Scope | undefined;
  /** JSONata name → JS identifier (lambda parameters and `:=` targets). */
  vars: Map<string, string>;
  /** Lambda parameters are always bound (possibly to undefined), so lookups stop there. */
  params?: Set<string>;
  /** Tuple frame parameter. */
  T?: string;
  /** jsonata shares this frame between several closures (group-by keys over tuples): binding into it is not modelled. */
  shared?: boolean;
}

interface Cx {
  L: number;
  I: string;
  scope: Scope;
  fn: FnScope;
}

type Node = AstNode & Record<string, Any>;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;

const q = (s: unknown): string => JSON.stringify(s);

function literal(v: unknown): string {
  if (typeof v === 'number') return Object.is(v, -0) ? '-0' : String(v);
  return q(v);
}

function isNode(x: unknown): x is Node {
  return typeof x === 'object' && x !== null && typeof (x as { type?: unknown }).type === 'string';
}

/** Child expressions of a node, including predicates, stages and group pairs. */
function children(n: Node): Node[] {
  const out: Node[] = [];
  const push = (x: unknown): void => {
    if (isNode(x)) out.push(x);
  };
  switch (n.type) {
    case 'path':
      n.steps.forEach(push);
      break;
    case 'binary':
    case 'bind':
    case 'apply':
      push(n.lhs);
      push(n.rhs);
      break;
    case 'unary':
      if (n.value === '[') n.expressions.forEach(push);
      else if (n.value === '{') n.lhs.forEach((p: Node[]) => (push(p[0]), push(p[1])));
      else push(n.expression);
      break;
    case 'function':
    case 'partial':
      push(n.procedure);
      n.arguments.forEach(push);
      break;
    case 'lambda':
      push(n.body);
      break;
    case 'condition':
      push(n.condition);
      push(n.then);
      push(n.else);
      break;
    case 'block':
      n.expressions.forEach(push);
      break;
    case 'transform':
      push(n.pattern);
      push(n.update);
      push(n.delete);
      break;
    case 'sort':
      n.terms.forEach((t: Node) => push(t.expression));
      break;
    default:
      break;
  }
  if (Array.isArray(n.predicate)) n.predicate.forEach((p: Node) => push(p.expr));
  if (Array.isArray(n.stages)) n.stages.forEach((s: Node) => s.type === 'filter' && push(s.expr));
  if (n.group) n.group.lhs.forEach((p: Node[]) => (push(p[0]), push(p[1])));
  return out;
}

/** Names a scope region may bind with `:=` (not descending into nested blocks and lambdas, which scope their own). */
function collectBinds(roots: Node[]): Set<string> {
  const names = new Set<string>();
  const walk = (n: Node): void => {
    if (n.type === 'block' || (n.type === 'lambda' && n.thunk !== true)) return;
    if (n.type === 'bind') names.add(String(n.lhs.value));
    children(n).forEach(walk);
  };
  roots.forEach(walk);
  return names;
}

/** Names that tuple frames can bind anywhere in the expression (focus and index variables, parent slots). */
function collectTupleNames(root: Node): Set<string> {
  const names = new Set<string>();
  const walk = (n: Node): void => {
    if (typeof n.focus === 'string') names.add(n.focus);
    if (typeof n.index === 'string') names.add(n.index);
    if (n.ancestor && typeof n.ancestor.label === 'string') names.add(n.ancestor.label);
    if (Array.isArray(n.stages)) for (const s of n.stages) if (s.type === 'index') names.add(String(s.value));
    children(n).forEach(walk);
  };
  walk(root);
  return names;
}

/**
 * Node types whose value may be a sequence that jsonata's evaluate() then unwraps. Variables are included: a
 * variable can hold a raw sequence (a lambda parameter fed by a built-in, a tail call's result, a binding).
 */
const MAY_BE_SEQUENCE = new Set(['path', 'name', 'wildcard', 'descendant', 'function', 'partial', 'apply', 'parent', 'variable']);

export class CodeGenerator {
  private counter = 0;
  private readonly constants: unknown[] = [];
  private readonly helpers = new Set<string>();
  private readonly globals = new Map<string, string>();
  private tupleNames = new Set<string>();

  generate(ast: AstNode): GeneratedCode {
    const root = ast as Node;
    this.tupleNames = collectTupleNames(root);
    const fn: FnScope = { decls: [] };
    const scope: Scope = { kind: 'root', parent: undefined, vars: new Map() };
    for (const name of collectBinds([root])) scope.vars.set(name, this.declare(fn, 'v', 'U'));
    const body = this.compile(root, { L: 1, I: 'I0', scope, fn });
    const globals = [...this.globals].map(
      ([name, id]) => `${id} = LK !== undefined ? LK(${q(name)}) : ${name === '$' ? 'C.root' : `own(b, ${q(name)}) ? b[${q(name)}] : BI[${q(name)}]`}`,
    );
    this.helpers.add('own');
    const helperDecl = [...this.helpers].sort().map((h) => `${h} = R.${h}`);
    const source = [
      `"use strict";`,
      `const U = R.U, BI = R.BI, CL = R.CL, TH = R.TH, PH = R.PH${helperDecl.length ? ', ' + helperDecl.join(', ') : ''};`,
      `return function main(I0, C, LK) {`,
      `  const B = C.d, RM = C.M - B, b = C.b;`,
      globals.length ? `  const ${globals.join(',\n    ')};` : '',
      fn.decls.length ? `  let ${fn.decls.join(', ')};` : '',
      `  return ${body};`,
      `};`,
    ]
      .filter((l) => l !== '')
      .join('\n');
    return { source, constants: this.constants };
  }

  // -- bookkeeping ------------------------------------------------------------------------------------------

  private id(prefix: string): string {
    return `${prefix}${++this.counter}`;
  }

  private declare(fn: FnScope, prefix: string, init?: string): string {
    const name = this.id(prefix);
    fn.decls.push(init === undefined ? name : `${name} = ${init}`);
    return name;
  }

  private temp(cx: Cx): string {
    return this.declare(cx.fn, 't');
  }

  private h(name: string): string {
    this.helpers.add(name);
    return name;
  }

  private k(value: unknown): string {
    this.constants.push(value);
    return `K[${this.constants.length - 1}]`;
  }

  private globalRef(name: string): string {
    let id = this.globals.get(name);
    if (id === undefined) {
      id = this.id('g');
      this.globals.set(name, id);
    }
    return id;
  }

  private depthCheck(L: number): string {
    return `${L} > RM && ${this.h('depthError')}(C)`;
  }

  /** Resolves a variable through the scope chain, as environment.lookup would. */
  private resolve(name: string, scope: Scope): string {
    const wrappers: Array<(rest: string) => string> = [];
    let final: string | undefined;
    for (let s: Scope | undefined = scope; s !== undefined; s = s.parent) {
      if (s.kind === 'tuple') {
        // one frame: a `:=` in it shadows the tuple's own binding of the same name, so it is checked first
        const bound = s.vars.get(name);
        if (bound !== undefined) wrappers.push((rest) => `(${bound} !== U ? ${bound} : ${rest})`);
        if (this.tupleNames.has(name)) {
          const T = s.T!;
          // a node flagged for tuples may still be evaluated without one (e.g. a focus on a lone block)
          wrappers.push((rest) => `(${T} !== undefined && own(${T}, ${q(name)}) ? ${T}[${q(name)}] : ${rest})`);
        }
        continue;
      }
      const v = s.vars.get(name);
      if (v === undefined) continue;
      if (s.params?.has(name)) {
        final = v;
        break;
      }
      wrappers.push((rest) => `(${v} !== U ? ${v} : ${rest})`);
    }
    this.helpers.add('own');
    let code = final ?? this.globalRef(name);
    for (let i = wrappers.length - 1; i >= 0; i--) code = wrappers[i]!(code);
    return code;
  }

  /** All names visible from a scope, for $eval's view of the caller's environment. */
  private visibleNames(scope: Scope): Set<string> {
    const names = new Set<string>();
    for (let s: Scope | undefined = scope; s !== undefined; s = s.parent) {
      if (s.kind === 'tuple') this.tupleNames.forEach((n) => names.add(n));
      s.vars.forEach((_v, n) => names.add(n));
    }
    return names;
  }

  /**
   * A closure `(I[, T]) => expr`. With `tuple`, the closure is evaluated in a frame built from a tuple (jsonata's
   * createFrameFromTuple): one frame per invocation, so `:=` inside it binds closure-local variables.
   */
  private closure(
    cx: Cx,
    tuple: boolean,
    L: number,
    body: (cx2: Cx) => string,
    depthBase = false,
    region: Node[] = [],
    shared = false,
  ): string {
    const fn: FnScope = { decls: [] };
    const I = this.id('I');
    const T = tuple ? this.id('T') : undefined;
    const scope: Scope = tuple ? { kind: 'tuple', parent: cx.scope, vars: new Map(), T, shared } : cx.scope;
    if (tuple && !shared) for (const name of collectBinds(region)) scope.vars.set(name, this.declare(fn, 'v', 'U'));
    const code = body({ L, I, scope, fn });
    const params = T === undefined ? I : `${I}, ${T}`;
    const pre = depthBase ? 'const B = C.d, RM = C.M - B; ' : '';
    if (fn.decls.length === 0 && pre === '') return `((${params}) => (${code}))`;
    return `((${params}) => { ${pre}${fn.decls.length ? `let ${fn.decls.join(', ')}; ` : ''}return ${code}; })`;
  }

  // -- nodes ------------------------------------------------------------------------------------------------

  /** jsonata's evaluate(): the node, its predicates, its group-by, then sequence normalisation. */
  compile(node: Node, cx: Cx): string {
    let code = this.core(node, cx);
    const hasPredicate = Array.isArray(node.predicate) && node.predicate.length > 0;
    if (hasPredicate) {
      const stages = node.predicate.map((p: Node) => this.stage(p, cx, cx.L + 1, node.tuple === true));
      code = `${this.h('filters')}([${stages.join(', ')}], ${code}, C)`;
    }
    const hasGroup = node.type !== 'path' && node.group !== undefined;
    if (hasGroup) code = `${this.h('group')}(${this.groupDesc(node.group, cx, cx.L + 1, node.tuple === true)}, ${code}, C)`;
    if (node.keepArray) return `${this.h('normK')}(${code})`;
    if (hasPredicate || MAY_BE_SEQUENCE.has(node.type) || (node.type === 'binary' && node.value === '..')) {
      return `${this.h('norm')}(${code})`;
    }
    return code;
  }

  private core(node: Node, cx: Cx): string {
    switch (node.type) {
      case 'path':
        return this.path(node, cx);
      case 'binary':
        return this.binary(node, cx);
      case 'unary':
        return this.unary(node, cx);
      case 'name':
        return `(${this.depthCheck(cx.L)}, ${this.h('lookup')}(${cx.I}, ${q(node.value)}))`;
      case 'string':
      case 'number':
      case 'value':
        return `(${this.depthCheck(cx.L)}, ${literal(node.value)})`;
      case 'wildcard':
        return `(${this.depthCheck(cx.L)}, ${this.h('wildcard')}(${cx.I}))`;
      case 'descendant':
        return `(${this.depthCheck(cx.L)}, ${this.h('descendants')}(${cx.I}))`;
      case 'parent':
        return `(${this.depthCheck(cx.L)}, ${this.resolve(String(node.slot.label), cx.scope)})`;
      case 'condition': {
        const cond = this.compile(node.condition, { ...cx, L: cx.L + 1 });
        const then = this.compile(node.then, { ...cx, L: cx.L + 1 });
        const otherwise = node.else === undefined ? 'undefined' : this.compile(node.else, { ...cx, L: cx.L + 1 });
        return `(${this.h('toBoolean')}(${cond}) ? ${then} : ${otherwise})`;
      }
      case 'block':
        return this.block(node, cx);
      case 'bind':
        return this.bind(node, cx);
      case 'regex':
        return `(${this.depthCheck(cx.L)}, ${this.h('regex')}(${this.k(node.value)}, ${node.position}))`;
      case 'function':
        return this.call(node, cx, undefined);
      case 'variable':
        return this.variable(node, cx);
      case 'lambda':
        return node.thunk === true ? this.thunk(node, cx) : this.lambda(node, cx);
      case 'partial':
        return this.partial(node, cx);
      case 'apply':
        return this.apply(node, cx);
      case 'transform':
        return this.transform(node, cx);
      default:
        throw new UnsupportedConstruct(`AST node type '${node.type}'`, node);
    }
  }

  private variable(node: Node, cx: Cx): string {
    const name = String(node.value);
    if (name === '') return `(${this.depthCheck(cx.L)}, ${this.h('ctxv')}(${cx.I}))`;
    return `(${this.depthCheck(cx.L)}, ${this.resolve(name, cx.scope)})`;
  }

  private bind(node: Node, cx: Cx): string {
    const name = String(node.lhs.value);
    if (cx.scope.kind === 'tuple' && cx.scope.shared === true) {
      throw new UnsupportedConstruct(`variable binding ($${name} :=) in a group-by key over a tuple stream (a frame shared between keys)`, node);
    }
    const v = cx.scope.vars.get(name);
    if (v === undefined) throw new UnsupportedConstruct(`variable binding ($${name} :=) in an unexpected position`, node);
    const rhs = this.compile(node.rhs, { ...cx, L: cx.L + 1 });
    return `(${v} = ${rhs})`;
  }

  private block(node: Node, cx: Cx): string {
    const exprs: Node[] = node.expressions;
    if (exprs.length === 0) return `(${this.depthCheck(cx.L)}, undefined)`;
    const scope: Scope = { kind: 'block', parent: cx.scope, vars: new Map() };
    for (const name of collectBinds(exprs)) scope.vars.set(name, this.declare(cx.fn, 'v', 'U'));
    const inner: Cx = { ...cx, L: cx.L + 1, scope };
    return `(${exprs.map((e) => this.compile(e, inner)).join(', ')})`;
  }

  private binary(node: Node, cx: Cx): string {
    const op = String(node.value);
    const sub: Cx = { ...cx, L: cx.L + 1 };
    const lhs = this.compile(node.lhs, sub);
    const pos = node.position;
    if (op === 'and' || op === 'or') {
      return `${this.h('logic')}(${lhs}, () => ${this.compile(node.rhs, sub)}, ${op === 'and'}, ${pos})`;
    }
    const rhs = this.compile(node.rhs, sub);
    switch (op) {
      case '+':
      case '-':
      case '*':
      case '/':
      case '%':
        return `${this.h('arith')}(${lhs}, ${rhs}, ${q(op)}, ${pos})`;
      case '=':
        return `${this.h('eq')}(${lhs}, ${rhs})`;
      case '!=':
        return `${this.h('ne')}(${lhs}, ${rhs})`;
      case '<':
      case '<=':
      case '>':
      case '>=':
        return `${this.h('compare')}(${lhs}, ${rhs}, ${q(op)}, ${pos})`;
      case '&':
        return `${this.h('concat')}(${lhs}, ${rhs}, ${pos})`;
      case '..':
        return `${this.h('range')}(${lhs}, ${rhs}, ${pos})`;
      case 'in':
        return `${this.h('includes')}(${lhs}, ${rhs})`;
      default:
        throw new UnsupportedConstruct(`binary operator '${op}'`, node);
    }
  }

  private unary(node: Node, cx: Cx): string {
    const sub: Cx = { ...cx, L: cx.L + 1 };
    if (node.value === '-') return `${this.h('negate')}(${this.compile(node.expression, sub)}, ${node.position})`;
    if (node.value === '[') {
      const items: Node[] = node.expressions;
      const cons = node.consarray === true;
      if (items.length === 0) return `(${this.depthCheck(cx.L)}, ${cons ? `${this.h('markCons')}([])` : '[]'})`;
      const t = this.temp(cx);
      const parts = items.map(
        (item) => `${t} = ${this.h('arrAdd')}(${t}, ${this.compile(item, sub)}, ${item.type === 'unary' && item.value === '['})`,
      );
      return `(${t} = [], ${parts.join(', ')}, ${cons ? `${this.h('markCons')}(${t})` : t})`;
    }
    if (node.value === '{') return this.objectConstructor(node, cx);
    throw new UnsupportedConstruct(`unary operator '${String(node.value)}'`, node);
  }

  private objectConstructor(node: Node, cx: Cx): string {
    const pairs: Node[][] = node.lhs;
    if (pairs.length === 0) return `(${this.depthCheck(cx.L)}, {})`;
    const sub: Cx = { ...cx, L: cx.L + 1 };
    const keys = pairs.map((p) => p[0]!);
    const literalKeys =
      keys.every((k) => k.type === 'string' && !k.predicate && !k.group && !k.keepArray) &&
      new Set(keys.map((k) => k.value)).size === keys.length &&
      keys.every((k) => k.value !== '_jsonata_lambda' && k.value !== '_jsonata_function' && k.value !== '__proto__');
    if (!literalKeys) return `${this.h('group')}(${this.groupDesc({ lhs: pairs, position: node.position }, cx, cx.L + 1, false)}, ${cx.I}, C)`;
    // Distinct literal keys: every item lands in every group, so each value sees the items appended together.
    const ctx = this.temp(cx);
    const obj = this.temp(cx);
    const val = this.temp(cx);
    const vcx: Cx = { ...sub, I: ctx };
    const parts = pairs.map(
      (p) => `(${val} = ${this.compile(p[1]!, vcx)}) !== undefined && (${obj}[${q(p[0]!.value)}] = ${val})`,
    );
    return `(${ctx} = ${this.h('objectContext')}(${cx.I}), ${obj} = {}, ${parts.join(', ')}, ${obj})`;
  }

  private groupDesc(group: { lhs: Node[][]; position?: number }, cx: Cx, L: number, tuple: boolean): string {
    const pairs: Node[][] = group.lhs;
    const ks = pairs.map((p) => this.closure(cx, tuple, L, (c) => this.compile(p[0]!, c), false, [p[0]!], true));
    const vs = pairs.map((p) => this.closure(cx, tuple, L, (c) => this.compile(p[1]!, c), false, [p[1]!]));
    return `{k: [${ks.join(', ')}], v: [${vs.join(', ')}], pos: ${group.position}}`;
  }

  private stage(stage: Node, cx: Cx, L: number, tuple: boolean): string {
    if (stage.type === 'index') return `{idx: ${q(stage.value)}}`;
    const expr: Node = stage.expr;
    if (expr.type === 'number') return `{n: ${literal(expr.value)}}`;
    return `{p: ${this.closure(cx, tuple, L, (c) => this.compile(expr, c), false, [expr])}}`;
  }

  // -- paths ------------------------------------------------------------------------------------------------

  /** A name step with no predicate, binding, grouping, keepArray or ancestor attached (stages aside). */
  private isBareName(step: Node): boolean {
    return (
      step.type === 'name' &&
      !step.predicate &&
      !step.group &&
      !step.keepArray &&
      step.focus === undefined &&
      step.index === undefined &&
      !step.tuple &&
      !step.ancestor
    );
  }

  private isPlainName(step: Node): boolean {
    return this.isBareName(step) && !step.stages;
  }

  /** A name step with only filter predicates attached (no bindings, grouping or keepArray). */
  private isStagedName(step: Node): boolean {
    return this.isBareName(step) && Array.isArray(step.stages) && step.stages.every((st: Node) => st.type === 'filter');
  }

  private path(node: Node, cx: Cx): string {
    const steps: Node[] = node.steps;
    const L = cx.L + 1;
    const tuplePath = node.tuple === true || steps.some((s) => s.tuple === true);
    if (!tuplePath && !node.keepSingletonArray && !node.group && steps.every((s) => this.isPlainName(s))) {
      return `(${this.depthCheck(L)}, ${this.h('namePath')}(${cx.I}, ${this.k(steps.map((s) => String(s.value)))}))`;
    }
    if (!tuplePath) {
      // Closure-free steps where possible; a leading variable is evaluated inline (it runs exactly once).
      const first = steps[0]!;
      const inlineFirst = first.type === 'variable' && !first.stages && steps.length > 1;
      if (inlineFirst && !node.keepSingletonArray && !node.group && steps.slice(1).every((s) => this.isPlainName(s))) {
        const names = this.k(steps.slice(1).map((s) => String(s.value)));
        return `(${this.depthCheck(L)}, ${this.h('namePathFrom')}(${this.compile(first, { ...cx, L })}, ${names}))`;
      }
      // Steps without closures are also built as a constant descriptor, shared by all evaluations.
      let dynamic = false;
      const statics: unknown[] = [];
      const specs = (inlineFirst ? steps.slice(1) : steps).map((step, i) => {
        const ii = inlineFirst ? i + 1 : i;
        if (this.isPlainName(step)) {
          statics.push(String(step.value));
          return q(String(step.value));
        }
        if (this.isStagedName(step)) {
          const stages: Node[] = step.stages;
          if (stages.every((st) => st.expr.type === 'number')) {
            statics.push({ name: String(step.value), st: stages.map((st) => ({ n: st.expr.value as number })) });
          } else {
            dynamic = true;
          }
          return `{name: ${q(String(step.value))}, st: [${stages.map((st) => this.stage(st, cx, L, false)).join(', ')}]}`;
        }
        dynamic = true;
        return this.stepDesc(step, ii, cx, L, false, false);
      });
      if (node.group) dynamic = true;
      let P: string;
      if (dynamic) {
        const fields = [`steps: [${specs.join(', ')}]`];
        if (node.keepSingletonArray) fields.push('ksa: true');
        if (node.group) fields.push(`grp: ${this.groupDesc(node.group, cx, L, false)}`);
        P = `{${fields.join(', ')}}`;
      } else {
        P = this.k(node.keepSingletonArray ? { steps: statics, ksa: true } : { steps: statics });
      }
      if (inlineFirst) {
        return `(${this.depthCheck(cx.L)}, ${this.h('evalPathFrom')}(${this.compile(first, { ...cx, L })}, ${P}, C))`;
      }
      return `(${this.depthCheck(cx.L)}, ${this.h('evalPath')}(${cx.I}, ${P}, C))`;
    }
    let tupleMode = false;
    const descs: string[] = [];
    steps.forEach((step, ii) => {
      const wasTuple = tupleMode;
      if (step.tuple) tupleMode = true;
      descs.push(this.stepDesc(step, ii, cx, L, tupleMode, wasTuple));
    });
    const pathFields = [`steps: [${descs.join(', ')}]`];
    if (node.keepSingletonArray) pathFields.push('ksa: true');
    if (node.tuple) pathFields.push('tuple: true');
    if (node.group) pathFields.push(`grp: ${this.groupDesc(node.group, cx, L, tupleMode)}`);
    return `(${this.depthCheck(cx.L)}, ${this.h('evalPath')}(${cx.I}, {${pathFields.join(', ')}}, C))`;
  }

  /** Runtime descriptor of one path step; closures get a tuple frame from the first tuple step on. */
  private stepDesc(step: Node, ii: number, cx: Cx, L: number, tupleMode: boolean, wasTuple: boolean): string {
    const fields: string[] = [];
    if (ii === 0 && step.consarray) {
      fields.push('cons: true');
      fields.push(`f: ${this.closure(cx, false, L, (c) => this.compile(step, c), false, [step])}`);
    } else if (step.type === 'sort') {
      // a sort over tuple bindings evaluates its terms in tuple frames
      const tupleSort = tupleMode && wasTuple;
      const terms = (step.terms as Node[]).map(
        (t) => `{f: ${this.closure(cx, tupleSort, L, (c) => this.compile(t.expression, c), false, [t.expression])}, desc: ${t.descending === true}}`,
      );
      fields.push(`sort: [${terms.join(', ')}]`, `sortPos: ${step.position}`);
    } else {
      // the step's own node without its stages (those run on the step's result, in frames of their own)
      fields.push(`f: ${this.closure(cx, tupleMode, L, (c) => this.compile(step, c), false, [{ ...step, stages: undefined } as Node])}`);
    }
    if (Array.isArray(step.stages) && step.stages.length > 0) {
      fields.push(`st: [${step.stages.map((s: Node) => this.stage(s, cx, L, tupleMode)).join(', ')}]`);
    }
    if (step.focus !== undefined) fields.push(`focus: ${q(step.focus)}`);
    if (step.index !== undefined) fields.push(`index: ${q(step.index)}`);
    if (step.ancestor) fields.push(`anc: ${q(step.ancestor.label)}`);
    if (step.tuple) fields.push('tuple: true');
    if (ii === 0 && step.type === 'variable') fields.push('variable: true');
    return `{${fields.join(', ')}}`;
  }

  // -- functions --------------------------------------------------------------------------------------------

  private procName(node: Node): string | undefined {
    const p: Node = node.procedure;
    const name = p.type === 'path' ? p.steps[0].value : p.value;
    return typeof name === 'string' ? name : undefined;
  }

  private call(node: Node, cx: Cx, applyto: string | undefined): string {
    const sub: Cx = { ...cx, L: cx.L + 1 };
    const procedure: Node = node.procedure;
    const name = this.procName(node);
    const pos = node.position;
    const args = (node.arguments as Node[]).map((a) => this.compile(a, sub));
    if (applyto !== undefined) args.unshift(applyto);
    const depth = `B + ${cx.L}`;
    if (procedure.type === 'variable' && procedure.value === 'eval' && this.resolvesToGlobal('eval', cx.scope)) {
      const proc = this.compile(procedure, sub);
      const lk = this.lookupFunction(cx.scope);
      const p = this.temp(cx);
      return `((${p} = ${proc}) === BI.eval ? ${this.h('call')}(C, ${this.h('evalProc')}(${lk}), [${args.join(', ')}], ${cx.I}, ${pos}, ${q(name)}, ${depth}) : ${this.h('call')}(C, ${p}, [${args.join(', ')}], ${cx.I}, ${pos}, ${q(name)}, ${depth}))`;
    }
    const proc = this.compile(procedure, sub);
    if (procedure.type === 'path') {
      const p = this.temp(cx);
      const first = String(procedure.steps[0].value);
      return `((${p} = ${proc}) === undefined && ${this.resolve(first, cx.scope)} ? ${this.h('missingDollar')}('T1005', ${pos}, ${q(first)}) : ${this.h('call')}(C, ${p}, [${args.join(', ')}], ${cx.I}, ${pos}, ${q(name)}, ${depth}))`;
    }
    return `${this.h('call')}(C, ${proc}, [${args.join(', ')}], ${cx.I}, ${pos}, ${name === undefined ? 'undefined' : q(name)}, ${depth})`;
  }

  private resolvesToGlobal(name: string, scope: Scope): boolean {
    for (let s: Scope | undefined = scope; s !== undefined; s = s.parent) {
      if (s.kind === 'tuple' ? this.tupleNames.has(name) : s.vars.has(name)) return false;
    }
    return true;
  }

  /** A `(name) => value` view of the environment at this point, for $eval. */
  private lookupFunction(scope: Scope): string {
    const cases = [...this.visibleNames(scope)].map((n) => `case ${q(n)}: return ${this.resolve(n, scope)};`);
    this.helpers.add('globalLookup');
    return `((n) => { switch (n) { ${cases.join(' ')} default: return LK !== undefined ? LK(n) : globalLookup(C, n); } })`;
  }

  private partial(node: Node, cx: Cx): string {
    const sub: Cx = { ...cx, L: cx.L + 1 };
    const procedure: Node = node.procedure;
    const name = this.procName(node);
    const args = (node.arguments as Node[]).map((a) =>
      a.type === 'operator' && a.value === '?' ? 'PH' : this.compile(a, sub),
    );
    const a = this.temp(cx);
    const proc = this.compile(procedure, sub);
    const p = this.temp(cx);
    const pos = node.position;
    const check =
      procedure.type === 'path'
        ? `${p} === undefined && ${this.resolve(String(procedure.steps[0].value), cx.scope)} ? ${this.h('missingDollar')}('T1007', ${pos}, ${q(String(procedure.steps[0].value))}) : `
        : '';
    return `(${a} = [${args.join(', ')}], ${p} = ${proc}, ${check}${this.h('partial')}(C, ${p}, ${a}, ${pos}, ${name === undefined ? 'undefined' : q(name)}))`;
  }

  private apply(node: Node, cx: Cx): string {
    const sub: Cx = { ...cx, L: cx.L + 1 };
    const lhs = this.compile(node.lhs, sub);
    const rhs: Node = node.rhs;
    if (rhs.type === 'function') {
      const t = this.temp(cx);
      return `(${t} = ${lhs}, ${this.call(rhs, cx, t)})`;
    }
    const func = this.compile(rhs, sub);
    return `${this.h('applyTo')}(C, ${lhs}, ${func}, ${node.position}, B + ${cx.L})`;
  }

  private lambda(node: Node, cx: Cx): string {
    const fn: FnScope = { decls: [] };
    const params: Node[] = node.arguments;
    const scope: Scope = { kind: 'lambda', parent: cx.scope, vars: new Map(), params: new Set() };
    const paramDecls: string[] = [];
    params.forEach((p, i) => {
      const name = String(p.value);
      const id = this.id('p');
      scope.vars.set(name, id);
      scope.params!.add(name);
      paramDecls.push(`${id} = A[${i}]`);
    });
    for (const name of collectBinds([node.body])) {
      if (!scope.vars.has(name)) scope.vars.set(name, this.declare(fn, 'v', 'U'));
    }
    const body = this.compile(node.body, { L: 1, I: cx.I, scope, fn });
    const decls = [...paramDecls, ...fn.decls];
    const sig = node.signature === undefined ? 'undefined' : this.k(compileSignature(String(node.signature.definition)));
    this.helpers.add('tick');
    const run = `(A) => { const B = C.d, RM = C.M - B; if (++C.tk > 1023) tick(C); ${decls.length ? `let ${decls.join(', ')}; ` : ''}const r = ${body}; C.d = B; return r; }`;
    return `(${this.depthCheck(cx.L)}, new CL(${run}, ${params.length}, ${sig}))`;
  }

  /** A tail call in a lambda body: procedure and arguments are evaluated now, applied by the caller's trampoline. */
  private thunk(node: Node, cx: Cx): string {
    const callNode: Node = node.body;
    const procedure: Node = callNode.procedure;
    // the trampoline evaluates these one frame below the lambda's base
    const sub: Cx = { ...cx, L: 1 };
    const proc = this.compile(procedure, sub);
    const args = (callNode.arguments as Node[]).map((a) => this.compile(a, sub));
    const name = procedure.type === 'variable' ? q(procedure.value) : 'undefined';
    const pos = procedure.position ?? 'undefined';
    return `(${this.depthCheck(cx.L)}, ${this.h('tailCall')}(() => new TH(${this.h('tailProc')}(${proc}, ${name}, ${pos}), [${args.join(', ')}], ${name}, ${pos})))`;
  }

  private transform(node: Node, cx: Cx): string {
    const desc = this.k({ pos: node.position, updatePos: node.update.position, deletePos: node.delete?.position });
    const clone = `() => ${this.resolve('clone', cx.scope)}`;
    const pattern = this.closure(cx, false, 1, (c) => this.compile(node.pattern, c), true);
    const update = this.closure(cx, false, 1, (c) => this.compile(node.update, c), true);
    const del = node.delete === undefined ? 'undefined' : this.closure(cx, false, 1, (c) => this.compile(node.delete, c), true);
    return `(${this.depthCheck(cx.L)}, ${this.h('transform')}(C, ${desc}, ${clone}, ${pattern}, ${update}, ${del}))`;
  }
}
