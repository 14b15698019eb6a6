/**
 * TEST HELPER — a demo engine for trying the FHIR API with curl before the token store (issue 8)
 * exists: the whole engine (role all) with the demo plugins and the interim test tokens.
 *
 *   node --import tsx test/fhir-api/support/demo-server.ts
 *
 * Storage: CDR_DATABASE_URL when set, else embedded PGlite in a temp folder; Redis: REDIS_URL or
 * 127.0.0.1:6379 (queue prefix cdr-demo-<random>); port: CDR_PORT or 8080. Ctrl-C removes it all.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadSettings } from '../../../core/config/index.ts';
import { startEngine } from '../../../core/server/index.ts';
import { deleteRedisPrefix } from '../../support/engine.ts';
import { writeDemoPlugins } from './demo-plugins.ts';
import { serveEngineWithTokens, TEST_TOKENS } from './tokens.ts';

const dataDir = mkdtempSync(path.join(os.tmpdir(), 'cdr-demo-'));
const pluginsDir = path.join(dataDir, 'plugins');
const samples = writeDemoPlugins(pluginsDir);
const prefix = `cdr-demo-${randomBytes(3).toString('hex')}`;
const redisUrl = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
const settings = loadSettings(process.env, { port: 0, mllpPort: 0, dataDir, pluginsDir, queuePrefix: prefix, redisUrl, adminToken: process.env.CDR_ADMIN_TOKEN || 'demo-admin-token' });
const engine = await startEngine(settings, { listen: false });
const port = Number(process.env.CDR_PORT || 8080);
const server = await serveEngineWithTokens(engine, TEST_TOKENS, port);

process.stdout.write(`cdr demo on ${server.url} (storage: ${engine.db.kind})\n`);
process.stdout.write(`tokens: ${Object.entries(TEST_TOKENS).map(([token, p]) => `${token} (${p.role}, Enti ${p.enti === '*' ? '*' : p.enti.join(',')}${p.scopes.length ? `, ${p.scopes.join(',')}` : ''})`).join('; ')}; admin: ${settings.adminToken}\n`);
for (const [name, file] of Object.entries(samples)) process.stdout.write(`sample ${name}: ${file}\n`);

const shutdown = async () => {
  await server.close();
  await engine.stop();
  await deleteRedisPrefix(redisUrl, prefix).catch(() => undefined);
  rmSync(dataDir, { recursive: true, force: true });
  process.exit(0);
};
process.once('SIGINT', () => void shutdown());
process.once('SIGTERM', () => void shutdown());
