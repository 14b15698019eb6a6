import express, { type Response, type Router } from 'express';
import type { Logger } from '../common/logger.ts';
import { enteSchema, type RetentionConfig } from '../config/schema.ts';
import type { Db } from '../storage/db.ts';
import { writeAudit } from '../storage/audit.ts';
import { DirectoryError, listDirectory, upsertDirectoryResource } from '../storage/directory.ts';
import { enteExists, listEnti, partitionStats, registerEnte, reindexEnte } from '../storage/partitions.ts';
import { applyRetention } from '../storage/retention.ts';
import type { FhirResource } from '../storage/types.ts';
import { HttpError } from '../server/http-errors.ts';
import { canSeeEnte, principalOf, type Principal } from './auth.ts';

export interface EntiRouterDeps {
  db: Db;
  retention: RetentionConfig;
  logger?: Logger | undefined;
}

const MANAGING_ROLES = new Set(['admin', 'operator']);

/** Operators and admins manage; shared things (new Enti, the directory, retention) need a token over every Ente. */
function requireManager(res: Response, everyEnte: boolean): Principal {
  const principal = principalOf(res);
  if (!MANAGING_ROLES.has(principal.role)) throw new HttpError(403, 'FORBIDDEN', `the role "${principal.role}" cannot change Enti, partitions or the directory`);
  if (everyEnte && principal.enti !== '*') throw new HttpError(403, 'FORBIDDEN_ENTE', 'this operation concerns every Ente: it needs a token whose Enti are "*"');
  return principal;
}

/**
 * Ente partitions (ARCHITECTURE §8): list and register Enti, per-partition stats, search index
 * rebuild, the regional directory, and an on-demand retention pass. Mounted behind requireAuth.
 */
export function createEntiRouter(deps: EntiRouterDeps): Router {
  const router = express.Router();
  const json = express.json({ limit: '1mb' });

  router.get('/admin/enti', async (_req, res) => {
    const principal = principalOf(res);
    const enti = (await listEnti(deps.db)).filter((e) => canSeeEnte(principal, e.code));
    res.json({ items: enti, next: null });
  });

  router.post('/admin/enti', json, async (req, res) => {
    const principal = requireManager(res, true);
    const parsed = enteSchema.safeParse(req.body);
    if (!parsed.success) {
      throw new HttpError(400, 'BAD_ENTE', parsed.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; '));
    }
    const existed = await enteExists(deps.db, parsed.data.code);
    await registerEnte(deps.db, parsed.data);
    await writeAudit(deps.db, { actor: principal.id, action: existed ? 'ente.update' : 'ente.register', target: parsed.data.code, ente: parsed.data.code, details: { name: parsed.data.name } });
    const [stats] = await partitionStats(deps.db, [parsed.data.code]);
    res.status(existed ? 200 : 201).json(stats);
  });

  router.get('/admin/partitions', async (_req, res) => {
    const principal = principalOf(res);
    const stats = await partitionStats(deps.db, principal.enti === '*' ? undefined : principal.enti);
    res.json({ items: stats, next: null });
  });

  router.post('/admin/partitions/:ente/reindex', async (req, res) => {
    const principal = requireManager(res, false);
    const ente = String(req.params.ente);
    if (!canSeeEnte(principal, ente)) throw new HttpError(403, 'FORBIDDEN_ENTE', `the token cannot manage Ente ${ente}`);
    if (!(await enteExists(deps.db, ente))) throw new HttpError(404, 'ENTE_NOT_FOUND', `no Ente ${ente} is registered`);
    const indexed = await reindexEnte(deps.db, ente);
    await writeAudit(deps.db, { actor: principal.id, action: 'partition.reindex', target: ente, ente, details: { indexed } });
    res.json({ ente, indexed });
  });

  router.get('/admin/directory', async (req, res) => {
    const type = typeof req.query.type === 'string' ? req.query.type : undefined;
    res.json({ items: await listDirectory(deps.db, type), next: null });
  });

  router.post('/admin/directory', json, async (req, res) => {
    const principal = requireManager(res, true);
    const resource = req.body as FhirResource;
    try {
      await upsertDirectoryResource(deps.db, resource);
    } catch (error) {
      if (error instanceof DirectoryError) throw new HttpError(400, 'BAD_DIRECTORY_ENTRY', error.message);
      throw error;
    }
    await writeAudit(deps.db, { actor: principal.id, action: 'directory.upsert', target: `${resource.resourceType}/${resource.id}` });
    res.json({ resourceType: resource.resourceType, id: resource.id });
  });

  router.post('/admin/retention/run', async (_req, res) => {
    const principal = requireManager(res, true);
    const report = await applyRetention(deps.db, deps.retention);
    await writeAudit(deps.db, { actor: principal.id, action: 'retention.run', details: { deleted: report.deleted } });
    res.json(report);
  });

  return router;
}
