import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../../core/config/index.ts';
import { startEngine } from '../../core/server/index.ts';
import { copyPluginTree, type FixtureTree } from '../support/fixture-plugins.ts';
import { deleteRedisPrefix, postMessage, startTestEngine, TEST_ADMIN_TOKEN, testRedisUrl, waitForFinal, type TestEngine } from '../support/engine.ts';
import { PostgresDb } from '../../core/storage/index.ts';
import { testDatabaseUrl } from '../support/storage.ts';

const PLUGIN = 'asst-demo-nord-adt';
const auth = { authorization: `Bearer ${TEST_ADMIN_TOKEN}` };

/** An ADT^A01 with its own control id and visit number. */
function admission(tree: FixtureTree, n: number): Buffer {
  const sample = readFileSync(path.join(tree.pluginsDir, PLUGIN, 'samples', 'adt-a01.hl7'), 'utf8');
  return Buffer.from(sample.replace('MSG-A01-0001', `DLQ-${n}`).replace('NOS-2024-000123', `NOS-DLQ-${n}`));
}

async function getJson(url: string, init: RequestInit = {}) {
  const response = await fetch(url, { ...init, headers: { ...auth, ...(init.headers ?? {}) } });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe('dead-letter queue: browse, inspect, fix, replay, discard', () => {
  let tree: FixtureTree;
  let broken: TestEngine;
  let fixedStop: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    tree = copyPluginTree();
    // A mapping defect: every admission fails at stage map with a readable reason.
    const mappingFile = path.join(tree.mappingsDir, 'hl7v2/adt/patient-encounter.jsonata');
    tree.write('mappings/hl7v2/adt/patient-encounter.jsonata', readFileSync(mappingFile, 'utf8').replace("'active': true,", "'active': $error('deliberate defect for the test'),"));
    broken = await startTestEngine('postgres', { pluginsDir: tree.pluginsDir, mappingsDir: tree.mappingsDir });
  });

  afterAll(async () => {
    await fixedStop?.();
    const db = new PostgresDb({ connectionString: testDatabaseUrl() });
    await db.exec(`DROP SCHEMA IF EXISTS ${broken.settings.databaseSchema} CASCADE`).catch(() => undefined);
    await db.close();
    await deleteRedisPrefix(testRedisUrl(), broken.settings.queuePrefix);
    rmSync(tree.root, { recursive: true, force: true });
  });

  test('failures are listed with filters and paging, shown with raw bytes, replayed after the fix, discarded with an audit record', async () => {
    const ids: string[] = [];
    for (let n = 1; n <= 3; n++) {
      const posted = await postMessage(broken.url, PLUGIN, admission(tree, n));
      ids.push(posted.body.messageId as string);
    }
    for (const id of ids) expect((await waitForFinal(broken.url, id)).state).toBe('dead-lettered');

    const list = await getJson(`${broken.url}/admin/dead-letters?plugin=${PLUGIN}&stage=map&limit=2`);
    expect(list.status).toBe(200);
    const items = list.body.items as Array<{ id: string; messageId: string; stage: string; code: string; reason: string }>;
    expect(items).toHaveLength(2);
    expect(items[0]!.reason).toMatch(/deliberate defect/);
    expect(list.body.next).toEqual(expect.any(String));
    const page2 = await getJson(`${broken.url}/admin/dead-letters?plugin=${PLUGIN}&stage=map&limit=2&cursor=${list.body.next}`);
    expect((page2.body.items as unknown[]).length).toBe(1);
    expect((await getJson(`${broken.url}/admin/dead-letters?stage=parse`)).body.items).toEqual([]);
    expect((await getJson(`${broken.url}/admin/dead-letters?stage=nonsense`)).status).toBe(400);
    expect((await getJson(`${broken.url}/admin/dead-letters?cursor=zzz`)).status).toBe(400);

    const all = [...items, ...(page2.body.items as typeof items)];
    const first = all.find((d) => d.messageId === ids[0])!;
    const shown = await getJson(`${broken.url}/admin/dead-letters/${first.id}`);
    expect(shown.status).toBe(200);
    const raw = shown.body.raw as { base64: string };
    expect(Buffer.from(raw.base64, 'base64').equals(admission(tree, 1))).toBe(true);
    expect(shown.body.mappingVersion).toEqual(expect.any(String));
    expect((await getJson(`${broken.url}/admin/dead-letters/00000000-0000-4000-8000-000000000000`)).status).toBe(404);
    expect((await getJson(`${broken.url}/admin/dead-letters/not-an-id`)).status).toBe(400);

    // Deploy the fixed mapping: a new engine on the same database and queue.
    const settings = { ...broken.settings };
    await broken.engine.stop();
    tree.write('mappings/hl7v2/adt/patient-encounter.jsonata', readFileSync(path.join(REPO_ROOT, 'mappings/hl7v2/adt/patient-encounter.jsonata'), 'utf8'));
    const fixed = await startEngine(settings, { reconcileIntervalMs: 3_600_000 });
    fixedStop = () => fixed.stop();
    const url = fixed.url!;

    const replayOne = await getJson(`${url}/admin/dead-letters/${first.id}/replay`, { method: 'POST' });
    expect(replayOne.status).toBe(202);
    const trail = await waitForFinal(url, ids[0]!);
    expect(trail.state).toBe('stored');
    expect(trail.stages.map((s) => s.stage)).toContain('replay-requested');
    expect((await getJson(`${url}/admin/dead-letters/${first.id}/replay`, { method: 'POST' })).status).toBe(409);

    const second = all.find((d) => d.messageId === ids[1])!;
    const discarded = await getJson(`${url}/admin/dead-letters/${second.id}?reason=duplicate%20of%20another`, { method: 'DELETE' });
    expect(discarded.status).toBe(200);
    expect(discarded.body.status).toBe('discarded');
    const audit = await fixed.db.query<{ action: string; actor: string }>(`SELECT action, actor FROM audit_log WHERE target = $1`, [second.id]);
    expect(audit.rows).toEqual([{ action: 'dead-letter.discard', actor: 'admin' }]);

    const bulk = await getJson(`${url}/admin/dead-letters/replay`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ plugin: PLUGIN }) });
    expect(bulk.status).toBe(202);
    expect(bulk.body.replayed).toBe(1);
    expect((await waitForFinal(url, ids[2]!)).state).toBe('stored');
    expect((await waitForFinal(url, ids[1]!)).state).toBe('dead-lettered');
    expect((await getJson(`${url}/admin/dead-letters`)).body.items).toEqual([]);
  });
});
