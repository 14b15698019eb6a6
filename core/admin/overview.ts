import express, { type Router } from 'express';
import type { AlertEvaluator, AlertState } from '../metrics/alerts.ts';
import { oldestWaitingSeconds } from '../metrics/engine-metrics.ts';
import type { PluginRegistry } from '../plugins/registry.ts';
import type { ProcessQueue, QueueCounts } from '../queue/process-queue.ts';
import type { Db } from '../storage/db.ts';
import { listEnti } from '../storage/partitions.ts';
import { canSeeEnte, principalOf, type Principal } from './auth.ts';

export interface OverviewRow {
  ente: string;
  enteName: string;
  plugin: string;
  /** Messages received in the last hour... */
  received: number;
  /** ...of which stored, and still in flight (received or processing). */
  stored: number;
  inFlight: number;
  /** Dead letters recorded in the last hour (first runs and replays). */
  deadLettered: number;
  /** Open dead letters, whenever they arrived. */
  openDeadLetters: number;
}

export interface Overview {
  generatedAt: string;
  rows: OverviewRow[];
  queue: (QueueCounts & { oldestWaitingSeconds: number }) | null;
  openDeadLetters: number;
  alerts: AlertState[];
}

export function visibleAlerts(principal: Principal, alerts: AlertState[]): AlertState[] {
  return alerts.filter((a) => !a.labels.ente || canSeeEnte(principal, a.labels.ente));
}

export interface OverviewDeps {
  db: Db;
  queue: ProcessQueue | undefined;
  plugins: PluginRegistry;
  alerts: AlertEvaluator;
}

export async function buildOverview(deps: OverviewDeps, principal: Principal): Promise<Overview> {
  const enti = principal.enti === '*' ? null : principal.enti;
  const [recent, dead, open, registry, queue, oldest] = await Promise.all([
    deps.db.query<{ ente: string; plugin_id: string; state: string; n: string }>(
      `SELECT ente, plugin_id, state, count(*) AS n FROM inbox
       WHERE received_at >= now() - interval '1 hour' AND ($1::text[] IS NULL OR ente = ANY($1::text[]))
       GROUP BY ente, plugin_id, state`,
      [enti],
    ),
    deps.db.query<{ ente: string; plugin_id: string; n: string }>(
      `SELECT ente, plugin_id, count(*) AS n FROM dead_letter
       WHERE created_at >= now() - interval '1 hour' AND ($1::text[] IS NULL OR ente = ANY($1::text[])) GROUP BY ente, plugin_id`,
      [enti],
    ),
    deps.db.query<{ ente: string; plugin_id: string; n: string }>(
      `SELECT ente, plugin_id, count(*) AS n FROM dead_letter
       WHERE status = 'open' AND ($1::text[] IS NULL OR ente = ANY($1::text[])) GROUP BY ente, plugin_id`,
      [enti],
    ),
    listEnti(deps.db),
    deps.queue?.counts().catch(() => undefined),
    deps.queue ? oldestWaitingSeconds(deps.queue).catch(() => undefined) : undefined,
  ]);
  const names = new Map(registry.map((e) => [e.code, e.name]));
  const rows = new Map<string, OverviewRow>();
  const row = (ente: string, plugin: string): OverviewRow => {
    const key = `${ente}\u0000${plugin}`;
    let found = rows.get(key);
    if (!found) {
      found = { ente, enteName: names.get(ente) ?? ente, plugin, received: 0, stored: 0, inFlight: 0, deadLettered: 0, openDeadLetters: 0 };
      rows.set(key, found);
    }
    return found;
  };
  // Every active plugin of a visible Ente gets a row, also when it was quiet in the last hour.
  for (const plugin of deps.plugins.list()) if (plugin.ente && canSeeEnte(principal, plugin.ente)) row(plugin.ente, plugin.id);
  for (const r of recent.rows) {
    const target = row(r.ente, r.plugin_id);
    const n = Number(r.n);
    target.received += n;
    if (r.state === 'stored') target.stored += n;
    if (r.state === 'received' || r.state === 'processing') target.inFlight += n;
  }
  for (const r of dead.rows) row(r.ente, r.plugin_id).deadLettered += Number(r.n);
  for (const r of open.rows) row(r.ente, r.plugin_id).openDeadLetters += Number(r.n);
  const list = [...rows.values()].sort((a, b) => a.ente.localeCompare(b.ente) || a.plugin.localeCompare(b.plugin));
  if (deps.alerts.current().length === 0) await deps.alerts.evaluate();
  return {
    generatedAt: new Date().toISOString(),
    rows: list,
    queue: queue ? { ...queue, oldestWaitingSeconds: Math.round(oldest ?? 0) } : null,
    openDeadLetters: list.reduce((n, r) => n + r.openDeadLetters, 0),
    alerts: visibleAlerts(principal, deps.alerts.current()),
  };
}

/** GET /admin/overview (the console's first screen) and GET /admin/alerts. */
export function createOverviewRouter(deps: OverviewDeps): Router {
  const router = express.Router();
  router.get('/admin/overview', async (_req, res) => {
    res.json(await buildOverview(deps, principalOf(res)));
  });
  router.get('/admin/alerts', async (_req, res) => {
    const states = deps.alerts.current().length > 0 ? deps.alerts.current() : await deps.alerts.evaluate();
    res.json({ items: visibleAlerts(principalOf(res), states), next: null });
  });
  return router;
}
