import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import pg from 'pg';
import { REPO_ROOT } from '../core/config/index.ts';

export const BENCH_DATABASE = 'cdr_bench';
export const BENCH_TOKEN = 'bench-token';

export function adminUrl(): string {
  return process.env.CDR_BENCH_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
}

export function benchDatabaseUrl(): string {
  const url = new URL(adminUrl());
  url.pathname = `/${BENCH_DATABASE}`;
  return url.toString();
}

/** A fresh, empty database for one run. */
export async function recreateBenchDatabase(): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl() });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS ${BENCH_DATABASE} WITH (FORCE)`);
    await client.query(`CREATE DATABASE ${BENCH_DATABASE}`);
  } finally {
    await client.end();
  }
}

export interface RunningProcess {
  role: string;
  child: ChildProcess;
  pid: number;
  output: () => string;
}

export function spawnRole(role: 'all' | 'api' | 'worker', env: Record<string, string>, extraNodeArgs: string[] = []): RunningProcess {
  const child = spawn(process.execPath, [...extraNodeArgs, path.join(REPO_ROOT, 'bin', 'cdr.js'), 'start', '--role', role], {
    cwd: REPO_ROOT,
    env: { ...process.env, CDR_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-20000)));
  child.stderr!.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-20000)));
  return { role, child, pid: child.pid!, output: () => out };
}

export async function stopProcess(p: RunningProcess): Promise<void> {
  if (p.child.exitCode !== null) return;
  const exited = new Promise((resolve) => p.child.once('exit', resolve));
  p.child.kill('SIGTERM');
  const timer = setTimeout(() => p.child.kill('SIGKILL'), 20_000);
  await exited;
  clearTimeout(timer);
}

/** Waits for the "cdr: ready" line every role prints once its parts are running. */
export async function waitProcessReady(p: RunningProcess, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (p.output().includes('cdr: ready')) return;
    if (p.child.exitCode !== null) throw new Error(`${p.role} process exited with ${p.child.exitCode}:\n${p.output()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${p.role} process not ready after ${timeoutMs} ms:\n${p.output()}`);
}

export async function waitReady(url: string, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(`${url}/health/ready`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${url} not ready after ${timeoutMs} ms`);
}
