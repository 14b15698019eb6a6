import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import type { Authenticator, Principal } from '../admin/auth.ts';
import { canSeeEnte } from '../admin/auth.ts';
import { CdrError } from '../common/errors.ts';
import type { Logger } from '../common/logger.ts';
import type { SqlExecutor } from '../storage/db.ts';
import { writeAudit } from '../storage/audit.ts';
import { fhirDateRange } from '../storage/fhir-date-range.ts';
import type { FhirResource } from '../storage/types.ts';
import { decodeCursor, encodeCursor, searchFingerprint } from './cursor.ts';
import { FhirError, sendFhir, sendOutcome, warningOutcome } from './outcome.ts';
import { canReadEnte, deny, FHIR_READ_ROLES, hasSovraAziendale, perimeterOf, principalFrom, type DenialContext } from './perimeter.ts';
import { FhirRepository, type FoundResource, type ResourceKey, type StatsBasis, type StatsPeriod } from './repository.ts';
import { DEFAULT_COUNT, parseSearch, RESOURCE_ID, RESOURCE_TYPE, type RevInclude } from './search-params.ts';

export interface FhirRouterDeps {
  db: SqlExecutor;
  auth: Authenticator;
  logger?: Logger | undefined;
  /** Most resources added by _revinclude to one page (default 1000). */
  maxIncludes?: number;
}

const ENTE_CODE = /^[A-Za-z0-9_]{1,40}$/;
/** _revinclude:iterate rounds after the first: enough for resource → Composition → DocumentReference. */
const ITERATE_ROUNDS = 3;

interface Bundle {
  resourceType: 'Bundle';
  type: 'searchset' | 'history';
  link?: Array<{ relation: string; url: string }>;
  entry: Array<Record<string, unknown>>;
  total?: number;
}

/**
 * The FHIR read API (ARCHITECTURE §5), HAPI-style URL partitioning:
 *   GET /fhir/:ente/:type/:id[/_history[/:vid]]   read, history, vread in one Ente ("perimetro aziendale")
 *   GET /fhir/:ente/:type?params                   search in one Ente
 *   GET /fhir/:type?params                         search in every Ente ("sovra-aziendale" scope)
 *   GET /fhir/$stats?period=day|month|year         governance counts by Ente × type × period
 * Errors are OperationOutcome with a stable code (outcome.ts).
 */
