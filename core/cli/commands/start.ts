import type { Command } from 'commander';
import { loadSettings } from '../../config/index.ts';
import { RedisNotAvailableError } from '../../queue/index.ts';
import { startEngine, type EngineRole } from '../../server/index.ts';

export function registerStartCommand(program: Command): void {
  program
    .command('start')
    .description('run the engine: HTTP ingest/admin/FHIR API, MLLP listener and workers (or one role of them)')
    .option('--role <role>', 'all | api | worker', 'all')
    .action(async (options: { role: string }) => {
      if (!['all', 'api', 'worker'].includes(options.role)) {
        process.stderr.write(`cdr start: --role must be all, api or worker (got "${options.role}")\n`);
        process.exitCode = 2;
        return;
      }
      const settings = loadSettings();
      if (!settings.databaseUrl && options.role !== 'all') {
        process.stderr.write('cdr start: embedded PGlite storage lives inside one process; set CDR_DATABASE_URL to run separate api and worker processes\n');
        process.exitCode = 2;
        return;
      }
      let engine;
      try {
        engine = await startEngine(settings, { role: options.role as EngineRole });
      } catch (error) {
        if (error instanceof RedisNotAvailableError) {
          process.stderr.write(`cdr: ${error.message}\n`);
          process.exit(1);
        }
        throw error;
      }
      const shutdown = (signal: string) => {
        engine.logger.info({ signal }, 'shutting down: no new messages, finishing the ones in flight');
        const force = setTimeout(() => process.exit(1), 30_000);
        force.unref();
        engine.stop().then(
          () => process.exit(0),
          (error: unknown) => {
            engine.logger.error({ err: String(error) }, 'error during shutdown');
            process.exit(1);
          },
        );
      };
      process.stdout.write(`cdr: ready (role ${options.role}${engine.url ? `, HTTP ${engine.url}` : ''}${engine.mllpPort ? `, MLLP port ${engine.mllpPort}` : ''})\n`);
      process.on('unhandledRejection', (reason) => engine.logger.error({ err: String(reason) }, 'unhandled rejection'));
      process.once('SIGTERM', () => shutdown('SIGTERM'));
      process.once('SIGINT', () => shutdown('SIGINT'));
    });
}
