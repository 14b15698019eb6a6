import { randomBytes } from 'node:crypto';
import { PostgresDb, migrate, registerEnti } from '../../core/storage/index.ts';
import { readConfigFile, REPO_ROOT } from '../../core/config/index.ts';
import path from 'node:path';
import { testDatabaseUrl, uniqueSchema } from '../support/storage.ts';
import { writeTestConfig } from '../support/processes.ts';
import { syntheticAdt } from '../support/synthetic.ts';

export const PLUGIN = 'asst-demo-nord-adt';
export const ADMIN_TOKEN = 'fault-test-token';

/** Recovery knobs shortened so a killed worker's jobs and lost Redis data are recovered within seconds. */
export function fastRecoveryConfig(): string {
  return writeTestConfig((config) => {
    config.queue.attempts = 12;
    config.queue.backoffDelayMs = 300;
    config.queue.backoffMaxDelayMs = 3000;
    config.queue.lockDurationMs = 4000;
    config.queue.stalledIntervalMs = 2000;
    config.queue.reconcileIntervalMs = 1500;
    config.queue.reconcileOlderThanMs = 3000;
  });
}

export interface FaultSchema {
  schema: string;
  db: PostgresDb;
  prefix: string;
  drop: () => Promise<void>;
}

export async function prepareSchema(): Promise<FaultSchema> {
  const schema = uniqueSchema();
  const db = new PostgresDb({ connectionString: testDatabaseUrl(), schema, poolSize: 2 });
  await migrate(db, schema);
  await registerEnti(db, readConfigFile(path.join(REPO_ROOT, 'config', 'default.json')).enti);
  return {
    schema,
    db,
    prefix: `cdrfault-${randomBytes(4).toString('hex')}`,
    drop: async () => {
      await db.exec(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => undefined);
      await db.close();
    },
  };
}

/** Message i of a run: mostly distinct admissions; every 20th a type no route takes (it must be dead-lettered). */
export function runMessage(run: string, i: number): string {
  const adt = syntheticAdt(i, { controlId: `${run}-${i}` });
  return i % 20 === 19 ? adt.replace('ADT^A01^ADT_A01', 'ADT^A05^ADT_A05') : adt;
}

export async function postAll(baseUrl: string, messages: string[], concurrency = 16): Promise<string[]> {
  const ids: string[] = new Array(messages.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < messages.length) {
        const i = next++;
        for (let attempt = 0; ; attempt++) {
          const response = await fetch(`${baseUrl}/ingest/${PLUGIN}`, { method: 'POST', body: messages[i] });
          if (response.status === 202) {
            ids[i] = ((await response.json()) as { messageId: string }).messageId;
            break;
          }
          if (attempt > 20) throw new Error(`ingest kept failing: ${response.status} ${await response.text()}`);
          await new Promise((r) => setTimeout(r, 200));
        }
      }
    }),
  );
  return ids;
}

export interface RunCounts {
  sent: number;
  stored: number;
  deadLettered: number;
  lost: number;
  duplicated: number;
}

/** sent / stored / dead-lettered / lost / duplicated for the messages of a run. */
export async function countRun(db: PostgresDb, messageIds: string[]): Promise<RunCounts> {
  const states = await db.query<{ state: string; n: number }>(
    'SELECT state, count(*)::int AS n FROM inbox WHERE message_id = ANY($1::uuid[]) GROUP BY state', [messageIds],
  );
  const count = (state: string) => states.rows.find((r) => r.state === state)?.n ?? 0;
  const stored = count('stored');
  const deadLettered = count('dead-lettered');
  // A message processed twice would leave two dead letters, or versions > 1 / history rows for resources that only one message writes.
  const extraDeadLetters = await db.query<{ n: number }>(
    `SELECT coalesce(sum(c - 1), 0)::int AS n FROM (SELECT count(*) AS c FROM dead_letter WHERE message_id = ANY($1::uuid[]) GROUP BY message_id) x`, [messageIds],
  );
  const extraVersions = await db.query<{ n: number }>(
    `SELECT (SELECT count(*) FROM resource WHERE version_id > 1 AND message_id = ANY($1::uuid[]))::int
          + (SELECT count(*) FROM resource_history WHERE message_id = ANY($1::uuid[]))::int AS n`, [messageIds],
  );
  const patients = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM resource WHERE resource_type = 'Patient' AND message_id = ANY($1::uuid[])`, [messageIds]);
  const duplicatedPatients = Math.max(0, patients.rows[0]!.n - stored);
  return {
    sent: messageIds.length,
    stored,
    deadLettered,
    lost: messageIds.length - stored - deadLettered,
    duplicated: extraDeadLetters.rows[0]!.n + extraVersions.rows[0]!.n + duplicatedPatients,
  };
}

export function printCounts(name: string, counts: RunCounts): void {
  process.stdout.write(
    `\n[fault] ${name}: sent ${counts.sent}, stored ${counts.stored}, dead-lettered ${counts.deadLettered}, lost ${counts.lost}, duplicated ${counts.duplicated}\n`,
  );
}
