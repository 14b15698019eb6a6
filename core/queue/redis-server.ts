import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

export class RedisNotAvailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RedisNotAvailableError';
  }
}

export async function pingRedis(url: string, timeoutMs = 1500): Promise<boolean> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: timeoutMs, enableOfflineQueue: false });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

export interface EnsuredRedis {
  url: string;
  /** Stops the redis-server this process started; a no-op for an external Redis. */
  stop: () => Promise<void>;
  startedHere: boolean;
}

/**
 * ARCHITECTURE §4: with REDIS_URL unset and nothing answering on 127.0.0.1:6379, start redis-server
 * from PATH as a child process (append-only file on, data under dataDir/redis); otherwise fail with
 * one clear line.
 */
export async function ensureRedis(options: { redisUrl: string | undefined; dataDir: string }): Promise<EnsuredRedis> {
  if (options.redisUrl) {
    if (!(await pingRedis(options.redisUrl))) {
      throw new RedisNotAvailableError(`Redis is not reachable at REDIS_URL=${options.redisUrl}: start it or fix REDIS_URL.`);
    }
    return { url: options.redisUrl, stop: async () => undefined, startedHere: false };
  }
  if (await pingRedis(DEFAULT_REDIS_URL)) return { url: DEFAULT_REDIS_URL, stop: async () => undefined, startedHere: false };

  const dir = path.join(options.dataDir, 'redis');
  mkdirSync(dir, { recursive: true });
  let child: ChildProcess;
  try {
    child = spawn('redis-server', ['--port', '6379', '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--save', ''], {
      stdio: 'ignore',
    });
  } catch {
    throw notInstalled();
  }
  const spawnFailed = new Promise<never>((_, reject) => child.once('error', () => reject(notInstalled())));
  const ready = (async () => {
    for (let i = 0; i < 50; i++) {
      if (await pingRedis(DEFAULT_REDIS_URL, 500)) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new RedisNotAvailableError('redis-server was started but did not answer within 5 s');
  })();
  await Promise.race([ready, spawnFailed]);
  const stop = async () => {
    if (child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  };
  process.once('exit', () => child.kill('SIGTERM'));
  return { url: DEFAULT_REDIS_URL, stop, startedHere: true };
}

function notInstalled(): RedisNotAvailableError {
  return new RedisNotAvailableError(
    'Redis is not running on 127.0.0.1:6379 and redis-server is not installed: install it (apt-get install redis-server) or set REDIS_URL.',
  );
}
