import { readFileSync } from 'node:fs';
import path from 'node:path';
import { loadSettings, REPO_ROOT } from '../../core/config/index.ts';
import { StorageUnavailableError } from '../../core/common/errors.ts';
import { createLogger } from '../../core/common/logger.ts';
import { MessageProcessor, type ProcessInput, type ProcessResult } from '../../core/pipeline/index.ts';
import { jobMessages, MAX_MESSAGES_PER_JOB, ProcessingWorker, Reconciler, workerConnection, type OutcomeEvent } from '../../core/queue/index.ts';
import { InboxRepository } from '../../core/storage/index.ts';
import { postMessage, startTestEngine, TEST_ADMIN_TOKEN, testRedisUrl, waitForFinal, type TestEngine } from '../support/engine.ts';

/**
 * The messages one ingest flush accepts travel as one job (up to MAX_MESSAGES_PER_JOB): Redis and
 * BullMQ work is paid per flush, not per message. What must still hold per message: each is stored
 * or dead-lettered once, a transient failure of one retries its job without storing the others
 * twice, the reconciler does not enqueue again what a batch job still holds, and the admin view
 * still sees a message's job.
 */
const PLUGIN = 'asst-demo-nord-adt';
const sample = readFileSync(path.join(REPO_ROOT, 'plugins', PLUGIN, 'samples', 'adt-a01.hl7'), 'utf8');
const withControlId = (controlId: string) => sample.replace(/\|(MSG-[A-Z0-9-]+)\|P\|/, `|${controlId}|P|`);
/** An HL7 batch: its messages are accepted in one inbox flush, so they are enqueued together. */
const hl7Batch = (prefix: string, count: number) =>
  `FHS|^~\\&|ADT_DEMO\rBHS|^~\\&|ADT_DEMO\r${Array.from({ length: count }, (_, i) => withControlId(`${prefix}-${i}`)).join('')}BTS|${count}\rFTS|1\r`;

type Processor = (input: ProcessInput) => Promise<ProcessResult>;

