import { createHash, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { sendError } from '../server/http-errors.ts';

export const ROLES = ['admin', 'operator', 'author', 'reader'] as const;
export type Role = (typeof ROLES)[number];

/** Who is calling: a role and the Enti whose data they may see ('*' = all). */
export interface Principal {
  id: string;
  role: Role;
  enti: '*' | string[];
  /** Extra grants, e.g. "sovra-aziendale" for cross-Ente FHIR search. */
  scopes: string[];
  /** A human label (the token's name), for screens; audit records use `id`. */
  name?: string;
}

export interface Authenticator {
  authenticate(token: string): Promise<Principal | undefined>;
  /**
   * The same check from the token's SHA-256 (hex): console sessions keep only the hash, so a revoked
   * token ends its browser sessions at the next request.
   */
  authenticateHash?(tokenHash: string): Promise<Principal | undefined>;
}

/** SHA-256 hex of a bearer token: what the token store and console sessions keep instead of the token. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

function sameSecret(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/** The built-in operator: CDR_ADMIN_TOKEN (or the one generated at start). */
export class AdminTokenAuthenticator implements Authenticator {
  private readonly adminHash: string;

  constructor(private readonly adminToken: string, private readonly next?: Authenticator) {
    this.adminHash = hashToken(adminToken);
  }

  private admin(): Principal {
    return { id: 'admin', role: 'admin', enti: '*', scopes: ['sovra-aziendale'], name: 'built-in admin (CDR_ADMIN_TOKEN)' };
  }

  async authenticate(token: string): Promise<Principal | undefined> {
    if (sameSecret(token, this.adminToken)) return this.admin();
    return this.next?.authenticate(token);
  }

  async authenticateHash(tokenHash: string): Promise<Principal | undefined> {
    if (sameSecret(tokenHash, this.adminHash)) return this.admin();
    return this.next?.authenticateHash?.(tokenHash);
  }
}

/** true when the principal sees every Ente (actions on shared things: the queue, the plugin registry). */
export function seesAllEnti(principal: Principal): boolean {
  return principal.enti === '*';
}

export function canSeeEnte(principal: Principal, ente: string): boolean {
  return principal.enti === '*' || principal.enti.includes(ente);
}

export function principalOf(res: Response): Principal {
  const principal = res.locals.principal as Principal | undefined;
  if (!principal) throw new Error('route used without requireAuth');
  return principal;
}

/** Bearer-token check; 401 without a valid token, 403 when the role is not allowed. */
export function requireAuth(auth: Authenticator, roles?: readonly Role[]): RequestHandler {
  const allowed = (principal: Principal) => !roles || principal.role === 'admin' || roles.includes(principal.role);
  return (req: Request, res: Response, next: NextFunction) => {
    // Already authenticated by an outer gate (bearer header or console session cookie): check the role only.
    const known = res.locals.principal as Principal | undefined;
    if (known) {
      if (!allowed(known)) return sendError(res, 403, 'FORBIDDEN', `the role "${known.role}" cannot use this route`);
      return next();
    }
    const header = req.get('authorization') ?? '';
    const match = /^Bearer\s+(.+)$/i.exec(header);
    if (!match) {
      res.set('WWW-Authenticate', 'Bearer');
      return sendError(res, 401, 'UNAUTHENTICATED', 'this route needs "Authorization: Bearer <token>"');
    }
    auth
      .authenticate(match[1]!.trim())
      .then((principal) => {
        if (!principal) {
          res.set('WWW-Authenticate', 'Bearer error="invalid_token"');
          return sendError(res, 401, 'UNAUTHENTICATED', 'the token is not valid');
        }
        if (!allowed(principal)) {
          return sendError(res, 403, 'FORBIDDEN', `the role "${principal.role}" cannot use this route`);
        }
        res.locals.principal = principal;
        next();
      })
      .catch(next);
  };
}
