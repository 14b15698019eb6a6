import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { promisify } from 'node:util';
import { Command } from 'commander';
import { TokenStore } from '../../core/admin/index.ts';
import { registerTokenCommand } from '../../core/cli/commands/token.ts';
import { REPO_ROOT } from '../../core/config/index.ts';
import { startTestEngine, TEST_ADMIN_TOKEN, type TestEngine } from '../support/engine.ts';
import { testDatabaseUrl } from '../support/storage.ts';
import { call, expectMatchesOpenApi } from './support.ts';

const run = promisify(execFile);

/** The real binary (slow to start through tsx on a busy machine: used once). */
async function cdrBinary(te: TestEngine, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [path.join(REPO_ROOT, 'bin/cdr.js'), ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, CDR_DATABASE_URL: testDatabaseUrl(), CDR_DATABASE_SCHEMA: te.settings.databaseSchema!, CDR_LOG_LEVEL: 'silent' },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/** The same command in this process (commander program with the token command), output captured. */
async function cdr(te: TestEngine, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const program = new Command().exitOverride();
  registerTokenCommand(program);
  const saved = { url: process.env.CDR_DATABASE_URL, schema: process.env.CDR_DATABASE_SCHEMA, out: process.stdout.write, err: process.stderr.write };
  let stdout = '';
  let stderr = '';
  process.env.CDR_DATABASE_URL = testDatabaseUrl();
  process.env.CDR_DATABASE_SCHEMA = te.settings.databaseSchema!;
  process.stdout.write = ((chunk: string) => ((stdout += chunk), true)) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string) => ((stderr += chunk), true)) as typeof process.stderr.write;
  process.exitCode = undefined;
  try {
    await program.parseAsync(['node', 'cdr', ...args]);
    return { code: Number(process.exitCode ?? 0), stdout, stderr };
  } finally {
    process.stdout.write = saved.out;
    process.stderr.write = saved.err;
    process.exitCode = undefined;
    if (saved.url === undefined) delete process.env.CDR_DATABASE_URL;
    else process.env.CDR_DATABASE_URL = saved.url;
    if (saved.schema === undefined) delete process.env.CDR_DATABASE_SCHEMA;
    else process.env.CDR_DATABASE_SCHEMA = saved.schema;
  }
}

async function login(url: string, token: string, next?: string) {
  const form = new URLSearchParams({ token, ...(next ? { next } : {}) });
  const response = await fetch(`${url}/admin/login`, { method: 'POST', body: form, redirect: 'manual' });
  expectMatchesOpenApi('POST', '/admin/login', response.status, response.headers.get('content-type'), await response.text());
  const cookie = response.headers.get('set-cookie') ?? '';
  return { status: response.status, location: response.headers.get('location'), cookie, session: cookie.split(';')[0]! };
}

