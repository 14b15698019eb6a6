/**
 * TEST HELPER — interim bearer tokens until the token store of issue 8 lands (`npx cdr token create`).
 * A fixed map token → Principal, chained in front of another Authenticator (the engine's admin token).
 * The engine never uses this: tests (and the demo server) pass it where EngineContext.auth goes.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import type { Authenticator, Principal } from '../../../core/admin/auth.ts';
import { createLogger } from '../../../core/common/logger.ts';
import type { Engine } from '../../../core/server/engine.ts';
import { errorHandler } from '../../../core/server/http-errors.ts';
import { mountRoutes } from '../../../core/server/routes.ts';

export class StaticTokenAuthenticator implements Authenticator {
  constructor(private readonly tokens: Record<string, Principal>, private readonly next?: Authenticator) {}

  async authenticate(token: string): Promise<Principal | undefined> {
    return Object.hasOwn(this.tokens, token) ? this.tokens[token] : this.next?.authenticate(token);
  }
}

export const ENTE_A = '030901';
export const ENTE_B = '030902';

/** Tokens of the tests: bearer value → who it is. */
export const TEST_TOKENS: Record<string, Principal> = {
  'clinician-a': { id: 'clinician-a', role: 'reader', enti: [ENTE_A], scopes: [] },
  'clinician-b': { id: 'clinician-b', role: 'reader', enti: [ENTE_B], scopes: [] },
  'clinician-a-sovra': { id: 'clinician-a-sovra', role: 'reader', enti: [ENTE_A], scopes: ['sovra-aziendale'] },
  governance: { id: 'governance', role: 'reader', enti: '*', scopes: ['sovra-aziendale'] },
  'reader-all-no-scope': { id: 'reader-all-no-scope', role: 'reader', enti: '*', scopes: [] },
  'author-a': { id: 'author-a', role: 'author', enti: [ENTE_A], scopes: [] },
  'operator-a': { id: 'operator-a', role: 'operator', enti: [ENTE_A], scopes: [] },
  'operator-all': { id: 'operator-all', role: 'operator', enti: '*', scopes: [] },
};

export interface TokenServer {
  url: string;
  close: () => Promise<void>;
}

/** Serves an express app on a free port. */
export async function serve(app: express.Express, port = 0): Promise<TokenServer> {
  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(port, () => resolve(s));
    s.once('error', reject);
  });
  const address = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${address.port}`,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}

/** The engine's own routes (mountRoutes), authenticated with the test tokens before the engine's admin token. */
export async function serveEngineWithTokens(engine: Engine, tokens: Record<string, Principal> = TEST_TOKENS, port = 0): Promise<TokenServer> {
  const app = express();
  app.disable('x-powered-by');
  mountRoutes(app, { ...engine.context, auth: new StaticTokenAuthenticator(tokens, engine.context.auth) });
  app.use(errorHandler(createLogger('test', 'silent')));
  return serve(app, port);
}

export async function getJson<T = Record<string, unknown>>(url: string, token?: string): Promise<{ status: number; body: T; headers: Headers }> {
  const response = await fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : {}) as T, headers: response.headers };
}

/** The stable engine code of an OperationOutcome. */
export function outcomeCode(body: unknown): string | undefined {
  const outcome = body as { resourceType?: string; issue?: Array<{ details?: { coding?: Array<{ system: string; code: string }> } }> };
  if (outcome.resourceType !== 'OperationOutcome') return undefined;
  return outcome.issue?.[0]?.details?.coding?.find((c) => c.system === 'urn:cdr-engine:error-code')?.code;
}
