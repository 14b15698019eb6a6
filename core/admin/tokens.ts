import { randomBytes, randomUUID } from 'node:crypto';
import { CdrError } from '../common/errors.ts';
import { writeAudit } from '../storage/audit.ts';
import type { Db, Row } from '../storage/db.ts';
import { hashToken, ROLES, type Authenticator, type Principal, type Role } from './auth.ts';

export class TokenError extends CdrError {
  constructor(message: string, code: 'TOKEN_NOT_FOUND' | 'TOKEN_INVALID') {
    super(message, { stage: 'receive', kind: 'permanent', code });
  }
}

/** A stored token, without its secret (only its hash is kept, the token is shown once at creation). */
export interface ApiToken {
  id: string;
  name: string | null;
  role: Role;
  enti: '*' | string[];
  scopes: string[];
  createdAt: Date;
  createdBy: string;
  revokedAt: Date | null;
  revokedBy: string | null;
  lastUsedAt: Date | null;
}

export interface NewToken {
  role: Role;
  /** '*' = every Ente. */
  enti: '*' | string[];
  scopes?: string[];
  name?: string | undefined;
  /** Who creates it (audit). */
  actor: string;
}

/** Tokens are "cdr_" + 256 random bits (base64url): unguessable, recognisable in a leak scan. */
export function newTokenSecret(): string {
  return `cdr_${randomBytes(32).toString('base64url')}`;
}

function rowToToken(row: Row): ApiToken {
  const enti = row.enti as string[] | null;
  return {
    id: row.id as string,
    name: (row.name as string | null) ?? null,
    role: row.role as Role,
    enti: enti === null ? '*' : enti,
    scopes: (row.scopes as string[] | null) ?? [],
    createdAt: row.created_at as Date,
    createdBy: row.created_by as string,
    revokedAt: (row.revoked_at as Date | null) ?? null,
    revokedBy: (row.revoked_by as string | null) ?? null,
    lastUsedAt: (row.last_used_at as Date | null) ?? null,
  };
}

/** The `api_token` table: create (secret returned once), revoke, list; every change audited. */
export class TokenStore {
  constructor(private readonly db: Db) {}

  async create(input: NewToken): Promise<{ token: string; record: ApiToken }> {
    if (!ROLES.includes(input.role)) throw new TokenError(`unknown role "${input.role}" (${ROLES.join(', ')})`, 'TOKEN_INVALID');
    if (input.enti !== '*' && input.enti.length === 0) throw new TokenError('a token needs at least one Ente, or every Ente', 'TOKEN_INVALID');
    const token = newTokenSecret();
    const id = randomUUID();
    const record = await this.db.transaction(async (tx) => {
      const inserted = await tx.query(
        `INSERT INTO api_token (id, name, token_hash, role, enti, scopes, created_by)
         VALUES ($1::uuid, $2, $3, $4, $5::text[], $6::text[], $7) RETURNING *`,
        [id, input.name ?? null, hashToken(token), input.role, input.enti === '*' ? null : input.enti, input.scopes ?? [], input.actor],
      );
      await writeAudit(tx, {
        actor: input.actor, action: 'token.create', target: id,
        details: { name: input.name ?? null, role: input.role, enti: input.enti, scopes: input.scopes ?? [] },
      });
      return rowToToken(inserted.rows[0]!);
    });
    return { token, record };
  }

  async revoke(id: string, actor: string): Promise<ApiToken> {
    return this.db.transaction(async (tx) => {
      const updated = await tx.query(
        `UPDATE api_token SET revoked_at = COALESCE(revoked_at, now()), revoked_by = COALESCE(revoked_by, $2) WHERE id = $1::uuid RETURNING *`,
        [id, actor],
      );
      if (!updated.rows[0]) throw new TokenError(`no token ${id}`, 'TOKEN_NOT_FOUND');
      await writeAudit(tx, { actor, action: 'token.revoke', target: id });
      return rowToToken(updated.rows[0]);
    });
  }

  async list(): Promise<ApiToken[]> {
    const result = await this.db.query('SELECT * FROM api_token ORDER BY created_at');
    return result.rows.map(rowToToken);
  }

  /** The token with this hash, unless revoked. */
  async findActive(tokenHash: string): Promise<ApiToken | undefined> {
    const result = await this.db.query('SELECT * FROM api_token WHERE token_hash = $1 AND revoked_at IS NULL', [tokenHash]);
    return result.rows[0] ? rowToToken(result.rows[0]) : undefined;
  }

  async touch(id: string): Promise<void> {
    await this.db.query('UPDATE api_token SET last_used_at = now() WHERE id = $1::uuid', [id]);
  }
}

/**
 * Authenticates bearer tokens created with `cdr token create`: one indexed lookup per request, so a
 * revocation takes effect at once. `last_used_at` is written at most once a minute per token.
 */
export class TokenStoreAuthenticator implements Authenticator {
  private readonly touched = new Map<string, number>();

  constructor(private readonly store: TokenStore, private readonly next?: Authenticator) {}

  authenticate(token: string): Promise<Principal | undefined> {
    return this.authenticateHash(hashToken(token), token);
  }

  async authenticateHash(tokenHash: string, token?: string): Promise<Principal | undefined> {
    if (!/^[0-9a-f]{64}$/.test(tokenHash)) return undefined;
    const record = await this.store.findActive(tokenHash);
    if (!record) return token !== undefined ? this.next?.authenticate(token) : this.next?.authenticateHash?.(tokenHash);
    const now = Date.now();
    if ((this.touched.get(record.id) ?? 0) < now - 60_000) {
      this.touched.set(record.id, now);
      void this.store.touch(record.id).catch(() => undefined);
    }
    return { id: `token:${record.id}`, role: record.role, enti: record.enti, scopes: record.scopes, ...(record.name ? { name: record.name } : {}) };
  }
}