describe('auth: token store, roles, Enti, console sessions', () => {
  let te: TestEngine;
  let url: string;

  beforeAll(async () => {
    te = await startTestEngine('postgres', {}, { validator: null });
    url = te.url;
  });
  afterAll(async () => {
    await te?.cleanup();
  });

  test('cdr token create prints the token once, stores only its hash; list and revoke work; bad input exits 1', async () => {
    const created = await cdrBinary(te, 'token', 'create', '--role', 'operator', '--ente', '030901', '--name', 'ops-nord', '--json');
    expect(created.code).toBe(0);
    const { id, token } = JSON.parse(created.stdout) as { id: string; token: string };
    expect(token).toMatch(/^cdr_[A-Za-z0-9_-]{43}$/);
    const rows = await te.engine.db.query<{ token_hash: string; enti: string[]; role: string }>('SELECT token_hash, enti, role FROM api_token WHERE id = $1', [id]);
    expect(rows.rows).toEqual([{ token_hash: createHash('sha256').update(token).digest('hex'), enti: ['030901'], role: 'operator' }]);
    const dump = await te.engine.db.query<{ t: string }>('SELECT row_to_json(a)::text AS t FROM api_token a');
    expect(dump.rows.some((r) => r.t.includes(token))).toBe(false);

    expect((await call(url, 'GET', '/admin/dead-letters', { token })).status).toBe(200);
    expect((await call(url, 'GET', '/admin/dead-letters?ente=030902', { token })).status).toBe(403);

    const listed = await cdr(te, 'token', 'list');
    expect(listed.stdout).toMatch(new RegExp(`${id}\\s+operator\\s+030901\\s+-\\s+ops-nord`));
    expect(listed.stdout).not.toContain(token);

    const revoked = await cdr(te, 'token', 'revoke', id);
    expect(revoked.code).toBe(0);
    expect((await call(url, 'GET', '/admin/dead-letters', { token })).status).toBe(401);
    const audit = await te.engine.db.query<{ action: string; actor: string }>(`SELECT action, actor FROM audit_log WHERE target = $1 ORDER BY id`, [id]);
    expect(audit.rows.map((r) => r.action)).toEqual(['token.create', 'token.revoke']);
    expect(audit.rows[0]!.actor).toMatch(/^cli:/);

    expect((await cdr(te, 'token', 'create', '--role', 'wizard', '--ente', '030901')).code).toBe(1);
    const unknownEnte = await cdr(te, 'token', 'create', '--role', 'reader', '--ente', '999999');
    expect(unknownEnte.code).toBe(1);
    expect(unknownEnte.stderr).toMatch(/unknown Ente 999999/);
    expect((await cdr(te, 'token', 'revoke', '00000000-0000-4000-8000-000000000000')).code).toBe(1);
  }, 120_000);

  test('roles: readers read, only operators change; no token 401, bad token 401', async () => {
    const store = new TokenStore(te.engine.db);
    const reader = (await store.create({ role: 'reader', enti: '*', actor: 'test' })).token;
    const author = (await store.create({ role: 'author', enti: ['030901'], actor: 'test' })).token;
    expect((await call(url, 'GET', '/admin/queues', { token: reader })).status).toBe(200);
    expect((await call(url, 'GET', '/admin/overview', { token: author })).status).toBe(200);
    for (const token of [reader, author]) {
      expect((await call(url, 'POST', '/admin/queues/process/pause', { token })).status).toBe(403);
      expect((await call(url, 'POST', '/admin/plugins/reload', { token })).status).toBe(403);
      expect((await call(url, 'POST', '/admin/dead-letters/replay', { token, body: {} })).status).toBe(403);
    }
    expect((await call(url, 'POST', '/admin/dead-letters/dry-run', { token: reader, body: {} })).status).toBe(403);
    expect((await call(url, 'POST', '/admin/dead-letters/dry-run', { token: author, body: {} })).status).toBe(200);
    for (const route of ['/admin/overview', '/admin/alerts', '/admin/plugins', '/admin/partitions', '/admin/queues', '/admin/messages']) {
      expect([route, (await call(url, 'GET', route, { token: null })).status]).toEqual([route, 401]);
      expect([route, (await call(url, 'GET', route, { token: 'cdr_not-a-real-token' })).status]).toEqual([route, 401]);
    }
    // Monitoring and the description need no token.
    expect((await call(url, 'GET', '/metrics', { token: null })).status).toBe(200);
    const openapi = await call<{ openapi: string }>(url, 'GET', '/openapi.json', { token: null });
    expect(openapi.body.openapi).toBe('3.1.0');
  });

  test('console sessions: login sets an HttpOnly SameSite=Strict cookie; changes need the console header; revocation and logout end it', async () => {
    const page = await fetch(`${url}/admin/ui`, { redirect: 'manual' });
    expect(page.status).toBe(303);
    expect(page.headers.get('location')).toBe('/admin/login?next=%2Fadmin%2Fui');
    expect((await fetch(`${url}/admin/login`)).status).toBe(200);

    const bad = await login(url, 'wrong');
    expect(bad.status).toBe(401);
    expect(bad.cookie).toBe('');

    const admin = await login(url, TEST_ADMIN_TOKEN, '/admin/board');
    expect(admin.status).toBe(303);
    expect(admin.location).toBe('/admin/board');
    expect(admin.cookie).toMatch(/^cdr_console=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=28800$/);
    // The cookie holds an opaque session id, not the token or its hash.
    expect(admin.cookie).not.toContain(TEST_ADMIN_TOKEN);
    expect(admin.cookie).not.toContain(createHash('sha256').update(TEST_ADMIN_TOKEN).digest('hex'));
    expect((await login(url, TEST_ADMIN_TOKEN, 'https://evil.example.invalid/')).location).toBe('/admin/ui');

    const ui = await fetch(`${url}/admin/ui`, { headers: { cookie: admin.session } });
    expect(ui.status).toBe(200);
    expect(ui.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect((await call(url, 'GET', '/admin/overview', { token: null, headers: { cookie: admin.session } })).status).toBe(200);
    const board = await fetch(`${url}/admin/board`, { headers: { cookie: admin.session } });
    expect(board.status).toBe(200);
    expect(await board.text()).toContain('<html');

    const withoutHeader = await call(url, 'POST', '/admin/queues/process/pause', { token: null, headers: { cookie: admin.session } });
    expect(withoutHeader.status).toBe(403);
    expect(withoutHeader.body.code).toBe('CONSOLE_HEADER_MISSING');
    const paused = await call(url, 'POST', '/admin/queues/process/pause', { token: null, headers: { cookie: admin.session, 'x-cdr-console': '1' } });
    expect(paused.status).toBe(200);
    await call(url, 'POST', '/admin/queues/process/resume', { token: null, headers: { cookie: admin.session, 'x-cdr-console': '1' } });
    const audit = await te.engine.db.query<{ action: string }>(`SELECT action FROM audit_log WHERE actor = 'admin' ORDER BY id`);
    expect(audit.rows.map((r) => r.action)).toEqual(['console.login', 'console.login', 'queue.pause', 'queue.resume']);

    // A single-Ente operator may use the console but not the every-Ente board.
    const store = new TokenStore(te.engine.db);
    const { token, record } = await store.create({ role: 'operator', enti: ['030901'], actor: 'test', name: 'ops' });
    const operator = await login(url, token);
    expect((await fetch(`${url}/admin/board`, { headers: { cookie: operator.session } })).status).toBe(403);
    expect((await call(url, 'GET', '/admin/dead-letters?ente=030902', { token: null, headers: { cookie: operator.session } })).status).toBe(403);
    await store.revoke(record.id, 'test');
    expect((await call(url, 'GET', '/admin/overview', { token: null, headers: { cookie: operator.session } })).status).toBe(401);

    const logout = await fetch(`${url}/admin/logout`, { method: 'POST', headers: { cookie: admin.session }, redirect: 'manual' });
    expect(logout.status).toBe(303);
    expect((await call(url, 'GET', '/admin/overview', { token: null, headers: { cookie: admin.session } })).status).toBe(401);
    expect((await call(url, 'GET', '/admin/overview', { token: null, headers: { cookie: 'cdr_console=forged-session-id-0000000000000' } })).status).toBe(401);
  });
});
