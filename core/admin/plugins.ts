import express, { type Router } from 'express';
import type { PluginRegistry, PluginSummary } from '../plugins/registry.ts';
import { writeAudit } from '../storage/audit.ts';
import type { Db } from '../storage/db.ts';
import { HttpError } from '../server/http-errors.ts';
import { canSeeEnte, principalOf, requireAuth, seesAllEnti, type Authenticator, type Principal } from './auth.ts';
import type { PluginReloadBus } from './plugin-reload.ts';

export interface PluginsRouterDeps {
  plugins: PluginRegistry;
  reloads: PluginReloadBus;
  db: Db;
  auth: Authenticator;
}

function view(summary: PluginSummary) {
  return {
    id: summary.id,
    status: summary.status,
    ente: summary.ente ?? null,
    format: summary.format ?? null,
    version: summary.version ?? null,
    producerHash: summary.producerHash ?? null,
    routes: summary.routes ?? [],
    errors: summary.errors,
  };
}

/** Plugins of the Enti the token sees; a plugin whose manifest did not load (no Ente known) only for every-Ente tokens. */
function visible(principal: Principal, summary: PluginSummary): boolean {
  return summary.ente ? canSeeEnte(principal, summary.ente) : seesAllEnti(principal);
}

/** GET /admin/plugins (status, load errors); POST /admin/plugins/reload (operator of every Ente, audited). */
export function createPluginsRouter(deps: PluginsRouterDeps): Router {
  const router = express.Router();
  router.get('/admin/plugins', (_req, res) => {
    const principal = principalOf(res);
    res.json({ items: deps.plugins.list().filter((s) => visible(principal, s)).map(view), next: null });
  });

  router.post('/admin/plugins/reload', requireAuth(deps.auth, ['operator']), async (_req, res) => {
    const principal = principalOf(res);
    if (!seesAllEnti(principal)) throw new HttpError(403, 'FORBIDDEN_ENTE', 'reloading plugins affects every Ente: it needs a token for every Ente');
    const before = new Map(deps.plugins.list().map((s) => [s.id, s.producerHash ?? null]));
    const result = await deps.reloads.reloadEverywhere(principal.id);
    const changed = result.plugins.filter((s) => (before.get(s.id) ?? null) !== (s.producerHash ?? null)).map((s) => s.id);
    await writeAudit(deps.db, {
      actor: principal.id, action: 'plugins.reload',
      details: { changed, notifiedProcesses: result.notifiedProcesses, status: Object.fromEntries(result.plugins.map((s) => [s.id, s.status])) },
    });
    res.json({ items: result.plugins.map(view), changed, notifiedProcesses: result.notifiedProcesses });
  });
  return router;
}
