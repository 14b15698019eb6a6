import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT, readConfigFile } from '../../core/config/index.ts';

export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A config file based on config/default.json with some sections replaced (e.g. faster stalled-job recovery). */
export function writeTestConfig(patch: (config: ReturnType<typeof readConfigFile>) => void): string {
  const config = readConfigFile(path.join(REPO_ROOT, 'config', 'default.json'));
  patch(config);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cdr-config-'));
  const file = path.join(dir, 'config.json');
  writeFileSync(file, JSON.stringify(config, null, 2));
  return file;
}

export interface EngineProcess {
  child: ChildProcess;
  output: () => string;
  /** SIGKILL: no shutdown code runs. */
  kill9: () => Promise<void>;
  /** SIGTERM and wait for exit (graceful shutdown). */
  stop: () => Promise<number | null>;
}

/** `node bin/cdr.js start --role <role>` as a real child process with the given environment. */
export function spawnEngine(role: 'all' | 'api' | 'worker', env: Record<string, string>): EngineProcess {
  const child = spawn(process.execPath, [path.join(REPO_ROOT, 'bin', 'cdr.js'), 'start', '--role', role], {
    cwd: REPO_ROOT,
    env: { ...process.env, CDR_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    output: () => out,
    kill9: async () => {
      child.kill('SIGKILL');
      await exited;
    },
    stop: async () => {
      if (child.exitCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      return exited;
    },
  };
}

export async function waitUntil(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

export async function waitForHttp(url: string, timeoutMs = 60_000): Promise<void> {
  await waitUntil(async () => (await fetch(url)).ok, timeoutMs, `${url} to answer`);
}
