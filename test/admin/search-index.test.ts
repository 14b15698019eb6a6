import { randomUUID } from 'node:crypto';
import { searchMessages } from '../../core/admin/message-search.ts';
import { InboxRepository, ResourceStore } from '../../core/storage/index.ts';
import { openTestDb, STORAGE_KINDS, type TestDb } from '../support/storage.ts';

const CF = 'http://hl7.it/sid/codiceFiscale';

describe.each(STORAGE_KINDS)('message search indexes (%s)', (kind) => {
  let t: TestDb;
  beforeAll(async () => {
    t = await openTestDb(kind);
  });
  afterAll(async () => {
    await t?.cleanup();
  });

  test('patient identifiers are indexed in the store transaction, also when the Patient is unchanged; paging is exact', async () => {
    const inbox = new InboxRepository(t.db);
    const store = new ResourceStore(t.db);
    const ids = Array.from({ length: 5 }, () => randomUUID());
    await inbox.acceptBatch(ids.map((messageId, i) => ({
      ente: '030901', messageId, pluginId: 'p', channel: 'http' as const, raw: Buffer.from(`MSG ${i}`), dedupKey: `d${i}`, controlId: `CTRL-${i}`,
    })));
    const patient = (cf: string) => ({
      resourceType: 'Patient', id: `pat-${cf}`,
      identifier: [{ system: CF, value: cf }, { system: 'urn:oid:2.16.840.1.113883.2.9.2.30901.4.1', value: `L-${cf}` }, { value: 'no-system' }],
    });
    // Messages 0-2 name the same patient (1 and 2 leave it unchanged), 3 another one, 4 none.
    await store.storeBatch(ids.map((messageId, i) => ({
      ente: '030901', messageId, producerHash: 'h', sourceTime: null, attempts: 1, trail: [],
      resources: i < 3 ? [patient('RSSMRA80A01H501U')] : i === 3 ? [patient('BNCGNN75D15F205K')] : [{ resourceType: 'Encounter', id: `enc-${i}` }],
    })));
    const rows = await t.db.query<{ n: string }>('SELECT count(*) AS n FROM message_patient');
    expect(Number(rows.rows[0]!.n)).toBe(8);

    const rossi = await searchMessages(t.db, { patientIdentifier: { system: CF, value: 'RSSMRA80A01H501U' } }, 50);
    expect(rossi.items.map((m) => m.messageId).sort()).toEqual(ids.slice(0, 3).sort());
    expect((await searchMessages(t.db, { patientIdentifier: { system: CF, value: 'BNCGNN75D15F205K' } }, 50)).items.map((m) => m.messageId)).toEqual([ids[3]]);
    expect((await searchMessages(t.db, { patientIdentifier: { system: CF, value: 'BNCGNN75D15F205K' }, enti: ['030902'] }, 50)).items).toEqual([]);

    // All five share one received_at (one batch insert): the cursor's tie-breaker keeps paging exact.
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await searchMessages(t.db, { pluginId: 'p' }, 2, cursor);
      seen.push(...page.items.map((m) => m.messageId));
      cursor = page.next ?? undefined;
    } while (cursor);
    expect(seen.sort()).toEqual([...ids].sort());
    expect((await searchMessages(t.db, { documentId: 'CTRL-' }, 50)).items).toHaveLength(5);
    expect((await searchMessages(t.db, { documentId: 'CTRL_%' }, 50)).items).toHaveLength(0);
    expect((await searchMessages(t.db, { controlId: 'CTRL-3', state: 'stored' }, 50)).items.map((m) => m.messageId)).toEqual([ids[3]]);
  });
});
