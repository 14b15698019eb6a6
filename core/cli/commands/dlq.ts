import os from 'node:os';
import type { Command } from 'commander';
import { DeadLetterService } from '../../admin/index.ts';
import { CdrError } from '../../common/errors.ts';
import { loadSettings } from '../../config/index.ts';
import { DEFAULT_REDIS_URL, ProcessQueue, producerConnection } from '../../queue/index.ts';
import { DeadLetterRepository, InboxRepository, openStorage } from '../../storage/index.ts';
import type { DeadLetter } from '../../storage/types.ts';

async function withService<T>(work: (service: DeadLetterService) => Promise<T>): Promise<T> {
  const settings = loadSettings();
  const db = await openStorage(settings);
  const redis = producerConnection(settings.redisUrl ?? DEFAULT_REDIS_URL);
  const queue = new ProcessQueue(redis, settings.queuePrefix, {
    attempts: settings.config.queue.attempts,
    backoffDelayMs: settings.config.queue.backoffDelayMs,
    backoffMaxDelayMs: settings.config.queue.backoffMaxDelayMs,
  });
  try {
    return await work(new DeadLetterService(db, new DeadLetterRepository(db), new InboxRepository(db), queue));
  } finally {
    await queue.close().catch(() => undefined);
    redis.disconnect();
    await db.close();
  }
}

const actor = () => `cli:${os.userInfo().username}`;

function line(d: DeadLetter): string {
  return `${d.id}  ${d.createdAt.toISOString()}  ${d.ente}  ${d.pluginId.padEnd(24)} ${d.stage.padEnd(8)} ${d.errorCode.padEnd(22)} ${d.reason.slice(0, 100)}`;
}

async function run(action: () => Promise<void>): Promise<void> {
  try {
    await action();
  } catch (error) {
    process.stderr.write(`cdr dlq: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = error instanceof CdrError ? 1 : 2;
  }
}

/** `cdr dlq list|show|replay|discard`: the dead-letter queue from a terminal (same service as /admin/dead-letters). */
export function registerDlqCommand(program: Command): void {
  const dlq = program.command('dlq').description('operate the dead-letter queue (uses CDR_DATABASE_URL / REDIS_URL like the engine)');

  dlq
    .command('list')
    .description('open dead letters, newest first')
    .option('--plugin <id>')
    .option('--stage <stage>')
    .option('--code <code>')
    .option('--ente <code>')
    .option('--limit <n>', 'how many', '50')
    .option('--json', 'JSON output')
    .action((o: { plugin?: string; stage?: string; code?: string; ente?: string; limit: string; json?: boolean }) =>
      run(() =>
        withService(async (service) => {
          const page = await service.list(
            { pluginId: o.plugin, stage: o.stage, errorCode: o.code, ente: o.ente ? [o.ente] : undefined },
            Math.max(1, Math.min(500, Number(o.limit) || 50)),
          );
          if (o.json) process.stdout.write(`${JSON.stringify(page, null, 2)}\n`);
          else {
            for (const d of page.items) process.stdout.write(`${line(d)}\n`);
            process.stdout.write(`${page.items.length} shown${page.next ? ' (more: use --json for the cursor or narrow the filter)' : ''}\n`);
          }
        }),
      ),
    );

  dlq
    .command('show <id>')
    .description('one dead letter with its raw message and trail')
    .action((id: string) =>
      run(() =>
        withService(async (service) => {
          const detail = await service.detail(id);
          process.stdout.write(`${JSON.stringify({ ...detail, raw: { ...detail.raw, base64: undefined } }, null, 2)}\n`);
        }),
      ),
    );

  dlq
    .command('replay [id]')
    .description('re-run from the raw message with the current plugin and mappings (one id, or --all with filters)')
    .option('--all', 'every open dead letter matching the filters')
    .option('--plugin <id>')
    .option('--stage <stage>')
    .option('--code <code>')
    .option('--ente <code>')
    .action((id: string | undefined, o: { all?: boolean; plugin?: string; stage?: string; code?: string; ente?: string }) =>
      run(() =>
        withService(async (service) => {
          if (id && o.all) throw new Error('give an id or --all, not both');
          if (id) {
            const result = await service.replay(id, actor());
            process.stdout.write(`replayed ${id}: message ${result.messageId}${result.enqueued ? '' : ' (queue unavailable: the reconciler will enqueue it)'}\n`);
            return;
          }
          if (!o.all) throw new Error('give a dead-letter id, or --all (with optional --plugin/--stage/--code/--ente)');
          const results = await service.replayMatching(
            { pluginId: o.plugin, stage: o.stage, errorCode: o.code, ente: o.ente ? [o.ente] : undefined },
            actor(),
          );
          process.stdout.write(`replayed ${results.length} dead letter(s)\n`);
        }),
      ),
    );

  dlq
    .command('discard <id>')
    .description('discard a dead letter (audited; the raw message stays in the inbox)')
    .option('--reason <text>')
    .action((id: string, o: { reason?: string }) =>
      run(() =>
        withService(async (service) => {
          await service.discard(id, actor(), o.reason);
          process.stdout.write(`discarded ${id}\n`);
        }),
      ),
    );
}
