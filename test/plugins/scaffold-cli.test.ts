import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runPluginCheck, runPluginNew, type PluginCommandIo } from '../../core/cli/commands/plugin.ts';
import { loadSettings, REPO_ROOT } from '../../core/config/index.ts';

/**
 * docs/plugins.md tried as a new user would: the quick-start commands are read from the guide itself
 * and run through the real CLI (node bin/cdr.js = npx cdr) against a temporary plugins folder
 * (CDR_PLUGINS_DIR), so nothing is written into the repository.
 */
const GUIDE = readFileSync(path.join(REPO_ROOT, 'docs', 'plugins.md'), 'utf8');

function quickStartCommands(): string[] {
  const block = /<!-- quick-start -->\s*```bash\n([\s\S]*?)```/.exec(GUIDE);
  if (!block) throw new Error('docs/plugins.md has no quick-start block (<!-- quick-start --> before a ```bash block)');
  return block[1]!.split('\n').map((l) => l.replace(/\s+#.*$/, '').trim()).filter((l) => l.startsWith('npx cdr '));
}

interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

function cdr(args: string[], pluginsDir: string): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath, [path.join(REPO_ROOT, 'bin', 'cdr.js'), ...args],
      { cwd: REPO_ROOT, env: { ...process.env, CDR_PLUGINS_DIR: pluginsDir, CDR_LOG_LEVEL: 'silent' }, timeout: 120_000 },
      (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }),
    );
  });
}

function captured(): { io: PluginCommandIo; out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return { io: { out: (t) => (out += t), err: (t) => (err += t) }, out: () => out, err: () => err };
}

/** "npx cdr plugin new x --format f" → ["plugin", "new", "x", "--format", "f"] */
const argv = (command: string) => command.replace(/^npx cdr /, '').split(/\s+/);

describe('the guide\'s quick start, run as written', () => {
  let pluginsDir: string;
  let commands: string[];
  beforeAll(() => {
    pluginsDir = mkdtempSync(path.join(os.tmpdir(), 'cdr-guide-'));
    commands = quickStartCommands();
  });
  afterAll(() => rmSync(pluginsDir, { recursive: true, force: true }));

  test('scaffolds a plugin that passes its own check as generated', async () => {
    expect(commands.map((c) => argv(c).slice(0, 2).join(' '))).toEqual(['plugin new', 'plugin check']);
    const created = await cdr(argv(commands[0]!), pluginsDir);
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    const id = argv(commands[0]!)[2]!;
    expect(created.stdout).toContain(path.join(pluginsDir, id, 'plugin.json'));

    const checked = await cdr(argv(commands[1]!), pluginsDir);
    expect(checked.stdout).toMatch(/ok {3}manifest .*plugin\.json: hl7v2, Ente 030902/);
    expect(checked.stdout).toMatch(/ok {3}.*samples\/adt-a04\.hl7: ADT\^A04 → 1 resource \(Patient\) via .*patient\.jsonata, valid/);
    expect(checked.stdout).toMatch(/ok {3}golden .*adt-a04\.hl7: pass/);
    expect(checked.stdout).toMatch(new RegExp(`plugin ${id}: OK\\n$`));
    expect(checked.code).toBe(0);
  });

  test('then a mistake in the mapping fails the check with file, line and column; a wrong output fails its golden test', async () => {
    const id = argv(commands[0]!)[2]!;
    const settings = loadSettings({ ...process.env, CDR_PLUGINS_DIR: pluginsDir });
    const mapping = path.join(pluginsDir, id, 'mappings', 'patient.jsonata');
    const original = readFileSync(mapping, 'utf8');
    writeFileSync(mapping, original.replace("'birthDate': $date($pid.F7[0].C1)", "'birthDate': $date($pid.F7[0].C1"));
    const broken = captured();
    expect(await runPluginCheck(id, settings, broken.io)).toBe(1);
    expect(broken.out()).toMatch(/FAIL .*mappings\/patient\.jsonata:\d+:\d+: JSONata S\d{4}: .*\[routes\[0\]\.mapping\]/);

    writeFileSync(mapping, original.replace("'gender': $lookup(", "'gender': 'unknown' ? 'unknown' : $lookup("));
    const wrong = captured();
    expect(await runPluginCheck(id, settings, wrong.io)).toBe(1);
    expect(wrong.out()).toMatch(/FAIL golden .*adt-a04\.hl7: fail/);
    expect(wrong.out()).toContain('-        "gender": "male",');
    expect(wrong.out()).toContain('+        "gender": "unknown",');
    writeFileSync(mapping, original);
  });

  test('plugin new refuses an unknown Ente, a bad id, an unknown format and an existing folder, writing nothing', async () => {
    const settings = loadSettings({ ...process.env, CDR_PLUGINS_DIR: pluginsDir });
    const before = readdirSync(pluginsDir);
    const unknownEnte = captured();
    expect(await runPluginNew('other-source', { format: 'hl7v2', ente: '039999' }, settings, unknownEnte.io)).toBe(2);
    expect(unknownEnte.err()).toMatch(/unknown Ente "039999"; configured: 030901 \(ASST Demo Milano Nord\)/);
    const badId = captured();
    expect(await runPluginNew('Bad_Id', { format: 'hl7v2', ente: '030902' }, settings, badId.io)).toBe(2);
    expect(badId.err()).toMatch(/plugin id "Bad_Id" is not valid/);
    const badFormat = captured();
    expect(await runPluginNew('other-source', { format: 'hl7v3', ente: '030902' }, settings, badFormat.io)).toBe(2);
    expect(badFormat.err()).toMatch(/--format must be one of hl7v2, cda, xml/);
    const again = captured();
    expect(await runPluginNew(argv(commands[0]!)[2]!, { format: 'hl7v2', ente: '030902' }, settings, again.io)).toBe(2);
    expect(again.err()).toMatch(/already exists/);
    expect(readdirSync(pluginsDir)).toEqual(before);
    const missing = captured();
    expect(await runPluginCheck('no-such-plugin', settings, missing.io)).toBe(2);
    expect(missing.err()).toMatch(/no plugin folder .*no-such-plugin/);
  });
});

describe('every format\'s scaffold passes its own check as generated', () => {
  let pluginsDir: string;
  beforeAll(() => {
    pluginsDir = mkdtempSync(path.join(os.tmpdir(), 'cdr-scaffold-'));
  });
  afterAll(() => rmSync(pluginsDir, { recursive: true, force: true }));

  test.each([
    ['cda', '030901', /referto-rsa\.xml: 11488-4 → 1 resource \(Patient\)/],
    ['xml', '030903', /anagrafica-export\.xml record 2\/2: Paziente → 1 resource \(Patient\)/],
  ])('%s', async (format, ente, sampleLine) => {
    const settings = loadSettings({ ...process.env, CDR_PLUGINS_DIR: pluginsDir });
    const id = `demo-${format}-source`;
    const created = captured();
    expect(await runPluginNew(id, { format, ente }, settings, created.io)).toBe(0);
    const checked = captured();
    const code = await runPluginCheck(id, settings, checked.io);
    expect(checked.out()).toMatch(sampleLine);
    expect(checked.out()).toMatch(/ok {3}golden .*: pass/);
    expect(checked.out()).toMatch(new RegExp(`plugin ${id}: OK\\n$`));
    expect(code).toBe(0);
  });
});
