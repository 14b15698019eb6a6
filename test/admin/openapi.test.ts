import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { buildOpenApiDocument } from '../../core/admin/openapi.ts';
import { REPO_ROOT } from '../../core/config/index.ts';
import { startTestEngine, type TestEngine } from '../support/engine.ts';

const run = promisify(execFile);

interface Layer {
  route?: { path: string | string[]; methods: Record<string, boolean> };
  handle?: { stack?: Layer[] };
}

/** Every method + path the Express app routes explicitly (nested routers included). */
function mountedRoutes(stack: Layer[]): string[] {
  const found: string[] = [];
  for (const layer of stack) {
    if (layer.route) {
      const paths = Array.isArray(layer.route.path) ? layer.route.path : [layer.route.path];
      for (const p of paths) {
        for (const method of Object.keys(layer.route.methods)) found.push(`${method.toUpperCase()} ${p.replace(/:([A-Za-z0-9_]+)/g, '{}')}`);
      }
    } else if (layer.handle?.stack) {
      found.push(...mountedRoutes(layer.handle.stack));
    }
  }
  return found;
}

describe('OpenAPI document', () => {
  const document = buildOpenApiDocument();
  // Parameter names may differ between Express (:id) and the document ({messageId}): compare shapes.
  const shape = (route: string) => route.replace(/\{[^}]+\}/g, '{}');
  const documented = Object.entries(document.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => shape(`${m.toUpperCase()} ${p}`)));

  test('passes redocly lint (recommended rules) with no error and no warning, offline', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'cdr-openapi-'));
    try {
      writeFileSync(path.join(dir, 'openapi.json'), JSON.stringify(document, null, 2));
      copyFileSync(path.join(REPO_ROOT, 'test/admin/fixtures/redocly.yaml'), path.join(dir, 'redocly.yaml'));
      const cli = realpathSync(path.join(REPO_ROOT, 'node_modules/.bin/redocly'));
      let stdout = '';
      try {
        ({ stdout } = await run(process.execPath, [cli, 'lint', 'openapi.json', '--config', 'redocly.yaml', '--format', 'json'], {
          cwd: dir,
          env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true', NO_COLOR: '1' },
          timeout: 120_000,
        }));
      } catch (error) {
        stdout = (error as { stdout?: string }).stdout ?? '';
      }
      const report = JSON.parse(stdout.slice(stdout.indexOf('{'))) as { totals: { errors: number; warnings: number }; problems: Array<{ ruleId: string; message: string; location: Array<{ pointer: string }> }> };
      const problems = report.problems.map((p) => `${p.ruleId}: ${p.message} at ${p.location[0]?.pointer}`);
      expect(problems).toEqual([]);
      expect(report.totals).toMatchObject({ errors: 0, warnings: 0 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 150_000);

  describe('against the routes the engine mounts', () => {
    let te: TestEngine;
    beforeAll(async () => {
      te = await startTestEngine('pglite', {}, { validator: null });
    }, 120_000);
    afterAll(async () => {
      await te?.cleanup();
    });

    test('every mounted route is documented', () => {
      const mounted = mountedRoutes((te.engine.app as unknown as { router: { stack: Layer[] } }).router.stack);
      expect(mounted.length).toBeGreaterThan(20);
      // The FHIR API is one dispatcher (`/{*path}` under /fhir) whose paths the document lists one by one.
      const missing = mounted.filter((r) => !documented.includes(r) && !/^(GET|_ALL) \/\{\*path\}$/.test(r));
      expect(missing).toEqual([]);
    });

    test('every documented route of this engine answers (not 404), except the FHIR and workbench contracts until they land', async () => {
      const mounted = new Set(mountedRoutes((te.engine.app as unknown as { router: { stack: Layer[] } }).router.stack));
      const served = documented.filter((r) => mounted.has(r) || r === 'GET /admin/board');
      const pending = documented.filter((r) => !served.includes(r));
      expect(pending.every((r) => /^GET \/(fhir|workbench)/.test(r))).toBe(true);
      const board = await fetch(`${te.url}/admin/board`, { headers: { authorization: 'Bearer test-admin-token' } });
      expect(board.status).toBe(200);
    });
  });
});
