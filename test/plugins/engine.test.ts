import { readFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../../core/config/index.ts';
import { partitionName } from '../../core/storage/index.ts';
import { postMessage, startTestEngine, TEST_ADMIN_TOKEN, waitForFinal, type TestEngine } from '../support/engine.ts';
import { adtManifest, fixturePlugins, REPO_MAPPINGS, type FixturePlugins } from './fixtures.ts';

const A01 = readFileSync(path.join(REPO_ROOT, 'plugins', 'asst-demo-nord-adt', 'samples', 'adt-a01.hl7'), 'utf8');
/** The reference A01 with another control id (MSH-10), so every post is a new message. */
const a01 = (controlId: string) => A01.replace(/\|(MSG-[A-Z0-9-]+)\|P\|/, `|${controlId}|P|`);

describe('plugins in a running engine', () => {
  let fx: FixturePlugins;
  let t: TestEngine;

  beforeAll(async () => {
    fx = fixturePlugins();
    fx.write('fixture-nord', adtManifest('fixture-nord', '030901'));
    fx.write('fixture-brianza', adtManifest('fixture-brianza', '030902'));
    fx.write('hook-broken', adtManifest('hook-broken', '030901', { hooks: './hooks.mjs' }), {
      'hooks.mjs': `export default { postParse() { throw new Error('this sender puts the ward in PV1-6'); } };`,
    });
    fx.write('broken-manifest', adtManifest('broken-manifest', '030902', { routes: [{ match: 'ADT^*', mapping: 'hl7v2/adt/does-not-exist.jsonata' }] }));
    t = await startTestEngine('postgres', { pluginsDir: fx.dir, mappingsDir: REPO_MAPPINGS });
  });
  afterAll(async () => {
    await t?.cleanup();
    fx.cleanup();
  });

  const count = async (table: 'resource' | 'resource_history', ente: string, where = '') =>
    (await t.engine.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${partitionName(table, ente)} ${where}`)).rows[0]!.n;

  test('a hook that throws dead-letters its message at stage "hook" while other plugins keep processing', async () => {
    const [broken, healthy] = await Promise.all([
      postMessage(t.url, 'hook-broken', a01('HOOK-1')),
      postMessage(t.url, 'fixture-nord', a01('NORD-1')),
    ]);
    expect([broken.status, healthy.status]).toEqual([202, 202]);
    const [brokenTrail, healthyTrail] = await Promise.all([
      waitForFinal(t.url, broken.body.messageId as string),
      waitForFinal(t.url, healthy.body.messageId as string),
    ]);
    expect(brokenTrail.state).toBe('dead-lettered');
    expect(brokenTrail.deadLetter).toEqual(expect.objectContaining({ stage: 'hook', code: 'HOOK_FAILED' }));
    expect(brokenTrail.deadLetter!.reason).toMatch(/postParse hook of plugin hook-broken failed: this sender puts the ward in PV1-6/);
    expect(brokenTrail.resources).toEqual([]);
    const row = await t.engine.db.query<{ stage: string; plugin_id: string; attempts: number }>(
      'SELECT stage, plugin_id, attempts FROM dead_letter WHERE message_id = $1', [broken.body.messageId as string],
    );
    expect(row.rows).toEqual([{ stage: 'hook', plugin_id: 'hook-broken', attempts: 1 }]);

    expect(healthyTrail.state).toBe('stored');
    expect(healthyTrail.resources.map((r) => r.resourceType).sort()).toEqual(['Encounter', 'Location', 'Patient']);
    // The broken plugin stays loaded and keeps failing only its own messages.
    const again = await postMessage(t.url, 'fixture-nord', a01('NORD-2'));
    expect((await waitForFinal(t.url, again.body.messageId as string)).state).toBe('stored');
  });

  test('two plugins for two Enti write into two different partitions', async () => {
    const before = { nord: await count('resource', '030901'), brianza: await count('resource', '030902') };
    const nord = await postMessage(t.url, 'fixture-nord', a01('NORD-P'));
    const brianza = await postMessage(t.url, 'fixture-brianza', a01('BRIANZA-P'));
    const nordTrail = await waitForFinal(t.url, nord.body.messageId as string);
    const brianzaTrail = await waitForFinal(t.url, brianza.body.messageId as string);
    expect([nordTrail.state, brianzaTrail.state]).toEqual(['stored', 'stored']);

    const nordPatient = nordTrail.resources.find((r) => r.resourceType === 'Patient')!;
    const brianzaPatient = brianzaTrail.resources.find((r) => r.resourceType === 'Patient')!;
    // Same person, same message: the Ente is part of the id, so the two partitions never share a row.
    expect(nordPatient.id).not.toBe(brianzaPatient.id);
    const where = (id: string) => `WHERE resource_type = 'Patient' AND id = '${id}'`;
    expect(await count('resource', '030901', where(nordPatient.id))).toBe(1);
    expect(await count('resource', '030902', where(nordPatient.id))).toBe(0);
    expect(await count('resource', '030902', where(brianzaPatient.id))).toBe(1);
    expect(await count('resource', '030901', where(brianzaPatient.id))).toBe(0);
    expect(await count('resource', '030902')).toBe(before.brianza + 3);
    const stored = await t.engine.db.query<{ ente: string }>('SELECT DISTINCT ente FROM resource WHERE id = $1', [brianzaPatient.id]);
    expect(stored.rows).toEqual([{ ente: '030902' }]);
  });

  test('GET /admin/plugins lists every plugin with its status, and the broken one with file, field and message', async () => {
    expect((await fetch(`${t.url}/admin/plugins`)).status).toBe(401);
    const response = await fetch(`${t.url}/admin/plugins`, { headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` } });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { items: Array<{ id: string; status: string; ente?: string; errors: Array<Record<string, unknown>> }>; next: null };
    const byId = new Map(body.items.map((p) => [p.id, p]));
    expect([...byId.keys()].sort()).toEqual(['broken-manifest', 'fixture-brianza', 'fixture-nord', 'hook-broken']);
    expect(byId.get('fixture-nord')).toEqual(expect.objectContaining({ status: 'active', ente: '030901', errors: [] }));
    const broken = byId.get('broken-manifest')!;
    expect(broken.status).toBe('error');
    expect(broken.errors).toEqual([
      expect.objectContaining({ file: expect.stringMatching(/broken-manifest\/plugin\.json$/), field: 'routes[0].mapping', message: expect.stringMatching(/does-not-exist\.jsonata does not exist/) }),
    ]);

    // And the broken plugin refuses input instead of accepting messages it cannot process.
    const refused = await postMessage(t.url, 'broken-manifest', a01('BROKEN-1'));
    expect(refused.status).toBe(503);
    expect(refused.body.code).toBe('RECEIVE_PLUGIN_UNAVAILABLE');
  });
});
