import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pingRedis } from '../../core/queue/index.ts';
import { freePort } from './processes.ts';

/** A private redis-server on a free port, so a test may FLUSHALL or stop it without disturbing anyone. */
export interface RedisInstance {
  url: string;
  port: number;
  stop: () => Promise<void>;
}

export async function startRedisInstance(): Promise<RedisInstance> {
  const port = await freePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cdr-redis-'));
  const child: ChildProcess = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
  const url = `redis://127.0.0.1:${port}`;
  for (let i = 0; i < 50 && !(await pingRedis(url, 300)); i++) await new Promise((r) => setTimeout(r, 100));
  if (!(await pingRedis(url))) throw new Error('the private redis-server did not start (is redis-server on the PATH?)');
  return {
    url,
    port,
    stop: async () => {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
