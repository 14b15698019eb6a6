import os from 'node:os';
import type { Command } from 'commander';
import { ROLES, TokenStore, type ApiToken, type Role } from '../../admin/index.ts';
import { CdrError } from '../../common/errors.ts';
import { loadSettings } from '../../config/index.ts';
import { openStorage } from '../../storage/index.ts';

const actor = () => `cli:${os.userInfo().username}`;

async function withStore<T>(work: (store: TokenStore, knownEnti: Set<string>) => Promise<T>): Promise<T> {
  const settings = loadSettings();
  const db = await openStorage(settings);
  try {
    return await work(new TokenStore(db), new Set(settings.config.enti.map((e) => e.code)));
  } finally {
    await db.close();
  }
}

async function run(action: () => Promise<void>): Promise<void> {
  try {
    await action();
  } catch (error) {
    process.stderr.write(`cdr token: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = error instanceof CdrError || error instanceof UsageError ? 1 : 2;
  }
}

class UsageError extends Error {}

function line(t: ApiToken): string {
  const enti = t.enti === '*' ? '*' : t.enti.join(',');
  const state = t.revokedAt ? `revoked ${t.revokedAt.toISOString()}` : `last used ${t.lastUsedAt?.toISOString() ?? 'never'}`;
  return `${t.id}  ${t.role.padEnd(8)} ${enti.padEnd(22)} ${(t.scopes.join(',') || '-').padEnd(16)} ${(t.name ?? '-').padEnd(20)} ${state}`;
}

/** `cdr token create|revoke|list`: bearer tokens kept hashed in PostgreSQL (same storage settings as the engine). */
export function registerTokenCommand(program: Command): void {
  const token = program.command('token').description('manage bearer tokens of operators, authors and readers');

  token
    .command('create')
    .description('create a token and print it once (only its SHA-256 is stored)')
    .requiredOption('--role <role>', `one of ${ROLES.join(', ')}`)
    .requiredOption('--ente <codes...>', 'Ente codes the token may see, or "*" for every Ente')
    .option('--scope <scopes...>', 'extra grants, e.g. sovra-aziendale', [])
    .option('--name <name>', 'who or what holds it (shown in lists and the console)')
    .option('--json', 'print {id, token, ...} as JSON')
    .action((o: { role: string; ente: string[]; scope: string[]; name?: string; json?: boolean }) =>
      run(() =>
        withStore(async (store, known) => {
          if (!ROLES.includes(o.role as Role)) throw new UsageError(`--role must be one of ${ROLES.join(', ')}`);
          const codes = o.ente.flatMap((e) => e.split(',')).map((e) => e.trim()).filter(Boolean);
          const enti = codes.includes('*') ? '*' : codes;
          if (enti !== '*') {
            const unknown = enti.filter((e) => !known.has(e));
            if (unknown.length > 0) throw new UsageError(`unknown Ente ${unknown.join(', ')} (configured: ${[...known].join(', ')})`);
          }
          const { token: secret, record } = await store.create({ role: o.role as Role, enti, scopes: o.scope, name: o.name, actor: actor() });
          if (o.json) {
            process.stdout.write(`${JSON.stringify({ id: record.id, token: secret, role: record.role, enti: record.enti, scopes: record.scopes, name: record.name })}\n`);
            return;
          }
          process.stdout.write(`token ${record.id} (${record.role}, Enti ${enti === '*' ? '*' : enti.join(', ')}) created. It is shown only now:\n${secret}\n`);
        }),
      ),
    );

  token
    .command('revoke <id>')
    .description('revoke a token (takes effect at the next request, console sessions included)')
    .action((id: string) =>
      run(() =>
        withStore(async (store) => {
          if (!/^[0-9a-f-]{36}$/i.test(id)) throw new UsageError(`"${id}" is not a token id (see cdr token list)`);
          const record = await store.revoke(id, actor());
          process.stdout.write(`revoked ${record.id}\n`);
        }),
      ),
    );

  token
    .command('list')
    .description('every token: id, role, Enti, scopes, name, revoked or last used')
    .option('--json', 'JSON output')
    .action((o: { json?: boolean }) =>
      run(() =>
        withStore(async (store) => {
          const tokens = await store.list();
          if (o.json) process.stdout.write(`${JSON.stringify(tokens, null, 2)}\n`);
          else for (const t of tokens) process.stdout.write(`${line(t)}\n`);
        }),
      ),
    );
}
