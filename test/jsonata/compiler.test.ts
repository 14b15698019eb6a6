/**
 * The compiler's own API: engines, fallback reporting, limits, bindings, error objects. Expected values that
 * describe jsonata's behaviour are taken from jsonata itself at test time, not written down here.
 */
import jsonata from 'jsonata';
import type { FallbackReport } from '../../core/mapping/compiler/index.ts';
import {
  compileJsonata,
  emitFallbackWarning,
  JsonataEvaluationError,
  JsonataLimitError,
  JsonataSyntaxError,
  setJsonataFallbackListener,
} from '../../core/mapping/compiler/index.ts';

const adt = {
  MSH: [{ F9: [{ C1: 'ADT', C2: 'A01' }], F10: [{ C1: '123' }] }],
  PID: [
    {
      F3: [
        { C1: 'RSSMRA80A01H501U', C4: 'MEF', C5: 'NNITA' },
        { C1: '0012345678', C4: 'OSP', C5: 'PI' },
      ],
      F5: [{ C1: 'ROSSI', C2: 'MARIO' }],
      F7: [{ C1: '19800101' }],
      F8: [{ C1: 'M' }],
    },
  ],
  OBX: [
    { _i: 7, F2: [{ C1: 'NM' }], F3: [{ C1: '718-7', C2: 'Emoglobina', C3: 'LN' }], F5: [{ C1: '13.5' }], F6: [{ C1: 'g/dL' }] },
    { _i: 8, F2: [{ C1: 'ST' }], F3: [{ C1: '1920-8', C2: 'AST', C3: 'LN' }], F5: [{ C1: 'n.d.' }], F6: [{ C1: '' }] },
  ],
};

/** A binding in a group-by key over a tuple stream (a frame jsonata shares between keys): handed to the interpreter. */
const UNSUPPORTED = 'PID.F3@$id{$k := $id.C5: $id.C1}';

const toJson = (v: unknown): unknown => (v === undefined ? undefined : JSON.parse(JSON.stringify(v)));

async function interpreterOutcome(expression: string, input: unknown, bindings?: Record<string, unknown>) {
  try {
    return { value: toJson(await jsonata(expression).evaluate(input, bindings)) };
  } catch (err) {
    const e = err as { code: string; position?: number; token?: string; message: string };
    return { error: { code: e.code, position: e.position, token: e.token, message: e.message } };
  }
}

async function compiledOutcome(expression: string, input: unknown, bindings?: Record<string, unknown>) {
  try {
    return { value: toJson(await compileJsonata(expression).evaluate(input, bindings)) };
  } catch (err) {
    const e = err as JsonataEvaluationError;
    return { error: { code: e.code, position: e.position, token: e.token, message: e.message } };
  }
}

beforeAll(() => setJsonataFallbackListener(undefined));
afterAll(() => setJsonataFallbackListener(undefined));

