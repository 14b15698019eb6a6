import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from '../../core/config/index.ts';
import { copyFixtures, fixture, MAPPING, PLUGIN, SAMPLE_FULL, SAMPLE_MINIMAL, type WorkbenchTree } from './support.ts';

interface Run { code: number | null; stdout: string; stderr: string }

/** `npx cdr ...` as a user runs it (bin/cdr.js), on the fixture copy. */
function cdr(tree: WorkbenchTree, args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(REPO_ROOT, 'bin/cdr.js'), ...args], {
      cwd: tree.root,
      env: { ...process.env, CDR_PLUGINS_DIR: tree.pluginsDir, CDR_MAPPINGS_DIR: tree.mappingsDir, CDR_LOG_LEVEL: 'silent' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('cdr map: exit 0 valid, 1 invalid, 2 error', () => {
  let tree: WorkbenchTree;
  beforeAll(() => {
    tree = copyFixtures();
  });
  afterAll(() => rmSync(tree.root, { recursive: true, force: true }));
  const input = () => path.join(tree.root, SAMPLE_FULL);

  test('valid: the Bundle on stdout, the summary on stderr, exit 0', async () => {
    const run = await cdr(tree, ['map', '--plugin', PLUGIN, '--input', input()]);
    expect(run.code).toBe(0);
    const bundle = JSON.parse(run.stdout) as { entry: Array<{ resource: { id: string; gender: string } }> };
    expect(bundle.entry.map((e) => [e.resource.id, e.resource.gender])).toEqual([['wb-PZ0001', 'male']]);
    expect(run.stderr).toContain('0 error(s)');
  }, 60_000);

  test('invalid output: issues on stderr, exit 1', async () => {
    writeFileSync(path.join(tree.root, MAPPING), fixture(MAPPING).replace("? 'male'", "? 'maschio'"));
    try {
      const run = await cdr(tree, ['map', '--plugin', PLUGIN, '--input', input(), '--engine', 'interpreter']);
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/error\s+Patient\/wb-PZ0001 Patient\.gender: .*maschio/);
      expect(run.stderr).toContain('(interpreter)');
      expect(JSON.parse(run.stdout)).toHaveProperty('entry');
    } finally {
      writeFileSync(path.join(tree.root, MAPPING), fixture(MAPPING));
    }
  }, 60_000);

  test('errors: missing input, unknown plugin, a failing mapping, a bad --engine: exit 2', async () => {
    expect((await cdr(tree, ['map', '--plugin', PLUGIN, '--input', path.join(tree.root, 'missing.hl7')])).code).toBe(2);
    expect((await cdr(tree, ['map', '--plugin', 'no-such-plugin', '--input', input()])).code).toBe(2);
    expect((await cdr(tree, ['map', '--plugin', PLUGIN, '--input', input(), '--engine', 'turbo'])).code).toBe(2);
    writeFileSync(path.join(tree.root, MAPPING), fixture(MAPPING).replace("'birthDate':", "'birthDate': $error('unfinished') &"));
    try {
      const run = await cdr(tree, ['map', '--plugin', PLUGIN, '--input', input()]);
      expect(run.code).toBe(2);
      expect(run.stderr).toContain('unfinished');
      expect(run.stdout).toBe('');
    } finally {
      writeFileSync(path.join(tree.root, MAPPING), fixture(MAPPING));
    }
  }, 60_000);
});

describe('cdr test-mappings: --update writes only when asked, failures show a diff', () => {
  let tree: WorkbenchTree;
  const expectedFile = 'mappings/hl7v2/wb/tests/a01-mario.expected.json';
  beforeAll(() => {
    tree = copyFixtures();
    const tests = path.join(tree.root, 'mappings/hl7v2/wb/tests');
    mkdirSync(tests, { recursive: true });
    writeFileSync(path.join(tests, 'golden.json'), JSON.stringify({ plugin: PLUGIN }));
    writeFileSync(path.join(tests, 'a01-mario.hl7'), fixture(SAMPLE_FULL));
  });
  afterAll(() => rmSync(tree.root, { recursive: true, force: true }));

  test('a case without an expected file fails and nothing is written without --update', async () => {
    const run = await cdr(tree, ['test-mappings', '--plugin', PLUGIN]);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('FAIL  a01-mario');
    expect(run.stdout).toContain('no a01-mario.expected.json');
    expect(existsSync(path.join(tree.root, expectedFile))).toBe(false);
  }, 60_000);

  test('--update writes the expected file, then the case passes', async () => {
    const run = await cdr(tree, ['test-mappings', '--plugin', PLUGIN, '--update']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('WROTE a01-mario.expected.json');
    const written = JSON.parse(readFileSync(path.join(tree.root, expectedFile), 'utf8')) as { entry: Array<{ resource: Record<string, unknown> }> };
    // Checked against the message (ROSSI^MARIO, 19800101, M), not copied from a run.
    expect(written.entry[0]!.resource).toMatchObject({ id: 'wb-PZ0001', name: [{ family: 'ROSSI', given: ['MARIO'] }], gender: 'male', birthDate: '1980-01-01' });
    const again = await cdr(tree, ['test-mappings', '--plugin', PLUGIN]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('PASS  a01-mario');
  }, 60_000);

  test('a changed mapping fails with a readable diff and leaves the expected file alone', async () => {
    const before = readFileSync(path.join(tree.root, expectedFile), 'utf8');
    writeFileSync(path.join(tree.root, MAPPING), fixture(MAPPING).replace("'given': [$pid.F5[0].C2]", "'given': [$pid.F5[0].C2, 'SECONDO']"));
    const run = await cdr(tree, ['test-mappings', '--plugin', PLUGIN]);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('FAIL  a01-mario');
    expect(run.stdout).toContain('the output differs from the expected file');
    expect(run.stdout).toMatch(/^\s+\+\s+"SECONDO"/m);
    expect(run.stdout).toMatch(/^\s+-\s+"MARIO"\s*$/m);
    expect(readFileSync(path.join(tree.root, expectedFile), 'utf8')).toBe(before);
  }, 60_000);
});

describe('cdr test-mappings --watch', () => {
  test('re-runs when a mapping changes', async () => {
    const tree = copyFixtures();
    const tests = path.join(tree.root, 'mappings/hl7v2/wb/tests');
    mkdirSync(tests, { recursive: true });
    writeFileSync(path.join(tests, 'golden.json'), JSON.stringify({ plugin: PLUGIN }));
    writeFileSync(path.join(tests, 'a01-mario.hl7'), fixture(SAMPLE_FULL));
    const child = spawn(process.execPath, [path.join(REPO_ROOT, 'bin/cdr.js'), 'test-mappings', '--plugin', PLUGIN, '--watch'], {
      cwd: tree.root, env: { ...process.env, CDR_PLUGINS_DIR: tree.pluginsDir, CDR_MAPPINGS_DIR: tree.mappingsDir, CDR_LOG_LEVEL: 'silent' },
    });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    const until = async (text: string) => {
      const deadline = Date.now() + 30_000;
      while (!stdout.includes(text)) {
        if (Date.now() > deadline) throw new Error(`no "${text}" in:\n${stdout}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    try {
      await until('watching mappings/ and plugins/');
      expect(stdout.match(/FAIL {2}a01-mario/g)).toHaveLength(1);
      writeFileSync(path.join(tree.root, MAPPING), `${fixture(MAPPING)}\n/* edited */\n`);
      await until('change detected, re-running');
      const deadline = Date.now() + 30_000;
      while ((stdout.match(/FAIL {2}a01-mario/g) ?? []).length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect((stdout.match(/FAIL {2}a01-mario/g) ?? []).length).toBeGreaterThanOrEqual(2);
      // --watch never writes expected files, even when they are missing.
      expect(existsSync(path.join(tests, 'a01-mario.expected.json'))).toBe(false);
    } finally {
      child.kill('SIGTERM');
      rmSync(tree.root, { recursive: true, force: true });
    }
  }, 90_000);
});

describe('cdr coverage --plugin ID DIR', () => {
  test('the per-field table over a folder of samples', async () => {
    const tree = copyFixtures();
    try {
      const run = await cdr(tree, ['coverage', '--plugin', PLUGIN, path.join(tree.pluginsDir, PLUGIN, 'samples')]);
      expect(run.code).toBe(0);
      expect(run.stdout).toContain('2 messages');
      expect(run.stdout).toMatch(/^\s+50 %\s+\(1\)\s+0 %\s+\(0\)\s+PID-13\s+<- never mapped$/m);
      expect(run.stdout).toMatch(/^\s+100 %\s+\(2\)\s+100 %\s+\(2\)\s+PID-5$/m);
      const json = await cdr(tree, ['coverage', '--plugin', PLUGIN, '--json', path.join(tree.pluginsDir, PLUGIN, 'samples')]);
      const table = JSON.parse(json.stdout) as { messages: number; rows: Array<{ name: string; level: string; mappedIn: number }> };
      expect(table.rows.find((r) => r.name === 'PID-3.4' && r.level === 'leaf')).toMatchObject({ mappedIn: 0 });
      const empty = mkdtempSync(path.join(os.tmpdir(), 'cdr-wb-empty-'));
      expect((await cdr(tree, ['coverage', '--plugin', PLUGIN, empty])).code).toBe(2);
      rmSync(empty, { recursive: true });
      expect((await cdr(tree, ['coverage', '--plugin', PLUGIN, path.join(tree.root, 'nope')])).code).toBe(2);
    } finally {
      rmSync(tree.root, { recursive: true, force: true });
    }
  }, 90_000);

  test('SAMPLE_MINIMAL has no PID-13 (the fixture the 50 % relies on)', () => {
    expect(fixture(SAMPLE_MINIMAL)).not.toMatch(/^PID(\|[^|\r]*){12}\|[^|\r]+/m);
    expect(fixture(SAMPLE_FULL)).toContain('0212345678');
  });
});