export function createFhirRouter(deps: FhirRouterDeps): Router {
  const repository = new FhirRepository(deps.db);
  const maxIncludes = deps.maxIncludes ?? 1000;
  const fhir = express.Router();

  fhir.use((req: Request, res: Response, next: NextFunction) => {
    authenticate(deps, req, res).then(() => next(), next);
  });

  fhir.get('/{*path}', (req: Request, res: Response, next: NextFunction) => {
    handle(req, res).catch(next);
  });
  fhir.all('/{*path}', (req: Request) => {
    throw new FhirError('FHIR_METHOD_NOT_ALLOWED', `${req.method} is not allowed: the CDR's FHIR API is read-only`);
  });
  fhir.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if (error instanceof FhirError) return sendOutcome(res, error);
    if (error instanceof CdrError && error.transient) return sendOutcome(res, new FhirError('FHIR_STORAGE_UNAVAILABLE', 'the CDR storage is not answering; retry later'));
    deps.logger?.error({ err: error instanceof Error ? error.message : String(error) }, 'FHIR API error');
    return sendOutcome(res, new FhirError('FHIR_INTERNAL', 'internal error; see the engine log'));
  });

  async function handle(req: Request, res: Response): Promise<void> {
    const principal = principalFrom(res);
    const url = new URL(req.originalUrl, 'http://localhost');
    const segments = url.pathname.replace(/^\/fhir\/?/, '').split('/').filter((s) => s !== '').map(decodeSegment);
    const context: DenialContext = { db: deps.db, logger: deps.logger, method: req.method, path: url.pathname, params: [...new Set(url.searchParams.keys())] };
    const base = `${req.protocol}://${req.get('host') ?? 'localhost'}/fhir`;
    const [first, second, third, fourth, fifth] = segments;

    if (segments.length === 1 && first === '$stats') return stats(principal, url.searchParams, context, res);
    if (segments.length === 1 && RESOURCE_TYPE.test(first!)) {
      if (!hasSovraAziendale(principal)) {
        throw await deny(principal, 'FHIR_FORBIDDEN_SOVRA_AZIENDALE', 'searching every Ente ("perimetro sovra-aziendale") needs a token with the sovra-aziendale scope; search your Ente at /fhir/:ente/:type', context);
      }
      const enti = await repository.registeredEnti();
      return search(principal, first!, url.searchParams, enti, { base, path: `/${first}`, cross: true }, context, res);
    }
    if (segments.length >= 2 && segments.length <= 5) {
      const ente = first!;
      const registered = await repository.registeredEnti();
      if (!registered.includes(ente) && RESOURCE_TYPE.test(ente) && RESOURCE_ID.test(second!)) {
        throw new FhirError('FHIR_UNKNOWN_ROUTE', `/fhir/${ente}/${second}: reads name the Ente, as /fhir/:ente/:type/:id (across Enti, search /fhir/:type?_id=)`);
      }
      await checkEnte(principal, ente, registered, context);
      const type = second!;
      if (!RESOURCE_TYPE.test(type)) throw new FhirError('FHIR_INVALID_TYPE', `"${type}" is not a FHIR resource type`);
      if (segments.length === 2) return search(principal, type, url.searchParams, [ente], { base, path: `/${ente}/${type}`, cross: false }, context, res);
      const id = third!;
      if (!RESOURCE_ID.test(id)) throw new FhirError('FHIR_INVALID_ID', `"${id}" is not a resource id`);
      if (segments.length === 3) return read(ente, type, id, res);
      if (fourth === '_history' && segments.length === 4) return history(ente, type, id, base, res);
      if (fourth === '_history' && segments.length === 5) return vread(ente, type, id, fifth!, res);
    }
    throw new FhirError('FHIR_UNKNOWN_ROUTE', `no FHIR route for ${url.pathname}`);
  }

  /** 403 (audited) outside the caller's perimeter — checked before existence, so unknown and forbidden Enti look alike. */
  async function checkEnte(principal: Principal, ente: string, registered: string[], context: DenialContext): Promise<void> {
    if (!ENTE_CODE.test(ente)) throw new FhirError('FHIR_UNKNOWN_ENTE', `"${ente}" is not an Ente code`);
    if (!canReadEnte(principal, ente)) {
      throw await deny(principal, 'FHIR_FORBIDDEN_ENTE', `the token cannot read Ente ${ente} (its perimeter: ${principal.enti === '*' ? 'every Ente' : principal.enti.join(', ') || 'none'})`, context, ente);
    }
    if (!registered.includes(ente)) throw new FhirError('FHIR_UNKNOWN_ENTE', `no Ente ${ente} is registered`);
    if (!canSeeEnte(principal, ente)) await auditSovraAziendale(principal, context, [ente]);
  }

  async function auditSovraAziendale(principal: Principal, context: DenialContext, enti: string[]): Promise<void> {
    await writeAudit(deps.db, {
      actor: principal.id, action: 'fhir.sovra-aziendale', target: `${context.method} ${context.path}`,
      details: { params: context.params, enti },
    });
  }

  async function read(ente: string, type: string, id: string, res: Response): Promise<void> {
    const resource = await repository.read(ente, type, id);
    if (!resource) throw new FhirError('FHIR_NOT_FOUND', `no ${type}/${id} in Ente ${ente}`);
    sendResource(res, resource);
  }

  async function vread(ente: string, type: string, id: string, vid: string, res: Response): Promise<void> {
    if (!/^[1-9]\d{0,8}$/.test(vid)) throw new FhirError('FHIR_INVALID_ID', `"${vid}" is not a version id`);
    const resource = await repository.vread(ente, type, id, Number(vid));
    if (!resource) throw new FhirError('FHIR_VERSION_NOT_FOUND', `no version ${vid} of ${type}/${id} in Ente ${ente}`);
    sendResource(res, resource);
  }

  async function history(ente: string, type: string, id: string, base: string, res: Response): Promise<void> {
    const versions = await repository.history(ente, type, id);
    if (versions.length === 0) throw new FhirError('FHIR_NOT_FOUND', `no ${type}/${id} in Ente ${ente}`);
    const bundle: Bundle = {
      resourceType: 'Bundle', type: 'history', total: versions.length,
      link: [{ relation: 'self', url: `${base}/${ente}/${type}/${id}/_history` }],
      entry: versions.map((v) => ({
        fullUrl: `${base}/${ente}/${type}/${id}`,
        resource: v.resource,
        request: { method: v.versionId === 1 ? 'POST' : 'PUT', url: `${type}/${id}` },
        response: { status: v.versionId === 1 ? '201' : '200', etag: `W/"${v.versionId}"`, lastModified: v.lastUpdated.toISOString() },
      })),
    };
    sendFhir(res, 200, bundle);
  }

  async function search(
    principal: Principal,
    type: string,
    params: URLSearchParams,
    enti: string[],
    where: { base: string; path: string; cross: boolean },
    context: DenialContext,
    res: Response,
  ): Promise<void> {
    const query = parseSearch(type, params);
    const fingerprint = searchFingerprint(`${where.path}|${query.count}`, query.params);
    const after = query.cursor ? decodeCursor(query.cursor, fingerprint) : undefined;
    const { matches, hasMore } = await repository.search(query, enti, after);
    const { included, truncated } = await revIncludes(query.revIncludes, matches, enti);

    const link = (cursor?: string) => {
      const linkParams = new URLSearchParams(query.params);
      if (query.count !== DEFAULT_COUNT) linkParams.set('_count', String(query.count));
      if (cursor) linkParams.set('_cursor', cursor);
      const text = linkParams.toString();
      return `${where.base}${where.path}${text ? `?${text}` : ''}`;
    };
    const last = matches[matches.length - 1];
    const fullUrl = (r: FoundResource) => `${where.base}/${r.ente}/${r.type}/${r.id}`;
    const bundle: Bundle = {
      resourceType: 'Bundle',
      type: 'searchset',
      link: [
        { relation: 'self', url: link(query.cursor) },
        ...(hasMore && last ? [{ relation: 'next', url: link(encodeCursor(last.cursor, fingerprint)) }] : []),
      ],
      entry: [
        ...matches.map((m) => ({ fullUrl: fullUrl(m), resource: m.resource, search: { mode: 'match' } })),
        ...included.map((r) => ({ fullUrl: fullUrl(r), resource: r.resource, search: { mode: 'include' } })),
        ...(truncated ? [{ resource: warningOutcome(`_revinclude stopped after ${maxIncludes} resources on this page`), search: { mode: 'outcome' } }] : []),
      ],
    };
    // Cross-Ente reads leave a trace of which Enti answered (per-Ente reads outside the token's own Enti are audited in checkEnte).
    if (where.cross) await auditSovraAziendale(principal, context, [...new Set([...matches, ...included].map((r) => r.ente))]);
    sendFhir(res, 200, bundle);
  }

  /** _revinclude on the page's matches; _revinclude:iterate also on what was included, a few rounds deep. */
  async function revIncludes(specs: RevInclude[], matches: FoundResource[], enti: string[]): Promise<{ included: FoundResource[]; truncated: boolean }> {
    const seen = new Set(matches.map(keyOf));
    const included: FoundResource[] = [];
    let targets: ResourceKey[] = matches;
    let round = specs;
    let truncated = false;
    for (let i = 0; i <= ITERATE_ROUNDS && round.length > 0 && targets.length > 0; i++) {
      const room = maxIncludes - included.length;
      if (room <= 0) {
        truncated = true;
        break;
      }
      const found = await repository.revInclude(round, targets, enti, room + 1);
      const fresh = found.filter((r) => !seen.has(keyOf(r)));
      if (found.length > room) truncated = true;
      for (const r of fresh.slice(0, room)) {
        seen.add(keyOf(r));
        included.push(r);
      }
      targets = fresh;
      round = specs.filter((s) => s.iterate);
    }
    return { included, truncated };
  }

  async function stats(principal: Principal, params: URLSearchParams, context: DenialContext, res: Response): Promise<void> {
    const allowed = new Set(['period', 'ente', 'type', 'basis', 'from', 'to', '_format']);
    for (const name of params.keys()) {
      if (!allowed.has(name)) throw new FhirError('FHIR_UNSUPPORTED_PARAMETER', `"${name}" is not a parameter of $stats (period, ente, type, basis, from, to)`);
    }
    const period = (params.get('period') ?? 'month') as StatsPeriod;
    if (!['day', 'month', 'year'].includes(period)) throw new FhirError('FHIR_INVALID_PARAMETER', 'period must be day, month or year');
    const basis = (params.get('basis') ?? 'stored') as StatsBasis;
    if (!['stored', 'clinical'].includes(basis)) throw new FhirError('FHIR_INVALID_PARAMETER', 'basis must be stored or clinical');
    const type = params.get('type') ?? undefined;
    if (type !== undefined && !RESOURCE_TYPE.test(type)) throw new FhirError('FHIR_INVALID_TYPE', `"${type}" is not a FHIR resource type`);
    const from = params.get('from');
    const to = params.get('to');
    const fromRange = from ? fhirDateRange(from) : undefined;
    const toRange = to ? fhirDateRange(to) : undefined;
    if ((from && !fromRange) || (to && !toRange)) throw new FhirError('FHIR_INVALID_PARAMETER', 'from and to are FHIR dates (YYYY, YYYY-MM, YYYY-MM-DD)');

    const registered = await repository.registeredEnti();
    const perimeter = perimeterOf(principal, registered);
    const requested = params.getAll('ente').flatMap((v) => v.split(',')).filter((v) => v !== '');
    for (const ente of requested) {
      if (!canReadEnte(principal, ente)) {
        throw await deny(principal, 'FHIR_FORBIDDEN_ENTE', `the token cannot read Ente ${ente}: without the sovra-aziendale scope, $stats covers only the token's Enti`, context, ente);
      }
      if (!registered.includes(ente)) throw new FhirError('FHIR_UNKNOWN_ENTE', `no Ente ${ente} is registered`);
    }
    const enti = requested.length > 0 ? requested : perimeter;
    const rows = await repository.stats(enti, period, basis, type, { ...(fromRange ? { from: fromRange.low } : {}), ...(toRange ? { to: toRange.high } : {}) });
    if (hasSovraAziendale(principal)) await auditSovraAziendale(principal, context, enti);
    sendFhir(res, 200, {
      resourceType: 'Parameters',
      parameter: [
        { name: 'perimeter', valueCode: hasSovraAziendale(principal) ? 'sovra-aziendale' : 'aziendale' },
        { name: 'period', valueCode: period },
        { name: 'basis', valueCode: basis },
        ...enti.map((e) => ({ name: 'ente', valueString: e })),
        ...rows.map((r) => ({
          name: 'count',
          part: [
            { name: 'ente', valueString: r.ente },
            { name: 'type', valueCode: r.type },
            { name: 'period', valueString: r.period },
            { name: 'count', valueInteger: r.count },
          ],
        })),
      ],
    });
  }

  const router = express.Router();
  router.use('/fhir', fhir);
  return router;
}

