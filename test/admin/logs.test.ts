import { rmSync } from 'node:fs';
import { Writable } from 'node:stream';
import { createLogger } from '../../core/common/logger.ts';
import { copyPluginTree, type FixtureTree } from '../support/fixture-plugins.ts';
import { postMessage, startTestEngine, waitForFinal, type TestEngine } from '../support/engine.ts';
import { admission, call, MAPPING_FILE, originalMapping, PLUGIN } from './support.ts';

/** Text of the fictitious patient that must never reach a log line. */
const PHI = ['RSSMRA80A01H501U', 'ROSSI', 'MARIO', 'mario.rossi@example.invalid', '0212345678', 'VIA DELLE PROVE', 'PZ0000123', '19800101'];
/** Raw HL7 segment text. */
const RAW = ['MSH|', 'PID|', 'PV1|', 'EVN|', '^^^MEF^NNITA'];

describe('logs are JSON and carry no patient data or raw message text', () => {
  let tree: FixtureTree;
  let te: TestEngine;
  const lines: string[] = [];

  beforeAll(async () => {
    tree = copyPluginTree();
    const capture = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
        done();
      },
    });
    // A mapping that fails for a reason quoting the patient's codice fiscale and name, the worst case for a leak.
    tree.write(MAPPING_FILE, originalMapping().replace("'active': true,", "'active': $error('cannot map patient ' & PID.F3[C5='NNITA'].C1 & ' ' & PID.F5.C1),"));
    te = await startTestEngine('postgres', { pluginsDir: tree.pluginsDir, mappingsDir: tree.mappingsDir }, { logger: createLogger('cdr', 'debug', capture) });
  });

  afterAll(async () => {
    await te?.cleanup();
    rmSync(tree.root, { recursive: true, force: true });
  });

  test('messages stored, dead-lettered, replayed and rejected leave no codice fiscale, name or segment in the log', async () => {
    const failed = (await postMessage(te.url, PLUGIN, admission(tree, 1))).body.messageId as string;
    const dead = await waitForFinal(te.url, failed);
    expect(dead.state).toBe('dead-lettered');
    // The reason itself names the patient: operators see it through the authenticated API, never in logs.
    expect(dead.deadLetter?.reason).toContain('RSSMRA80A01H501U');
    await postMessage(te.url, PLUGIN, 'MSH|^~\\&|ADT_DEMO|ASST_DEMO_NORD|CDR|RL|20240311095000||ADT^A01|BROKEN-1|P|2.5\rPID|1||RSSMRA80A01H501U^^^MEF^NNITA||ROSSI^MARIO\r\u0000');
    await postMessage(te.url, 'no-such-plugin', admission(tree, 2));
    tree.write(MAPPING_FILE, originalMapping());
    await call(te.url, 'POST', '/admin/plugins/reload');
    await call(te.url, 'POST', '/admin/dead-letters/dry-run', { body: {} });
    await call(te.url, 'POST', '/admin/dead-letters/replay', { body: { plugin: PLUGIN, onlyPassing: true } });
    expect((await waitForFinal(te.url, failed)).state).toBe('stored');
    const stored = (await postMessage(te.url, PLUGIN, admission(tree, 3))).body.messageId as string;
    expect((await waitForFinal(te.url, stored)).state).toBe('stored');
    await call(te.url, 'GET', `/admin/messages/${stored}/reprocess-preview`);
    await new Promise((r) => setTimeout(r, 200));

    // The log is there (the test can fail), every line is JSON...
    expect(lines.length).toBeGreaterThan(5);
    for (const line of lines) expect(() => JSON.parse(line)).not.toThrow();
    expect(lines.filter((l) => l.includes('message dead-lettered')).length).toBeGreaterThanOrEqual(2);
    expect(lines.some((l) => l.includes(`"messageId":"${failed}"`))).toBe(true);
    // ...and none carries patient data or raw segments.
    const text = lines.join('\n');
    const leaks = [...PHI, ...RAW].filter((needle) => text.includes(needle));
    expect(leaks).toEqual([]);
  });
});
