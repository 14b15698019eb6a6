import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { TokenStore } from '../../core/admin/index.ts';
import { versionHash } from '../../core/common/hash.ts';
import { startTestEngine, type TestEngine } from '../support/engine.ts';
import { copyFixtures, fixture, MAPPING, PLUGIN, SAMPLE_FULL, type WorkbenchTree } from './support.ts';

const CHROMIUM = process.env.CDR_CHROMIUM ?? '/usr/bin/chromium';
const LAUNCH_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
/** Set CDR_SCREENSHOTS=DIR to keep a picture of each step (docs/images/workbench holds the committed ones). */
const SCREENSHOTS = process.env.CDR_SCREENSHOTS;

describe('mapping workbench in a real browser', () => {
  let tree: WorkbenchTree;
  let te: TestEngine;
  let context: BrowserContext;
  let page: Page;
  let userDataDir: string;
  let authorToken: string;
  const requestedHosts = new Set<string>();
  const pageErrors: string[] = [];

  const shot = async (name: string) => {
    if (!SCREENSHOTS) return;
    mkdirSync(SCREENSHOTS, { recursive: true });
    await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`) });
  };

  /** Selects `text` in the editor (the first occurrence after `after`) so the next keystrokes replace it. */
  const selectInEditor = async (text: string, after = '') => {
    await page.evaluate(([needle, anchor]) => {
      const view = (window as unknown as { workbenchEditor: { state: { doc: { toString(): string } }; dispatch(spec: unknown): void; focus(): void } }).workbenchEditor;
      const doc = view.state.doc.toString();
      const from = doc.indexOf(needle!, anchor ? doc.indexOf(anchor) : 0);
      if (from < 0) throw new Error(`"${needle}" is not in the editor`);
      view.dispatch({ selection: { anchor: from, head: from + needle!.length }, scrollIntoView: true });
      view.focus();
    }, [text, after]);
  };

  const outputText = () => page.locator('#output').innerText();

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`the browser test needs Chromium at ${CHROMIUM}: install it with "apt-get install -y chromium" (or set CDR_CHROMIUM); it is never downloaded`);
    }
    tree = copyFixtures();
    te = await startTestEngine('postgres', { pluginsDir: tree.pluginsDir, mappingsDir: tree.mappingsDir });
    authorToken = (await new TokenStore(te.engine.db).create({ role: 'author', enti: '*', actor: 'test', name: 'mapping author' })).token;
    userDataDir = mkdtempSync(path.join(os.tmpdir(), 'cdr-chromium-'));
    context = await chromium.launchPersistentContext(userDataDir, { executablePath: CHROMIUM, headless: true, args: LAUNCH_ARGS, viewport: { width: 1600, height: 1000 } });
    // Generous waits: under a loaded CI machine a round trip (evaluate, coverage) can take seconds.
    context.setDefaultTimeout(60_000);
    page = context.pages()[0] ?? (await context.newPage());
    page.on('request', (request) => requestedHosts.add(new URL(request.url()).host));
    page.on('pageerror', (error) => pageErrors.push(error.message));
  }, 120_000);

  afterAll(async () => {
    await context?.close();
    if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
    await te?.cleanup();
    if (tree) rmSync(tree.root, { recursive: true, force: true });
  });

  test('from a new sample message to a saved, passing golden test without leaving the page', async () => {
    // 1. Open the page, give the token once.
    await page.goto(`${te.url}/workbench`);
    await page.fill('#token', authorToken);
    await page.click('#token-form button[type=submit]');
    await page.locator('body[data-ready=true]').waitFor();
    expect(await page.locator('#plugin').inputValue()).toBe(PLUGIN);
    await page.locator('#editor .cm-content').filter({ hasText: "'resourceType': 'Patient'" }).waitFor();

    // 2. Paste a new message: the output follows.
    const message = fixture(SAMPLE_FULL).replace('ROSSI^MARIO', 'BIANCHI^ANNA').replace('|M|', '|F|').replace('PZ0001', 'PZ0777');
    await page.fill('#message', message);
    await page.locator('#output').filter({ hasText: '"family": "BIANCHI"' }).waitFor();
    expect(await outputText()).toContain('"gender": "female"');
    expect(await page.locator('#issues li').count()).toBe(0);

    // The tree: hovering shows the JSONata path; what the mapping read is marked, PID-13 is not.
    const family = page.locator('.leaf[data-path="PID[0].F5[0].C1"]');
    expect(await family.getAttribute('title')).toBe('PID[0].F5[0].C1');
    expect(await family.getAttribute('class')).toContain('read');
    expect(await page.locator('.leaf[data-path="PID[0].F13[0].C1"]').getAttribute('class')).toContain('unread');
    expect(await page.locator('#coverage-summary').innerText()).toContain('4 of 20 fields read');
    await shot('01-message-and-output');

    // 3. Type into the editor: the output changes and a validation error appears, linked to its element.
    await selectInEditor("'female'");
    await page.keyboard.type("'femmina'");
    await page.locator('#output').filter({ hasText: '"gender": "femmina"' }).waitFor();
    const issue = page.locator('#issues li', { hasText: 'Patient.gender' });
    await issue.waitFor();
    expect(await issue.getAttribute('data-pointer')).toBe('/entry/0/resource/gender');
    await issue.click();
    const highlighted = page.locator('#output .line.highlight');
    expect(await highlighted.count()).toBe(1);
    expect(await highlighted.innerText()).toContain('"gender": "femmina"');
    await shot('02-validation-issue');

    // 4. A syntax error shows its line and column; clicking it moves the cursor there.
    await selectInEditor("'femmina'");
    await page.keyboard.type("'female' = =");
    const error = page.locator('#errors li').first();
    await error.waitFor();
    const line = fixture(MAPPING).split('\n').findIndex((l) => l.includes("'gender':")) + 1;
    expect(await error.getAttribute('data-line')).toBe(String(line));
    expect(await error.innerText()).toMatch(new RegExp(`^line ${line}, column \\d+: \\[map\\] JSONata S0`));
    // The last good output stays, greyed, while the expression is broken.
    expect(await page.locator('#output.stale').count()).toBe(1);
    expect(await outputText()).toContain('"gender": "femmina"');
    await shot('03-syntax-error');
    await page.keyboard.press('Backspace');
    await page.keyboard.press('Backspace');
    await page.keyboard.press('Backspace');
    await page.keyboard.press('Backspace');
    await page.locator('#output').filter({ hasText: '"gender": "female"' }).waitFor();
    expect(await page.locator('#errors li').count()).toBe(0);
    expect(await page.locator('#output.stale').count()).toBe(0);

    // 5. A real change, saved: the page shows the new version hash of the file on disk.
    await selectInEditor("'unknown'");
    await page.keyboard.type("'other'");
    await page.click('#save-mapping');
    await page.locator('#mapping-hash.ok').waitFor();
    const onDisk = readFileSync(path.join(tree.root, MAPPING), 'utf8');
    expect(onDisk).toContain(": 'other')");
    expect(await page.locator('#mapping-hash').innerText()).toBe(`saved ${MAPPING} · version ${versionHash([onDisk])}`);

    // 6. Save as golden test: the input and the expected output land beside the mapping, and the case passes.
    await page.fill('#golden-name', 'a01-bianchi');
    await page.click('#save-golden');
    await page.locator('#golden-status.ok').waitFor();
    expect(await page.locator('#golden-status').innerText()).toContain('golden test pass');
    const testsDir = path.join(tree.mappingsDir, 'hl7v2/wb/tests');
    expect(readFileSync(path.join(testsDir, 'a01-bianchi.hl7'), 'utf8')).toBe(message);
    const expected = JSON.parse(readFileSync(path.join(testsDir, 'a01-bianchi.expected.json'), 'utf8')) as { entry: Array<{ resource: Record<string, unknown> }> };
    expect(expected.entry[0]!.resource).toMatchObject({ id: 'wb-PZ0777', name: [{ family: 'BIANCHI', given: ['ANNA'] }], gender: 'female' });
    expect(JSON.parse(readFileSync(path.join(testsDir, 'golden.json'), 'utf8'))).toEqual({ plugin: PLUGIN });

    // 7. Coverage over the plugin's samples, in the page.
    await page.click('#coverage-samples');
    await page.locator('#coverage-summary').filter({ hasText: 'over 2 samples' }).waitFor();
    const pid13 = page.locator('#coverage tbody tr', { has: page.locator('td', { hasText: /^PID-13$/ }) });
    expect(await pid13.innerText()).toMatch(/50 % \(1\)\s+0 % \(0\)/);
    await shot('04-golden-and-coverage');

    // 8. Upload a file as the message.
    await page.setInputFiles('#upload', path.join(tree.root, 'plugins', PLUGIN, 'samples', 'a01-minimal.hl7'));
    await page.locator('#output').filter({ hasText: '"family": "VERDI"' }).waitFor();

    expect(pageErrors).toEqual([]);
    expect([...requestedHosts]).toEqual([new URL(te.url).host]);
  }, 300_000);
});