describe('one job per ingest flush', () => {
  let t: TestEngine;
  let processor: MessageProcessor;
  const logger = createLogger('test', 'silent');
  const workers: ProcessingWorker[] = [];
  const connections: Array<ReturnType<typeof workerConnection>> = [];

  beforeAll(async () => {
    const base = loadSettings();
    // API role: nothing consumes the queue until a test starts its own worker.
    t = await startTestEngine(
      'postgres',
      { config: { ...base.config, queue: { ...base.config.queue, attempts: 3, backoffDelayMs: 100, backoffMaxDelayMs: 200 } } },
      { role: 'api', validator: null },
    );
    processor = new MessageProcessor({ plugins: t.engine.plugins, logger });
  });
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.close()));
    for (const c of connections.splice(0)) c.disconnect();
  });
  afterAll(async () => t.cleanup());

  function startWorker(process: Processor, events: OutcomeEvent[] = []): ProcessingWorker {
    const connection = workerConnection(testRedisUrl());
    connections.push(connection);
    const worker = new ProcessingWorker({
      connection, prefix: t.settings.queuePrefix, concurrency: 4,
      policy: t.engine.queue.retryPolicy, db: t.engine.db, processor: { process } as MessageProcessor, logger, batchMaxItems: 200,
      onOutcome: (event) => events.push(event),
    });
    workers.push(worker);
    worker.start();
    return worker;
  }

  const waitingJobs = () => t.engine.queue.queue.getJobs(['waiting']);

  async function postBatch(prefix: string, count: number): Promise<string[]> {
    const posted = await postMessage(t.url, PLUGIN, hl7Batch(prefix, count));
    expect(posted.status).toBe(202);
    return posted.body.messageIds as string[];
  }

  test(`a flush of 40 messages is two jobs (${MAX_MESSAGES_PER_JOB} + 8), and every message is stored once`, async () => {
    const ids = await postBatch('JOBS', 40);
    const jobs = await waitingJobs();
    expect(jobs.map((j) => jobMessages(j.data).length).sort((a, b) => a - b)).toEqual([8, MAX_MESSAGES_PER_JOB]);
    expect(jobs.flatMap((j) => jobMessages(j.data).map((m) => m.messageId)).sort()).toEqual([...ids].sort());

    const events: OutcomeEvent[] = [];
    startWorker((input) => processor.process(input), events);
    for (const id of ids) expect((await waitForFinal(t.url, id)).state).toBe('stored');
    expect(events.filter((e) => e.outcome.kind === 'stored').map((e) => e.job.messageId).sort()).toEqual([...ids].sort());
  });

  test('a transient failure of one message retries its job; the others are skipped, not stored again', async () => {
    const ids = await postBatch('RETRY', 5);
    const flaky = ids[2]!;
    let failures = 0;
    const events: OutcomeEvent[] = [];
    startWorker(async (input) => {
      if (input.messageId === flaky && failures++ === 0) throw new StorageUnavailableError('database away for a moment');
      return processor.process(input);
    }, events);
    for (const id of ids) expect((await waitForFinal(t.url, id)).state).toBe('stored');
    expect(failures).toBe(2);
    const outcomes = (id: string) => events.filter((e) => e.job.messageId === id).map((e) => e.outcome.kind);
    expect(outcomes(flaky)).toEqual(['stored']);
    for (const id of ids.filter((i) => i !== flaky)) expect(outcomes(id)).toEqual(['stored', 'skipped']);
    const attempts = await t.engine.db.query<{ attempts: number }>('SELECT attempts FROM inbox WHERE message_id = $1::uuid', [flaky]);
    expect(attempts.rows[0]!.attempts).toBe(2);
  });

  test('on the last attempt only the failing message is dead-lettered, with the reason', async () => {
    const ids = await postBatch('GIVEUP', 3);
    const broken = ids[1]!;
    startWorker(async (input) => {
      if (input.messageId === broken) throw new StorageUnavailableError('database away for good');
      return processor.process(input);
    });
    const final = await waitForFinal(t.url, broken, 20_000);
    expect(final.state).toBe('dead-lettered');
    for (const id of ids.filter((i) => i !== broken)) expect((await waitForFinal(t.url, id)).state).toBe('stored');
    const letter = await t.engine.db.query<{ reason: string; attempts: number }>('SELECT reason, attempts FROM dead_letter WHERE message_id = $1::uuid', [broken]);
    expect(letter.rows).toHaveLength(1);
    expect(letter.rows[0]!.reason).toBe('gave up after 3 attempts: database away for good');
  });

  test('the reconciler leaves messages in a waiting batch job alone, and re-enqueues them once the job is lost', async () => {
    const ids = await postBatch('RECONCILE', 6);
    const reconciler = new Reconciler({ inbox: new InboxRepository(t.engine.db), queue: t.engine.queue, logger, olderThanMs: 1, intervalMs: 3_600_000 });
    await new Promise((r) => setTimeout(r, 20));
    expect(await reconciler.runOnce()).toBe(0);
    expect(await waitingJobs()).toHaveLength(1);

    // Redis loses the job: each message gets its own job again, its id the message id.
    await t.engine.queue.queue.drain();
    expect(await reconciler.runOnce()).toBe(6);
    const jobs = await waitingJobs();
    expect(jobs.map((j) => j.id).sort()).toEqual([...ids].sort());
    expect(await reconciler.runOnce()).toBe(0);
    startWorker((input) => processor.process(input));
    for (const id of ids) expect((await waitForFinal(t.url, id)).state).toBe('stored');
  });

  test("the admin view sees a message's batch job while it runs", async () => {
    const ids = await postBatch('ACTIVE', 3);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    startWorker(async (input) => {
      if (input.messageId === ids[0]) await gate;
      return processor.process(input);
    });
    let state: string | undefined;
    for (let i = 0; i < 100 && state !== 'active'; i++) {
      state = await t.engine.queue.jobState(ids[0]!);
      if (state !== 'active') await new Promise((r) => setTimeout(r, 50));
    }
    expect(state).toBe('active');
    const view = await fetch(`${t.url}/messages/${ids[0]}`, { headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` } });
    expect(((await view.json()) as { state: string }).state).toBe('processing');
    release();
    for (const id of ids) expect((await waitForFinal(t.url, id)).state).toBe('stored');
  });

  test('a job enqueued before batch jobs (one key inline) is still processed', async () => {
    const posted = await postMessage(t.url, PLUGIN, withControlId('LEGACY-1'));
    const id = posted.body.messageId as string;
    await t.engine.queue.queue.drain();
    const message = (await new InboxRepository(t.engine.db).getMany([{ ente: '030901', messageId: id }]))[0]!;
    const legacy = { ente: message.ente, messageId: message.messageId, pluginId: message.pluginId };
    await t.engine.queue.queue.add('message', legacy as never, { jobId: message.messageId });
    startWorker((input) => processor.process(input));
    expect((await waitForFinal(t.url, id)).state).toBe('stored');
  });
});
