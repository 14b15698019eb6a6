import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../../core/config/index.ts';
import { postMessage, startTestEngine, waitForFinal, type TestEngine } from '../support/engine.ts';
import { msa, RawMllpClient } from '../support/mllp-client.ts';

const PLUGIN = 'asst-demo-nord-adt';
const SHARED = process.env.CDR_SHARED_DIR ?? path.resolve(REPO_ROOT, '..', 'shared');
/** nHapi's fuzzer-found bad inputs are MPL-2.0: read from ../shared when present, never copied. */
const NHAPI_BAD_INPUTS = path.join(SHARED, 'corpus', 'hl7v2', 'nhapi', 'BadInputs');

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? filesUnder(full) : [full];
  });
}

const sample = readFileSync(path.join(REPO_ROOT, 'plugins', PLUGIN, 'samples', 'adt-a01.hl7'), 'utf8');

/** Our own bad inputs: each must be accepted and end dead-lettered (or stored when it is in fact readable). */
const OWN_CASES: Array<{ name: string; body: Buffer; expect: 'dead-lettered' | 'stored'; stage?: string; code?: RegExp }> = [
  { name: 'truncated MSH', body: Buffer.from('MSH|^~\\&|ADT_DEMO|ASST_DEMO_NORD|CDR'), expect: 'dead-lettered', stage: 'parse', code: /PARSE_NO_MESSAGE_TYPE/ },
  { name: 'wrong delimiters', body: Buffer.from(sample.replace('MSH|^~\\&|', 'MSH|^^\\&|').replace('MSG-A01-0001', 'BAD-DELIM')), expect: 'dead-lettered', stage: 'parse', code: /PARSE_BAD_DELIMITERS/ },
  { name: 'binary garbage', body: Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256)), expect: 'dead-lettered', stage: 'parse' },
  {
    name: 'invalid UTF-8 under MSH-18 = UNICODE UTF-8',
    body: Buffer.concat([Buffer.from(sample.replace('MSG-A01-0001', 'BAD-UTF8').replace('ROSSI^MARIO', 'ROSSI^NICCOL')), Buffer.from([0xf2, 0x0d])]),
    expect: 'dead-lettered', stage: 'parse', code: /PARSE_INVALID_ENCODING/,
  },
  { name: 'segment that is not a segment', body: Buffer.from(`${sample.replace('MSG-A01-0001', 'BAD-SEG')}this line is not HL7\r`), expect: 'dead-lettered', stage: 'parse', code: /PARSE_BAD_SEGMENT/ },
  {
    name: 'a 10 MB message (a huge Z-segment)',
    body: Buffer.from(`${sample.replace('MSG-A01-0001', 'BIG-10MB')}ZXX|1|${'A'.repeat(10 * 1024 * 1024)}\r`),
    expect: 'stored',
  },
];

describe('bad inputs never crash the engine and end dead-lettered with a readable reason', () => {
  let t: TestEngine;
  beforeAll(async () => {
    t = await startTestEngine('postgres', {}, { mllpPort: 'auto' });
  });
  afterAll(async () => t.cleanup());

  test.each(OWN_CASES.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const posted = await postMessage(t.url, PLUGIN, c.body);
    expect(posted.status).toBe(202);
    const trail = await waitForFinal(t.url, posted.body.messageId as string, 60_000);
    expect(trail.state).toBe(c.expect);
    if (c.expect === 'dead-lettered') {
      expect(trail.deadLetter?.stage).toBe(c.stage);
      if (c.code) expect(trail.deadLetter?.code).toMatch(c.code);
      expect(trail.deadLetter?.reason.length).toBeGreaterThan(10);
      expect(trail.deadLetter!.reason.length).toBeLessThan(1000);
    }
  });

  test("nHapi's fuzzer-found BadInputs (read from ../shared when present)", async () => {
    const files = filesUnder(NHAPI_BAD_INPUTS);
    if (files.length === 0) {
      process.stdout.write(`\n[bad-inputs] ${NHAPI_BAD_INPUTS} is absent: nHapi BadInputs skipped\n`);
      return;
    }
    const outcomes: Record<string, number> = {};
    for (const file of files) {
      const posted = await postMessage(t.url, PLUGIN, readFileSync(file));
      if (posted.status === 400) {
        // Nothing but whitespace: refused at the door, nothing accepted.
        expect(posted.body.code).toBe('RECEIVE_EMPTY');
        outcomes.refused = (outcomes.refused ?? 0) + 1;
        continue;
      }
      expect(posted.status).toBe(202);
      const trail = await waitForFinal(t.url, posted.body.messageId as string, 60_000);
      expect(['stored', 'dead-lettered']).toContain(trail.state);
      if (trail.state === 'dead-lettered') expect(trail.deadLetter?.reason).toMatch(/\w{3,}/);
      const key = trail.state === 'stored' ? 'stored' : `dead-lettered at ${trail.deadLetter?.stage} (${trail.deadLetter?.code})`;
      outcomes[key] = (outcomes[key] ?? 0) + 1;
    }
    process.stdout.write(`\n[bad-inputs] nHapi BadInputs, ${files.length} files: ${JSON.stringify(outcomes)}\n`);
    expect((await fetch(`${t.url}/health/ready`)).status).toBe(200);
  });

  test('over MLLP: an empty frame and garbage are answered AR and kept; the listener keeps serving', async () => {
    const client = await RawMllpClient.connect(t.engine.mllpPort!);
    try {
      expect(msa(await client.send('')).code).toBe('AR');
      expect(msa(await client.send(Buffer.from([0xde, 0xad, 0xbe, 0xef]))).code).toBe('AR');
      expect(msa(await client.send(sample.replace('MSG-A01-0001', 'AFTER-BAD'))).code).toBe('CA');
    } finally {
      client.close();
    }
  });
});
