import { newMessageId } from '../../core/common/ids.ts';
import { DeadLetterRepository, InboxRepository, ResourceStore, partitionName, type FhirResource, type StoreRequest } from '../../core/storage/index.ts';
import { openTestDb, STORAGE_KINDS, type TestDb } from '../support/storage.ts';

const ENTE = '030901';

function patient(id: string, family: string): FhirResource {
  return { resourceType: 'Patient', id, name: [{ family }] };
}

async function accept(inbox: InboxRepository, raw = `MSH|^~\\&|X|${Math.random()}`): Promise<string> {
  const messageId = newMessageId();
  const [result] = await inbox.acceptBatch([{ ente: ENTE, messageId, pluginId: 'p', channel: 'http', raw: Buffer.from(raw), dedupKey: raw }]);
  return result!.messageId;
}

function request(messageId: string, resources: FhirResource[], sourceTime: Date | null = null): StoreRequest {
  return { ente: ENTE, messageId, producerHash: 'h1', sourceTime, resources, trail: [], attempts: 1 };
}

describe.each(STORAGE_KINDS)('storage on %s', (kind) => {
  let t: TestDb;
  let inbox: InboxRepository;
  let store: ResourceStore;

  beforeAll(async () => {
    t = await openTestDb(kind);
    inbox = new InboxRepository(t.db);
    store = new ResourceStore(t.db);
  });
  afterAll(async () => t.cleanup());

  test('the inbox keeps raw bytes exactly and returns the original id for an identical redelivery', async () => {
    const raw = Buffer.from([0x4d, 0x53, 0x48, 0xe8, 0x00, 0xff]);
    const first = newMessageId();
    const second = newMessageId();
    const results = await inbox.acceptBatch([
      { ente: ENTE, messageId: first, pluginId: 'p', channel: 'http', raw, dedupKey: 'ctl-1#abc' },
      { ente: ENTE, messageId: second, pluginId: 'p', channel: 'mllp', raw, dedupKey: 'ctl-1#abc' },
    ]);
    expect(results).toEqual([{ messageId: first, duplicate: false }, { messageId: first, duplicate: true }]);
    const stored = await inbox.get(first);
    expect(stored?.raw.equals(raw)).toBe(true);
    expect(stored?.state).toBe('received');
    expect(await inbox.get(second)).toBeUndefined();
    const rows = await t.db.query(`SELECT count(*)::int AS n FROM ${partitionName('inbox', ENTE)} WHERE message_id = $1::uuid`, [first]);
    expect(rows.rows[0]!.n).toBe(1);
  });

  test('concurrent writers of one resource: each version is written once, none is lost, history holds every earlier one', async () => {
    // Six batches race to create, then to update, the same Patient; the store's version guards make
    // the losers read again and write on top of the winner (no lock waits, no lost update).
    const writers = Array.from({ length: 6 }, () => new ResourceStore(t.db));
    const results = await Promise.all(writers.map(async (writer, i) => {
      const messageId = await accept(inbox);
      const [result] = await writer.storeBatch([request(messageId, [patient('p-race', `RACE-${i}`)])]);
      return result!.resources[0]!;
    }));
    expect(results.map((r) => r.versionId).sort((a, b) => Number(a) - Number(b))).toEqual(['1', '2', '3', '4', '5', '6']);
    expect(results.filter((r) => r.outcome === 'created')).toHaveLength(1);
    const current = await store.read(ENTE, 'Patient', 'p-race');
    expect(current?.versionId).toBe(6);
    const history = await store.history(ENTE, 'Patient', 'p-race');
    expect(history.map((h) => h.versionId)).toEqual([5, 4, 3, 2, 1]);
    // Every family name written is in exactly one version.
    const families = [current!, ...history].map((v) => (v.resource.name as Array<{ family: string }>)[0]!.family).sort();
    expect(families).toEqual(['RACE-0', 'RACE-1', 'RACE-2', 'RACE-3', 'RACE-4', 'RACE-5']);
  });

  test('create, update and unchanged versions; the previous version moves to history', async () => {
    const m1 = await accept(inbox);
    const [r1] = await store.storeBatch([request(m1, [patient('p1', 'ROSSI')], new Date('2024-01-01T10:00:00Z'))]);
    expect(r1!.resources).toEqual([{ resourceType: 'Patient', id: 'p1', versionId: '1', outcome: 'created' }]);

    const m2 = await accept(inbox);
    const [r2] = await store.storeBatch([request(m2, [patient('p1', 'ROSSI-BIANCHI')], new Date('2024-01-02T10:00:00Z'))]);
    expect(r2!.resources[0]).toMatchObject({ versionId: '2', outcome: 'updated' });

    const m3 = await accept(inbox);
    const [r3] = await store.storeBatch([request(m3, [patient('p1', 'ROSSI-BIANCHI')], new Date('2024-01-03T10:00:00Z'))]);
    expect(r3!.resources[0]).toMatchObject({ versionId: '2', outcome: 'unchanged' });

    const current = await store.read(ENTE, 'Patient', 'p1');
    expect(current?.versionId).toBe(2);
    expect(current?.resource.meta?.versionId).toBe('2');
    expect((current?.resource.name as Array<{ family: string }>)[0]!.family).toBe('ROSSI-BIANCHI');
    const history = await store.history(ENTE, 'Patient', 'p1');
    expect(history.map((h) => h.versionId)).toEqual([1]);
    expect((history[0]!.resource.name as Array<{ family: string }>)[0]!.family).toBe('ROSSI');
    // The row lives in the Ente's partition table itself.
    const inPartition = await t.db.query(`SELECT version_id FROM ${partitionName('resource', ENTE)} WHERE id = 'p1'`);
    expect(inPartition.rows).toEqual([{ version_id: 2 }]);
    expect((await inbox.get(m2))?.state).toBe('stored');
    expect((await inbox.get(m2))?.resources).toEqual(r2!.resources);
  });

  test('an older message never overwrites newer data and is kept in history', async () => {
    const m1 = await accept(inbox);
    await store.storeBatch([request(m1, [patient('p2', 'NEW')], new Date('2024-05-01T10:00:00Z'))]);
    const m2 = await accept(inbox);
    const [late] = await store.storeBatch([request(m2, [patient('p2', 'OLD')], new Date('2024-04-01T10:00:00Z'))]);
    expect(late!.resources[0]).toMatchObject({ outcome: 'out-of-order', versionId: '2' });
    const current = await store.read(ENTE, 'Patient', 'p2');
    expect(current?.versionId).toBe(1);
    expect((current?.resource.name as Array<{ family: string }>)[0]!.family).toBe('NEW');
    const m3 = await accept(inbox);
    const [next] = await store.storeBatch([request(m3, [patient('p2', 'NEWER')], new Date('2024-06-01T10:00:00Z'))]);
    expect(next!.resources[0]).toMatchObject({ outcome: 'updated', versionId: '3' });
    const versions = (await store.history(ENTE, 'Patient', 'p2')).map((h) => h.versionId);
    expect(versions).toEqual([2, 1]);
    const trail = (await inbox.get(m2))!.trail;
    expect(trail.at(-1)?.warnings?.[0]).toMatch(/older than the stored version/);
  });

  test('a conditional create writes a resource only when it is absent', async () => {
    const m1 = await accept(inbox);
    const [first] = await store.storeBatch([{ ...request(m1, [patient('p4', 'FROM-DOCUMENT')]), createIfAbsent: [true] }]);
    expect(first!.resources[0]).toMatchObject({ versionId: '1', outcome: 'created' });
    const m2 = await accept(inbox);
    await store.storeBatch([request(m2, [patient('p4', 'FROM-ADT')])]);
    const m3 = await accept(inbox);
    const [kept] = await store.storeBatch([{ ...request(m3, [patient('p4', 'FROM-ANOTHER-DOCUMENT')]), createIfAbsent: [true] }]);
    expect(kept!.resources[0]).toMatchObject({ versionId: '2', outcome: 'kept' });
    const current = await store.read(ENTE, 'Patient', 'p4');
    expect((current?.resource.name as Array<{ family: string }>)[0]!.family).toBe('FROM-ADT');
  });

  test('two updates of one resource in one batch keep every version', async () => {
    const a = await accept(inbox);
    const b = await accept(inbox);
    const results = await store.storeBatch([request(a, [patient('p3', 'A')]), request(b, [patient('p3', 'B')])]);
    expect(results.map((r) => r.resources[0]!.versionId)).toEqual(['1', '2']);
    expect((await store.history(ENTE, 'Patient', 'p3')).map((h) => h.versionId)).toEqual([1]);
  });

  test('dead letters mark the inbox row and page with a cursor', async () => {
    const repo = new DeadLetterRepository(t.db);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const messageId = await accept(inbox);
      ids.push(messageId);
      await repo.record({ ente: ENTE, messageId, pluginId: 'p', stage: 'parse', errorCode: 'PARSE_NOT_HL7', reason: 'not HL7', attempts: 1, trail: [] });
    }
    expect((await inbox.get(ids[0]!))?.state).toBe('dead-lettered');
    const page1 = await repo.list({ pluginId: 'p' }, 2);
    expect(page1.items).toHaveLength(2);
    expect(page1.next).not.toBeNull();
    const page2 = await repo.list({ pluginId: 'p' }, 2, page1.next!);
    expect(page2.items).toHaveLength(1);
    expect(page2.next).toBeNull();
    expect(new Set([...page1.items, ...page2.items].map((d) => d.messageId))).toEqual(new Set(ids));
  });
});

describe('dead-letter paging keeps microsecond order', () => {
  test('rows created within the same millisecond are neither skipped nor repeated', async () => {
    const t = await openTestDb('postgres');
    try {
      const inbox = new InboxRepository(t.db);
      const repo = new DeadLetterRepository(t.db);
      const ids: string[] = [];
      for (let i = 0; i < 6; i++) ids.push(await accept(inbox));
      // One statement: all six share the transaction's timestamp except for microseconds added on purpose.
      await t.db.query(
        `INSERT INTO dead_letter (id, ente, message_id, plugin_id, stage, error_code, reason, attempts, created_at)
         SELECT gen_random_uuid(), '${ENTE}', m, 'same-ms', 'parse', 'X', 'r', 1, timestamptz '2024-01-01 10:00:00.123' + (n * interval '1 microsecond')
         FROM unnest($1::uuid[]) WITH ORDINALITY AS x(m, n)`,
        [ids],
      );
      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await repo.list({ pluginId: 'same-ms' }, 2, cursor);
        seen.push(...page.items.map((d) => d.messageId));
        cursor = page.next ?? undefined;
      } while (cursor);
      expect(seen.sort()).toEqual([...ids].sort());
    } finally {
      await t.cleanup();
    }
  });
});