describe('compileJsonata', () => {
  test('compiles to a synchronous function by default and exposes the generated source', () => {
    const expr = compileJsonata('PID.F5.{"family": C1, "given": [C2]}');
    expect(expr.engine).toBe('compiled');
    expect(expr.fallback).toBeUndefined();
    expect(typeof expr.source).toBe('string');
    expect(expr.source).toContain('function main');
    expect(expr.evaluateSync?.(adt)).toEqual({ family: 'ROSSI', given: ['MARIO'] });
  });

  test('evaluate() returns a promise for both engines, with the same result', async () => {
    const text = '$count(OBX[F2.C1 = "NM"]) & "/" & $count(OBX)';
    const compiled = compileJsonata(text);
    const interpreted = compileJsonata(text, { engine: 'interpreter' });
    expect(interpreted.engine).toBe('interpreter');
    expect(interpreted.evaluateSync).toBeUndefined();
    expect(interpreted.source).toBeUndefined();
    const p = compiled.evaluate(adt);
    expect(p).toBeInstanceOf(Promise);
    expect(await p).toBe(await interpreted.evaluate(adt));
    expect(await p).toBe(await jsonata(text).evaluate(adt));
  });

  test('invalid syntax throws jsonata\'s syntax error, for either engine', () => {
    for (const text of ['PID.F5.{', '1 +', '$x := ']) {
      let expected: { code?: string; position?: number } = {};
      try {
        jsonata(text);
      } catch (err) {
        expected = err as { code: string; position: number };
      }
      expect(expected.code).toMatch(/^S0/);
      for (const engine of ['compiled', 'interpreter'] as const) {
        let thrown: unknown;
        try {
          compileJsonata(text, { engine });
        } catch (err) {
          thrown = err;
        }
        expect(thrown).toBeInstanceOf(JsonataSyntaxError);
        expect(thrown).toBeInstanceOf(JsonataEvaluationError);
        expect((thrown as JsonataSyntaxError).code).toBe(expected.code);
        expect((thrown as JsonataSyntaxError).position).toBe(expected.position);
      }
    }
  });

  test('compiled sources are cached by expression text', () => {
    const a = compileJsonata('PID.F7.C1 ~> $substring(0, 4)');
    const b = compileJsonata('PID.F7.C1 ~> $substring(0, 4)', { timeoutMs: 50 });
    expect(a.source).toBe(b.source);
    expect(a.evaluateSync?.(adt)).toBe('1980');
  });
});

describe('fallback to the interpreter', () => {
  test('an unsupported construct falls back, reported once with construct and position', async () => {
    const reports: Array<{ report: FallbackReport; expression: string }> = [];
    setJsonataFallbackListener((report, expression) => reports.push({ report, expression }));
    try {
      const first = compileJsonata(UNSUPPORTED);
      const second = compileJsonata(UNSUPPORTED);
      expect(first.engine).toBe('interpreter');
      expect(first.evaluateSync).toBeUndefined();
      expect(first.fallback?.construct).toMatch(/binding.*group-by key over a tuple stream/);
      expect(first.fallback?.position).toBe(UNSUPPORTED.indexOf(':=') + 2);
      expect(first.fallback?.message).toContain("AST node type 'bind'");
      expect(second.fallback).toEqual(first.fallback);
      expect(reports).toHaveLength(1);
      expect(reports[0]!.expression).toBe(UNSUPPORTED);
      // and it still evaluates, with the interpreter's result
      expect(toJson(await first.evaluate(adt))).toEqual(toJson(await jsonata(UNSUPPORTED).evaluate(adt)));
    } finally {
      setJsonataFallbackListener(undefined);
    }
  });

  test('the default listener emits one process warning per new expression', () => {
    const emitted: Array<{ message: string; code: unknown }> = [];
    const original = process.emitWarning;
    process.emitWarning = ((message: string, options?: { code?: string }) => {
      emitted.push({ message, code: options?.code });
    }) as typeof process.emitWarning;
    setJsonataFallbackListener(emitFallbackWarning);
    try {
      const text = `${UNSUPPORTED} & ""`;
      compileJsonata(text);
      compileJsonata(text);
      expect(emitted).toHaveLength(1);
      expect(emitted[0]!.code).toBe('CDR_JSONATA_FALLBACK');
      expect(emitted[0]!.message).toContain('evaluating with the interpreter');
    } finally {
      process.emitWarning = original;
      setJsonataFallbackListener(undefined);
    }
  });
});

