import { readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { TokenStore } from '../../core/admin/index.ts';
import { readConfigFile } from '../../core/config/load.ts';
import { copyPluginTree, type FixtureTree } from '../support/fixture-plugins.ts';
import { postMessage, startTestEngine, waitForFinal, type TestEngine } from '../support/engine.ts';
import { addOtherEntePlugin, admission, call, CF_SYSTEM, MAPPING_FILE, originalMapping, OTHER_PLUGIN, PLUGIN, until } from './support.ts';

/** Sum of the samples of a metric whose labels include all the given ones. */
function metricValue(text: string, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const labelText = /\{(.*)\}/.exec(line)?.[1] ?? '';
    if (Object.entries(labels).every(([k, v]) => labelText.includes(`${k}="${v}"`))) total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

interface Page<T> { items: T[]; next: string | null }
interface MessageItem { messageId: string; ente: string; pluginId: string; state: string; controlId: string | null }
interface DeadLetterItem { id: string; messageId: string; ente: string; stage: string; code: string }

describe('operator console API', () => {
  let tree: FixtureTree;
  let te: TestEngine;
  let url: string;
  const tokens: Record<string, string> = {};
  const ids: Record<string, string> = {};

  const metrics = async () => (await call<string>(url, 'GET', '/metrics', { token: null })).body;

  beforeAll(async () => {
    tree = copyPluginTree();
    addOtherEntePlugin(tree);
    tree.write(MAPPING_FILE, originalMapping().replace("'active': true,", "'active': $error('deliberate defect for the test'),"));
    const config = readConfigFile(`${process.cwd()}/config/default.json`);
    te = await startTestEngine('postgres', {
      pluginsDir: tree.pluginsDir, mappingsDir: tree.mappingsDir,
      config: { ...config, alerts: { ...config.alerts, deadLetterOpenMax: 2, errorRate: { windowMinutes: 15, maxPercent: 50, minMessages: 3 } } },
    });
    url = te.url;
    const store = new TokenStore(te.engine.db);
    const make = async (name: string, role: 'operator' | 'reader' | 'author', enti: '*' | string[]) => {
      tokens[name] = (await store.create({ role, enti, name, actor: 'test' })).token;
    };
    await make('operatorA', 'operator', ['030901']);
    await make('operatorB', 'operator', ['030902']);
    await make('operatorAll', 'operator', '*');
    await make('reader', 'reader', '*');
    await make('authorA', 'author', ['030901']);
  });

  afterAll(async () => {
    await te?.cleanup();
    rmSync(tree.root, { recursive: true, force: true });
  });

  test('a dead-letter spike shows in metrics, overview and alerts; a dry run explains it; after a fix and a reload only the passing ones are replayed', async () => {
    const before = await metrics();
    const posted: string[] = [];
    for (let n = 1; n <= 3; n++) posted.push((await postMessage(url, PLUGIN, admission(tree, n))).body.messageId as string);
    const garbage = (await postMessage(url, PLUGIN, 'MSH|^~\\&|ADT_DEMO|ASST_DEMO_NORD|CDR|RL|20240311095000||ADT^A01|GARBAGE-1|P|2.5\rPID|1||\u0000\u0001')).body.messageId as string;
    const other = (await postMessage(url, OTHER_PLUGIN, admission(tree, 9, { pluginId: OTHER_PLUGIN }))).body.messageId as string;
    for (const id of [...posted, garbage, other]) expect((await waitForFinal(url, id)).state).toBe('dead-lettered');
    ids.other = other;
    ids.garbage = garbage;

    const during = await metrics();
    expect(metricValue(during, 'cdr_messages_received_total', { plugin: PLUGIN }) - metricValue(before, 'cdr_messages_received_total', { plugin: PLUGIN })).toBe(4);
    expect(metricValue(during, 'cdr_messages_dead_lettered_total', { plugin: PLUGIN, stage: 'map' })).toBe(3);
    expect(metricValue(during, 'cdr_messages_dead_lettered_total', { plugin: OTHER_PLUGIN, ente: '030902' })).toBe(1);
    expect(metricValue(during, 'cdr_dead_letters_open', { plugin: PLUGIN, ente: '030901' })).toBe(4);
    expect(metricValue(during, 'cdr_stage_duration_seconds_count', { plugin: PLUGIN, stage: 'parsed' })).toBeGreaterThanOrEqual(3);

    const overview = await call<{ rows: Array<{ plugin: string; received: number; deadLettered: number; openDeadLetters: number }>; alerts: Array<{ name: string; firing: boolean }> }>(url, 'GET', '/admin/overview');
    const row = overview.body.rows.find((r) => r.plugin === PLUGIN)!;
    expect(row).toMatchObject({ received: 4, deadLettered: 4, openDeadLetters: 4 });
    await te.engine.context.operations.alerts.evaluate();
    const alerts = await call<Page<{ name: string; firing: boolean; labels: { plugin?: string } }>>(url, 'GET', '/admin/alerts');
    expect(alerts.body.items.find((a) => a.name === 'dead-letter-backlog')?.firing).toBe(true);
    expect(alerts.body.items.find((a) => a.name === 'error-rate' && a.labels.plugin === PLUGIN)?.firing).toBe(true);
    expect(metricValue(await metrics(), 'cdr_alert_firing', { alert: 'dead-letter-backlog' })).toBe(1);
    // Ente B's operator sees neither Ente A's alerts nor its dead letters.
    const alertsB = await call<Page<{ name: string; labels: { plugin?: string } }>>(url, 'GET', '/admin/alerts', { token: tokens.operatorB });
    expect(alertsB.body.items.some((a) => a.labels.plugin === PLUGIN)).toBe(false);

    const list = await call<Page<DeadLetterItem>>(url, 'GET', `/admin/dead-letters?plugin=${PLUGIN}`);
    const first = list.body.items.find((d) => d.messageId === posted[0])!;
    expect((await call(url, 'GET', `/admin/dead-letters/${first.id}`, { token: tokens.operatorB })).status).toBe(403);
    expect((await call(url, 'POST', `/admin/dead-letters/${first.id}/replay`, { token: tokens.operatorB })).status).toBe(403);
    expect((await call(url, 'POST', `/admin/dead-letters/${first.id}/replay`, { token: tokens.reader })).status).toBe(403);
    expect((await call(url, 'POST', '/admin/dead-letters/dry-run', { token: tokens.operatorB, body: { ente: '030901' } })).status).toBe(403);
    expect((await call(url, 'POST', '/admin/dead-letters/dry-run', { body: { stage: 'nonsense' } })).status).toBe(400);
    expect((await call(url, 'POST', '/admin/dead-letters/dry-run', { body: { max: 0 } })).status).toBe(400);

    // Dry run with the broken mapping: nothing would pass; failures grouped by stage and code.
    const broken = await call<{ examined: number; wouldStore: number; stillFail: number; failures: Array<{ stage: string; code: string; count: number; example: string }> }>(
      url, 'POST', '/admin/dead-letters/dry-run', { token: tokens.authorA, body: { plugin: PLUGIN } },
    );
    expect(broken.status).toBe(200);
    expect(broken.body).toMatchObject({ examined: 4, wouldStore: 0, stillFail: 4 });
    expect(broken.body.failures.find((g) => g.stage === 'map')).toMatchObject({ count: 3, example: expect.stringMatching(/deliberate defect/) });
    expect(broken.body.failures.find((g) => g.stage !== 'map')?.count).toBe(1);

    // Fix the mapping on disk, reload: only an every-Ente operator may; audited.
    tree.write(MAPPING_FILE, originalMapping());
    expect((await call(url, 'POST', '/admin/plugins/reload', { token: tokens.operatorA })).status).toBe(403);
    expect((await call(url, 'POST', '/admin/plugins/reload', { token: tokens.reader })).status).toBe(403);
    const reload = await call<{ changed: string[]; notifiedProcesses: number }>(url, 'POST', '/admin/plugins/reload', { token: tokens.operatorAll });
    expect(reload.status).toBe(200);
    expect(reload.body.changed.sort()).toEqual([OTHER_PLUGIN, PLUGIN].sort());
    const audit = await te.engine.db.query<{ actor: string }>(`SELECT actor FROM audit_log WHERE action = 'plugins.reload'`);
    expect(audit.rows).toHaveLength(1);
    expect(audit.rows[0]!.actor).toMatch(/^token:/);

    const fixed = await call<{ wouldStore: number; stillFail: number; failures: Array<{ stage: string; count: number }> }>(url, 'POST', '/admin/dead-letters/dry-run', { body: { plugin: PLUGIN } });
    expect(fixed.body).toMatchObject({ wouldStore: 3, stillFail: 1 });
    // Nothing was written by the dry runs.
    expect((await call<Page<unknown>>(url, 'GET', `/admin/dead-letters?plugin=${PLUGIN}`)).body.items).toHaveLength(4);

    const replay = await call<{ replayed: number; stillFail: number }>(url, 'POST', '/admin/dead-letters/replay', { token: tokens.operatorA, body: { plugin: PLUGIN, onlyPassing: true } });
    expect(replay.status).toBe(202);
    expect(replay.body).toMatchObject({ replayed: 3, stillFail: 1 });
    for (const id of posted) expect((await waitForFinal(url, id)).state).toBe('stored');
    expect((await call<{ state: string }>(url, 'GET', `/messages/${garbage}`)).body.state).toBe('dead-lettered');
    // Ente B's dead letter was outside the filter and stays open.
    expect((await call<{ state: string }>(url, 'GET', `/messages/${other}`)).body.state).toBe('dead-lettered');

    const fresh = (await postMessage(url, PLUGIN, admission(tree, 4, { cf: 'BNCGNN75D15F205K' }))).body.messageId as string;
    expect((await waitForFinal(url, fresh)).state).toBe('stored');
    ids.fresh = fresh;
    ids.replayed = posted[0]!;
    const after = await metrics();
    expect(metricValue(after, 'cdr_messages_stored_total', { plugin: PLUGIN })).toBe(4);
    // End-to-end latency counts first runs only: the replays are not in it.
    expect(metricValue(after, 'cdr_end_to_end_seconds_count', { plugin: PLUGIN })).toBe(1);
  });

  test('message search: filters, Ente scoping, paging, validation', async () => {
    const all = await call<Page<MessageItem>>(url, 'GET', '/admin/messages?limit=500');
    expect(all.status).toBe(200);
    expect(all.body.items.length).toBeGreaterThanOrEqual(6);
    const byState = await call<Page<MessageItem>>(url, 'GET', `/admin/messages?plugin=${PLUGIN}&state=stored`);
    expect(byState.body.items.every((m) => m.state === 'stored' && m.pluginId === PLUGIN)).toBe(true);
    expect(byState.body.items).toHaveLength(4);
    const byControl = await call<Page<MessageItem>>(url, 'GET', '/admin/messages?controlId=ADM-2');
    expect(byControl.body.items.map((m) => m.controlId)).toEqual(['ADM-2']);
    const byPrefix = await call<Page<MessageItem>>(url, 'GET', '/admin/messages?documentId=ADM-');
    expect(byPrefix.body.items.length).toBe(5);
    const byPatient = await call<Page<MessageItem>>(url, 'GET', `/admin/messages?patientIdentifier=${encodeURIComponent(`${CF_SYSTEM}|BNCGNN75D15F205K`)}`);
    expect(byPatient.body.items.map((m) => m.messageId)).toEqual([ids.fresh]);
    const byOtherPatient = await call<Page<MessageItem>>(url, 'GET', `/admin/messages?patientIdentifier=${encodeURIComponent(`${CF_SYSTEM}|RSSMRA80A01H501U`)}&ente=030901`);
    expect(byOtherPatient.body.items).toHaveLength(3);
    expect((await call<Page<MessageItem>>(url, 'GET', `/admin/messages?since=${new Date(Date.now() + 60_000).toISOString()}`)).body.items).toEqual([]);
    expect((await call<Page<MessageItem>>(url, 'GET', `/admin/messages?until=2000-01-01T00:00:00Z`)).body.items).toEqual([]);

    // Keyset paging walks every message exactly once.
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: Page<MessageItem> = (await call<Page<MessageItem>>(url, 'GET', `/admin/messages?limit=2${cursor ? `&cursor=${cursor}` : ''}`)).body;
      seen.push(...page.items.map((m) => m.messageId));
      cursor = page.next;
    } while (cursor);
    expect(seen).toEqual(all.body.items.map((m) => m.messageId));

    // An operator of Ente A sees only Ente A; asking for Ente B is a 403.
    const scoped = await call<Page<MessageItem>>(url, 'GET', '/admin/messages?limit=500', { token: tokens.operatorA });
    expect(scoped.body.items.length).toBeGreaterThan(0);
    expect(scoped.body.items.every((m) => m.ente === '030901')).toBe(true);
    expect((await call(url, 'GET', '/admin/messages?ente=030902', { token: tokens.operatorA })).status).toBe(403);
    expect((await call(url, 'GET', `/messages/${ids.other}`, { token: tokens.operatorA })).status).toBe(403);

    for (const bad of ['state=bogus', 'limit=0', 'limit=501', 'since=yesterday', 'patientIdentifier=novalue', 'cursor=zzz', 'colour=blue']) {
      const response = await call(url, 'GET', `/admin/messages?${bad}`);
      expect([bad, response.status]).toEqual([bad, 400]);
    }
    expect((await call(url, 'GET', '/admin/messages', { token: null })).status).toBe(401);
    expect((await call(url, 'GET', '/admin/messages', { token: 'not-a-token' })).status).toBe(401);
  });

  test('re-process: preview shows the FHIR diff of a changed mapping without writing; apply stores a new version (audited)', async () => {
    tree.write(MAPPING_FILE, originalMapping().replace("'active': true,", "'active': false,"));
    await call(url, 'POST', '/admin/plugins/reload');
    const messageId = ids.fresh!;
    const preview = await call<{ ok: boolean; producerHash: string; resources: Array<{ resourceType: string; change: string; currentVersionId: string | null; diff: Array<{ op: string; path: string; before: unknown; after: unknown }> }> }>(
      url, 'GET', `/admin/messages/${messageId}/reprocess-preview`, { token: tokens.authorA },
    );
    expect(preview.status).toBe(200);
    expect(preview.body.ok).toBe(true);
    const patient = preview.body.resources.find((r) => r.resourceType === 'Patient')!;
    expect(patient.change).toBe('updated');
    expect(patient.diff).toEqual([{ op: 'replace', path: '/active', before: true, after: false }]);
    expect(preview.body.resources.filter((r) => r.resourceType !== 'Patient').every((r) => r.change === 'unchanged')).toBe(true);
    // The admissions share one Patient (its id comes from the local patient id): still active, nothing written by the preview.
    const stored = await te.engine.db.query<{ active: boolean; version_id: number }>(
      `SELECT (resource->>'active')::boolean AS active, version_id FROM resource WHERE resource_type = 'Patient'`,
    );
    expect(stored.rows).toEqual([{ active: true, version_id: Number(patient.currentVersionId) }]);

    expect((await call(url, 'GET', `/admin/messages/${ids.garbage}/reprocess-preview`)).status).toBe(409);
    expect((await call(url, 'GET', '/admin/messages/not-an-id/reprocess-preview')).status).toBe(400);
    expect((await call(url, 'GET', '/admin/messages/00000000-0000-4000-8000-000000000000/reprocess-preview')).status).toBe(404);
    expect((await call(url, 'GET', `/admin/messages/${messageId}/reprocess-preview`, { token: tokens.operatorB })).status).toBe(403);
    expect((await call(url, 'GET', `/admin/messages/${messageId}/reprocess-preview`, { token: tokens.reader })).status).toBe(403);
    expect((await call(url, 'POST', `/admin/messages/${messageId}/reprocess`, { token: tokens.authorA })).status).toBe(403);
    expect((await call(url, 'POST', `/admin/messages/${messageId}/reprocess`, { body: { producerHash: 'stale' } })).status).toBe(409);
    expect((await call(url, 'POST', `/admin/messages/${messageId}/reprocess`, { body: { unknown: 1 } })).status).toBe(400);

    const applied = await call<{ messageId: string }>(url, 'POST', `/admin/messages/${messageId}/reprocess`, { token: tokens.operatorA, body: { producerHash: preview.body.producerHash } });
    expect(applied.status).toBe(202);
    const trail = await until(async () => {
      const view = await waitForFinal(url, messageId);
      return view.stages.some((s) => s.stage === 'reprocess-requested') && view.state === 'stored' ? view : undefined;
    });
    expect(trail.resources.find((r) => r.resourceType === 'Patient')).toMatchObject({ versionId: String(Number(patient.currentVersionId) + 1), outcome: 'updated' });
    const audit = await te.engine.db.query(`SELECT actor FROM audit_log WHERE action = 'message.reprocess' AND target = $1`, [messageId]);
    expect(audit.rowCount).toBe(1);
    const again = await call<{ resources: Array<{ change: string }> }>(url, 'GET', `/admin/messages/${messageId}/reprocess-preview`);
    expect(again.body.resources.every((r) => r.change === 'unchanged')).toBe(true);
    tree.write(MAPPING_FILE, originalMapping());
    await call(url, 'POST', '/admin/plugins/reload');
  });

  test('queue pause and resume: every-Ente operators only, audited, visible in counts and metrics', async () => {
    expect((await call(url, 'POST', '/admin/queues/process/pause', { token: tokens.operatorA })).status).toBe(403);
    expect((await call(url, 'POST', '/admin/queues/process/pause', { token: tokens.reader })).status).toBe(403);
    expect((await call(url, 'POST', '/admin/queues/nope/pause')).status).toBe(404);
    expect((await call(url, 'POST', '/admin/queues/process/pause', { token: null })).status).toBe(401);
    const paused = await call<{ isPaused: boolean }>(url, 'POST', '/admin/queues/process/pause', { token: tokens.operatorAll });
    expect(paused.body.isPaused).toBe(true);
    const waiting = (await postMessage(url, PLUGIN, admission(tree, 20))).body.messageId as string;
    await new Promise((r) => setTimeout(r, 300));
    expect((await call<{ state: string }>(url, 'GET', `/messages/${waiting}`)).body.state).toBe('received');
    const queues = await call<Page<{ isPaused: boolean; paused: number }>>(url, 'GET', '/admin/queues', { token: tokens.reader });
    expect(queues.body.items[0]).toMatchObject({ isPaused: true, paused: 1 });
    await new Promise((r) => setTimeout(r, 1100));
    const text = await metrics();
    expect(metricValue(text, 'cdr_queue_jobs', { state: 'paused' })).toBe(1);
    expect(metricValue(text, 'cdr_queue_oldest_waiting_seconds')).toBeGreaterThan(0);
    const resumed = await call<{ isPaused: boolean }>(url, 'POST', '/admin/queues/process/resume', { token: tokens.operatorAll });
    expect(resumed.body.isPaused).toBe(false);
    expect((await waitForFinal(url, waiting)).state).toBe('stored');
    const audit = await te.engine.db.query<{ action: string }>(`SELECT action FROM audit_log WHERE action LIKE 'queue.%' ORDER BY id`);
    expect(audit.rows.map((r) => r.action)).toEqual(['queue.pause', 'queue.resume']);
  });

  test('plugins and partitions are scoped to the Enti of the token', async () => {
    const plugins = await call<Page<{ id: string; status: string; ente: string }>>(url, 'GET', '/admin/plugins', { token: tokens.operatorA });
    // Exactly the tree's plugins of Ente 030901 (the reference ADT and LIS plugins), none of another Ente.
    const enteA = readdirSync(tree.pluginsDir).filter((id) => (JSON.parse(readFileSync(path.join(tree.pluginsDir, id, 'plugin.json'), 'utf8')) as { ente: string }).ente === '030901');
    expect(plugins.body.items.map((p) => p.id).sort()).toEqual(enteA.sort());
    expect(plugins.body.items.every((p) => p.ente === '030901')).toBe(true);
    expect(plugins.body.items.find((p) => p.id === PLUGIN)!.status).toBe('active');
    const allPlugins = await call<Page<{ id: string }>>(url, 'GET', '/admin/plugins');
    // Without a token scope (admin) every plugin of the tree is listed: the repository's and the test's own.
    expect(allPlugins.body.items.map((p) => p.id).sort()).toEqual(readdirSync(tree.pluginsDir).sort());
    expect(allPlugins.body.items.map((p) => p.id)).toEqual(expect.arrayContaining([OTHER_PLUGIN, PLUGIN]));

    const partitions = await call<Page<{ code: string; resources: Record<string, number>; bytes: number; lastWrite: string | null; inboxCount: number }>>(url, 'GET', '/admin/partitions', { token: tokens.operatorA });
    expect(partitions.body.items.map((p) => p.code)).toEqual(['030901']);
    const a = partitions.body.items[0]!;
    expect(a.resources).toMatchObject({ Patient: 1, Encounter: 5, Location: 1 });
    expect(a.bytes).toBeGreaterThan(0);
    expect(a.lastWrite).not.toBeNull();
    expect(a.inboxCount).toBeGreaterThanOrEqual(6);
    const every = await call<Page<{ code: string; resourceCount: number }>>(url, 'GET', '/admin/partitions');
    expect(every.body.items.map((p) => p.code)).toEqual(['030901', '030902', '030903']);
    expect(every.body.items.find((p) => p.code === '030902')!.resourceCount).toBe(0);
  });
});
