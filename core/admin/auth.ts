import { timingSafeEqual } from 'node:crypto';
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
}

export interface Authenticator {
  authenticate(token: string): Promise<Principal | undefined>;
}

function sameSecret(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/** The built-in operator: CDR_ADMIN_TOKEN (or the one generated at start). */
export class AdminTokenAuthenticator implements Authenticator {
  constructor(private readonly adminToken: string, private readonly next?: Authenticator) {}

  async authenticate(token: string): Promise<Principal | undefined> {
    if (sameSecret(token, this.adminToken)) return { id: 'admin', role: 'admin', enti: '*', scopes: ['sovra-aziendale'] };
    return this.next?.authenticate(token);
  }
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
  return (req: Request, res: Response, next: NextFunction) => {
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
        if (roles && principal.role !== 'admin' && !roles.includes(principal.role)) {
          return sendError(res, 403, 'FORBIDDEN', `the role "${principal.role}" cannot use this route`);
        }
        res.locals.principal = principal;
        next();
      })
      .catch(next);
  };
}
