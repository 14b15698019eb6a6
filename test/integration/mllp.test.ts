import { readFileSync } from 'node:fs';
import path from 'node:path';
import { HL7Message } from 'hl7v2';
import { Hl7Client } from 'hl7v2-net';
import { REPO_ROOT } from '../../core/config/index.ts';
import { startTestEngine, waitForFinal, type TestEngine } from '../support/engine.ts';
import { msa, RawMllpClient } from '../support/mllp-client.ts';

const sample = readFileSync(path.join(REPO_ROOT, 'plugins/asst-demo-nord-adt/samples/adt-a01.hl7'), 'utf8');
const withControlId = (id: string, text = sample) => text.replace('MSG-A01-0001', id);

async function deadLetterFor(t: TestEngine, messageId: string) {
  const rows = await t.engine.db.query<{ stage: string; error_code: string; reason: string }>(
    'SELECT stage, error_code, reason FROM dead_letter WHERE message_id = $1::uuid', [messageId],
  );
  return rows.rows[0];
}

async function messageIdByRaw(t: TestEngine, raw: Buffer): Promise<string | undefined> {
  const rows = await t.engine.db.query<{ message_id: string }>('SELECT message_id FROM inbox WHERE raw = $1', [raw]);
  return rows.rows[0]?.message_id;
}

describe('MLLP listener', () => {
  let t: TestEngine;
  let port: number;
  beforeAll(async () => {
    t = await startTestEngine('postgres', {}, { mllpPort: 'auto' });
    port = t.engine.mllpPort!;
  });
  afterAll(async () => t.cleanup());

  test('a message from hl7v2-net\'s client is acknowledged (CA: the sample asks for enhanced mode) after the inbox commit and stored', async () => {
    const client = Hl7Client.createClient({ host: '127.0.0.1', port });
    await client.connect();
    try {
      const message = HL7Message.parse(withControlId('MLLP-0001'));
      const ack = await client.sendMessageWaitAck(message);
      const ackText = ack.toHL7String();
      expect(msa(ackText)).toMatchObject({ code: 'CA', controlId: 'MLLP-0001' });
    } finally {
      await client.close();
    }
    const stored = await t.engine.db.query<{ message_id: string; channel: string }>(`SELECT message_id, channel FROM inbox WHERE control_id = 'MLLP-0001'`);
    expect(stored.rows).toHaveLength(1);
    expect(stored.rows[0]!.channel).toBe('mllp');
    expect((await waitForFinal(t.url, stored.rows[0]!.message_id)).state).toBe('stored');
  });

  test('enhanced mode (MSH-15 = AL) is answered with a commit acknowledgment CA', async () => {
    const client = await RawMllpClient.connect(port);
    try {
      // The sample has MSH-15 = AL and MSH-16 = NE.
      const ack = await client.send(withControlId('MLLP-ENH'));
      expect(msa(ack).code).toBe('CA');
      const original = withControlId('MLLP-ORIG').replace('|AL|NE||', '|||');
      expect(msa(await client.send(original)).code).toBe('AA');
    } finally {
      client.close();
    }
  });

  test('an unknown sender is rejected with AR and an ERR segment, and its bytes are kept as a dead letter', async () => {
    const client = await RawMllpClient.connect(port);
    try {
      const text = withControlId('MLLP-UNKNOWN').replace('ADT_DEMO|ASST_DEMO_NORD', 'OTHER_APP|OTHER_HOSPITAL').replace('|AL|NE||', '|||');
      const ack = await client.send(text);
      expect(msa(ack).code).toBe('AR');
      expect(ack).toMatch(/\rERR\|/);
      expect(msa(ack).text).toMatch(/no plugin accepts messages from sending application "OTHER_APP"/);
      const id = await messageIdByRaw(t, Buffer.from(text));
      expect(id).toBeDefined();
      expect(await deadLetterFor(t, id!)).toMatchObject({ stage: 'route', error_code: 'ROUTE_NO_PLUGIN' });
    } finally {
      client.close();
    }
  });

  test('an empty frame and binary garbage are rejected, kept and dead-lettered with a readable reason', async () => {
    const client = await RawMllpClient.connect(port);
    try {
      const emptyAck = await client.send('');
      expect(msa(emptyAck).code).toBe('AR');
      const empty = await messageIdByRaw(t, Buffer.alloc(0));
      expect(await deadLetterFor(t, empty!)).toMatchObject({ stage: 'receive', error_code: 'RECEIVE_EMPTY_FRAME' });

      const garbage = Buffer.from([0x00, 0xff, 0x13, 0x37, 0x42, 0x00, 0x99]);
      const garbageAck = await client.send(garbage);
      expect(msa(garbageAck).code).toBe('AR');
      const id = await messageIdByRaw(t, garbage);
      expect(await deadLetterFor(t, id!)).toMatchObject({ stage: 'parse', error_code: 'PARSE_NO_MSH' });
    } finally {
      client.close();
    }
  });

  test('many concurrent connections are served while a half-open client stalls', async () => {
    const stalled = await RawMllpClient.connect(port);
    stalled.writeRaw(Buffer.from('\x0bMSH|^~\\&|ADT_DEMO|ASST_DEMO_NORD|'));
    const connections = 20;
    const perConnection = 5;
    const results = await Promise.all(
      Array.from({ length: connections }, async (_, c) => {
        const client = await RawMllpClient.connect(port);
        const codes: string[] = [];
        try {
          for (let m = 0; m < perConnection; m++) codes.push(msa(await client.send(withControlId(`MLLP-C${c}-M${m}`))).code);
        } finally {
          client.close();
        }
        return codes;
      }),
    );
    expect(results.flat()).toEqual(Array(connections * perConnection).fill('CA'));
    stalled.close();
    const accepted = await t.engine.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM inbox WHERE control_id LIKE 'MLLP-C%'`);
    expect(accepted.rows[0]!.n).toBe(connections * perConnection);
  });

  test('a frame over the size limit is refused and the connection closed', async () => {
    const small = await startTestEngine('postgres', { config: { ...t.settings.config, ingest: { maxBodyBytes: 2048 } } }, { mllpPort: 'auto' });
    try {
      const client = await RawMllpClient.connect(small.engine.mllpPort!);
      const ack = await client.send(`${withControlId('MLLP-BIG')}NTE|1||${'x'.repeat(5000)}\r`);
      expect(msa(ack).code).toBe('AR');
      expect(msa(ack).text).toMatch(/larger than the limit/);
      client.close();
    } finally {
      await small.cleanup();
    }
  });
});