describe('limits', () => {
  test.each(['compiled', 'interpreter'] as const)('%s: an infinite tail-recursive loop hits the time limit (U1001)', async (engine) => {
    const expr = compileJsonata('($loop := function($n) { $loop($n + 1) }; $loop(0))', { engine, timeoutMs: 150 });
    const started = Date.now();
    const err = await expr.evaluate(undefined).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JsonataLimitError);
    expect((err as JsonataLimitError).code).toBe('U1001');
    expect((err as JsonataLimitError).limit).toBe('time');
    expect(Date.now() - started).toBeLessThan(5000);
  });

  test.each(['compiled', 'interpreter'] as const)('%s: unbounded recursion hits the depth limit (U1001)', async (engine) => {
    const expr = compileJsonata('($f := function($n) { $n + $f($n + 1) }; $f(0))', { engine, maxDepth: 60, timeoutMs: 5000 });
    const err = await expr.evaluate(undefined).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JsonataLimitError);
    expect((err as JsonataLimitError).code).toBe('U1001');
    expect((err as JsonataLimitError).limit).toBe('depth');
    expect((err as JsonataLimitError).message).toMatch(/Stack overflow/);
  });

  test('the compiled depth limit counts evaluation frames exactly as the interpreter does', async () => {
    // find, with the interpreter, the smallest depth at which $fact(12) succeeds; the compiled engine must agree
    const text = '($fact := function($n) { $n <= 1 ? 1 : $n * $fact($n - 1) }; $fact(12))';
    let boundary = 0;
    for (let depth = 10; depth < 200; depth++) {
      const ok = await compileJsonata(text, { engine: 'interpreter', maxDepth: depth })
        .evaluate(undefined)
        .then(() => true, () => false);
      if (ok) {
        boundary = depth;
        break;
      }
    }
    expect(boundary).toBeGreaterThan(30);
    const compiled = (depth: number) => compileJsonata(text, { maxDepth: depth });
    expect(compiled(boundary).evaluateSync?.(undefined)).toBe(479001600);
    expect(() => compiled(boundary - 1).evaluateSync?.(undefined)).toThrow(JsonataLimitError);
  });

  test('tail calls run in constant depth (trampoline)', () => {
    const text = '($even := function($n) { $n = 0 ? true : $odd($n - 1) }; $odd := function($n) { $n = 0 ? false : $even($n - 1) }; $even(20000))';
    expect(compileJsonata(text, { maxDepth: 50, timeoutMs: 5000 }).evaluateSync?.(undefined)).toBe(true);
  });

  test('recursion deeper than the JS stack is reported as a depth-limit error, not a RangeError', () => {
    const expr = compileJsonata('($f := function($n) { $n = 0 ? 0 : 1 + $f($n - 1) }; $f(200000))', { maxDepth: 0, timeoutMs: 0 });
    expect(() => expr.evaluateSync?.(undefined)).toThrow(JsonataLimitError);
  });

  test('limits can be disabled', () => {
    const expr = compileJsonata('($f := function($n) { $n = 0 ? 0 : 1 + $f($n - 1) }; $f(300))', { maxDepth: 0, timeoutMs: 0 });
    expect(expr.evaluateSync?.(undefined)).toBe(300);
  });
});

