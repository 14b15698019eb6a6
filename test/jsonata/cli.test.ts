/** `cdr jsonata`, run as a user would: `node bin/cdr.js jsonata --expr FILE --input FILE ...`. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import jsonata from 'jsonata';
import { repoRoot } from './suite-runner.ts';

let dir: string;
const input = {
  PID: [{ F3: [{ C1: 'RSSMRA80A01H501U', C5: 'NNITA' }], F5: [{ C1: 'ROSSI', C2: 'MARIO' }], F7: [{ C1: '19800101' }] }],
};

function file(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

function cdr(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['bin/cdr.js', 'jsonata', ...args], { cwd: repoRoot, encoding: 'utf8', timeout: 30_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'cdr-jsonata-cli-'));
  file('input.json', JSON.stringify(input));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('cdr jsonata', () => {
  test('prints the result as JSON and exits 0 (compiled engine by default)', async () => {
    const text = 'PID.{ "id": F3[C5 = "NNITA"].C1, "name": F5.(C2 & " " & C1) }';
    const r = cdr('--expr', file('ok.jsonata', text), '--input', join(dir, 'input.json'));
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual(JSON.parse(JSON.stringify(await jsonata(text).evaluate(input))));
    expect(r.stderr).toBe('');
  });

  test('the interpreter engine gives the same output', () => {
    const expr = file('same.jsonata', '$sort(PID.**.C1)');
    const compiled = cdr('--expr', expr, '--input', join(dir, 'input.json'));
    const interpreted = cdr('--expr', expr, '--input', join(dir, 'input.json'), '--engine', 'interpreter');
    expect(compiled.status).toBe(0);
    expect(interpreted.status).toBe(0);
    expect(interpreted.stdout).toBe(compiled.stdout);
  });

  test('an evaluation error prints code and message on stderr and exits 1', () => {
    const r = cdr('--expr', file('bad.jsonata', 'PID.F5.C1 + 1'), '--input', join(dir, 'input.json'));
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^T2001: The left side of the "\+" operator must evaluate to a number/);
  });

  test('a syntax error is reported the same way', () => {
    const r = cdr('--expr', file('syntax.jsonata', 'PID.{'), '--input', join(dir, 'input.json'));
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^S02\d\d: /);
  });

  test('bindings from a JSON file and from a module exporting functions', () => {
    const json = file('bindings.json', JSON.stringify({ prefix: 'Patient/' }));
    const r1 = cdr('--expr', file('b1.jsonata', '$prefix & PID.F3.C1'), '--input', join(dir, 'input.json'), '--bindings', json);
    expect(r1.status).toBe(0);
    expect(JSON.parse(r1.stdout)).toBe('Patient/RSSMRA80A01H501U');

    const mod = file('bindings.mjs', 'export default { hl7Date: (v) => v.slice(0, 4) + "-" + v.slice(4, 6) + "-" + v.slice(6, 8) };\n');
    const r2 = cdr('--expr', file('b2.jsonata', '$hl7Date(PID.F7.C1)'), '--input', join(dir, 'input.json'), '--bindings', mod);
    expect(r2.status).toBe(0);
    expect(JSON.parse(r2.stdout)).toBe('1980-01-01');
  });

  test('a fallback to the interpreter is reported on stderr, and the result still printed', () => {
    const r = cdr('--expr', file('fallback.jsonata', 'PID.F3@$id{$k := $id.C5: $id.C1}'), '--input', join(dir, 'input.json'));
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/^fallback: Not supported by the compiled JSONata engine: variable binding .* group-by key/);
    expect(JSON.parse(r.stdout)).toEqual({ NNITA: 'RSSMRA80A01H501U' });
  });

  test('the time limit applies (U1001)', () => {
    const r = cdr('--expr', file('loop.jsonata', '($f := function() { $f() }; $f())'), '--input', join(dir, 'input.json'), '--timeout', '100');
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^U1001: Expression evaluation timeout/);
  });
});
