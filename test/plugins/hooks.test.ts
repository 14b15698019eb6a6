import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createLogger } from '../../core/common/logger.ts';
import { REPO_ROOT } from '../../core/config/index.ts';
import { MessageProcessor } from '../../core/pipeline/index.ts';
import { PluginRegistry } from '../../core/plugins/index.ts';
import { adtManifest, fixturePlugins, REPO_MAPPINGS, type FixturePlugins } from './fixtures.ts';

const A01 = readFileSync(path.join(REPO_ROOT, 'plugins', 'asst-demo-nord-adt', 'samples', 'adt-a01.hl7'));

/** Hooks are plain ES modules here (the engine loads .ts hooks through tsx; jest does not need to). */
const HOOKS: Record<string, string> = {
  throws: `export default { postParse() { throw new Error('PV1-19 missing in this sender\\'s A01'); } };`,
  'bad-result': `export default { preParse() { return 42; } };`,
  // unref: the abandoned wait must not keep the test worker alive after the suite.
  slow: `export default { postMap() { return new Promise((resolve) => setTimeout(resolve, 600).unref()); } };`,
  'not-resources': `export default { postMap() { return [{ id: 'x' }]; } };`,
  // Records what the context offers and rewrites the tree: a real-life fix of a sender quirk.
  fixes: `export const seen = [];
    export default {
      preParse(raw, ctx) { seen.push({ hook: 'preParse', format: ctx.format, timeZone: ctx.timeZone, routeKey: ctx.routeKey, ente: ctx.ente }); },
      postParse(tree, ctx) { seen.push({ hook: 'postParse', routeKey: ctx.routeKey }); tree.PID[0].F5[0].C1 = 'ROSSI-FIXED'; ctx.warn('family name rewritten by the hook'); },
      postMap(resources) { return resources.filter((r) => r.resourceType !== 'Location'); },
    };`,
};

describe('plugin hooks run guarded', () => {
  let fx: FixturePlugins;
  let processor: MessageProcessor;
  let registry: PluginRegistry;

  beforeAll(async () => {
    fx = fixturePlugins();
    for (const [name, source] of Object.entries(HOOKS)) {
      fx.write(`hook-${name}`, adtManifest(`hook-${name}`, '030901', { hooks: './hooks.mjs', hookTimeoutMs: 300 }), { 'hooks.mjs': source });
    }
    fx.write('unknown-hook', adtManifest('unknown-hook', '030901', { hooks: './hooks.mjs' }), { 'hooks.mjs': 'export default { postparse() {} };' });
    registry = await PluginRegistry.load({ pluginsDir: fx.dir, mappingsDir: REPO_MAPPINGS, enti: new Set(['030901']), limits: { timeoutMs: 2000, maxDepth: 500 } });
    processor = new MessageProcessor({ plugins: registry, logger: createLogger('test', 'silent') });
  });
  afterAll(() => fx.cleanup());

  const run = (pluginId: string) =>
    processor.process({ messageId: '0190f3a0-0000-7000-8000-000000000001', ente: '030901', pluginId, raw: A01, receivedAt: new Date('2024-03-11T09:00:00Z') });

  test('a hook that throws fails the message at stage "hook" with its message', async () => {
    const result = await run('hook-throws');
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.stage).toBe('hook');
    expect(result.error.kind).toBe('permanent');
    expect(result.error.code).toBe('HOOK_FAILED');
    expect(result.error.message).toMatch(/postParse hook of plugin hook-throws failed: PV1-19 missing/);
  });

  test('a hook returning something unusable, or over its time limit, fails at stage "hook" too', async () => {
    const bad = await run('hook-bad-result');
    expect(!bad.ok && [bad.error.stage, bad.error.code]).toEqual(['hook', 'HOOK_BAD_RESULT']);
    expect(!bad.ok && bad.error.message).toMatch(/preParse hook .* returned a number/);
    const slow = await run('hook-slow');
    expect(!slow.ok && [slow.error.stage, slow.error.code]).toEqual(['hook', 'HOOK_TIMEOUT']);
    const notResources = await run('hook-not-resources');
    expect(!notResources.ok && [notResources.error.stage, notResources.error.code]).toEqual(['hook', 'HOOK_BAD_RESULT']);
  });

  test('hooks get a typed context and can fix the tree and filter the resources', async () => {
    const result = await run('hook-fixes');
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const patient = result.resources.find((r) => r.resourceType === 'Patient') as unknown as { name: Array<{ family: string }> };
    expect(patient.name[0]!.family).toBe('ROSSI-FIXED');
    expect(result.resources.map((r) => r.resourceType).sort()).toEqual(['Encounter', 'Patient']);
    expect(result.warnings).toContain('family name rewritten by the hook');
    const module = (await import(path.join(fx.dir, 'hook-fixes', 'hooks.mjs'))) as { seen: Array<Record<string, unknown>> };
    expect(module.seen).toEqual([
      { hook: 'preParse', format: 'hl7v2', timeZone: 'Europe/Rome', routeKey: undefined, ente: '030901' },
      { hook: 'postParse', routeKey: 'ADT^A01' },
    ]);
  });

  test('a misspelt hook name disables the plugin with the hook named', () => {
    const summary = registry.summary('unknown-hook')!;
    expect(summary.status).toBe('error');
    expect(summary.errors).toEqual([expect.objectContaining({ field: 'postparse', message: expect.stringMatching(/unknown hook/) })]);
  });
});