describe('bindings', () => {
  const hl7Date = (v: string) => `${v.slice(0, 4)}-${v.slice(4, 6)}-${v.slice(6, 8)}`;

  test('a bound JS function is called with the evaluated arguments; `this` is the context', () => {
    const calls: unknown[][] = [];
    const contexts: unknown[] = [];
    const fn = function (this: unknown, ...args: unknown[]) {
      calls.push(args);
      contexts.push(this);
      return args.join('|');
    };
    const expr = compileJsonata('PID.F3.$tag(C1, C5, 1 + 1)');
    expect(toJson(expr.evaluateSync?.(adt, { tag: fn }))).toEqual(['RSSMRA80A01H501U|NNITA|2', '0012345678|PI|2']);
    expect(calls).toEqual([
      ['RSSMRA80A01H501U', 'NNITA', 2],
      ['0012345678', 'PI', 2],
    ]);
    expect(contexts).toEqual(adt.PID[0]!.F3);
  });

  test('mapping functions and values give the interpreter\'s result', async () => {
    const bindings = { hl7Date, system: 'urn:oid:2.16.840.1.113883.2.9.4.3.2' };
    const text = '{ "birthDate": $hl7Date(PID.F7.C1), "identifier": PID.F3[C5 = "NNITA"].{ "system": $system, "value": C1 } }';
    expect(await compiledOutcome(text, adt, bindings)).toEqual(await interpreterOutcome(text, adt, bindings));
    expect(compileJsonata(text).evaluateSync?.(adt, bindings)).toEqual({
      birthDate: '1980-01-01',
      identifier: { system: bindings.system, value: 'RSSMRA80A01H501U' },
    });
  });

  test('lambdas handed to a bound function can be called as plain JS functions', () => {
    const twice = (f: (x: unknown) => unknown, x: unknown) => f(f(x));
    const expr = compileJsonata('$twice(function($s) { $s & "!" }, PID.F8.C1)');
    expect(expr.evaluateSync?.(adt, { twice })).toBe('M!!');
  });

  test('bindings shadow built-ins, as in jsonata', async () => {
    const bindings = { uppercase: (s: string) => `<${s}>` };
    const text = '$uppercase(PID.F5.C1)';
    expect(compileJsonata(text).evaluateSync?.(adt, bindings)).toBe('<ROSSI>');
    expect(await jsonata(text).evaluate(adt, bindings)).toBe('<ROSSI>');
  });

  test('an async bound function is rejected by the compiled engine and awaited by the interpreter', async () => {
    const bindings = { lookupCode: async (code: string) => `code:${code}` };
    const text = '$lookupCode(PID.F8.C1)';
    let thrown: unknown;
    try {
      compileJsonata(text).evaluateSync?.(adt, bindings);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(JsonataEvaluationError);
    expect((thrown as JsonataEvaluationError).code).toBe('U2001');
    expect((thrown as JsonataEvaluationError).token).toBe('lookupCode');
    expect(await compileJsonata(text, { engine: 'interpreter' }).evaluate(adt, bindings)).toBe('code:M');
  });
});

describe('errors', () => {
  test.each([
    '1 + "a"',
    'PID.F5.C1 < 5',
    '$substring(123)',
    '$error("boom")',
    '$assert(false, "nope")',
    '-PID.F5.C1',
    '$nope(1)',
    'substring("a", 1)',
    '{ "a": 1, "a": 2 }',
    '$single(OBX)',
    '$encodeUrl("\\ud800")',
    '($f := function($x) { $string("a" / $x) }; $f(1))',
    '$map(OBX, function($o) { $o.F5.C1 + 1 })',
    'OBX^($number(F5.C1))',
    '$eval("1 +")',
    'function($x)<n:n>{$x}("a")',
  ])('%s: same code, position, token and message as jsonata', async (text) => {
    const expected = await interpreterOutcome(text, adt);
    expect(expected.error).toBeDefined();
    expect(await compiledOutcome(text, adt)).toEqual(expected);
  });

  test('errors are JsonataEvaluationError instances carrying jsonata\'s extra fields', () => {
    let thrown: unknown;
    try {
      compileJsonata('$decodeUrl("%E0%A4%A")').evaluateSync?.(undefined);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(JsonataEvaluationError);
    const e = thrown as JsonataEvaluationError & { functionName?: string };
    expect(e.code).toBe('D3140');
    expect(e.functionName).toBe('decodeUrl');
    expect(e.details.functionName).toBe('decodeUrl');
    expect(e.value).toBe('%E0%A4%A');
  });
});

describe('semantics on mapping-style expressions (compared with jsonata)', () => {
  test.each([
    'PID.F3.C1',
    'PID.F3[C5 = "NNITA"].C1',
    'PID.F3[0].C1',
    'PID.F3[-1]',
    'PID.F3[]',
    'PID.F3.C1[]',
    'OBX.F3[C3 = "LN"].{ "code": C1, "display": C2 }',
    'OBX.{ "pos": _i, "value": F2.C1 = "NM" ? $number(F5.C1) : F5.C1 }',
    '$map(OBX, function($o, $i) { $o.F3.C1 & "#" & $i })',
    '$filter(OBX, function($o) { $o.F2.C1 = "NM" }).F3.C2',
    '$reduce(OBX._i, function($a, $b) { $a + $b })',
    'OBX^(>_i).F3.C1',
    'OBX{ F2.C1: F3.C1 }',
    'OBX#$i.{ "i": $i, "code": F3.C1 }',
    'OBX@$o.F3.{ "obx": $o._i, "code": C1 }',
    'PID.F3.C1.%.C5',
    'OBX@$o[($x := $o._i) > 7].{ "i": $o._i, "x": $x }',
    'OBX#$i[$j := $i * 10].($j)',
    'OBX#$i[$exists($i := 5) and $i = 5]._i',
    'OBX@$o[$exists($o := 5) and $o = 5].($o._i)',
    '($x := 7; OBX@$o[$x := 1].($x))',
    'OBX#$i.($i := $i * 10; $i)',
    'OBX@$o{ $o.F2.C1: ($n := $count($o); $n) }',
    '**.C1[$contains($, "RSS")]',
    '*.F9.C2',
    '[PID.F5.C1, PID.F5.C2, PID.F8.C1] ~> $join("-")',
    '$sort(OBX.F3.C2)',
    '$distinct(OBX.F2.C1)',
    '$keys(PID)',
    '$spread(PID.F5)',
    '$merge([PID.F5, { "x": 1 }])',
    '$string(PID.F5)',
    '$lookup(PID.F5, "C2")',
    '$replace(PID.F3[0].C1, /[0-9]+/, "#")',
    '$match(PID.F3[0].C1, /[A-Z]{3}/).match',
    '$split(PID.F3[0].C1, /[0-9]/, 3)',
    '($f := $substring(?, 0, 3); PID.F5.C1 ~> $f())',
    '(PID.F5.C1 ~> $lowercase ~> $uppercase)',
    '$ ~> | PID.F5 | { "C1": "VERDI" }, ["C2"] |',
    '$each(PID.F5, function($v, $k) { $k & "=" & $v })',
    '$sift(PID.F5, function($v) { $v = "ROSSI" })',
    '[1..5][$ % 2 = 0]',
    '$sum([1..10].($ * $))',
    '(PID.F8.C1 in ["M", "F"]) and $exists(PID.F7)',
    '$formatNumber(1234.5, "#,##0.00")',
    '$fromMillis($toMillis("2024-03-15T10:30:00Z"), "[D01]/[M01]/[Y0001] [H01]:[m01]")',
    '$eval("PID.F5.C1 & $suffix", $) ',
    '($suffix := "!"; $eval("PID.F5.C1 & $suffix"))',
    '$type(function() { 1 })',
    '$string({ "f": function() { 1 } })',
    '$boolean([0, ""])',
    '$number("0x1F")',
    '$round(2.5) & "," & $round(3.5) & "," & $round(1.005, 2)',
    '"n=" & 0.1 + 0.2',
    '$zip([1, 2], ["a", "b"])',
    '$shuffle([1]) ',
    '{ "a": [], "b": [[]], "c": [PID.F99] }',
  ])('%s', async (text) => {
    expect(await compiledOutcome(text, adt)).toEqual(await interpreterOutcome(text, adt));
  });

  test.each([
    '$map(-2, function($v) { $map(a, function($w) { [] }) }) ~> ($string ~> $trim)',
    '$reduce($, function($acc, $v) { $length($reduce(($ ~> ($string ~> $length)), function($acc, $v) { -$v })) }, 0)',
    '"abc" ~> ($uppercase ~> $substring(?, 1))',
  ])('function composition behaves like jsonata\'s composed lambda: %s', async (text) => {
    // found by the differential campaign: jsonata composes via `function($x){ $g($f($x)) }`
    const input = [{ a: { b: [0, 3], c: [''] }, b: { a: 21.25 } }, 'x', []];
    expect(await compiledOutcome(text, input)).toEqual(await interpreterOutcome(text, input));
  });

  test('$now() and $millis() are fixed for one evaluation', () => {
    const expr = compileJsonata('[$millis(), $millis(), $now()]');
    const [a, b, iso] = expr.evaluateSync?.(undefined) as [number, number, string];
    expect(a).toBe(b);
    expect(new Date(iso).getTime()).toBe(a);
  });
});