function keyOf(r: ResourceKey): string {
  return `${r.ente}\u0000${r.type}\u0000${r.id}`;
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new FhirError('FHIR_UNKNOWN_ROUTE', 'malformed URL');
  }
}

function sendResource(res: Response, resource: FhirResource): void {
  const meta = resource.meta ?? {};
  if (meta.versionId) res.set('ETag', `W/"${meta.versionId}"`);
  if (meta.lastUpdated) res.set('Last-Modified', new Date(meta.lastUpdated).toUTCString());
  sendFhir(res, 200, resource);
}

async function authenticate(deps: FhirRouterDeps, req: Request, res: Response): Promise<void> {
  const match = /^Bearer\s+(.+)$/i.exec(req.get('authorization') ?? '');
  if (!match) throw new FhirError('FHIR_UNAUTHENTICATED', 'the FHIR API needs "Authorization: Bearer <token>"');
  const principal = await deps.auth.authenticate(match[1]!.trim());
  if (!principal) throw new FhirError('FHIR_INVALID_TOKEN', 'the token is not valid');
  if (principal.role !== 'admin' && !(FHIR_READ_ROLES as readonly string[]).includes(principal.role)) {
    const url = new URL(req.originalUrl, 'http://localhost');
    throw await deny(principal, 'FHIR_FORBIDDEN_ROLE', `the role "${principal.role}" cannot read clinical data`, {
      db: deps.db, logger: deps.logger, method: req.method, path: url.pathname, params: [...new Set(url.searchParams.keys())],
    });
  }
  res.locals.principal = principal;
}
