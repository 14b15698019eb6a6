/**
 * Seeded generator of random JSONata expressions and documents, for differential testing of the compiled engine
 * against jsonata's interpreter. Expressions mix paths (with predicates, keepArray, wildcards, descendants,
 * focus/index/parent bindings, sorting, grouping), constructors, operators, conditionals, blocks with variables,
 * lambdas and higher-order built-ins.
 */

export class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0 || 1;
  }
  next(): number {
    // xorshift32
    let x = this.state;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.state = x >>> 0;
    return this.state / 0x100000000;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

const KEYS = ['a', 'b', 'c', 'd'] as const;
const STRINGS = ['x', 'y', 'Foo', '', '12'];

export function randomDocument(rng: Rng, depth = 0): unknown {
  const r = rng.next();
  if (depth > 3 || r < 0.25) {
    const leaf = rng.int(6);
    if (leaf === 0) return rng.int(10) - 2;
    if (leaf === 1) return rng.int(100) / 4;
    if (leaf === 2) return rng.pick(STRINGS);
    if (leaf === 3) return rng.chance(0.5);
    if (leaf === 4) return null;
    return rng.int(5);
  }
  if (r < 0.55) {
    const n = rng.int(4);
    return Array.from({ length: n }, () => randomDocument(rng, depth + 1));
  }
  const obj: Record<string, unknown> = {};
  for (const k of KEYS) if (rng.chance(0.6)) obj[k] = randomDocument(rng, depth + 1);
  return obj;
}

export class ExprGen {
  private vars: string[] = [];
  constructor(private readonly rng: Rng) {}

  expr(depth = 0): string {
    const r = this.rng;
    if (depth > 3) return this.leaf();
    switch (r.int(32)) {
      case 0:
      case 1:
      case 2:
      case 3:
        return this.path(depth);
      case 4:
        return `${this.expr(depth + 1)} ${r.pick(['+', '-', '*', '/', '%'])} ${this.expr(depth + 1)}`;
      case 5:
        return `${this.expr(depth + 1)} ${r.pick(['=', '!=', '<', '<=', '>', '>='])} ${this.expr(depth + 1)}`;
      case 6:
        return `${this.expr(depth + 1)} ${r.pick(['and', 'or', 'in', '&'])} ${this.expr(depth + 1)}`;
      case 7:
        return `(${this.expr(depth + 1)} ? ${this.expr(depth + 1)}${r.chance(0.7) ? ` : ${this.expr(depth + 1)}` : ''})`;
      case 8:
        return `[${Array.from({ length: r.int(4) }, () => this.expr(depth + 1)).join(', ')}]`;
      case 9:
        return `{${Array.from({ length: r.int(3) + 1 }, () => `${r.chance(0.7) ? JSON.stringify(r.pick(KEYS)) : this.expr(depth + 1)}: ${this.expr(depth + 1)}`).join(', ')}}`;
      case 10:
        return this.block(depth);
      case 11:
        return `$${r.pick(['count', 'sum', 'string', 'exists', 'boolean', 'keys', 'distinct', 'reverse', 'append', 'max', 'number', 'length', 'uppercase', 'join', 'type', 'not', 'flatten'])}(${this.expr(depth + 1)})`.replace('$flatten', '$append');
      case 12:
        return `$${r.pick(['map', 'filter'])}(${this.expr(depth + 1)}, function($v, $i) { ${this.withVars(['v', 'i'], () => this.expr(depth + 1))} })`;
      case 13:
        return `$reduce(${this.expr(depth + 1)}, function($acc, $v) { ${this.withVars(['acc', 'v'], () => this.expr(depth + 1))} }${r.chance(0.5) ? ', 0' : ''})`;
      case 14:
        return `${this.path(depth)}^(${r.chance(0.5) ? '>' : '<'}${this.expr(depth + 1)})`;
      case 15:
        return `${this.path(depth)}{${this.expr(depth + 1)}: ${this.expr(depth + 1)}}`;
      case 16:
        return `${this.expr(depth + 1)} ~> $${r.pick(['string', 'count', 'exists', 'distinct', 'sum'])}()`;
      case 17:
        return `$sort(${this.expr(depth + 1)}${r.chance(0.5) ? ', function($l, $r) { $l > $r }' : ''})`;
      case 18:
        return `[${r.int(4)}..${r.int(6)}]`;
      case 19:
        return `-${this.leaf()}`;
      case 20:
        return `${this.path(depth)}[]`;
      case 21:
        return `($ ~> |${this.path(depth)}|{${JSON.stringify(r.pick(KEYS))}: ${this.expr(depth + 1)}}${r.chance(0.4) ? `, ${JSON.stringify(r.pick(KEYS))}` : ''}|)`;
      case 22:
        return `($f := $${r.pick(['substring', 'join', 'append', 'pad'])}(${r.chance(0.5) ? '?' : this.expr(depth + 1)}, ${r.chance(0.5) ? '?' : String(r.int(3))}); $f(${this.expr(depth + 1)}))`;
      case 23:
        return `$${r.pick(['match', 'replace', 'split', 'contains'])}(${this.expr(depth + 1)}, /${r.pick(['o', '[a-z]+', 'x|y', '\\d'])}/${r.pick(['', 'i'])}${r.chance(0.5) ? `, ${r.chance(0.5) ? '"-"' : String(r.int(3))}` : ''})`;
      case 24:
        return `(${this.expr(depth + 1)} ~> ($string ~> $${r.pick(['uppercase', 'length', 'trim'])}))`;
      case 25:
        return `${this.path(depth)}.$${r.pick(['uppercase', 'string', 'length', 'number', 'trim', 'keys'])}()`;
      case 26:
        return `$${r.pick(['each', 'sift'])}(${this.expr(depth + 1)}, function($v, $k) { ${this.withVars(['v', 'k'], () => this.expr(depth + 1))} })`;
      case 27:
        return `($mk := function($n) { function($w) { ${this.withVars(['n', 'w'], () => this.expr(depth + 1))} } }; $mk(${this.expr(depth + 1)})(${this.expr(depth + 1)}))`;
      case 28:
        return `${this.path(depth)}^(>${this.expr(depth + 1)}, <${this.expr(depth + 1)})`;
      case 29:
        return `$single(${this.expr(depth + 1)}${r.chance(0.5) ? `, function($v) { ${this.withVars(['v'], () => this.expr(depth + 1))} }` : ''})`;
      case 30:
        return `$${r.pick(['lookup', 'spread', 'merge', 'zip', 'sum', 'average', 'min'])}(${this.expr(depth + 1)}${r.chance(0.4) ? `, ${this.expr(depth + 1)}` : ''})`;
      default:
        return this.leaf();
    }
  }

  private withVars<T>(names: string[], f: () => T): T {
    const saved = this.vars;
    this.vars = [...this.vars, ...names];
    try {
      return f();
    } finally {
      this.vars = saved;
    }
  }

  private block(depth: number): string {
    const name = this.rng.pick(['x', 'y', 'z']);
    const value = this.expr(depth + 1);
    const body = this.withVars([name], () => this.expr(depth + 1));
    return `(${this.rng.chance(0.3) ? `$${name} := ${this.expr(depth + 1)}; ` : ''}$${name} := ${value}; ${body})`;
  }

  private leaf(): string {
    const r = this.rng;
    switch (r.int(9)) {
      case 0:
        return String(r.int(5));
      case 1:
        return JSON.stringify(r.pick(STRINGS));
      case 2:
        return r.pick(['true', 'false', 'null']);
      case 3:
        return this.vars.length > 0 ? `$${r.pick(this.vars)}` : '$';
      case 4:
        return '$';
      case 5:
        return '$$';
      default:
        return r.pick(KEYS);
    }
  }

  private step(depth: number, index: number, tupleOk: boolean): string {
    const r = this.rng;
    let s: string;
    const k = r.int(14);
    if (k < 8) s = r.pick(KEYS);
    else if (k === 8) s = '*';
    else if (k === 9 && index > 0) s = '**';
    else if (k === 10 && index > 0 && tupleOk) s = '%';
    else if (k === 11) s = `(${this.expr(depth + 1)})`;
    else if (k === 12 && index > 0) s = `{${JSON.stringify(r.pick(KEYS))}: ${this.expr(depth + 1)}}`;
    else s = r.pick(KEYS);
    if (s !== '%' && tupleOk && r.chance(0.12)) {
      const v = r.pick(['o', 'p']);
      s += `@$${v}`;
      this.vars = [...this.vars, v];
    }
    if (s !== '%' && tupleOk && r.chance(0.12)) {
      const v = r.pick(['n', 'm']);
      s += `#$${v}`;
      this.vars = [...this.vars, v];
    }
    while (r.chance(0.25)) s += `[${r.chance(0.4) ? String(r.int(4) - 1) : this.expr(depth + 1)}]`;
    return s;
  }

  private path(depth: number): string {
    const r = this.rng;
    const saved = this.vars;
    const n = r.int(3) + 1;
    const tupleOk = r.chance(0.3);
    const first = r.chance(0.2) && this.vars.length > 0 ? `$${r.pick(this.vars)}` : this.step(depth, 0, tupleOk);
    const steps = [first];
    for (let i = 1; i < n; i++) steps.push(this.step(depth, i, tupleOk));
    this.vars = saved;
    return steps.join('.');
  }
}
