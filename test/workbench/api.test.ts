import { existsSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { TokenStore } from '../../core/admin/index.ts';
import { REPO_ROOT } from '../../core/config/index.ts';
import { readConfigFile } from '../../core/config/load.ts';
import { versionHash } from '../../core/common/hash.ts';
import { discoverGoldenSuites, openAuthoringSession, runGoldenCase } from '../../core/workbench/index.ts';
import { startTestEngine, TEST_ADMIN_TOKEN, type TestEngine } from '../support/engine.ts';
import { copyFixtures, fixture, MAPPING, PLUGIN, SAMPLE_FULL, SAMPLE_MINIMAL, type WorkbenchTree } from './support.ts';
import { loadSettings } from '../../core/config/index.ts';

const TIMEOUT_MS = 400;

interface Answer<T = Record<string, unknown>> { status: number; body: T; headers: Headers }

describe('workbench API (/workbench/api, role author)', () => {
  let tree: WorkbenchTree;
  let te: TestEngine;
  let authorToken: string;
  let readerToken: string;

  const call = async <T = Record<string, unknown>>(method: string, route: string, options: { token?: string | null; body?: unknown; raw?: string } = {}): Promise<Answer<T>> => {
    const token = options.token === undefined ? authorToken : options.token;
    const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
    let body: string | undefined;
    if (options.body !== undefined || options.raw !== undefined) {
      headers['content-type'] = 'application/json';
      body = options.raw ?? JSON.stringify(options.body);
    }
    const response = await fetch(`${te.url}${route}`, { method, headers, body });
    const text = await response.text();
    return { status: response.status, body: (response.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text) as T, headers: response.headers };
  };
  const evaluate = (body: Record<string, unknown>) => call<{
    ok: boolean; errors: Array<{ code: string; line?: number; column?: number; message: string }>; bundle?: { entry: Array<{ resource: Record<string, unknown> }> };
    issues: Array<{ severity: string; path: string; resource: string; pointer: string; keys: unknown[] }>; tree?: Record<string, unknown>; route?: { mapping: string };
    coverage?: { totals: Record<string, number>; fields: Array<{ name: string; present: number; read: number }> };
  }>('POST', '/workbench/api/evaluate', { body: { pluginId: PLUGIN, message: fixture(SAMPLE_FULL), ...body } });

  beforeAll(async () => {
    tree = copyFixtures();
    const config = readConfigFile(path.join(REPO_ROOT, 'config/default.json'));
    te = await startTestEngine('postgres', {
      pluginsDir: tree.pluginsDir, mappingsDir: tree.mappingsDir,
      config: { ...config, processing: { ...config.processing, mappingTimeoutMs: TIMEOUT_MS, mappingMaxDepth: 200 } },
    });
    const tokens = new TokenStore(te.engine.db);
    authorToken = (await tokens.create({ role: 'author', enti: '*', actor: 'test', name: 'mapping author' })).token;
    readerToken = (await tokens.create({ role: 'reader', enti: '*', actor: 'test', name: 'reader' })).token;
  }, 120_000);

  afterAll(async () => {
    await te?.cleanup();
    if (tree) rmSync(tree.root, { recursive: true, force: true });
  });

  test('no token 401, reader 403, author and admin allowed', async () => {
    expect((await call('GET', '/workbench/api/plugins', { token: null })).status).toBe(401);
    expect((await call('GET', '/workbench/api/plugins', { token: 'not-a-token' })).status).toBe(401);
    const reader = await call('GET', '/workbench/api/plugins', { token: readerToken });
    expect(reader.status).toBe(403);
    expect(reader.body).toMatchObject({ code: 'FORBIDDEN' });
    expect((await call('POST', '/workbench/api/evaluate', { token: readerToken, body: { pluginId: PLUGIN, message: 'x' } })).status).toBe(403);
    expect((await call('GET', '/workbench/api/plugins', { token: TEST_ADMIN_TOKEN })).status).toBe(200);
    const author = await call<{ plugins: Array<{ id: string; routes: Array<{ mapping: string; mappingHash: string }>; samples: string[] }> }>('GET', '/workbench/api/plugins');
    expect(author.status).toBe(200);
    const plugin = author.body.plugins.find((p) => p.id === PLUGIN)!;
    expect(plugin.routes).toEqual([{ match: 'ADT^A01', mapping: MAPPING, mappingHash: versionHash([fixture(MAPPING)]) }]);
    expect(plugin.samples).toEqual([SAMPLE_FULL, SAMPLE_MINIMAL]);
  });

  test('the page and its script are served from the engine itself, with a CSP', async () => {
    const page = await call<string>('GET', '/workbench', { token: null });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toMatch(/script-src 'self';/);
    const nonce = /'nonce-([^']+)'/.exec(page.headers.get('content-security-policy')!)![1];
    expect(page.body).toContain(`<meta name="csp-nonce" content="${nonce}">`);
    expect(page.body).toContain('/workbench/assets/workbench.js');
    const script = await call<string>('GET', '/workbench/assets/workbench.js', { token: null });
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toContain('javascript');
    expect(script.body).not.toMatch(/https?:\/\/(cdn|unpkg|esm\.sh|jsdelivr)/);
    expect((await call('GET', '/workbench/assets/..%2Fpage.ts', { token: null })).status).toBe(404);
  });

  test('get a mapping with its version hash', async () => {
    const answer = await call('GET', `/workbench/api/file?path=${encodeURIComponent(MAPPING)}`);
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ path: MAPPING, content: fixture(MAPPING), hash: versionHash([fixture(MAPPING)]) });
  });

  test('evaluate: parsed tree, output Bundle, no issues, coverage', async () => {
    const answer = await evaluate({ mappingPath: MAPPING });
    expect(answer.status).toBe(200);
    expect(answer.body.ok).toBe(true);
    expect(answer.body.errors).toEqual([]);
    expect(answer.body.route).toEqual({ match: 'ADT^A01', mapping: MAPPING });
    expect(answer.body.bundle!.entry[0]!.resource).toEqual({
      resourceType: 'Patient', id: 'wb-PZ0001', identifier: [{ system: 'http://hl7.it/sid/codiceFiscale', value: 'RSSMRA80A01F205X' }],
      name: [{ family: 'ROSSI', given: ['MARIO'] }], gender: 'male', birthDate: '1980-01-01',
    });
    expect((answer.body.tree!.PID as Array<Record<string, unknown>>)[0]!.F13).toEqual([{ C1: '0212345678' }]);
    expect(answer.body.coverage!.totals).toEqual({ leaves: 29, read: 8, fields: 20, fieldsRead: 4 });
    expect(answer.body.coverage!.fields.find((f) => f.name === 'PID-13')).toEqual({ name: 'PID-13', present: 1, read: 0 });
  });

  test('edited mapping text: a syntax error comes back with line and column', async () => {
    const broken = fixture(MAPPING).replace("'gender': $pid.F8.C1", "'gender': $pid.F8.C1 = = ");
    const line = broken.split('\n').findIndex((l) => l.includes('= =')) + 1;
    const answer = await evaluate({ mapping: broken, mappingPath: MAPPING });
    expect(answer.status).toBe(200);
    expect(answer.body.ok).toBe(false);
    expect(answer.body.errors).toHaveLength(1);
    expect(answer.body.errors[0]).toMatchObject({ code: expect.stringMatching(/^JSONata S0/), line });
    expect(answer.body.errors[0]!.column).toBeGreaterThan(20);
    expect(answer.body.tree).toHaveProperty('PID'); // the tree is still shown
  });

  test('edited mapping text: a run-time error comes back with line and column', async () => {
    const source = fixture(MAPPING).replace("'birthDate':", "'birthDate': $error('no birth date rule yet') &");
    const line = source.split('\n').findIndex((l) => l.includes('$error')) + 1;
    const answer = await evaluate({ mapping: source, mappingPath: MAPPING });
    expect(answer.body.ok).toBe(false);
    expect(answer.body.errors[0]).toMatchObject({ line, message: expect.stringContaining('no birth date rule yet') });
    // The column falls on the $error(...) call (JSONata reports the position of the call's token).
    const start = source.split('\n')[line - 1]!.indexOf('$error') + 1;
    expect(answer.body.errors[0]!.column).toBeGreaterThanOrEqual(start);
    expect(answer.body.errors[0]!.column).toBeLessThanOrEqual(start + "$error('no birth date rule yet')".length);
  });

  test('validation issues name the FHIR path and point at the output element', async () => {
    const source = fixture(MAPPING).replace("'gender': $pid.F8.C1 = 'M' ? 'male'", "'gender': $pid.F8.C1 = 'M' ? 'maschio'");
    const answer = await evaluate({ mapping: source });
    expect(answer.body.ok).toBe(true);
    const issue = answer.body.issues.find((i) => i.path === 'Patient.gender');
    expect(issue).toMatchObject({ severity: 'error', resource: 'Patient/wb-PZ0001', pointer: '/entry/0/resource/gender', keys: ['entry', 0, 'resource', 'gender'] });
    const identifier = fixture(MAPPING).replace("'system': 'http://hl7.it/sid/codiceFiscale',", "'system': 42,");
    const second = await evaluate({ mapping: identifier });
    expect(second.body.issues.find((i) => i.path === 'Patient.identifier[0].system')).toMatchObject({ pointer: '/entry/0/resource/identifier/0/system' });
  });

  test('an endless expression stops at the time limit; deep recursion at the depth limit', async () => {
    const started = Date.now();
    const endless = await evaluate({ mapping: '($loop := function($n) { $loop($n + 1) }; $loop(0))' });
    expect(endless.body.ok).toBe(false);
    expect(endless.body.errors[0]).toMatchObject({ code: expect.stringContaining('MAP_TIMEOUT') });
    expect(Date.now() - started).toBeLessThan(TIMEOUT_MS + 3000);
    const deep = await evaluate({ mapping: '($deep := function($n) { 1 + $deep($n + 1) }; $deep(0))' });
    expect(deep.body.errors[0]).toMatchObject({ code: expect.stringContaining('MAP_TOO_DEEP') });
    // The server is still answering.
    expect((await call('GET', '/workbench/api/plugins')).status).toBe(200);
  });

  test('editing a mapping the message is not routed to says so', async () => {
    const other = 'mappings/hl7v2/wb/other.jsonata';
    const answer = await evaluate({ mapping: fixture(MAPPING), mappingPath: other });
    expect(answer.body.ok).toBe(true);
    expect((answer.body as unknown as { notices: string[] }).notices).toEqual([`the message is routed (ADT^A01) to ${MAPPING}; the text of ${other} ran in its place`]);
    expect((await evaluate({ mapping: fixture(MAPPING), mappingPath: MAPPING })).body).toHaveProperty('notices', []);
  });

  test('a batch file: the page runs its first record and says so; it is not saved as one golden test', async () => {
    const batch = fixture(SAMPLE_FULL) + fixture(SAMPLE_MINIMAL);
    const answer = await evaluate({ message: batch });
    expect(answer.body.ok).toBe(true);
    expect((answer.body as unknown as { notices: string[] }).notices).toEqual(['a batch of 2 records (the engine stores each as its own message): this is record 1']);
    expect(answer.body.bundle!.entry.map((e) => e.resource.id)).toEqual(['wb-PZ0001']);
    const golden = await call('POST', '/workbench/api/golden', { body: { pluginId: PLUGIN, mappingPath: MAPPING, name: 'batch', message: batch } });
    expect(golden.status).toBe(422);
    expect(golden.body).toMatchObject({ message: expect.stringContaining('a batch of 2 records') });
  });

  test('every body is validated; oversized bodies are refused', async () => {
    const missing = await call('POST', '/workbench/api/evaluate', { body: { pluginId: PLUGIN } });
    expect(missing.status).toBe(400);
    expect(missing.body).toMatchObject({ code: 'WORKBENCH_INVALID_REQUEST' });
    expect((await call('POST', '/workbench/api/evaluate', { body: { pluginId: PLUGIN, message: 'x', extra: 1 } })).status).toBe(400);
    expect((await call('POST', '/workbench/api/evaluate', { body: { pluginId: '../x', message: 'x' } })).status).toBe(400);
    expect((await call('POST', '/workbench/api/evaluate', { raw: '{"pluginId":' })).status).toBe(400);
    expect((await call('PUT', '/workbench/api/mapping', { body: { path: MAPPING } })).status).toBe(400);
    expect((await call('POST', '/workbench/api/golden', { body: { pluginId: PLUGIN, mappingPath: MAPPING, name: '../x', message: 'x' } })).status).toBe(400);
    const huge = await call('POST', '/workbench/api/evaluate', { body: { pluginId: PLUGIN, message: 'x'.repeat(4 * 1024 * 1024) } });
    expect(huge.status).toBe(413);
    expect((await call('POST', '/workbench/api/evaluate', { body: { pluginId: 'no-such-plugin', message: 'x' } })).status).toBe(404);
  });

  test('no path the page sends reads or writes outside mappings/ and plugins/', async () => {
    symlinkSync('/etc', path.join(tree.mappingsDir, 'etc-link'));
    const attempts = ['../config/default.json', 'mappings/../../config/default.json', '/etc/passwd', 'mappings/%2e%2e/%2e%2e/etc/passwd', 'mappings/etc-link/passwd', 'config/default.json', 'mappings/..%2F..%2Fetc%2Fpasswd'];
    for (const attempt of attempts) {
      const read = await call('GET', `/workbench/api/file?path=${encodeURIComponent(attempt)}`);
      expect([read.status, attempt]).toEqual([400, attempt]);
      const write = await call('PUT', '/workbench/api/mapping', { body: { path: attempt, source: '1' } });
      expect([write.status, attempt]).toEqual([400, attempt]);
      const golden = await call('POST', '/workbench/api/golden', { body: { pluginId: PLUGIN, mappingPath: attempt, name: 'x1', message: 'x' } });
      expect([golden.status, attempt]).toEqual([400, attempt]);
      const evaluated = await call('POST', '/workbench/api/evaluate', { body: { pluginId: PLUGIN, message: 'x', mappingPath: attempt } });
      expect([evaluated.status, attempt]).toEqual([400, attempt]);
    }
    // The raw query string, not encoded by the client: the router decodes it, the resolver refuses it.
    expect((await call('GET', '/workbench/api/file?path=mappings/%2e%2e/%2e%2e/etc/passwd')).status).toBe(400);
    // A mapping is saved only as a .jsonata file in a mappings folder.
    expect((await call('PUT', '/workbench/api/mapping', { body: { path: `plugins/${PLUGIN}/plugin.json`, source: '{}' } })).status).toBe(400);
    expect((await call('PUT', '/workbench/api/mapping', { body: { path: `plugins/${PLUGIN}/hooks.jsonata`, source: '1' } })).status).toBe(400);
    expect(existsSync(path.join(tree.pluginsDir, PLUGIN, 'hooks.jsonata'))).toBe(false);
  });

  test('save mapping: writes the file, returns the new version hash, refuses a stale or invalid save', async () => {
    const original = fixture(MAPPING);
    const edited = original.replace("'unknown'", "'other'");
    const saved = await call('PUT', '/workbench/api/mapping', { body: { path: MAPPING, source: edited, expectedHash: versionHash([original]) } });
    expect(saved.status).toBe(200);
    expect(saved.body).toEqual({ path: MAPPING, hash: versionHash([edited]), previousHash: versionHash([original]) });
    expect(tree.read(MAPPING)).toBe(edited);
    expect(readFileSync(path.join(REPO_ROOT, 'test/workbench/fixtures', MAPPING), 'utf8')).toBe(original);
    const plugins = await call<{ plugins: Array<{ id: string; routes: Array<{ mappingHash: string }> }> }>('GET', '/workbench/api/plugins');
    expect(plugins.body.plugins.find((p) => p.id === PLUGIN)!.routes[0]!.mappingHash).toBe(versionHash([edited]));
    const stale = await call('PUT', '/workbench/api/mapping', { body: { path: MAPPING, source: original, expectedHash: versionHash([original]) } });
    expect(stale.status).toBe(409);
    const invalid = await call('PUT', '/workbench/api/mapping', { body: { path: MAPPING, source: '(\n  $x := ;\n)' } });
    expect(invalid.status).toBe(422);
    expect(invalid.body).toMatchObject({ code: 'WORKBENCH_MAPPING_INVALID', details: { line: 2 } });
    expect(tree.read(MAPPING)).toBe(edited);
  });

  test('save as golden test: input and expected beside the mapping, manifest written, the case passes', async () => {
    const message = fixture(SAMPLE_MINIMAL);
    const answer = await call<{ files: string[]; status: string; problems: string[] }>('POST', '/workbench/api/golden', { body: { pluginId: PLUGIN, mappingPath: MAPPING, name: 'a01-luigia', message } });
    expect(answer.status).toBe(201);
    expect(answer.body).toEqual({
      files: ['mappings/hl7v2/wb/tests/a01-luigia.hl7', 'mappings/hl7v2/wb/tests/a01-luigia.expected.json', 'mappings/hl7v2/wb/tests/golden.json'],
      status: 'pass', problems: [],
    });
    expect(tree.read('mappings/hl7v2/wb/tests/a01-luigia.hl7')).toBe(message);
    expect(JSON.parse(tree.read('mappings/hl7v2/wb/tests/golden.json'))).toEqual({ plugin: PLUGIN });
    const expected = JSON.parse(tree.read('mappings/hl7v2/wb/tests/a01-luigia.expected.json')) as { entry: Array<{ resource: Record<string, unknown> }> };
    // Checked against the message: VERDI^LUIGIA, born 1985-08-01, female (PID-8 F).
    expect(expected.entry[0]!.resource).toMatchObject({ id: 'wb-PZ0002', name: [{ family: 'VERDI', given: ['LUIGIA'] }], gender: 'female', birthDate: '1985-08-01' });

    // The CLI's golden runner finds and passes it too.
    const settings = loadSettings({ ...process.env, CDR_PLUGINS_DIR: tree.pluginsDir, CDR_MAPPINGS_DIR: tree.mappingsDir });
    const suites = discoverGoldenSuites([tree.mappingsDir, tree.pluginsDir], PLUGIN);
    expect(suites.map((s) => s.cases.map((c) => c.name))).toEqual([['a01-luigia']]);
    const session = await openAuthoringSession(settings, { only: [PLUGIN] });
    expect((await runGoldenCase(session, suites[0]!.cases[0]!)).status).toBe('pass');

    // Saving again under the same name is refused unless asked.
    expect((await call('POST', '/workbench/api/golden', { body: { pluginId: PLUGIN, mappingPath: MAPPING, name: 'a01-luigia', message } })).status).toBe(409);
    // An invalid output is not saved as a golden test.
    await call('PUT', '/workbench/api/mapping', { body: { path: MAPPING, source: fixture(MAPPING).replace("'female'", "'femmina'") } });
    const refused = await call('POST', '/workbench/api/golden', { body: { pluginId: PLUGIN, mappingPath: MAPPING, name: 'a01-invalid', message } });
    expect(refused.status).toBe(422);
    expect(refused.body).toMatchObject({ code: 'WORKBENCH_GOLDEN_REFUSED', message: expect.stringContaining('Patient.gender') });
    expect(existsSync(path.join(tree.mappingsDir, 'hl7v2/wb/tests/a01-invalid.hl7'))).toBe(false);
  });

  test('coverage over the plugin samples', async () => {
    const answer = await call<{ messages: number; rows: Array<{ name: string; level: string; presentPercent: number; mappedPercent: number }> }>('POST', '/workbench/api/coverage', { body: { pluginId: PLUGIN, mapping: fixture(MAPPING) } });
    expect(answer.status).toBe(200);
    expect(answer.body.messages).toBe(2);
    expect(answer.body.rows.find((r) => r.name === 'PID-13' && r.level === 'field')).toMatchObject({ presentPercent: 50, mappedPercent: 0 });
    expect(answer.body.rows.find((r) => r.name === 'PID-5' && r.level === 'field')).toMatchObject({ presentPercent: 100, mappedPercent: 100 });
  });
});
