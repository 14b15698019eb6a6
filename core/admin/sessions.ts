import { randomBytes } from 'node:crypto';
import express, { type Request, type RequestHandler, type Response, type Router } from 'express';
import type { Redis } from 'ioredis';
import { writeAudit } from '../storage/audit.ts';
import type { Db } from '../storage/db.ts';
import { sendError } from '../server/http-errors.ts';
import { hashToken, type Authenticator, type Principal } from './auth.ts';

/** The console cookie: an opaque session id; Redis keeps only its hash and the hash of the token behind it. */
export const SESSION_COOKIE = 'cdr_console';
/** Cookie-authenticated requests that change something must carry this header (set by the console's own fetch calls). */
export const CONSOLE_HEADER = 'x-cdr-console';
const DEFAULT_TTL_SECONDS = 8 * 3600;

interface SessionRecord {
  tokenHash: string;
  principalId: string;
  createdAt: string;
}

/**
 * Browser sessions of the operator console, in Redis with a TTL (shared by every API process).
 * A session stores the token's hash, not a principal: each request re-checks the token, so revoking
 * it ends its sessions at once.
 */
export class SessionStore {
  constructor(private readonly redis: Redis, private readonly keyPrefix: string, readonly ttlSeconds = DEFAULT_TTL_SECONDS) {}

  private key(sessionId: string): string {
    return `${this.keyPrefix}:console-session:${hashToken(sessionId)}`;
  }

  async create(tokenHash: string, principalId: string): Promise<string> {
    const sessionId = randomBytes(32).toString('base64url');
    const record: SessionRecord = { tokenHash, principalId, createdAt: new Date().toISOString() };
    await this.redis.set(this.key(sessionId), JSON.stringify(record), 'EX', this.ttlSeconds);
    return sessionId;
  }

  async get(sessionId: string): Promise<SessionRecord | undefined> {
    if (!/^[A-Za-z0-9_-]{20,100}$/.test(sessionId)) return undefined;
    const text = await this.redis.get(this.key(sessionId));
    return text ? (JSON.parse(text) as SessionRecord) : undefined;
  }

  async destroy(sessionId: string): Promise<void> {
    await this.redis.del(this.key(sessionId));
  }
}

export function readCookie(req: Request, name: string): string | undefined {
  const header = req.get('cookie');
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const index = part.indexOf('=');
    if (index > 0 && part.slice(0, index).trim() === name) return decodeURIComponent(part.slice(index + 1).trim());
  }
  return undefined;
}

function cookieHeader(req: Request, value: string, maxAgeSeconds: number): string {
  return `${SESSION_COOKIE}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}${req.secure ? '; Secure' : ''}`;
}

/** Pages a browser navigates to: without a session they redirect to the login form instead of answering 401. */
function isConsolePage(req: Request): boolean {
  return req.method === 'GET' && /^\/admin\/(ui|board)(\/|$)/.test(req.originalUrl.split('?')[0]!);
}

function safeNext(next: unknown): string {
  return typeof next === 'string' && /^\/admin\/(ui|board)(\/[^\s]*)?$/.test(next) && !next.startsWith('//') ? next : '/admin/ui';
}

/**
 * Authenticates /admin and /messages requests by the console cookie when they carry no bearer header.
 * Runs before requireAuth, which then sees res.locals.principal and only checks the role.
 */
export function sessionCookieAuth(auth: Authenticator, sessions: SessionStore): RequestHandler {
  return (req, res, next) => {
    if (req.get('authorization')) return next();
    const sessionId = readCookie(req, SESSION_COOKIE);
    const unauthenticated = () => {
      if (isConsolePage(req)) return res.redirect(303, `/admin/login?next=${encodeURIComponent(req.originalUrl)}`);
      return next();
    };
    if (!sessionId) return unauthenticated();
    sessions
      .get(sessionId)
      .then(async (session) => {
        const principal = session ? await auth.authenticateHash?.(session.tokenHash) : undefined;
        if (!principal) {
          res.append('Set-Cookie', cookieHeader(req, '', 0));
          return unauthenticated();
        }
        // SameSite=Strict keeps other sites from sending the cookie; the header is a second lock
        // (a cross-site form cannot set it, a cross-site fetch with it needs a CORS preflight we never grant).
        if (!['GET', 'HEAD', 'OPTIONS'].includes(req.method) && req.get(CONSOLE_HEADER) !== '1') {
          return sendError(res, 403, 'CONSOLE_HEADER_MISSING', `a change made with the console cookie needs the header ${CONSOLE_HEADER}: 1`);
        }
        res.locals.principal = principal;
        res.locals.viaSession = true;
        next();
      })
      .catch(next);
  };
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

export const CONSOLE_CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'";

function loginPage(next: string, error?: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>cdr-engine — operator console login</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><link rel="stylesheet" href="/admin/ui-assets/console.css"></head>
<body class="login"><main><h1>cdr-engine operator console</h1>
${error ? `<p class="error" role="alert">${escapeHtml(error)}</p>` : ''}
<form method="post" action="/admin/login">
<label for="token">Bearer token</label>
<input id="token" name="token" type="password" autocomplete="off" required autofocus>
<input type="hidden" name="next" value="${escapeHtml(next)}">
<button type="submit">Sign in</button>
</form>
<p class="hint">The token is checked once; the browser then holds an HttpOnly session cookie (8 h), never the token.</p>
</main></body></html>`;
}

/** GET/POST /admin/login and POST /admin/logout: public routes, mounted before the auth gate. */
export function createLoginRouter(auth: Authenticator, sessions: SessionStore, db: Db): Router {
  const router = express.Router();
  const page = (res: Response, status: number, html: string) =>
    res.status(status).set({ 'content-type': 'text/html; charset=utf-8', 'content-security-policy': CONSOLE_CSP, 'cache-control': 'no-store' }).send(html);

  router.get('/admin/login', (req, res) => {
    page(res, 200, loginPage(safeNext(req.query.next)));
  });

  router.post('/admin/login', express.urlencoded({ extended: false, limit: '8kb' }), express.json({ limit: '8kb' }), async (req, res) => {
    const body = (req.body ?? {}) as { token?: unknown; next?: unknown };
    const next = safeNext(body.next);
    const token = typeof body.token === 'string' ? body.token.trim() : '';
    const principal: Principal | undefined = token ? await auth.authenticate(token) : undefined;
    if (!principal) {
      res.set('WWW-Authenticate', 'Bearer error="invalid_token"');
      return page(res, 401, loginPage(next, 'That token is not valid (or has been revoked).'));
    }
    const sessionId = await sessions.create(hashToken(token), principal.id);
    await writeAudit(db, { actor: principal.id, action: 'console.login', details: { role: principal.role } });
    res.append('Set-Cookie', cookieHeader(req, sessionId, sessions.ttlSeconds));
    res.redirect(303, next);
  });

  router.post('/admin/logout', async (req, res) => {
    const sessionId = readCookie(req, SESSION_COOKIE);
    if (sessionId) await sessions.destroy(sessionId);
    res.append('Set-Cookie', cookieHeader(req, '', 0));
    res.redirect(303, '/admin/login');
  });
  return router;
}
