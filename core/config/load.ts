import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { engineConfigSchema, type EngineConfig } from './schema.ts';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Everything a process needs to run: the validated config file plus the environment (ARCHITECTURE §4). */
export interface Settings {
  port: number;
  mllpPort: number;
  /** undefined: nothing configured, so the engine may start its own redis-server. */
  redisUrl: string | undefined;
  queuePrefix: string;
  /** undefined: embedded PGlite under dataDir. */
  databaseUrl: string | undefined;
  /** PostgreSQL schema to use (tests use one schema per suite). */
  databaseSchema: string | undefined;
  dataDir: string;
  adminToken: string | undefined;
  workerConcurrency: number;
  configPath: string;
  pluginsDir: string;
  mappingsDir: string;
  config: EngineConfig;
}

export function readConfigFile(configPath: string): EngineConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(configPath, 'utf8'));
  } catch (error) {
    throw new ConfigError(`cannot read configuration ${configPath}: ${(error as Error).message}`);
  }
  const parsed = engineConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new ConfigError(`invalid configuration ${configPath}: ${problems}`);
  }
  const codes = new Set<string>();
  for (const ente of parsed.data.enti) {
    if (codes.has(ente.code)) throw new ConfigError(`invalid configuration ${configPath}: Ente ${ente.code} is listed twice`);
    codes.add(ente.code);
  }
  return parsed.data;
}

function intFromEnv(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const value = env[name];
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new ConfigError(`${name} must be a non-negative integer, got "${value}"`);
  return n;
}

export function loadSettings(env: NodeJS.ProcessEnv = process.env, overrides: Partial<Settings> = {}): Settings {
  const configPath = path.resolve(env.CDR_CONFIG || path.join(REPO_ROOT, 'config', 'default.json'));
  const settings: Settings = {
    port: intFromEnv(env, 'CDR_PORT', 8080),
    mllpPort: intFromEnv(env, 'CDR_MLLP_PORT', 2575),
    redisUrl: env.REDIS_URL || undefined,
    queuePrefix: env.CDR_QUEUE_PREFIX || 'cdr',
    databaseUrl: env.CDR_DATABASE_URL || undefined,
    databaseSchema: env.CDR_DATABASE_SCHEMA || undefined,
    dataDir: path.resolve(env.CDR_DATA_DIR || path.join(REPO_ROOT, 'var')),
    adminToken: env.CDR_ADMIN_TOKEN || undefined,
    workerConcurrency: Math.max(1, intFromEnv(env, 'CDR_WORKER_CONCURRENCY', 8)),
    configPath,
    pluginsDir: path.resolve(env.CDR_PLUGINS_DIR || path.join(REPO_ROOT, 'plugins')),
    mappingsDir: path.resolve(env.CDR_MAPPINGS_DIR || path.join(REPO_ROOT, 'mappings')),
    config: readConfigFile(configPath),
    ...overrides,
  };
  return settings;
}
