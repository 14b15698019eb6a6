import { randomBytes } from 'node:crypto';
import express, { type NextFunction, type Request, type RequestHandler, type Response, type Router } from 'express';
import { z } from 'zod';
import { requireAuth, type Authenticator } from '../admin/auth.ts';
import { sessionCookieAuth, type SessionStore } from '../admin/sessions.ts';
import { HttpError } from '../server/http-errors.ts';
import { workbenchAsset, workbenchPage } from './page.ts';
import { WorkbenchError, WorkbenchService } from './service.ts';

/** Bodies are JSON of at most this size; the text fields have their own limits below. */
export const WORKBENCH_BODY_LIMIT = '3mb';
const MAX_MESSAGE_CHARS = 2_000_000;
const MAX_MAPPING_CHARS = 512_000;

const pluginId = z.string().min(1).max(100).regex(/^[a-z0-9][a-z0-9-]*$/, 'a plugin id (lower case letters, digits, -)');
const authoringPath = z.string().min(1).max(300);
const evaluateBody = z.object({
  pluginId,
  message: z.string().min(1).max(MAX_MESSAGE_CHARS),
  mapping: z.string().max(MAX_MAPPING_CHARS).optional(),
  mappingPath: authoringPath.optional(),
  coverage: z.boolean().optional(),
}).strict();
const saveMappingBody = z.object({ path: authoringPath, source: z.string().max(MAX_MAPPING_CHARS), expectedHash: z.string().regex(/^[0-9a-f]{16}$/).optional() }).strict();
const saveGoldenBody = z.object({
  pluginId,
  mappingPath: authoringPath,
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,79}$/, 'letters, digits, _ and - (up to 80)').refine((n) => !n.endsWith('expected'), 'a name may not end with "expected"'),
  message: z.string().min(1).max(MAX_MESSAGE_CHARS),
  overwrite: z.boolean().optional(),
}).strict();
const coverageBody = z.object({ pluginId, mapping: z.string().max(MAX_MAPPING_CHARS).optional(), mappingPath: authoringPath.optional() }).strict();
const fileQuery = z.object({ path: authoringPath }).strict();

function parse<T>(schema: z.ZodType<T>, value: unknown): T {
  const result = schema.safeParse(value ?? {});
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`);
    throw new HttpError(400, 'WORKBENCH_INVALID_REQUEST', problems.join('; '), { problems });
  }
  return result.data;
}

/** WorkbenchError → HttpError, so the engine's error handler answers with the usual JSON shape. */
function handle(route: (req: Request, res: Response) => Promise<unknown>): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    route(req, res).then(
      (body) => {
        if (!res.headersSent) res.json(body);
      },
      (error: unknown) => next(error instanceof WorkbenchError ? new HttpError(error.status, error.code, error.message, error.details) : error),
    );
  };
}

export interface WorkbenchRouterDeps {
  service: WorkbenchService;
  auth: Authenticator;
  /** The operator console's sessions: a browser signed in to the console needs no token here. */
  sessions?: SessionStore;
}

/**
 * GET /workbench (the page and its script: static, no data, no token) and /workbench/api/* (role author;
 * admin too). Every body is JSON checked with zod; paths go through files.ts only.
 */
export function createWorkbenchRouter(deps: WorkbenchRouterDeps): Router {
  const { service } = deps;
  const router = express.Router();

  router.get('/workbench', (_req, res) => {
    const nonce = randomBytes(16).toString('base64');
    res.set({
      'content-type': 'text/html; charset=utf-8',
      // CodeMirror injects its styles at run time: allowed by nonce only.
      'content-security-policy': `default-src 'self'; script-src 'self'; style-src 'self' 'nonce-${nonce}'; img-src 'self' data:; frame-ancestors 'none'; form-action 'none'; base-uri 'none'`,
      'cache-control': 'no-store',
      'x-frame-options': 'DENY',
      'x-content-type-options': 'nosniff',
    }).send(workbenchPage(nonce));
  });
  router.get('/workbench/assets/:name', (req, res) => {
    const asset = workbenchAsset(String(req.params.name));
    if (!asset) throw new HttpError(404, 'NOT_FOUND', 'no such asset');
    res.set({ 'content-type': asset.contentType, 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff' }).send(asset.body);
  });

  // Every /workbench/api route: the console cookie or a bearer token, role author (admin too), JSON bodies only.
  // Full paths on one router (not a sub-router) so the route list the OpenAPI test reads is complete.
  const API = '/workbench/api';
  if (deps.sessions) router.use(API, sessionCookieAuth(deps.auth, deps.sessions));
  router.use(API, requireAuth(deps.auth, ['author']), express.json({ limit: WORKBENCH_BODY_LIMIT }));
  router.get(`${API}/plugins`, handle(async () => ({ plugins: await service.listPlugins() })));
  router.get(`${API}/file`, handle(async (req) => service.readFile(parse(fileQuery, req.query).path)));
  router.post(`${API}/evaluate`, handle(async (req) => service.evaluate(parse(evaluateBody, req.body))));
  router.post(`${API}/coverage`, handle(async (req) => service.coverageOfSamples(parse(coverageBody, req.body))));
  router.put(`${API}/mapping`, handle(async (req) => service.saveMapping(parse(saveMappingBody, req.body))));
  router.post(`${API}/golden`, handle(async (req, res) => {
    const result = await service.saveGolden(parse(saveGoldenBody, req.body));
    res.status(201);
    return result;
  }));
  return router;
}
