import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { readConfigFile } from '../../core/config/load.ts';
import { REPO_ROOT } from '../../core/config/index.ts';
import { copyPluginTree, type FixtureTree } from '../support/fixture-plugins.ts';
import { postMessage, startTestEngine, TEST_ADMIN_TOKEN, waitForFinal, type TestEngine } from '../support/engine.ts';
import { admission, MAPPING_FILE, originalMapping, PLUGIN } from './support.ts';

const CHROMIUM = process.env.CDR_CHROMIUM ?? '/usr/bin/chromium';
const LAUNCH_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
/** Set CDR_SCREENSHOTS=DIR to keep a picture of each step. */
const SCREENSHOTS = process.env.CDR_SCREENSHOTS;

describe('operator console in a real browser', () => {
  let tree: FixtureTree;
  let te: TestEngine;
  let context: BrowserContext;
  let page: Page;
  let userDataDir: string;
  let step = 0;
  /** Every host the pages asked for: the console and the board load nothing from elsewhere (no CDN). */
  const requestedHosts = new Set<string>();

  const shot = async (name: string) => {
    if (SCREENSHOTS) await page.screenshot({ path: path.join(SCREENSHOTS, `${String(++step).padStart(2, '0')}-${name}.png`), fullPage: true });
  };

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`the browser test needs Chromium at ${CHROMIUM}: install it with "apt-get install -y chromium" (or set CDR_CHROMIUM); it is never downloaded`);
    }
    tree = copyPluginTree();
    tree.write(MAPPING_FILE, originalMapping().replace("'active': true,", "'active': $error('deliberate defect for the browser test'),"));
    const config = readConfigFile(path.join(REPO_ROOT, 'config/default.json'));
    te = await startTestEngine('postgres', {
      pluginsDir: tree.pluginsDir, mappingsDir: tree.mappingsDir,
      config: { ...config, alerts: { ...config.alerts, deadLetterOpenMax: 2 } },
    }, { validator: null });
    userDataDir = mkdtempSync(path.join(os.tmpdir(), 'cdr-chromium-'));
    context = await chromium.launchPersistentContext(userDataDir, { executablePath: CHROMIUM, headless: true, args: LAUNCH_ARGS, viewport: { width: 1280, height: 900 } });
    page = context.pages()[0] ?? (await context.newPage());
    page.on('request', (request) => requestedHosts.add(new URL(request.url()).host));
  }, 90_000);

  afterAll(async () => {
    await context?.close();
    if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
    await te?.cleanup();
    if (tree) rmSync(tree.root, { recursive: true, force: true });
  });

  test('see a dead-letter spike, open the failing message, replay it after a fix and watch it reach stored', async () => {
    const ids: string[] = [];
    for (let n = 1; n <= 3; n++) ids.push((await postMessage(te.url, PLUGIN, admission(tree, n))).body.messageId as string);
    for (const id of ids) expect((await waitForFinal(te.url, id)).state).toBe('dead-lettered');
    await te.engine.context.operations.alerts.evaluate();

    // 1. The console asks for a token once, then keeps a session cookie.
    await page.goto(`${te.url}/admin/ui`);
    await page.waitForURL(/\/admin\/login/);
    await shot('login');
    await page.fill('#token', TEST_ADMIN_TOKEN);
    await page.click('button[type=submit]');
    await page.waitForURL(/\/admin\/ui/);
    const cookies = await context.cookies();
    expect(cookies.find((c) => c.name === 'cdr_console')).toMatchObject({ httpOnly: true, sameSite: 'Strict' });

    // 2. The overview shows the spike and the alert.
    const row = page.locator(`#overview-table tr[data-plugin="${PLUGIN}"]`);
    await row.locator('[data-col="dead-lettered"]').filter({ hasText: '3' }).waitFor();
    await page.locator('[data-alert="dead-letter-backlog"]').waitFor();
    await shot('overview-spike');

    // 3. Open the failing messages and one of them.
    await row.locator('a[data-col="open-dlq"]').click();
    await page.locator('#dead-letter-table').waitFor();
    expect(await page.locator('#dead-letter-table tbody tr').count()).toBe(3);
    await page.locator('a.open-dead-letter').first().click();
    await page.locator('#dead-letter-reason').filter({ hasText: 'deliberate defect' }).waitFor();
    expect(await page.locator('#raw').textContent()).toContain('ADT^A01');
    await shot('dead-letter');

    // 4. The fix lands on disk; the operator reloads the plugins from the console.
    tree.write(MAPPING_FILE, originalMapping());
    const deadLetterUrl = page.url();
    await page.click('#nav-plugins');
    await page.click('#reload-plugins');
    await page.locator('#status').filter({ hasText: `changed: ${PLUGIN}` }).waitFor();

    // 5. A dry run says all three would now pass.
    await page.click('#nav-dead-letters');
    await page.click('#dry-run');
    await page.locator('#dry-run-summary').filter({ hasText: '3 would now be stored, 0 still fail' }).waitFor();
    await shot('dry-run');

    // 6. Replay the opened one and watch it reach stored.
    await page.goto(deadLetterUrl);
    await page.click('#replay');
    await page.waitForURL(/#\/messages\//);
    await page.locator('[data-state="stored"]').waitFor({ timeout: 20_000 });
    expect(await page.locator('#trail').textContent()).toContain('replay-requested');
    await shot('stored');
    const replayedId = /#\/messages\/([0-9a-f-]+)/.exec(page.url())![1]!;
    expect(ids).toContain(replayedId);
    expect((await waitForFinal(te.url, replayedId)).state).toBe('stored');

    // 7. The queue board opens with the same session.
    await page.goto(`${te.url}/admin/board`);
    await page.getByText('process', { exact: false }).first().waitFor();
    expect(page.url()).toContain('/admin/board');
    await shot('board');

    // Back on the overview, stored has moved.
    await page.goto(`${te.url}/admin/ui#/`);
    await row.locator('[data-col="stored"]').filter({ hasText: '1' }).waitFor();
    await shot('overview-after');
    expect([...requestedHosts]).toEqual([new URL(te.url).host]);
  }, 120_000);
});
